"""Convolution layers: Keras 3 outputs, finite-difference gradients, shapes, configs, bad input.

Reference outputs come from tests/fixtures/make_conv_fixtures.py (real Keras 3 on JAX).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, regularizers
from gpukeras.layers._serialization import deserialize, serialize
from tests._conv_fixtures import CONV_CASES, FIXTURES, fixture, layer_from_case
from tests.gradcheck import check_layer_gradients

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_forward_matches_keras(xp, case):
    name, class_name, kwargs, _ = case
    layer, x, data = layer_from_case(name, class_name, kwargs)
    y = K.to_host(layer(x))
    np.testing.assert_allclose(y, data[f"{name}/y"], rtol=1e-5, atol=3e-6)
    assert layer.compute_output_shape(tuple(x.shape)) == y.shape


# -- gradients (float64 finite differences) ---------------------------------------------
CONV2D_OPTIONS = [
    {},
    {"strides": 2},
    {"strides": (2, 1), "padding": "same"},
    {"padding": "same", "kernel_size": (2, 4)},
    {"dilation_rate": 2},
    {"dilation_rate": (1, 2), "padding": "same"},
    {"data_format": "channels_first"},
    {"data_format": "channels_first", "strides": 2, "padding": "same"},
    {"groups": 2, "filters": 4},
    {"use_bias": False, "activation": "relu"},
    {"activation": "tanh", "padding": "same", "strides": 3},
]


@pytest.mark.parametrize("options", CONV2D_OPTIONS, ids=str)
def test_conv2d_gradients(xp, options):
    kwargs = {"filters": 2, "kernel_size": 3, "bias_initializer": "random_normal", **options}
    layer = layers.Conv2D(dtype="float64", **kwargs)
    shape = (2, 2, 6, 5) if options.get("data_format") == "channels_first" else (2, 6, 5, 2)
    check_layer_gradients(layer, RNG.normal(size=shape) + 0.1)


@pytest.mark.parametrize(
    "options",
    [{}, {"padding": "causal", "dilation_rate": 2}, {"padding": "same", "strides": 2},
     {"data_format": "channels_first"}, {"groups": 3, "filters": 3}],
    ids=str,
)  # fmt: skip
def test_conv1d_gradients(xp, options):
    layer = layers.Conv1D(**{"filters": 2, "kernel_size": 3, **options}, dtype="float64")
    shape = (2, 3, 7) if options.get("data_format") == "channels_first" else (2, 7, 3)
    check_layer_gradients(layer, RNG.normal(size=shape))


@pytest.mark.parametrize(
    "options",
    [{}, {"strides": 2}, {"strides": 2, "padding": "same"}, {"kernel_size": 4, "strides": 2,
     "padding": "same"}, {"strides": (2, 3), "output_padding": (1, 2)},
     {"dilation_rate": 2, "padding": "same"}, {"data_format": "channels_first", "strides": 2},
     {"activation": "sigmoid", "kernel_size": 2, "strides": 3}],
    ids=str,
)  # fmt: skip
def test_conv2d_transpose_gradients(xp, options):
    kwargs = {"filters": 2, "kernel_size": 3, **options}
    layer = layers.Conv2DTranspose(dtype="float64", bias_initializer="random_normal", **kwargs)
    shape = (2, 2, 3, 4) if options.get("data_format") == "channels_first" else (2, 3, 4, 2)
    check_layer_gradients(layer, RNG.normal(size=shape))


@pytest.mark.parametrize(
    "options",
    [{}, {"depth_multiplier": 2, "strides": 2, "padding": "same"}, {"dilation_rate": 2},
     {"data_format": "channels_first", "activation": "tanh"}],
    ids=str,
)  # fmt: skip
def test_depthwise_gradients(xp, options):
    layer = layers.DepthwiseConv2D(3, dtype="float64", bias_initializer="random_normal", **options)
    shape = (2, 3, 6, 5) if options.get("data_format") == "channels_first" else (2, 6, 5, 3)
    check_layer_gradients(layer, RNG.normal(size=shape))


@pytest.mark.parametrize(
    "options", [{}, {"depth_multiplier": 2, "strides": 2, "padding": "same"},
                {"data_format": "channels_first", "activation": "tanh"}], ids=str
)  # fmt: skip
def test_separable_gradients(xp, options):
    layer = layers.SeparableConv2D(
        3, 3, dtype="float64", bias_initializer="random_normal", **options
    )
    shape = (2, 2, 5, 6) if options.get("data_format") == "channels_first" else (2, 5, 6, 2)
    check_layer_gradients(layer, RNG.normal(size=shape))


def test_kernel_regularizer_gradient_is_added(xp):
    layer = layers.Conv2D(2, 2, kernel_regularizer=regularizers.L2(0.5), dtype="float64")
    x = K.to_device(RNG.normal(size=(1, 3, 3, 1)))
    layer(x)
    layer.forward_tracked(x, True)
    layer.backward_with_penalties(K.to_device(np.zeros((1, 2, 2, 2))))
    np.testing.assert_allclose(K.to_host(layer.kernel.grad), K.to_host(layer.kernel.value) * 1.0)


# -- NumPy fast paths --------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [{}, {"activation": "relu"}, {"padding": "same", "strides": 2}, {"dilation_rate": 2},
     {"data_format": "channels_first", "activation": "relu"}],
    ids=str,
)  # fmt: skip
def test_conv2d_gradients_with_many_channels(xp, options):
    """Eight or more input channels take the row-major im2col path (one windows copy)."""
    kwargs = {"filters": 3, "kernel_size": 3, "bias_initializer": "random_normal", **options}
    layer = layers.Conv2D(dtype="float64", **kwargs)
    shape = (2, 8, 5, 6) if options.get("data_format") == "channels_first" else (2, 5, 6, 8)
    check_layer_gradients(layer, RNG.normal(size=shape) + 0.1)


def _gradients(layer, x, grad, needs_input_grad=True):
    layer.forward(x, training=True)
    layer.needs_input_grad = needs_input_grad
    grad_x = layer.backward(grad)
    layer.needs_input_grad = True
    kernel, bias = (K.to_host(v.grad).copy() for v in (layer.kernel, layer.bias))
    return (None if grad_x is None else K.to_host(grad_x)), kernel, bias


@pytest.mark.parametrize("channels", [1, 8])
@pytest.mark.parametrize("activation", ["relu", "tanh", None])
def test_first_layer_skips_the_input_gradient_with_the_same_weight_gradients(
    xp, channels, activation
):
    layer = layers.Conv2D(4, 3, activation=activation, bias_initializer="random_normal")
    x = K.to_device(RNG.normal(size=(3, 9, 8, channels)).astype("float32"))
    grad = K.to_device(RNG.normal(size=(3, 7, 6, 4)).astype("float32"))
    layer(x)
    full = _gradients(layer, x, grad)
    skipped = _gradients(layer, x, grad, needs_input_grad=False)
    assert skipped[0] is None
    np.testing.assert_allclose(skipped[1], full[1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(skipped[2], full[2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "options",
    [{}, {"strides": 2}, {"dilation_rate": 2}, {"activation": None}, {"activation": "tanh"},
     {"groups": 2, "filters": 4}],
    ids=str,
)  # fmt: skip
def test_zero_gradient_border_is_cropped_with_the_same_results(xp, options):
    """A 'valid' pooling after the layer leaves its last output row/column without
    gradient; the backward GEMMs then skip them, with the same gradients as in full."""
    options = {"activation": "relu", "filters": 5, **options}
    layer = layers.Conv2D(kernel_size=3, bias_initializer="random_normal", **options)
    layer.use_winograd = False  # the cropped im2col path (Winograd has no border to crop)
    x = K.to_device(RNG.normal(size=(2, 13, 12, 8)).astype("float32"))
    y = layer(x)
    grad = RNG.normal(size=y.shape).astype("float32")
    grad[:, -1] = 0
    grad[:, :, -2:] = 0
    grad = K.to_device(grad)
    taken = []
    cropped = layer._without_zero_border
    layer._without_zero_border = lambda grad4: taken.append(cropped(grad4)) or taken[-1]
    fast = _gradients(layer, x, grad)
    if (
        K.backend() == "numpy"
        and options["activation"] in ("relu", None)
        and "groups" not in options
    ):
        assert taken[-1] is not None  # the cropped path ran
    layer._without_zero_border = lambda grad4: None  # the plain path, for reference
    plain = _gradients(layer, x, grad)
    for got, expected in zip(fast, plain):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_chunked_numpy_kernels_match_one_gemm(monkeypatch):
    from gpukeras.backend.kernels import conv

    monkeypatch.setattr(conv, "_CHUNK_BYTES", 64 * 4 * 3)  # a few rows per block
    a = RNG.normal(size=(1000, 7)).astype("float32")
    b = RNG.normal(size=(7, 3)).astype("float32")
    bias = RNG.normal(size=3).astype("float32")
    out = np.empty((1000, 3), np.float32)
    conv.gemm_bias_relu(a, b, out, bias, relu=True)
    np.testing.assert_allclose(out, np.maximum(a @ b + bias, 0), rtol=1e-5, atol=1e-5)
    cols = np.ascontiguousarray(a.T)
    grad = RNG.normal(size=(1000, 3)).astype("float32")
    y = np.maximum(RNG.normal(size=(1000, 3)), 0).astype("float32")
    scratch = (np.empty((37, 3), np.float32), np.empty((37, 3), bool))
    got = conv.relu_weight_gradient(cols, grad, y, np.empty((7, 3), np.float32), scratch)
    np.testing.assert_allclose(got, cols @ (grad * (y > 0)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_in_place_matches_maximum_in_blocks(monkeypatch, dtype):
    from gpukeras.backend.kernels import conv

    monkeypatch.setattr(conv, "_CHUNK_BYTES", 64 * 4 * 3)  # several blocks, a partial last
    x = RNG.normal(size=(1001, 5)).astype(dtype)
    x[3, 2] = np.nan
    expected = np.maximum(x, 0.0)
    assert conv.relu_in_place(x) is x
    np.testing.assert_array_equal(x, expected)  # NaN kept where numpy.maximum keeps it
    strided = RNG.normal(size=(6, 8)).astype(dtype)[:, ::2]  # falls back to the scalar form
    expected = np.maximum(strided, 0.0)
    np.testing.assert_array_equal(conv.relu_in_place(strided), expected)


@pytest.mark.numpy_only("drives Layer.forward with host arrays")
def test_training_outputs_reuse_buffers_and_other_calls_get_fresh_arrays():
    layer = layers.Conv2D(2, 3)
    x = RNG.normal(size=(1, 5, 5, 1)).astype("float32")
    first = layer(x)
    assert layer(x) is not first and layer(x).base is not first.base
    layer.scratch_outputs = True  # what the training step sets
    assert np.shares_memory(layer.forward(x, training=True), layer.forward(x, training=True))
    layer.scratch_outputs = False


# -- weights and layouts ----------------------------------------------------------------
def test_weight_shapes_are_keras_layouts():
    shapes = {
        layers.Conv2D(8, (3, 2), groups=2): [(3, 2, 2, 8), (8,)],
        layers.Conv1D(5, 4): [(4, 4, 5), (5,)],
        layers.Conv2DTranspose(6, 3): [(3, 3, 6, 4), (6,)],
        layers.DepthwiseConv2D(3, depth_multiplier=2): [(3, 3, 4, 2), (8,)],
        layers.SeparableConv2D(7, 3): [(3, 3, 4, 1), (1, 1, 4, 7), (7,)],
    }
    for layer, expected in shapes.items():
        layer.ensure_built(
            (None, 9, 9, 4) if not isinstance(layer, layers.Conv1D) else (None, 9, 4)
        )
        assert [tuple(w.shape) for w in layer.weights] == expected, layer.name


def test_default_names_and_keras_config_roundtrip():
    layer = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c")
    config = layer.get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (2, 2)
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    assert config["dilation_rate"] == (1, 1) and config["groups"] == 1
    clone = deserialize(serialize(layer))
    assert isinstance(clone, layers.Conv2D) and clone.get_config() == config
    assert layers.Conv2DTranspose(2, 3).name.startswith("conv2d_transpose")
    assert layers.SeparableConv2D(2, 3).name.startswith("separable_conv2d")
    assert deserialize({"class_name": "Convolution2D", "config": {"filters": 2, "kernel_size": 3}})


def test_keras_weights_file_loads_and_predicts_as_keras():
    data = fixture("conv_model.npz")
    model = _small_cnn()
    model.load_weights(f"{FIXTURES}/conv_model.weights.h5")
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["predictions"], atol=2e-6)


def test_two_sgd_steps_match_keras_including_batchnorm_statistics():
    data = fixture("conv_model.npz")
    model = _small_cnn()
    count = len(model.get_weights())
    model.set_weights([data[f"before{i}"] for i in range(count)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    model.fit(data["x"], data["y"], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, data[f"after{i}"], atol=2e-6, err_msg=f"weight {i}")


def _small_cnn():
    return keras.models.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Conv2D(3, 3, strides=2, padding="same", activation="tanh"),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


# -- legacy names -------------------------------------------------------------------------
def test_keras1_convolution2d_positional_and_keywords():
    with pytest.warns(DeprecationWarning) as record:
        old = layers.Convolution2D(8, 3, 2, border_mode="same", subsample=(2, 2))
    assert [w.filename for w in record] == [__file__] * 3  # the user's line
    assert "nb_row" in str(record[0].message) and "border_mode" in str(record[1].message)
    assert isinstance(old, layers.Conv2D)
    assert (old.filters, old.kernel_size, old.padding, old.strides) == (8, (3, 2), "same", (2, 2))
    with pytest.warns(DeprecationWarning):
        rows_cols = layers.Conv2D(nb_filter=4, nb_row=2, nb_col=3, init="he_normal")
    assert (rows_cols.filters, rows_cols.kernel_size) == (4, (2, 3))
    with pytest.warns(DeprecationWarning):
        one = layers.Convolution1D(nb_filter=3, filter_length=5, subsample_length=2)
    assert (one.filters, one.kernel_size, one.strides) == (3, (5,), (2,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layers.Conv2D(2, 3, 2).strides == (2, 2)  # Keras 3 reading of the new name
    with pytest.raises(TypeError, match="kernel_size"):
        layers.Conv2D(2, kernel_size=3, nb_row=1, nb_col=1)


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filters": 2, "kernel_size": 3, "padding": "foo"}, "Received: padding='foo'"),
        ({"filters": 2, "kernel_size": 3, "data_format": "NHWC"}, "data_format='NHWC'"),
        ({"filters": 0, "kernel_size": 3}, "filters=0"),
        ({"filters": 2, "kernel_size": 0}, "kernel_size=0"),
        ({"filters": 2, "kernel_size": (3, -1)}, r"kernel_size=\(3, -1\)"),
        ({"filters": 2, "kernel_size": 3, "strides": 0}, "strides=0"),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
        ({"filters": 3, "kernel_size": 3, "groups": 2}, "groups"),
        ({"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding='causal'"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Conv2D(**kwargs)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"rank 4.*input_shape=\(None, 5, 5\)"):
        layers.Conv2D(2, 3).ensure_built((None, 5, 5))
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv2D(2, 5).ensure_built((None, 4, 9, 1))
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv1D(2, 3, dilation_rate=3)(np.zeros((1, 6, 1), "float32"))
    with pytest.raises(ValueError, match="groups"):
        layers.Conv2D(4, 3, groups=2).ensure_built((None, 5, 5, 3))
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="Unknown constraint: 'maxnorm'"):
        layers.Conv2D(2, 3, kernel_constraint="maxnorm")
    with pytest.raises(ValueError, match="depth_multiplier=0"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)
    layer = layers.Conv2D(2, 3)
    layer.ensure_built((None, 8, 8, 1))
    with pytest.raises(ValueError, match="kernel_size"):
        layer(np.zeros((1, 2, 8, 1), "float32"))  # smaller input than built for
