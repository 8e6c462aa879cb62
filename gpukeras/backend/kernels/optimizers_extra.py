"""Fused updates of the newer Keras 3 optimizers: Ftrl, Lion, ScheduleFreeAdamW, and the
elementwise pieces of Lamb, Adafactor and Muon, whose steps also need per-matrix reductions.

Every kernel starts with the prologue of :mod:`.optimizers` (clip the gradient, decay the
weights) and takes the same first seven inputs, so the base optimizer can call it on the flat
buffers or per variable alike. Bodies follow Keras 3's operation order so float32 results round
like Keras's; see :mod:`.optimizers` for the ``a = a - b`` and ``(T)`` casting rules.
"""

from __future__ import annotations

import numpy

from gpukeras.backend.kernels._op import ElementwiseOp
from gpukeras.backend.kernels._registry import variants
from gpukeras.backend.kernels.optimizers import _OPS, _cached_op, _scratch, _twin_prologue

__all__ = [
    "clip_decay_op",
    "ftrl_op",
    "lamb_moments_op",
    "lion_op",
    "muon_momentum_op",
    "schedule_free_adamw_op",
    "scaled_step_op",
]


# --- Ftrl ------------------------------------------------------------------------------------


@variants()
def ftrl_op() -> ElementwiseOp:
    """Ftrl. Scalars: ``two_l2_shrinkage, neg_lr_power, two_l2_reg, l1``; slots ``accum, linear``.

    ``two_l2_reg = 2 * (l2 + beta / (2 * lr))`` is computed on the host. With
    ``g2 = g + two_l2_shrinkage * param`` and ``p(x) = x ** neg_lr_power``:
    ``linear += g2 - (p(accum + g^2) - p(accum)) / lr * param``,
    ``param = (clip(linear, -l1, l1) - linear) / (p(accum + g^2) / lr + two_l2_reg)``,
    ``accum += g^2``. The powers are taken in double precision (one rounding to ``T``), which
    also keeps the body free of half-precision ``pow`` overloads.
    """
    body = """
T g_shrunk = g + two_l2_shrinkage * param;
T new_accum = accum + g * g;
T power_new = (T)pow((double)new_accum, (double)neg_lr_power);
T power_old = (T)pow((double)accum, (double)neg_lr_power);
linear = linear + (g_shrunk - (power_new - power_old) / lr * param);
T quadratic = power_new / lr + two_l2_reg;
T clipped = linear < (T)(-l1) ? (T)(-l1) : (linear > l1 ? l1 : linear);
param = (clipped - linear) / quadratic;
accum = new_accum;
"""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, two_l2_shrinkage, neg_lr_power, two_l2_reg, l1,
             param, accum, linear):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        g_shrunk = numpy.multiply(param, two_l2_shrinkage, out=_scratch(param, 2))
        numpy.add(g, g_shrunk, out=g_shrunk)
        new_accum = numpy.multiply(g, g, out=_scratch(param, 3))
        new_accum += accum
        power_new = _double_power(new_accum, neg_lr_power, _scratch(param, 4))
        power_old = _double_power(accum, neg_lr_power, _scratch(param, 5))
        numpy.subtract(power_new, power_old, out=power_old)
        power_old /= lr
        power_old *= param
        numpy.subtract(g_shrunk, power_old, out=g_shrunk)
        linear += g_shrunk
        quadratic = numpy.divide(power_new, lr, out=power_new)
        quadratic += two_l2_reg
        clipped = numpy.clip(linear, -l1, l1, out=_scratch(param, 1))
        numpy.subtract(clipped, linear, out=param)
        param /= quadratic
        accum[...] = new_accum

    scalars = "T two_l2_shrinkage, T neg_lr_power, T two_l2_reg, T l1"
    return _cached_op(("ftrl",), scalars, "T accum, T linear", body, twin)


_WIDE: dict[tuple[int, ...], numpy.ndarray] = {}


def _double_power(x, exponent, out):
    """``x ** exponent`` in float64, rounded once into ``out`` (the CUDA body's arithmetic),
    through a reused float64 buffer."""
    wide = _WIDE.get(x.shape)
    if wide is None:
        wide = _WIDE[x.shape] = numpy.empty(x.shape, dtype=numpy.float64)
    numpy.power(x, float(exponent), out=wide, dtype=numpy.float64)
    numpy.copyto(out, wide, casting="unsafe")
    return out


