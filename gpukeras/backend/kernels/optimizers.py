"""Fused optimizer updates: one CuPy launch per parameter per step, NumPy twins in place.

Every update kernel starts with the same prologue, in Keras 3's order:

1. the gradient is scaled and clipped, ``g = clip(grad * gmul / gdiv, glo, ghi)``: clipnorm
   passes ``gmul=clipnorm`` and ``gdiv=max(||grad||, clipnorm)``, global_clipnorm passes the
   global scale as ``gmul``, clipvalue passes ``glo=-v, ghi=v``; neutral values (1, 1, -inf,
   inf) leave ``g`` bit-identical to ``grad``. ``gmul``/``gdiv`` are 0-d device arrays so a norm
   computed on the device never has to visit the host;
2. decoupled weight decay, ``param = param - param * wd * lr`` (``wd=0`` for excluded
   variables);
3. the optimizer's own update, written in the operation order Keras uses so float32 results
   round the same way.

Bodies write ``a = a - b``, never ``a -= b``: CuPy's bfloat16 type has no compound assignment
from the ``float`` its arithmetic returns, and half types need ``(T)`` casts where a ``?:``
mixes ``T`` with ``float`` (``tests/test_cuda_compile.py`` compiles every body in float16,
bfloat16, float32 and float64). For float32/float64 both forms round identically.

Scalars (learning rate, bias corrections) arrive as Python floats and become kernel arguments
of type ``T``, so changing them never recompiles. Ops are built lazily and cached per variant
(for example SGD with or without Nesterov momentum).

The NumPy twins take the same arguments and update the outputs in place. Temporaries live in a
module-level pool of scratch buffers keyed by shape and dtype, allocated on first use and reused
by every later step (single-threaded use assumed, like the rest of the fit loop).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy

from gpukeras.backend.kernels._op import ElementwiseOp
from gpukeras.backend.kernels._registry import variants
from gpukeras.backend.kernels.norms import accumulation_dtype, squared_sum

__all__ = [
    "adadelta_op",
    "adagrad_op",
    "adam_op",
    "accumulation_dtype",
    "adamax_op",
    "ema_op",
    "nadam_op",
    "rmsprop_op",
    "sgd_op",
    "squared_sum",
]

# Inputs every update kernel takes first; outputs always start with ``param``.
_PROLOGUE_PARAMS = "T grad, T gmul, T gdiv, T glo, T ghi, T wd, T lr"
#: Prologue inputs passed as Python floats (``gmul``/``gdiv`` are 0-d device arrays).
_PROLOGUE_SCALARS = ("glo", "ghi", "wd", "lr")
_PROLOGUE = """
T g = grad * gmul / gdiv;
g = g < glo ? glo : (g > ghi ? ghi : g);
param = param - param * wd * lr;
"""

_SCRATCH: dict[tuple[Any, ...], numpy.ndarray] = {}
_OPS: dict[tuple[Any, ...], ElementwiseOp] = {}


def _scratch(like: numpy.ndarray, slot: int) -> numpy.ndarray:
    """A reusable buffer shaped like ``like``; ``slot`` tells apart buffers used together."""
    key = (like.shape, like.dtype.str, slot)
    buffer = _SCRATCH.get(key)
    if buffer is None:
        buffer = _SCRATCH[key] = numpy.empty(like.shape, dtype=like.dtype)
    return buffer


def _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param) -> numpy.ndarray:
    """Decay ``param`` in place and return the clipped gradient (``grad`` itself if untouched)."""
    g = grad
    if gmul != 1 or gdiv != 1:
        g = _scratch(grad, 0)
        numpy.multiply(grad, gmul, out=g)
        numpy.divide(g, gdiv, out=g)
    if glo != -math.inf or ghi != math.inf:
        g = numpy.clip(g, glo, ghi, out=_scratch(grad, 0))
    if wd != 0.0:
        decay = _scratch(param, 1)
        numpy.multiply(param, wd, out=decay)
        decay *= lr
        param -= decay
    return g


def _cached_op(
    key: tuple[Any, ...],
    scalars: str,
    slots: str,
    body: str,
    twin: Callable[..., None],
) -> ElementwiseOp:
    op = _OPS.get(key)
    if op is None:
        name = "_".join(str(part) for part in key)
        in_params = _PROLOGUE_PARAMS + (f", {scalars}" if scalars else "")
        out_params = "T param" + (f", {slots}" if slots else "")
        scalar_names = _PROLOGUE_SCALARS + tuple(p.split()[-1] for p in scalars.split(",") if p)
        op = _OPS[key] = ElementwiseOp(
            name, in_params, out_params, _PROLOGUE + body, twin, scalars=scalar_names
        )
    return op


# --- SGD -------------------------------------------------------------------------------------


@variants(momentum=(False, True), nesterov=(False, True))
def sgd_op(momentum: bool, nesterov: bool) -> ElementwiseOp:
    """SGD. Scalars: ``momentum`` (momentum variants only). Slots: ``m`` (momentum variants).

    Plain: ``param -= g * lr``. Momentum: ``m = m * momentum - g * lr``, then ``param += m``, or
    with Nesterov ``param += m * momentum - g * lr``.
    """
    if not momentum:
        return _cached_op(("sgd",), "", "", "param = param - g * lr;", _sgd_twin)
    if nesterov:
        body = "m = m * momentum - g * lr; param = param + (m * momentum - g * lr);"
    else:
        body = "m = m * momentum - g * lr; param = param + m;"

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, momentum_, param, m):
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        step = numpy.multiply(g, lr, out=_scratch(param, 1))
        m *= momentum_
        m -= step
        if nesterov:
            look_ahead = numpy.multiply(m, momentum_, out=_scratch(param, 2))
            look_ahead -= step
            param += look_ahead
        else:
            param += m

    key = ("sgd", "nesterov" if nesterov else "momentum")
    return _cached_op(key, "T momentum", "T m", body, twin)


def _sgd_twin(grad, gmul, gdiv, glo, ghi, wd, lr, param):
    g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
    param -= numpy.multiply(g, lr, out=_scratch(param, 1))


# --- RMSprop ---------------------------------------------------------------------------------


@variants(centered=(False, True), momentum=(False, True))
def rmsprop_op(centered: bool, momentum: bool) -> ElementwiseOp:
    """RMSprop. Scalars: ``rho, one_minus_rho, eps`` then ``momentum`` (momentum variant).

    Slots: ``velocity``, then ``average`` (centered), then ``mom`` (momentum). Keras 3:
    ``velocity = rho*velocity + (1-rho)*g^2``; centered also ``average = rho*average + (1-rho)*g``
    and the denominator ``velocity - average^2 + eps`` (else ``velocity + eps``);
    ``increment = lr*g / sqrt(denominator)``; ``mom = momentum*mom + increment`` and
    ``param -= mom``, or ``param -= increment`` without momentum.
    """
    scalars = "T rho, T one_minus_rho, T eps" + (", T momentum" if momentum else "")
    slots = "T velocity" + (", T average" if centered else "") + (", T mom" if momentum else "")
    body = "velocity = rho * velocity + one_minus_rho * (g * g);\n"
    if centered:
        body += "average = rho * average + one_minus_rho * g;\n"
        body += "T increment = lr * g / sqrt(velocity - average * average + eps);\n"
    else:
        body += "T increment = lr * g / sqrt(velocity + eps);\n"
    if momentum:
        body += "mom = momentum * mom + increment; param = param - mom;"
    else:
        body += "param = param - increment;"

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, rho, one_minus_rho, eps, *rest):
        momentum_ = rest[0] if momentum else None
        param, velocity, *state = rest[1:] if momentum else rest
        average = state.pop(0) if centered else None
        mom = state.pop(0) if momentum else None
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        work = numpy.multiply(g, g, out=_scratch(param, 1))
        work *= one_minus_rho
        velocity *= rho
        velocity += work
        if centered:
            numpy.multiply(g, one_minus_rho, out=work)
            average *= rho
            average += work
            numpy.multiply(average, average, out=work)
            numpy.subtract(velocity, work, out=work)
            work += eps
        else:
            numpy.add(velocity, eps, out=work)
        numpy.sqrt(work, out=work)
        increment = numpy.multiply(g, lr, out=_scratch(param, 2))
        increment /= work
        if momentum:
            mom *= momentum_
            mom += increment
            param -= mom
        else:
            param -= increment

    key = ("rmsprop", "centered" if centered else "plain", "momentum" if momentum else "nomom")
    return _cached_op(key, scalars, slots, body, twin)


# --- Adam family -----------------------------------------------------------------------------


@variants(amsgrad=(False, True))
def adam_op(amsgrad: bool) -> ElementwiseOp:
    """Adam / AdamW. Scalars: ``alpha, one_minus_beta_1, one_minus_beta_2, eps``.

    Slots: ``m, v`` then ``v_hat`` (amsgrad). ``alpha = lr*sqrt(1-beta_2^t)/(1-beta_1^t)`` is
    computed on the host. ``m += (g-m)*(1-beta_1)``, ``v += (g^2-v)*(1-beta_2)``, amsgrad keeps
    ``v_hat = max(v_hat, v)`` and uses it for ``v``; ``param -= m*alpha / (sqrt(v) + eps)``.
    """
    body = "m = m + (g - m) * one_minus_beta_1;\nv = v + (g * g - v) * one_minus_beta_2;\n"
    if amsgrad:
        body += "v_hat = v_hat > v ? v_hat : v;\nparam = param - m * alpha / (sqrt(v_hat) + eps);"
    else:
        body += "param = param - m * alpha / (sqrt(v) + eps);"

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, alpha, one_minus_beta_1, one_minus_beta_2, eps,
             param, m, v, v_hat=None):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        _moving_averages(g, m, v, one_minus_beta_1, one_minus_beta_2, _scratch(param, 1))
        if amsgrad:
            numpy.maximum(v_hat, v, out=v_hat)
            v = v_hat
        denominator = numpy.sqrt(v, out=_scratch(param, 1))
        denominator += eps
        step = numpy.multiply(m, alpha, out=_scratch(param, 2))
        step /= denominator
        param -= step

    scalars = "T alpha, T one_minus_beta_1, T one_minus_beta_2, T eps"
    slots = "T m, T v" + (", T v_hat" if amsgrad else "")
    return _cached_op(("adam", "amsgrad" if amsgrad else "plain"), scalars, slots, body, twin)


def _moving_averages(g, m, v, one_minus_beta_1, one_minus_beta_2, work) -> None:
    """Adam's ``m += (g - m)*(1-beta_1)`` and ``v += (g^2 - v)*(1-beta_2)``, in place."""
    numpy.subtract(g, m, out=work)
    work *= one_minus_beta_1
    m += work
    numpy.multiply(g, g, out=work)
    work -= v
    work *= one_minus_beta_2
    v += work


