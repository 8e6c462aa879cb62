"""Keras 1/2 backend functions (``K.*``) compute what NumPy does and differentiate on
the tape; eager-only refusals name the replacement."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4, 5))

CASES = [
    ("mean", lambda x: K.mean(x, axis=1), lambda x: x.mean(axis=1)),
    ("sum", lambda x: K.sum(x, axis=-1, keepdims=True), lambda x: x.sum(-1, keepdims=True)),
    ("square", K.square, np.square),
    ("sqrt", lambda x: K.sqrt(K.abs(x)), lambda x: np.sqrt(np.abs(x))),
    ("max", lambda x: K.max(x, axis=0), lambda x: x.max(0)),
    ("min", lambda x: K.min(x), lambda x: x.min()),
    ("std", lambda x: K.std(x, axis=1), lambda x: x.std(1)),
    ("var", lambda x: K.var(x, axis=1), lambda x: x.var(1)),
    ("exp", K.exp, np.exp),
    ("log", lambda x: K.log(K.abs(x) + 1), lambda x: np.log(np.abs(x) + 1)),
    ("tanh", K.tanh, np.tanh),
    ("sigmoid", K.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    ("softmax", K.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("relu", K.relu, lambda x: np.maximum(x, 0)),
    (
        "relu_leaky_capped",
        lambda x: K.relu(x, 0.1, 0.5),
        lambda x: np.minimum(np.where(x > 0, x, 0.1 * x), 0.5),
    ),  # fmt: skip
    ("clip", lambda x: K.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    ("pow", lambda x: K.pow(K.abs(x), 3), lambda x: np.abs(x) ** 3),
    ("maximum", lambda x: K.maximum(x, 0.2), lambda x: np.maximum(x, 0.2)),
    ("minimum", lambda x: K.minimum(x, 0.2), lambda x: np.minimum(x, 0.2)),
    (
        "l2_normalize",
        lambda x: K.l2_normalize(x, axis=-1),
        lambda x: x / np.sqrt((x**2).sum(-1, keepdims=True)),
    ),  # fmt: skip
    ("concatenate", lambda x: K.concatenate([x, x * 2]), lambda x: np.concatenate([x, 2 * x], -1)),
    ("stack", lambda x: K.stack([x, x], axis=1), lambda x: np.stack([x, x], 1)),
    ("expand_dims", K.expand_dims, lambda x: x[..., None]),
    ("reshape", lambda x: K.reshape(x, (4, 3)), lambda x: x.reshape(4, 3)),
    ("transpose", K.transpose, np.transpose),
    ("permute", lambda x: K.permute_dimensions(x, (1, 0)), lambda x: x.T),
    ("ones_like", K.ones_like, np.ones_like),
    ("zeros_like", K.zeros_like, np.zeros_like),
    ("gather", lambda x: K.gather(x, K.to_device(np.array([2, 0]))), lambda x: x[[2, 0]]),
    ("dot", lambda x: K.dot(x, K.to_device(B)), lambda x: x @ B),
    ("batch_dot_2d", lambda x: K.batch_dot(x, x), lambda x: (x * x).sum(1, keepdims=True)),
    ("cast", lambda x: K.cast(x, "float32"), lambda x: x.astype("float32")),
]


@pytest.mark.parametrize(("name", "function", "expected"), CASES, ids=[c[0] for c in CASES])
def test_backend_function_matches_numpy(xp, name, function, expected):
    out = K.to_host(function(K.to_device(A)))
    np.testing.assert_allclose(out, expected(A), rtol=1e-6, atol=1e-7)


def test_batch_dot_of_3d_batches_contracts_the_given_axes(xp):
    x, y = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 4, 5))
    out = K.to_host(K.batch_dot(K.to_device(x), K.to_device(y), axes=(2, 1)))
    np.testing.assert_allclose(out, np.einsum("bij,bjk->bik", x, y), rtol=1e-6)


def test_batch_dot_refuses_the_batch_axis():
    with pytest.raises(ValueError, match="batch axis"):
        K.batch_dot(A, A, axes=0)


def test_shapes_argmax_and_floatx(xp):
    x = K.to_device(A)
    assert K.int_shape(x) == (3, 4) and K.shape(x) == (3, 4) and K.ndim(x) == 2
    np.testing.assert_array_equal(K.to_host(K.argmax(x)), A.argmax(-1))
    assert K.floatx() == "float32" and K.epsilon() == pytest.approx(1e-7)


@pytest.mark.parametrize(
    "expression",
    [
        lambda w: K.sum(K.square(K.l2_normalize(w, axis=1) * 3.0)),
        lambda w: K.mean(K.relu(K.dot(w, K.transpose(w)))),
        lambda w: K.sum(K.batch_dot(w, K.exp(w))),
        lambda w: K.sum(K.concatenate([K.tanh(w), K.sigmoid(w)], axis=-1) ** 2),
    ],
)
def test_backend_functions_are_differentiable_on_the_tape(xp, expression):
    w = keras.Variable(A.astype("float32"), name="w")
    with keras.GradientTape() as tape:
        loss = expression(w)
    grad = K.to_host(tape.gradient(loss, w))
    numeric = np.zeros_like(A)
    base = A.astype("float64")
    for index in np.ndindex(*A.shape):
        for sign in (1, -1):
            probe = base.copy()
            probe[index] += sign * 1e-3
            numeric[index] += sign * float(K.to_host(expression(K.to_device(probe)))) / 2e-3
    np.testing.assert_allclose(grad, numeric, rtol=2e-2, atol=2e-3)


def test_variable_get_value_and_set_value(xp):
    v = K.variable(np.ones((2, 2)))
    K.set_value(v, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(K.get_value(v), np.full((2, 2), 3.0))


@pytest.mark.parametrize(
    ("name", "replacement"),
    [("placeholder", "pass arrays"), ("function", "predict"), ("gradients", "GradientTape")],
)
def test_graph_only_functions_are_refused_naming_the_replacement(name, replacement):
    with pytest.raises(AttributeError, match=replacement):
        getattr(K, name)