# --- Lion ------------------------------------------------------------------------------------


@variants()
def lion_op() -> ElementwiseOp:
    """Lion. Scalars ``beta_1, one_minus_beta_1, beta_2, one_minus_beta_2``; slot ``m``.

    ``param -= lr * sign(m * beta_1 + g * (1 - beta_1))``, then
    ``m = m * beta_2 + g * (1 - beta_2)``.
    """
    body = """
T mixed = m * beta_1 + g * one_minus_beta_1;
T sign = mixed > (T)0 ? (T)1 : (mixed < (T)0 ? (T)(-1) : mixed);
param = param - lr * sign;
m = m * beta_2 + g * one_minus_beta_2;
"""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, beta_1, one_minus_beta_1, beta_2,
             one_minus_beta_2, param, m):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        mixed = numpy.multiply(m, beta_1, out=_scratch(param, 2))
        mixed += numpy.multiply(g, one_minus_beta_1, out=_scratch(param, 3))
        numpy.sign(mixed, out=mixed)
        mixed *= lr
        param -= mixed
        m *= beta_2
        m += numpy.multiply(g, one_minus_beta_2, out=_scratch(param, 3))

    scalars = "T beta_1, T one_minus_beta_1, T beta_2, T one_minus_beta_2"
    return _cached_op(("lion",), scalars, "T m", body, twin)


# --- ScheduleFreeAdamW -----------------------------------------------------------------------


@variants()
def schedule_free_adamw_op() -> ElementwiseOp:
    """ScheduleFreeAdamW. Scalars ``step_lr, one_minus_beta_2, bias_correction_2, eps, weight,
    one_minus_weight, beta_1, one_minus_beta_1``; slots ``z`` (Keras's ``momentum``), ``v``.

    ``step_lr`` is the warmed-up rate (``lr`` itself decays the weights, as in Keras).
    ``v += (g^2 - v) * (1 - beta_2)``; ``z -= step_lr * g / (sqrt(v / bias_correction_2) + eps)``;
    ``x = (param - (1 - beta_1) * z_old) / beta_1``; ``x = (1 - weight) * x + weight * z``;
    ``param = (1 - beta_1) * z + beta_1 * x`` with ``weight = 1 / step``.
    """
    body = """
T z_old = z;
v = v + (g * g - v) * one_minus_beta_2;
T denominator = sqrt(v / bias_correction_2) + eps;
z = z - step_lr * g / denominator;
T x_old = (param - one_minus_beta_1 * z_old) / beta_1;
T x_new = one_minus_weight * x_old + weight * z;
param = one_minus_beta_1 * z + beta_1 * x_new;
"""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, step_lr, one_minus_beta_2, bias_correction_2,
             eps, weight, one_minus_weight, beta_1, one_minus_beta_1, param, z, v):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        x = numpy.multiply(z, one_minus_beta_1, out=_scratch(param, 2))
        numpy.subtract(param, x, out=x)
        x /= beta_1
        work = numpy.multiply(g, g, out=_scratch(param, 3))
        work -= v
        work *= one_minus_beta_2
        v += work
        numpy.divide(v, bias_correction_2, out=work)
        numpy.sqrt(work, out=work)
        work += eps
        step = numpy.multiply(g, step_lr, out=_scratch(param, 4))
        step /= work
        z -= step
        x *= one_minus_weight
        x += numpy.multiply(z, weight, out=work)
        x *= beta_1
        numpy.multiply(z, one_minus_beta_1, out=param)
        param += x

    scalars = (
        "T step_lr, T one_minus_beta_2, T bias_correction_2, T eps, T weight, "
        "T one_minus_weight, T beta_1, T one_minus_beta_1"
    )
    return _cached_op(("schedule_free_adamw",), scalars, "T z, T v", body, twin)


# --- Pieces of the non-elementwise optimizers ------------------------------------------------


@variants()
def clip_decay_op() -> ElementwiseOp:
    """The prologue alone: decays ``param`` and writes the clipped gradient into ``clipped``
    (Adafactor's factored moments then need reductions over it)."""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, param, clipped):
        clipped[...] = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)

    return _cached_op(("clip_decay",), "", "T clipped", "clipped = g;", twin)