@variants()
def adamax_op() -> ElementwiseOp:
    """Adamax. Scalars: ``one_minus_beta_1, beta_2, one_minus_beta_1_power, eps``; slots ``m, u``.

    ``m += (g-m)*(1-beta_1)``, ``u = max(beta_2*u, |g|)``,
    ``param -= lr*m / ((1-beta_1^t) * (u + eps))``.
    """
    body = """
m = m + (g - m) * one_minus_beta_1;
T decayed = beta_2 * u;
T magnitude = g < (T)0 ? (T)(-g) : g;
u = decayed > magnitude ? decayed : magnitude;
param = param - lr * m / (one_minus_beta_1_power * (u + eps));
"""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, one_minus_beta_1, beta_2, one_minus_beta_1_power,
             eps, param, m, u):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        work = numpy.subtract(g, m, out=_scratch(param, 1))
        work *= one_minus_beta_1
        m += work
        numpy.abs(g, out=work)
        u *= beta_2
        numpy.maximum(u, work, out=u)
        numpy.add(u, eps, out=work)
        work *= one_minus_beta_1_power
        step = numpy.multiply(m, lr, out=_scratch(param, 2))
        step /= work
        param -= step

    scalars = "T one_minus_beta_1, T beta_2, T one_minus_beta_1_power, T eps"
    return _cached_op(("adamax",), scalars, "T m, T u", body, twin)


