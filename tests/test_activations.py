"""Activations: values and gradients against Keras 3, finite differences, dtypes, API."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gpukeras import activations
from gpukeras import backend as K

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "activations.npz")
KERAS_CASES = [json.loads(str(c)) for c in FIXTURE["cases"]]

# Points away from every kink (0, +-0.5, +-1, +-3, 6 and the thresholds used below).
SMOOTH_POINTS = np.array(
    [
        [-5.37, -3.21, -2.71, -1.73, -1.27, -0.83, -0.61],
        [-0.37, -0.13, 0.11, 0.29, 0.67, 0.88, 1.13],
        [1.62, 2.41, 2.93, 3.31, 4.42, 5.71, 6.33],
    ]
)

GRADIENT_CASES = [
    (name, {}) for name in sorted(activations._REGISTRY) if name not in ("exponential",)
] + [
    ("exponential", {}),
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 4.0}),
    ("relu", {"threshold": 1.5}),
    ("relu", {"negative_slope": 0.2, "max_value": 4.0, "threshold": -2.0}),
    ("leaky_relu", {"negative_slope": 0.05}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": (0, 1)}),
    ("log_softmax", {"axis": 0}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {"approximate": True}),
    ("soft_shrink", {"threshold": 0.2}),
    ("squareplus", {"b": 0.5}),
]


def _case_id(case) -> str:
    name, params = case[0], case[1]
    return name + "".join(f"-{k}={v}" for k, v in sorted(params.items()))


def _host(array) -> np.ndarray:
    return np.asarray(K.to_host(array))


@pytest.mark.parametrize("case", KERAS_CASES, ids=_case_id)
def test_forward_and_backward_match_keras(xp, case):
    name, params, keras_dtype = case
    index = KERAS_CASES.index(case)
    fn = activations.get(name).with_params(**params)
    x = xp.asarray(FIXTURE["x"])
    cotangent = xp.asarray(FIXTURE["cotangent"])

    y = fn.forward(x)
    dx = fn.backward(x, y, cotangent)

    # Keras 3.15 computes tanh in float32 even for float64 input.
    rtol, atol = (1e-6, 1e-6) if keras_dtype == "float32" else (1e-9, 1e-11)
    np.testing.assert_allclose(_host(y), FIXTURE[f"y{index}"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(_host(dx), FIXTURE[f"dx{index}"], rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=_case_id)
def test_backward_matches_central_differences(xp, case):
    name, params = case
    fn = activations.get(name).with_params(**params)
    x = SMOOTH_POINTS.copy()
    cotangent = np.random.default_rng(0).normal(size=x.shape)

    analytic = _host(fn.backward(xp.asarray(x), fn.forward(xp.asarray(x)), xp.asarray(cotangent)))

    step = 1e-6
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[index] += step
        up = float(np.sum(_host(fn.forward(xp.asarray(shifted))) * cotangent))
        shifted[index] -= 2 * step
        down = float(np.sum(_host(fn.forward(xp.asarray(shifted))) * cotangent))
        numeric[index] = (up - down) / (2 * step)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(activations._REGISTRY))
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_dtype_is_preserved(xp, name, dtype):
    fn = activations.get(name)
    x = xp.asarray(SMOOTH_POINTS, dtype=dtype)
    y = fn.forward(x)
    dx = fn.backward(x, y, xp.ones_like(x))
    assert y.dtype == np.dtype(dtype)
    assert dx.dtype == np.dtype(dtype)
    np.testing.assert_allclose(
        _host(y).astype("float64"),
        _host(fn.forward(xp.asarray(SMOOTH_POINTS))),
        rtol=1e-6 if dtype == "float32" else 3e-3,
        atol=1e-6 if dtype == "float32" else 3e-3,
    )


@pytest.mark.parametrize("name", sorted(activations._REGISTRY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_inputs_give_finite_values_without_warnings(xp, name, dtype):
    # pytest turns RuntimeWarning (overflow, invalid) into errors.
    fn = activations.get(name)
    x = xp.asarray([[-1e4, -800.0, -100.0, -30.0, 30.0, 100.0, 800.0, 1e4]], dtype=dtype)
    y = fn.forward(x)
    dx = fn.backward(x, y, xp.ones_like(x))
    if name == "exponential":
        assert np.isinf(_host(y)[0, -1])
        return
    assert np.all(np.isfinite(_host(y)))
    assert np.all(np.isfinite(_host(dx)))


def test_saturating_values_are_exact(xp):
    x = xp.asarray([-1e4, -50.0, 50.0, 1e4])
    # The constant is the C library's exp(-50). CUDA's double exp/log1p are within 1 ulp of
    # the true value but not always the C library's rounding (CUDA Math API), so on CuPy the
    # non-trivial entry may differ by an ulp; the saturated entries stay exact everywhere.
    rtol = 0.0 if K.backend() == "numpy" else 4e-16
    np.testing.assert_allclose(
        _host(activations.sigmoid(x)), [0.0, 1.9287498479639178e-22, 1, 1], rtol=rtol, atol=0
    )
    np.testing.assert_allclose(
        _host(activations.softplus(x)), [0.0, 1.9287498479639178e-22, 50, 1e4], rtol=rtol, atol=0
    )
    np.testing.assert_allclose(
        _host(activations.softmax(xp.asarray([[1000.0, 1000.0]]))), [[0.5, 0.5]]
    )
    # Far-negative gelu keeps its (tiny) value instead of cancelling to zero.
    assert _host(activations.gelu(xp.asarray([-10.0])))[0] == pytest.approx(
        -5.0 * math.erfc(10.0 / math.sqrt(2.0)), rel=1e-12
    )


def test_erfc_is_accurate(xp):
    z = np.concatenate([np.linspace(-6.0, 26.0, 4001), [0.0, 1e-12, -1e-12]])
    expected = np.array([math.erfc(v) for v in z])
    got = _host(activations._erfc(xp.asarray(z)))
    np.testing.assert_allclose(got, expected, rtol=5e-13, atol=0.0)
    got32 = _host(activations._erfc(xp.asarray(z[z < 4.0], dtype="float32")))
    np.testing.assert_allclose(got32, expected[z < 4.0], rtol=2e-6)


def test_softmax_normalises_along_the_requested_axis(xp):
    x = xp.asarray(np.random.default_rng(1).normal(size=(2, 3, 4)))
    for axis in (0, 1, -1, (1, 2)):
        y = _host(activations.softmax(x, axis=axis))
        np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)
    log_y = _host(activations.log_softmax(x, axis=1))
    np.testing.assert_allclose(np.exp(log_y), _host(activations.softmax(x, axis=1)), rtol=1e-12)


def test_keyword_parameters_work_like_the_keras_functions(xp):
    x = xp.asarray([-2.0, -0.5, 0.5, 8.0])
    np.testing.assert_allclose(_host(activations.relu(x)), [0, 0, 0.5, 8])
    np.testing.assert_allclose(_host(activations.relu(x, max_value=5.0)), [0, 0, 0.5, 5])
    np.testing.assert_allclose(_host(activations.relu(x, negative_slope=0.5)), [-1, -0.25, 0.5, 8])
    np.testing.assert_allclose(_host(activations.relu(x, threshold=1.0)), [0, 0, 0, 8])
    np.testing.assert_allclose(_host(activations.leaky_relu(x)), [-0.4, -0.1, 0.5, 8])
    np.testing.assert_allclose(
        _host(activations.leaky_relu(x, negative_slope=0.1)), [-0.2, -0.05, 0.5, 8]
    )
    np.testing.assert_allclose(_host(activations.hard_sigmoid(x)), [1 / 6, 5 / 12, 7 / 12, 1])
    # Calling with parameters does not change the module-level object.
    assert activations.relu.params == {"negative_slope": 0.0, "max_value": None, "threshold": 0.0}


def test_with_params_binds_forward_and_backward(xp):
    fn = activations.softmax.with_params(axis=0)
    x = xp.asarray([[1.0, 2.0], [3.0, 5.0]])
    y = fn.forward(x)
    np.testing.assert_allclose(_host(y).sum(axis=0), [1.0, 1.0])
    assert fn.params == {"axis": 0}
    assert fn == activations.softmax.with_params(axis=0)
    assert fn != activations.softmax
    assert hash(fn) == hash(activations.softmax.with_params(axis=0))
    assert "axis=0" in repr(fn)
    # backward with y=None recomputes the forward pass.
    grad = xp.asarray([[1.0, -1.0], [0.5, 2.0]])
    np.testing.assert_allclose(_host(fn.backward(x, None, grad)), _host(fn.backward(x, y, grad)))


def test_lists_and_integers_become_floatx(xp):
    y = activations.sigmoid([0, 1, 2])
    assert y.dtype == np.dtype(K.floatx())
    assert activations.relu(np.arange(3)).dtype == np.dtype(K.floatx())


def test_get_accepts_keras_identifiers():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.get(activations.tanh) is activations.tanh
    assert activations.get({"class_name": "function", "config": "elu"}) is activations.elu

    class Custom:
        def forward(self, x):
            return 2 * x

        def backward(self, x, y, grad):
            return 2 * grad

    custom = Custom()
    assert activations.get(custom) is custom


def test_get_rejects_unknown_names_listing_the_known_ones():
    with pytest.raises(ValueError) as info:
        activations.get("foo")
    message = str(info.value)
    assert "Unknown activation: 'foo'" in message
    assert "'relu'" in message and "'softmax'" in message and "'swish'" in message
    assert "Received: activation='foo'" in message


def test_get_rejects_what_is_neither_a_name_nor_callable():
    with pytest.raises(TypeError, match="Received: activation=3"):
        activations.get(3)


def test_bad_parameters_are_rejected():
    with pytest.raises(TypeError, match="Unknown parameter for activation 'relu'.*alpha=1"):
        activations.relu.with_params(alpha=1)
    with pytest.raises(TypeError, match="no parameters"):
        activations.sigmoid([1.0], axis=0)
    with pytest.raises(ValueError, match="axis to be an int.*Received: axis='a'"):
        activations.softmax.with_params(axis="a")
    with pytest.raises(ValueError, match="Received: alpha='x'"):
        activations.elu.with_params(alpha="x")
    with pytest.raises(ValueError, match="a bool"):
        activations.gelu.with_params(approximate=1)
    with pytest.raises(ValueError, match="None or a finite float"):
        activations.relu.with_params(max_value=float("nan"))


@pytest.mark.parametrize("name", sorted(activations._REGISTRY))
def test_serialize_round_trips(name):
    fn = activations.get(name)
    assert activations.serialize(fn) == name
    assert activations.deserialize(activations.serialize(fn)) is fn


def test_serialize_refuses_what_it_cannot_represent():
    assert activations.serialize(activations.swish) == "silu"  # as Keras 3
    with pytest.raises(ValueError, match="non-default"):
        activations.serialize(activations.softmax.with_params(axis=1))
    with pytest.raises(ValueError, match="Cannot serialize"):
        activations.serialize(lambda x: x)
