"""Regularizers: penalties and gradients against Keras 3, finite differences, API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import regularizers

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "regularizers.npz")
KERAS_CASES = [json.loads(str(c)) for c in FIXTURE["cases"]]

ALL = [
    regularizers.L1(0.1),
    regularizers.L2(0.2),
    regularizers.L1L2(0.1, 0.3),
    regularizers.L1L2(l2=0.05),
    regularizers.OrthogonalRegularizer(0.5),
    regularizers.OrthogonalRegularizer(0.3, mode="columns"),
]


def _host(array) -> np.ndarray:
    return np.asarray(K.to_host(array))


@pytest.mark.parametrize("case", KERAS_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_penalty_and_gradient_match_keras(xp, case):
    class_name, config = case
    index = KERAS_CASES.index(case)
    regularizer = regularizers.get({"class_name": class_name, "config": config})
    x = xp.asarray(FIXTURE["x"])
    np.testing.assert_allclose(_host(regularizer(x)), FIXTURE[f"penalty{index}"], rtol=1e-12)
    np.testing.assert_allclose(
        _host(regularizer.gradient(x)), FIXTURE[f"grad{index}"], rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize("regularizer", ALL, ids=repr)
def test_gradient_matches_central_differences(xp, regularizer):
    # Random entries, none at the |x| kink at 0.
    x = np.random.default_rng(3).normal(size=(4, 3))
    analytic = _host(regularizer.gradient(xp.asarray(x)))
    step = 1e-6
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[index] += step
        up = float(_host(regularizer(xp.asarray(shifted))))
        shifted[index] -= 2 * step
        down = float(_host(regularizer(xp.asarray(shifted))))
        numeric[index] = (up - down) / (2 * step)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("regularizer", ALL, ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_penalty_is_a_0d_array_of_the_input_module_and_dtype(xp, regularizer, dtype):
    x = xp.asarray(np.random.default_rng(0).normal(size=(3, 3)), dtype=dtype)
    penalty = regularizer(x)
    assert isinstance(penalty, xp.ndarray)
    assert penalty.shape == ()
    assert penalty.dtype == np.dtype(dtype)
    grad = regularizer.gradient(x)
    assert isinstance(grad, xp.ndarray)
    assert grad.dtype == np.dtype(dtype)
    assert grad.shape == x.shape


def test_closed_forms(xp):
    x = xp.asarray([[1.0, -2.0], [0.0, 3.0]])
    assert float(_host(regularizers.L1(0.5)(x))) == pytest.approx(3.0)
    # Keras 3's L2 has no factor 1/2.
    assert float(_host(regularizers.L2(0.5)(x))) == pytest.approx(7.0)
    np.testing.assert_allclose(_host(regularizers.L2(0.5).gradient(x)), [[1, -2], [0, 3]])
    # The derivative of |x| at 0 is 0.
    np.testing.assert_allclose(_host(regularizers.L1(0.5).gradient(x)), [[0.5, -0.5], [0, 0.5]])
    assert float(_host(regularizers.L1L2(0.5, 0.5)(x))) == pytest.approx(10.0)


def test_orthogonal_regularizer_is_zero_for_orthogonal_rows(xp):
    x = xp.asarray(np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))[0] * 3.0)
    assert float(_host(regularizers.OrthogonalRegularizer(1.0)(x))) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(xp.ones((2, 2, 2)))


def test_keras_defaults_and_aliases():
    assert regularizers.L1().l1 == 0.01
    assert regularizers.L2().l2 == 0.01
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    # Keras 3 exports the lowercase names as the classes themselves.
    assert regularizers.l1 is regularizers.L1
    assert regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    assert regularizers.l2(0.001).l2 == 0.001
    assert regularizers.L1L2(l1=None, l2=None).get_config() == {"l1": 0.0, "l2": 0.0}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("l1", regularizers.L1(0.01)),
        ("L1", regularizers.L1(0.01)),
        ("l2", regularizers.L2(0.01)),
        ("L2", regularizers.L2(0.01)),
        ("l1l2", regularizers.L1L2(0.0, 0.0)),
        ("L1L2", regularizers.L1L2(0.0, 0.0)),
        ("l1_l2", regularizers.L1L2(0.01, 0.01)),  # Keras 2's function defaults
        ("orthogonal_regularizer", regularizers.OrthogonalRegularizer()),
    ],
)
def test_string_identifiers(name, expected):
    assert regularizers.get(name) == expected


@pytest.mark.parametrize("regularizer", ALL, ids=repr)
def test_config_round_trip(regularizer):
    config = regularizers.serialize(regularizer)
    assert config["module"] == "keras.regularizers"
    assert config["class_name"] == type(regularizer).__name__
    assert regularizers.get(config) == regularizer
    assert type(regularizer).from_config(regularizer.get_config()) == regularizer


def test_get_passes_through_none_instances_and_classes():
    assert regularizers.get(None) is None
    assert regularizers.serialize(None) is None
    l2 = regularizers.L2(0.3)
    assert regularizers.get(l2) is l2
    assert regularizers.get(regularizers.L1) == regularizers.L1()

    class Custom:
        def __call__(self, x):
            return x.sum()

        def gradient(self, x):
            return x * 0.0 + 1.0

    custom = Custom()
    assert regularizers.get(custom) is custom


def test_bad_identifiers_and_arguments_are_rejected():
    with pytest.raises(ValueError) as info:
        regularizers.get("l3")
    message = str(info.value)
    assert "Unknown regularizer: 'l3'" in message and "'l1_l2'" in message
    assert "Received: regularizer='l3'" in message
    with pytest.raises(TypeError, match="gradient"):
        regularizers.get(lambda x: 0.0)
    with pytest.raises(TypeError, match="Received: regularizer=5"):
        regularizers.get(5)
    with pytest.raises(ValueError, match="Unknown regularizer: 'L3'"):
        regularizers.get({"class_name": "L3", "config": {}})
    with pytest.raises(ValueError, match="Invalid config for regularizer 'L2'"):
        regularizers.get({"class_name": "L2", "config": {"l1": 0.1}})
    with pytest.raises(ValueError, match="Received: l2=-0.1"):
        regularizers.L2(-0.1)
    with pytest.raises(ValueError, match="Received: l1='a'"):
        regularizers.L1("a")
    with pytest.raises(ValueError, match="finite"):
        regularizers.L1L2(l1=float("inf"))
    with pytest.raises(ValueError, match="Received: mode='diag'"):
        regularizers.OrthogonalRegularizer(mode="diag")