@variants()
def nadam_op() -> ElementwiseOp:
    """Nadam. Scalars (host-computed from Keras's momentum schedule): ``one_minus_beta_1,
    one_minus_beta_2, u_t_1, one_minus_u_product_t_1, one_minus_u_t, one_minus_u_product_t,
    one_minus_beta_2_power, eps``; slots ``m, v``.

    After Adam's moving averages: ``m_hat = u_t_1*m/(1-u_product_t_1) + (1-u_t)*g/(1-u_product_t)``,
    ``v_hat = v/(1-beta_2^t)``, ``param -= m_hat*lr / (sqrt(v_hat) + eps)``.
    """
    body = """
m = m + (g - m) * one_minus_beta_1;
v = v + (g * g - v) * one_minus_beta_2;
T m_hat = u_t_1 * m / one_minus_u_product_t_1 + one_minus_u_t * g / one_minus_u_product_t;
T v_hat = v / one_minus_beta_2_power;
param = param - m_hat * lr / (sqrt(v_hat) + eps);
"""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, one_minus_beta_1, one_minus_beta_2, u_t_1,
             one_minus_u_product_t_1, one_minus_u_t, one_minus_u_product_t,
             one_minus_beta_2_power, eps, param, m, v):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        _moving_averages(g, m, v, one_minus_beta_1, one_minus_beta_2, _scratch(param, 1))
        m_hat = numpy.multiply(m, u_t_1, out=_scratch(param, 1))
        m_hat /= one_minus_u_product_t_1
        current = numpy.multiply(g, one_minus_u_t, out=_scratch(param, 2))
        current /= one_minus_u_product_t
        m_hat += current
        denominator = numpy.divide(v, one_minus_beta_2_power, out=current)
        numpy.sqrt(denominator, out=denominator)
        denominator += eps
        m_hat *= lr
        m_hat /= denominator
        param -= m_hat

    scalars = (
        "T one_minus_beta_1, T one_minus_beta_2, T u_t_1, T one_minus_u_product_t_1, "
        "T one_minus_u_t, T one_minus_u_product_t, T one_minus_beta_2_power, T eps"
    )
    return _cached_op(("nadam",), scalars, "T m, T v", body, twin)


