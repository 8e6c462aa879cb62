"""Initializers: shapes, dtypes, statistics, seeding, Keras names and configs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import initializers

RANDOM_CLASSES = [
    initializers.RandomUniform,
    initializers.RandomNormal,
    initializers.TruncatedNormal,
    initializers.VarianceScaling,
    initializers.GlorotUniform,
    initializers.GlorotNormal,
    initializers.HeUniform,
    initializers.HeNormal,
    initializers.LecunUniform,
    initializers.LecunNormal,
    initializers.Orthogonal,
]
ALL_CLASSES = [
    *RANDOM_CLASSES,
    initializers.Zeros,
    initializers.Ones,
    initializers.Constant,
    initializers.Identity,
]


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", [None, "float32", "float64"])
def test_returns_host_numpy_array_of_shape_and_dtype(cls, dtype):
    values = cls()((6, 4), dtype=dtype)
    assert type(values) is np.ndarray
    assert values.shape == (6, 4)
    assert values.dtype == np.dtype(dtype or K.floatx())


def test_default_dtype_follows_floatx():
    K.set_floatx("float64")
    try:
        assert initializers.GlorotUniform()((3, 3)).dtype == np.float64
    finally:
        K.set_floatx("float32")


def test_float32_and_float64_draws_agree_for_the_same_seed():
    init = initializers.HeNormal(seed=7)
    np.testing.assert_allclose(init((20, 10), "float32"), init((20, 10), "float64"), rtol=1e-6)


def test_constants():
    assert np.all(initializers.Zeros()((2, 3)) == 0.0)
    assert np.all(initializers.Ones()((2, 3)) == 1.0)
    assert np.all(initializers.Constant(2.5)((2, 3)) == 2.5)
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0])((2, 2)), [[1, 2], [1, 2]])
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((2, 3)), 3.0 * np.eye(2, 3))
    assert initializers.Zeros()((3,), dtype="int32").dtype == np.int32


@pytest.mark.parametrize(
    ("init", "mean", "std", "low", "high"),
    [
        (initializers.RandomUniform(), 0.0, 0.1 / math.sqrt(12), -0.05, 0.05),
        (initializers.RandomUniform(-2.0, 4.0), 1.0, 6 / math.sqrt(12), -2.0, 4.0),
        (initializers.RandomNormal(), 0.0, 0.05, None, None),
        (initializers.RandomNormal(mean=3.0, stddev=2.0), 3.0, 2.0, None, None),
        # A normal truncated at +-2 sigma has standard deviation 0.8796 sigma.
        (initializers.TruncatedNormal(stddev=1.0), 0.0, 0.87962566, -2.0, 2.0),
        (initializers.TruncatedNormal(mean=1.0, stddev=0.5), 1.0, 0.5 * 0.87962566, 0.0, 2.0),
    ],
)
def test_distribution_statistics(init, mean, std, low, high):
    values = init((200, 250), dtype="float64")
    assert values.mean() == pytest.approx(mean, abs=4 * std / math.sqrt(values.size))
    assert values.std() == pytest.approx(std, rel=0.01)
    if low is not None:
        assert values.min() >= low and values.max() <= high
        # The draws reach close to both bounds.
        assert values.min() < low + 0.01 * (high - low)
        assert values.max() > high - 0.01 * (high - low)


@pytest.mark.parametrize(
    ("cls", "shape", "expected_std", "bound"),
    [
        # Dense kernel (fan_in=400, fan_out=600).
        (initializers.GlorotUniform, (400, 600), math.sqrt(2 / 1000), math.sqrt(6 / 1000)),
        (initializers.GlorotNormal, (400, 600), math.sqrt(2 / 1000), None),
        (initializers.HeUniform, (400, 600), math.sqrt(2 / 400), math.sqrt(6 / 400)),
        (initializers.HeNormal, (400, 600), math.sqrt(2 / 400), None),
        (initializers.LecunUniform, (400, 600), math.sqrt(1 / 400), math.sqrt(3 / 400)),
        (initializers.LecunNormal, (400, 600), math.sqrt(1 / 400), None),
        # Conv kernel 3x3, 16 -> 32 channels: fan_in 144, fan_out 288.
        (initializers.GlorotUniform, (3, 3, 16, 32), math.sqrt(2 / 432), math.sqrt(6 / 432)),
        (initializers.HeNormal, (3, 3, 16, 32), math.sqrt(2 / 144), None),
    ],
)
def test_variance_scaling_presets(cls, shape, expected_std, bound):
    values = cls()(shape, dtype="float64")
    assert values.std() == pytest.approx(expected_std, rel=0.03)
    assert abs(values.mean()) < 4 * expected_std / math.sqrt(values.size)
    if bound is not None:
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.99 * bound
    else:
        # Truncated at two standard deviations of the *untruncated* normal.
        assert np.abs(values).max() <= 2 * expected_std / 0.87962566103423978


@pytest.mark.parametrize(
    ("mode", "distribution", "expected_std"),
    [
        ("fan_in", "truncated_normal", math.sqrt(3.0 / 500)),
        ("fan_out", "untruncated_normal", math.sqrt(3.0 / 800)),
        ("fan_avg", "uniform", math.sqrt(3.0 / 650)),
        ("fan_in", "normal", math.sqrt(3.0 / 500)),  # 'normal' means truncated in Keras 3
    ],
)
def test_variance_scaling_modes(mode, distribution, expected_std):
    init = initializers.VarianceScaling(scale=3.0, mode=mode, distribution=distribution)
    values = init((500, 800), dtype="float64")
    assert values.std() == pytest.approx(expected_std, rel=0.01)


def test_compute_fans_follows_keras():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans((3, 5)) == (3, 5)
    assert initializers.compute_fans((2, 3, 4, 5)) == (24, 30)
    assert initializers.compute_fans((2, 3, 4), input_axes=(0, 1), output_axes=(2,)) == (6, 4)


@pytest.mark.parametrize("shape", [(8, 8), (20, 5), (5, 20), (3, 3, 4, 6)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    values = initializers.Orthogonal(gain=2.0)(shape, dtype="float64")
    assert values.shape == shape
    matrix = values.reshape(-1, shape[-1])
    rows, cols = matrix.shape
    gram = matrix.T @ matrix if rows >= cols else matrix @ matrix.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-10)


def test_global_seed_makes_runs_reproducible():
    K.random.seed(42)
    first = [initializers.GlorotUniform()((4, 4)), initializers.RandomNormal()((3,))]
    K.random.seed(42)
    second = [initializers.GlorotUniform()((4, 4)), initializers.RandomNormal()((3,))]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    # Without a seed, consecutive calls differ.
    init = initializers.RandomUniform()
    assert not np.array_equal(init((4, 4)), init((4, 4)))


@pytest.mark.parametrize("cls", RANDOM_CLASSES, ids=lambda c: c.__name__)
def test_integer_seed_repeats_values_like_keras_3(cls):
    init = cls(seed=3)
    np.testing.assert_array_equal(init((5, 5)), init((5, 5)))
    assert not np.array_equal(init((5, 5)), cls(seed=4)((5, 5)))
    # An integer seed ignores the global stream.
    K.random.seed(1)
    np.testing.assert_array_equal(init((5, 5)), cls(seed=3)((5, 5)))


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("glorot_uniform", initializers.GlorotUniform),
        ("GlorotUniform", initializers.GlorotUniform),
        ("glorot_normal", initializers.GlorotNormal),
        ("he_normal", initializers.HeNormal),
        ("he_uniform", initializers.HeUniform),
        ("lecun_normal", initializers.LecunNormal),
        ("lecun_uniform", initializers.LecunUniform),
        ("random_uniform", initializers.RandomUniform),
        ("random_normal", initializers.RandomNormal),
        ("truncated_normal", initializers.TruncatedNormal),
        ("variance_scaling", initializers.VarianceScaling),
        ("orthogonal", initializers.Orthogonal),
        ("identity", initializers.Identity),
        ("constant", initializers.Constant),
        ("zeros", initializers.Zeros),
        ("ones", initializers.Ones),
        ("zero", initializers.Zeros),
        ("one", initializers.Ones),
        ("uniform", initializers.RandomUniform),
        ("normal", initializers.RandomNormal),
    ],
)
def test_string_identifiers(name, cls):
    assert type(initializers.get(name)) is cls


def test_legacy_aliases_keep_their_old_defaults():
    assert initializers.get("uniform").get_config() == {
        "seed": None,
        "minval": -0.05,
        "maxval": 0.05,
    }
    assert initializers.get("normal").get_config() == {"seed": None, "mean": 0.0, "stddev": 0.05}


@pytest.mark.parametrize(
    "init",
    [
        initializers.RandomUniform(-1.0, 2.0, seed=5),
        initializers.RandomNormal(1.0, 3.0),
        initializers.TruncatedNormal(stddev=0.2, seed=1),
        initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=9),
        initializers.GlorotUniform(seed=2),
        initializers.HeNormal(),
        initializers.Orthogonal(gain=0.5, seed=3),
        initializers.Constant(0.25),
        initializers.Identity(2.0),
        initializers.Zeros(),
    ],
    ids=repr,
)
def test_config_round_trip(init):
    config = initializers.serialize(init)
    assert config["module"] == "keras.initializers"
    assert config["class_name"] == type(init).__name__
    rebuilt = initializers.get(config)
    assert type(rebuilt) is type(init)
    assert rebuilt.get_config() == init.get_config()
    assert type(init).from_config(init.get_config()) == init


def test_keras_3_configs_are_read():
    # As written by Keras 3.15 (keras.initializers.serialize).
    config = {
        "module": "keras.initializers",
        "class_name": "GlorotUniform",
        "config": {"seed": None, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }
    assert isinstance(initializers.get(config), initializers.GlorotUniform)
    legacy = {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_in"}}
    assert initializers.get(legacy).scale == 2.0


def test_get_accepts_instances_classes_callables_and_none():
    init = initializers.HeUniform()
    assert initializers.get(init) is init
    assert isinstance(initializers.get(initializers.Ones), initializers.Ones)

    def custom(shape, dtype=None):
        return np.full(shape, 7.0, dtype=dtype)

    assert initializers.get(custom) is custom
    assert initializers.get(None) is None


def test_bad_identifiers_and_arguments_are_rejected():
    with pytest.raises(ValueError) as info:
        initializers.get("glorot")
    message = str(info.value)
    assert "Unknown initializer: 'glorot'" in message and "'glorot_uniform'" in message
    assert "Received: initializer='glorot'" in message
    with pytest.raises(ValueError, match="Received: initializer=3"):
        initializers.get(3)
    with pytest.raises(ValueError, match="Invalid config for initializer 'RandomNormal'"):
        initializers.get({"class_name": "RandomNormal", "config": {"sdev": 1.0}})
    with pytest.raises(ValueError, match="Received: scale=0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="Received: mode='fan'"):
        initializers.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="Received: distribution='gamma'"):
        initializers.VarianceScaling(distribution="gamma")
    with pytest.raises(ValueError, match="Received: seed=-1"):
        initializers.RandomNormal(seed=-1)
    with pytest.raises(ValueError, match=r"Received: shape=\(3,\) of rank 1"):
        initializers.Orthogonal()((3,))
    with pytest.raises(ValueError, match="rank 3"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="Received: shape=5"):
        initializers.Zeros()(5)
    with pytest.raises(ValueError, match="float dtype"):
        initializers.RandomUniform()((2,), dtype="int32")
    with pytest.raises(ValueError, match="cannot fill"):
        initializers.Constant([1.0, 2.0, 3.0])((2, 2))


def test_orthogonal_weights_are_c_contiguous():
    wide = initializers.Orthogonal(seed=1)((3, 8))
    assert wide.flags["C_CONTIGUOUS"]