@variants()
def lamb_moments_op() -> ElementwiseOp:
    """Lamb's first phase. Scalars ``one_minus_beta_1, one_minus_beta_2, one_minus_beta_1_power,
    one_minus_beta_2_power, eps``; slots ``m, v, update``.

    Adam's moving averages, then ``update = (m / (1 - beta_1^t)) /
    (sqrt(v / (1 - beta_2^t)) + eps)``; the trust ratio (a norm per variable) comes after.
    """
    body = """
m = m + (g - m) * one_minus_beta_1;
v = v + (g * g - v) * one_minus_beta_2;
update = m / one_minus_beta_1_power / (sqrt(v / one_minus_beta_2_power) + eps);
"""

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, one_minus_beta_1, one_minus_beta_2,
             one_minus_beta_1_power, one_minus_beta_2_power, eps, param, m, v, update):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        work = numpy.subtract(g, m, out=_scratch(param, 2))
        work *= one_minus_beta_1
        m += work
        numpy.multiply(g, g, out=work)
        work -= v
        work *= one_minus_beta_2
        v += work
        numpy.divide(v, one_minus_beta_2_power, out=work)
        numpy.sqrt(work, out=work)
        work += eps
        numpy.divide(m, one_minus_beta_1_power, out=update)
        update /= work

    scalars = (
        "T one_minus_beta_1, T one_minus_beta_2, T one_minus_beta_1_power, "
        "T one_minus_beta_2_power, T eps"
    )
    return _cached_op(("lamb_moments",), scalars, "T m, T v, T update", body, twin)


@variants(nesterov=(False, True))
def muon_momentum_op(nesterov: bool) -> ElementwiseOp:
    """Muon's momentum for a matrix. Scalars ``momentum, momentum_minus_one``; slots ``m`` and
    ``direction`` (what Newton-Schulz orthogonalises).

    ``m += g + m * (momentum - 1)``; ``direction = g + momentum * m`` with Nesterov, else ``m``.
    """
    body = "m = m + (g + m * momentum_minus_one);\n"
    body += "direction = g + momentum * m;" if nesterov else "direction = m;"

    def twin(grad, gmul, gdiv, glo, ghi, wd, lr, momentum, momentum_minus_one, param, m,
             direction):  # fmt: skip
        g = _twin_prologue(grad, gmul, gdiv, glo, ghi, wd, lr, param)
        work = numpy.multiply(m, momentum_minus_one, out=_scratch(param, 2))
        work += g
        m += work
        if nesterov:
            numpy.multiply(m, momentum, out=direction)
            numpy.add(g, direction, out=direction)
        else:
            direction[...] = m

    key = ("muon_momentum", "nesterov" if nesterov else "plain")
    return _cached_op(key, "T momentum, T momentum_minus_one", "T m, T direction", body, twin)


@variants()
def scaled_step_op() -> ElementwiseOp:
    """``param = param - ratio * lr * (update / divisor) * scale * rate``: the last, elementwise
    step of Lamb (``ratio`` = trust ratio), Adafactor (``ratio`` = ``alpha_t``, ``divisor`` = the
    RMS clip) and Muon (``scale * rate`` = its RMS matching, multiplied in Keras's order).
    ``ratio`` and ``divisor`` are 0-d device arrays, so the per-matrix norms that feed them never
    visit the host; neutral values (1) leave the product exact."""
    operation = "param = param - ratio * lr * (update / divisor) * scale * rate;"

    def twin(update, ratio, divisor, lr, scale, rate, param):
        step = numpy.divide(update, divisor, out=_scratch(param, 1))
        step *= ratio * param.dtype.type(lr)
        if scale != 1:
            step *= param.dtype.type(scale)
        if rate != 1:
            step *= param.dtype.type(rate)
        param -= step

    key = ("scaled_step",)
    op = _OPS.get(key)
    if op is None:
        op = _OPS[key] = ElementwiseOp(
            "scaled_step",
            "T update, T ratio, T divisor, T lr, T scale, T rate",
            "T param",
            operation,
            twin,
            scalars=("lr", "scale", "rate"),
        )
    return op