# --- Adagrad, Adadelta -----------------------------------------------------------------------


@variants()
def adagrad_op() -> ElementwiseOp:
    """Adagrad. Scalar ``eps``; slot ``accumulator``.

    ``accumulator += g^2``, ``param -= lr*g / sqrt(accumulator + eps)``.
    """
    body = "accumulator = accumulator + g * g;\nparam = param - lr * g / sqrt(accumulator + eps);"

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, eps, param, accumulator):
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        work = numpy.multiply(g, g, out=_scratch(param, 1))
        accumulator += work
        numpy.add(accumulator, eps, out=work)
        numpy.sqrt(work, out=work)
        step = numpy.multiply(g, lr, out=_scratch(param, 2))
        step /= work
        param -= step

    return _cached_op(("adagrad",), "T eps", "T accumulator", body, twin)


@variants()
def adadelta_op() -> ElementwiseOp:
    """Adadelta. Scalars ``rho, one_minus_rho, eps``; slots ``accumulated_grad,
    accumulated_delta``.

    ``accumulated_grad = rho*accumulated_grad + (1-rho)*g^2``,
    ``delta = -(sqrt(accumulated_delta + eps)*g / sqrt(accumulated_grad + eps))``,
    ``accumulated_delta = rho*accumulated_delta + (1-rho)*delta^2``, ``param += lr*delta``.
    """
    body = """
accumulated_grad = rho * accumulated_grad + one_minus_rho * (g * g);
T delta = -(sqrt(accumulated_delta + eps) * g / sqrt(accumulated_grad + eps));
accumulated_delta = rho * accumulated_delta + one_minus_rho * (delta * delta);
param = param + lr * delta;
"""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, rho, one_minus_rho, eps, param,
             accumulated_grad, accumulated_delta):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        work = numpy.multiply(g, g, out=_scratch(param, 1))
        work *= one_minus_rho
        accumulated_grad *= rho
        accumulated_grad += work
        delta = numpy.add(accumulated_delta, eps, out=_scratch(param, 2))
        numpy.sqrt(delta, out=delta)
        delta *= g
        numpy.add(accumulated_grad, eps, out=work)
        numpy.sqrt(work, out=work)
        delta /= work
        numpy.negative(delta, out=delta)
        numpy.multiply(delta, delta, out=work)
        work *= one_minus_rho
        accumulated_delta *= rho
        accumulated_delta += work
        delta *= lr
        param += delta

    scalars = "T rho, T one_minus_rho, T eps"
    return _cached_op(("adadelta",), scalars, "T accumulated_grad, T accumulated_delta", body, twin)


# --- Exponential moving average of the weights ----------------------------------------------


@variants()
def ema_op() -> ElementwiseOp:
    """``average = momentum * average + one_minus_momentum * param`` (Keras's ``use_ema``)."""

    def twin(momentum, one_minus_momentum, param, average):
        average *= momentum
        average += numpy.multiply(param, one_minus_momentum, out=_scratch(param, 1))

    key = ("ema",)
    op = _OPS.get(key)
    if op is None:
        op = _OPS[key] = ElementwiseOp(
            "ema",
            "T momentum, T one_minus_momentum, T param",
            "T average",
            "average = momentum * average + one_minus_momentum * param;",
            twin,
            scalars=("momentum", "one_minus_momentum"),
        )
    return op
