"""check_gradients: compare a layer's hand-written backward pass with finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import backend as K


def numerical_gradient(f: Callable[[], float], array: Any, eps: float = 1e-6) -> numpy.ndarray:
    """d f() / d array by central differences, perturbing ``array`` in place one entry at a time.

    Args:
        f: A function of no arguments returning a float that depends on ``array``. Required.
        array: The (contiguous) array to perturb; restored afterwards. Required.
        eps: The step; default ``1e-6`` (suits float64).

    Returns:
        A float64 NumPy array shaped like ``array``.
    """
    result = numpy.zeros(array.shape, dtype=numpy.float64)
    flat = array.reshape(-1)  # a view: writing into it perturbs ``array``
    for i in range(flat.size):
        original = float(K.to_host(flat[i]))
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        result.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return result


def check_gradients(
    layer: Any,
    x: Any,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    training: bool = False,
    eps: float = 1e-6,
) -> dict[str, float]:
    """Check ``layer.backward`` against central finite differences, in float64.

    The scalar differentiated is ``sum(forward(x) * r)`` for a fixed random
    ``r``, so every output entry counts. Both the gradient with respect to the
    input (what ``backward`` returns) and each trainable weight's gradient
    (what ``backward`` writes into ``variable.grad``) are compared. Build the
    layer with ``dtype='float64'``: float32 cannot resolve the small steps.
    Every entry costs two forward passes, so keep ``x`` and the layer small.

    Example:
        ```python
        layer = gpukeras.layers.Dense(3, activation="tanh", dtype="float64")
        errors = gpukeras.utils.check_gradients(layer, numpy.random.randn(4, 5))
        ```

    Args:
        layer: A layer whose weights are float64 (built here from ``x`` if it is not
            built yet). Required.
        x: A small input batch, or a list of them for a layer of several inputs (a
            merge layer); converted to float64. Required.
        seed: Seed of the random output weighting ``r``; default ``0``.
        rtol: Relative tolerance; default ``1e-5``.
        atol: Absolute tolerance; default ``1e-7``.
        training: Passed to ``forward``; default ``False``. (A layer that draws
            random numbers in training, such as Dropout, cannot be checked this way.)
        eps: Finite-difference step; default ``1e-6``.

    Returns:
        The largest absolute difference for ``'input'`` (``'input[0]'``, ... for a
        list of inputs) and for each trainable weight (by its path, e.g. ``'dense/kernel'``).

    Raises:
        ValueError: The layer's weights are not float64.
        AssertionError: A gradient differs beyond the tolerances; the message
            names which one.
    """
    from gpukeras.layers._call import shape_of

    several = isinstance(x, (list, tuple))
    x = [_float64(part) for part in x] if several else _float64(x)
    layer.ensure_built(shape_of(x))
    low_precision = [w.path for w in layer.weights if w.value.dtype != numpy.float64]
    if low_precision:
        raise ValueError(
            "check_gradients needs float64 weights (create the layer with dtype='float64'). "
            f"Received: {type(layer).__name__} with {', '.join(low_precision)} in "
            f"{layer.weights[0].value.dtype}"
        )
    output = layer.forward(x, training=training)
    r = K.to_device(numpy.random.default_rng(seed).normal(size=output.shape))

    def objective() -> float:
        return float(K.to_host((layer.forward(x, training=training) * r).sum()))

    layer.forward(x, training=training)
    grad_x = layer.backward(r)
    if several:
        analytic = {f"input[{i}]": K.to_host(g) for i, g in enumerate(grad_x)}
        arrays = {f"input[{i}]": part for i, part in enumerate(x)}
    else:
        analytic, arrays = {"input": K.to_host(grad_x)}, {"input": x}
    analytic.update({w.path: K.to_host(w.grad).copy() for w in layer.trainable_weights})
    arrays.update({w.path: w.value for w in layer.trainable_weights})
    errors: dict[str, float] = {}
    for name, array in arrays.items():
        numeric = numerical_gradient(objective, array, eps)
        errors[name] = float(numpy.max(numpy.abs(analytic[name] - numeric), initial=0.0))
        numpy.testing.assert_allclose(
            analytic[name], numeric, rtol=rtol, atol=atol, err_msg=f"gradient of {name}"
        )
    return errors


def _float64(x: Any) -> Any:
    return K.to_device(numpy.ascontiguousarray(K.to_host(x), dtype=numpy.float64))
