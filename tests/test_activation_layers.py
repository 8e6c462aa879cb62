"""LeakyReLU, ELU, PReLU, ThresholdedReLU, ReLU and Softmax layers: Keras 3's outputs and
config names (tests/make_activation_layer_fixtures.py), gradients by finite differences,
masks, saving by name, old names and paths, and training."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers
from gpukeras.layers._serialization import deserialize, serialize
from tests.gradcheck import check_layer_gradients
from tests.make_activation_layer_fixtures import CASES, MASK

FIXTURES = np.load("tests/fixtures/activation_layers.npz")
KERAS_CONFIGS = json.loads(str(FIXTURES["configs"]))
RNG = np.random.default_rng(2)
# Away from the kinks (0, thresholds, max_value) where finite differences straddle them.
X = RNG.choice([-1, 1], size=(2, 3, 4)) * RNG.uniform(0.2, 1.8, size=(2, 3, 4))
X[np.abs(X - 0.5) < 0.05] += 0.2
X[np.abs(X - 1.0) < 0.05] += 0.2


def gpukeras_layer(name: str, **extra):
    class_name, kwargs = CASES[name]
    if name == "thresholded":
        return layers.ThresholdedReLU(theta=kwargs["threshold"], **extra)
    return getattr(layers, class_name)(**kwargs, **extra)


@pytest.mark.parametrize("name", list(CASES))
def test_outputs_match_keras(xp, name):
    out = gpukeras_layer(name)(K.to_device(FIXTURES["x"]))
    np.testing.assert_allclose(K.to_host(out), FIXTURES[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [n for n in CASES if n != "thresholded"])
def test_configs_use_keras_names_and_values(name):
    ours = gpukeras_layer(name).get_config()
    theirs = {k: v for k, v in KERAS_CONFIGS[name].items() if k not in ("trainable", "dtype")}
    assert set(theirs) <= set(ours)
    for key, value in theirs.items():
        if not isinstance(value, dict):
            assert ours[key] == value, key


def test_thresholded_relu_keeps_keras_2s_config():
    layer = layers.ThresholdedReLU(theta=0.7)
    assert layer.get_config()["theta"] == 0.7
    x = np.array([[0.5, 0.7, 0.71, -2.0]], "float32")
    np.testing.assert_allclose(K.to_host(layer(x)), [[0, 0, 0.71, 0]])


def test_softmax_leaves_masked_positions_out(xp):
    layer = layers.Softmax()
    x = K.to_device(FIXTURES["x"])
    y, _ = layer.forward_tracked(x, False, K.to_device(MASK[:, None, :]))
    np.testing.assert_allclose(K.to_host(y), FIXTURES["softmax_masked"], rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match=r"broadcastable.*mask.shape=\(2, 5\)"):
        layer.forward_tracked(x, False, K.to_device(np.ones((2, 5), bool)))


GRADIENT_CASES = {
    **{name: (lambda name=name: gpukeras_layer(name, dtype="float64")) for name in CASES},
    "prelu_per_unit": lambda: layers.PReLU(alpha_initializer="random_normal", dtype="float64"),
    "prelu_shared_2": lambda: layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2],
                                           dtype="float64"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(GRADIENT_CASES))
def test_gradients_match_finite_differences(xp, name):
    check_layer_gradients(GRADIENT_CASES[name](), X)


def test_masked_softmax_gradient_matches_finite_differences(xp):
    layer = layers.Softmax(axis=-1, dtype="float64")
    layer.input_mask = K.to_device(MASK[:, None, :])
    check_layer_gradients(layer, X)


def test_prelu_alpha_has_the_shape_of_a_sample_less_the_shared_axes(xp):
    assert layers.PReLU().compute_output_shape((None, 3, 4)) == (None, 3, 4)
    per_unit, shared = layers.PReLU(), layers.PReLU(shared_axes=[1, 2])
    per_unit.ensure_built((2, 5, 5, 3))
    shared.ensure_built((2, 5, 5, 3))
    assert per_unit.alpha.shape == (5, 5, 3) and shared.alpha.shape == (1, 1, 3)
    assert [w.path for w in shared.weights] == [f"{shared.name}/alpha"]
    np.testing.assert_array_equal(K.to_host(shared.alpha.value), 0.0)


@pytest.mark.parametrize("name", list(CASES))
def test_layers_are_saved_and_loaded_by_name(xp, name):
    layer = gpukeras_layer(name)
    restored = deserialize(serialize(layer))
    assert type(restored) is type(layer)
    x = K.to_device(FIXTURES["x"])
    if name == "prelu":
        restored.ensure_built(x.shape)
        layer.ensure_built(x.shape)
        restored.set_weights(layer.get_weights())
    np.testing.assert_allclose(K.to_host(restored(x)), K.to_host(layer(x)))


@pytest.mark.parametrize(("build", "message"), [
    (lambda: layers.LeakyReLU(negative_slope=-0.1), r"Received: negative_slope=-0.1"),
    (lambda: layers.ReLU(max_value=-1.0), r"Received: max_value=-1.0"),
    (lambda: layers.ReLU(threshold=None), r"Received: threshold=None"),
    (lambda: layers.ThresholdedReLU(theta=-2), r"Received: theta=-2"),
    (lambda: layers.Softmax(axis="last"), r"Received: axis='last'"),
    (lambda: layers.PReLU(shared_axes=[0]), r"Received: shared_axes=\[0\]"),
    (lambda: layers.ELU(alpha="big"), r"Received: alpha='big'"),
])  # fmt: skip
def test_bad_arguments_are_named_with_their_value(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("constraint", [None, "non_neg"])
def test_prelu_constrains_its_slopes_after_each_update(xp, constraint):
    """Negative inputs and positive targets push the slopes below zero, unless NonNeg."""
    layer = layers.PReLU(alpha_initializer="ones", alpha_constraint=constraint)
    dense = layers.Dense(3, input_shape=(2,), kernel_initializer="ones", trainable=False)
    model = keras.models.Sequential([dense, layer])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.1))
    x = -np.abs(np.random.default_rng(0).normal(size=(16, 2))).astype("float32")
    model.fit(x, np.full((16, 3), 2.0, "float32"), epochs=10, verbose=0)
    alpha = K.to_host(layer.alpha.value)
    if constraint is None:
        assert alpha.max() < -0.5
    else:
        assert layer.get_config()["alpha_constraint"]["class_name"] == "NonNeg"
        np.testing.assert_array_equal(alpha, 0.0)


def test_prelu_refuses_an_axis_past_the_input():
    with pytest.raises(ValueError, match=r"shared_axes name axis 3.*input_shape=\(2, 4\)"):
        layers.PReLU(shared_axes=3).ensure_built((2, 4))


def test_leaky_relu_alpha_is_the_old_name_of_negative_slope():
    with pytest.warns(DeprecationWarning, match="alpha.*negative_slope"):
        layer = layers.LeakyReLU(alpha=0.2)
    assert layer.negative_slope == 0.2
    assert layers.LeakyReLU().negative_slope == 0.3  # Keras's default


def test_the_old_module_path_gives_the_layers():
    import sys

    sys.modules.pop("gpukeras.layers.advanced_activations", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from gpukeras.layers.advanced_activations import ELU, PReLU, LeakyReLU  # noqa: I001
    assert (ELU, PReLU, LeakyReLU) == (layers.ELU, layers.PReLU, layers.LeakyReLU)
    assert [w.category for w in caught] == [DeprecationWarning]


def test_a_model_with_prelu_and_leaky_relu_trains_and_learns_alpha(backend_name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = np.abs(x).sum(axis=1, keepdims=True).astype("float32")  # needs the negative side
    model = keras.models.Sequential()
    model.add(layers.Dense(8, input_shape=(4,)))
    model.add(layers.PReLU())
    model.add(layers.Dense(8))
    model.add(layers.LeakyReLU(negative_slope=0.1))
    model.add(layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.02))
    losses = model.fit(x, y, epochs=15, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < 0.3 * losses[0]
    alpha = K.to_host(model.layers[1].alpha.value)
    assert np.abs(alpha).max() > 0.01  # the slopes moved from their zero start


@pytest.mark.parametrize("name", list(CASES))
def test_each_layer_works_in_a_functional_model(name):
    inputs = keras.Input(shape=FIXTURES["x"].shape[1:])
    outputs = gpukeras_layer(name)(inputs)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, *FIXTURES["x"].shape[1:])
    predicted = model.predict(FIXTURES["x"], verbose=0)
    np.testing.assert_allclose(predicted, FIXTURES[name], rtol=1e-5, atol=1e-6)
