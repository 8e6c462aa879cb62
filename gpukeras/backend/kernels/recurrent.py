"""Fused gate arithmetic for LSTM and GRU steps, and the row scatter-add of Embedding.

A recurrent step is one small GEMM (the previous state times the recurrent kernel,
done by the caller) followed by a dozen elementwise operations on the gates. On CuPy
those operations are one kernel launch per step here instead of a dozen; the NumPy
twins do the same arithmetic in place on preallocated buffers.

Gate layouts follow Keras 3 (``keras/src/layers/rnn/lstm.py`` and ``gru.py``): an
LSTM gate row is ``[i, f, c, o]`` blocks of ``units`` columns, a GRU row is
``[z, r, h]``. Buffers holding a row per sample are passed ``raw`` to the CUDA
kernels (they are wider than the per-unit loop), and must be C-contiguous.

Masks arrive as float arrays of shape ``(batch, 1)`` holding 1 for a step that
runs and 0 for a step that carries the previous state forward (Keras's masked
step); the kernels select rather than multiply so that carried values stay
bit-identical.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.backend._select import backend
from gpukeras.backend.kernels._op import ElementwiseOp

__all__ = [
    "gru_backward_op",
    "gru_forward_op",
    "lstm_backward_op",
    "lstm_forward_op",
    "scatter_add",
]

_SCRATCH: dict[tuple[Any, ...], numpy.ndarray] = {}


def _scratch(shape: tuple[int, ...], dtype: Any, slot: int, fortran: bool = False) -> numpy.ndarray:
    """A reusable NumPy buffer; ``slot`` tells apart buffers used together.

    ``fortran`` asks for column-major memory, matching batch-minor step buffers so that
    elementwise operations between them run over contiguous memory.
    """
    key = (tuple(shape), numpy.dtype(dtype).str, slot, fortran)
    buffer = _SCRATCH.get(key)
    if buffer is None:
        order = "F" if fortran else "C"
        buffer = _SCRATCH[key] = numpy.empty(shape, dtype=dtype, order=order)
    return buffer


def _is_batch_minor(array: numpy.ndarray) -> bool:
    """Whether a (batch, width) array keeps each column contiguous (column-major)."""
    return array.strides[0] == array.itemsize and array.shape[1] > 1


def _sigmoid_inplace(z: numpy.ndarray) -> None:
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: no overflow warnings for large |z|.
    z *= 0.5
    numpy.tanh(z, out=z)
    z *= 0.5
    z += 0.5


def _carry_where_masked(new: numpy.ndarray, previous: numpy.ndarray, m: numpy.ndarray) -> None:
    """Masked rows (``m == 0``) keep ``previous``; cheap to skip when nothing is masked."""
    if not m.all():
        numpy.copyto(new, previous, where=m == 0)


# -- CUDA snippets -------------------------------------------------------------------

_ROW_INDEX = """
const ptrdiff_t row = i / units;
const ptrdiff_t col = i - row * units;
const ptrdiff_t k = row * WIDTH * units + col;
"""
_SIGMOID = "(T(1) / (T(1) + exp(-(v))))"


def _sigmoid_of(expression: str) -> str:
    return _SIGMOID.replace("v", expression)


# -- LSTM --------------------------------------------------------------------------


def _lstm_forward_twin(xw, c_prev, h_prev, m, units, gates, c_new, h_new, tanh_c) -> None:
    u = units
    gates += xw
    # Gate by gate: with the batch-minor buffers of the NumPy path (see LSTM._allocate)
    # each block of ``units`` columns is contiguous, and i, f are one block together.
    _sigmoid_inplace(gates[:, : 2 * u])
    numpy.tanh(gates[:, 2 * u : 3 * u], out=gates[:, 2 * u : 3 * u])
    _sigmoid_inplace(gates[:, 3 * u :])
    i, f, g, o = (gates[:, k * u : (k + 1) * u] for k in range(4))
    numpy.multiply(f, c_prev, out=c_new)
    numpy.multiply(i, g, out=tanh_c)  # tanh_c doubles as scratch until set below
    c_new += tanh_c
    numpy.tanh(c_new, out=tanh_c)
    numpy.multiply(o, tanh_c, out=h_new)
    _carry_where_masked(c_new, c_prev, m)
    _carry_where_masked(h_new, h_prev, m)


lstm_forward_op = ElementwiseOp(
    "lstm_forward",
    "raw T xw, T c_prev, T h_prev, T m, int32 units",
    "raw T gates, T c_new, T h_new, T tanh_c",
    _ROW_INDEX.replace("WIDTH", "4")
    + f"""
const T ig = {_sigmoid_of("xw[k] + gates[k]")};
const T fg = {_sigmoid_of("xw[k + units] + gates[k + units]")};
const T gg = tanh(xw[k + 2 * units] + gates[k + 2 * units]);
const T og = {_sigmoid_of("xw[k + 3 * units] + gates[k + 3 * units]")};
gates[k] = ig;
gates[k + units] = fg;
gates[k + 2 * units] = gg;
gates[k + 3 * units] = og;
const T c = fg * c_prev + ig * gg;
const T tc = tanh(c);
tanh_c = tc;
c_new = m != T(0) ? c : c_prev;
h_new = m != T(0) ? T(og * tc) : h_prev;
""",
    _lstm_forward_twin,
)
"""One LSTM step after the caller wrote ``h_prev @ recurrent_kernel`` into ``gates``.

Inputs: ``xw`` (batch, 4u) the input projection plus bias for this step, ``c_prev``,
``h_prev`` (batch, u), ``m`` (batch, 1), ``units``. Outputs: ``gates`` becomes the
activated ``[i, f, c, o]``; ``c_new``/``h_new`` the carried states; ``tanh_c`` is
``tanh`` of the unmasked new cell state (kept for the backward pass).
"""


def _lstm_backward_twin(gates, tanh_c, c_prev, m, dh, dc, units, dz, dh_carry, dc_carry) -> None:
    u = units
    shape, dtype, fortran = dh.shape, dh.dtype, _is_batch_minor(gates)
    i, f, g, o = (gates[:, k * u : (k + 1) * u] for k in range(4))
    masked = not m.all()
    dh_new = numpy.multiply(dh, m, out=_scratch(shape, dtype, 0, fortran)) if masked else dh
    dc_new = _scratch(shape, dtype, 1, fortran)
    tmp = _scratch(shape, dtype, 2, fortran)
    # dc_new = m * dc + dh_new * o * (1 - tanh_c ** 2)
    numpy.multiply(tanh_c, tanh_c, out=tmp)
    numpy.subtract(1.0, tmp, out=tmp)
    tmp *= o
    numpy.multiply(dh_new, tmp, out=dc_new)
    if masked:
        numpy.multiply(dc, m, out=tmp)
        dc_new += tmp
    else:
        dc_new += dc
    # The gates' derivatives over the whole row, sigmoid' everywhere then tanh' for the
    # candidate block (one pass each over contiguous memory in the batch-minor layout) ...
    derivative = _scratch(gates.shape, dtype, 4, fortran)
    numpy.subtract(1.0, gates, out=derivative)
    derivative *= gates
    numpy.multiply(g, g, out=tmp)
    numpy.subtract(1.0, tmp, out=derivative[:, 2 * u : 3 * u])
    # ... times what each gate multiplies: di = dc_new * g, df = dc_new * c_prev,
    # dg = dc_new * i, do = dh_new * tanh_c, gathered aside so that ``dz`` (strided in
    # the batch-minor layout) is written by a single pass.
    products = _scratch(gates.shape, dtype, 5, fortran)
    numpy.multiply(dc_new, g, out=products[:, :u])
    numpy.multiply(dc_new, c_prev, out=products[:, u : 2 * u])
    numpy.multiply(dc_new, i, out=products[:, 2 * u : 3 * u])
    numpy.multiply(dh_new, tanh_c, out=products[:, 3 * u :])
    numpy.multiply(products, derivative, out=dz)
    # Masked rows pass the incoming gradients straight to the previous step.
    numpy.multiply(dc_new, f, out=dc_carry)
    if masked:
        keep = numpy.subtract(1.0, m, out=_scratch(m.shape, dtype, 3))
        numpy.multiply(dc, keep, out=tmp)
        dc_carry += tmp
        numpy.multiply(dh, keep, out=dh_carry)
    else:
        dh_carry.fill(0.0)


lstm_backward_op = ElementwiseOp(
    "lstm_backward",
    "raw T gates, T tanh_c, T c_prev, T m, T dh, T dc, int32 units",
    "raw T dz, T dh_carry, T dc_carry",
    _ROW_INDEX.replace("WIDTH", "4")
    + """
const T ig = gates[k];
const T fg = gates[k + units];
const T gg = gates[k + 2 * units];
const T og = gates[k + 3 * units];
const bool runs = m != T(0);
const T dh_new = runs ? dh : T(0);
const T dc_new = (runs ? dc : T(0)) + dh_new * og * (T(1) - tanh_c * tanh_c);
dz[k] = dc_new * gg * ig * (T(1) - ig);
dz[k + units] = dc_new * c_prev * fg * (T(1) - fg);
dz[k + 2 * units] = dc_new * ig * (T(1) - gg * gg);
dz[k + 3 * units] = dh_new * tanh_c * og * (T(1) - og);
dc_carry = dc_new * fg + (runs ? T(0) : dc);
dh_carry = runs ? T(0) : dh;
""",
    _lstm_backward_twin,
)
"""Backward of :data:`lstm_forward_op` for one step.

Inputs: the step's activated ``gates``, ``tanh_c``, ``c_prev``, ``m``, and ``dh``/``dc``
(gradients reaching the step's carried ``h``/``c``). Outputs: ``dz`` (batch, 4u), the
gradient of the gate pre-activations; ``dh_carry``/``dc_carry``, the parts of the
previous step's state gradients that do not go through ``dz @ recurrent_kernel.T``.
"""


# -- GRU (reset_after=True) ----------------------------------------------------------


def _gru_forward_twin(xw, inner, h_prev, m, units, gates, h_new) -> None:
    u = units
    shape, dtype = h_new.shape, h_new.dtype
    numpy.add(xw[:, : 2 * u], inner[:, : 2 * u], out=gates[:, : 2 * u])
    _sigmoid_inplace(gates[:, : 2 * u])
    z, r, hh = (gates[:, k * u : (k + 1) * u] for k in range(3))
    numpy.multiply(r, inner[:, 2 * u :], out=hh)
    hh += xw[:, 2 * u :]
    numpy.tanh(hh, out=hh)
    # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
    tmp = _scratch(shape, dtype, 0)
    numpy.subtract(h_prev, hh, out=tmp)
    tmp *= z
    numpy.add(hh, tmp, out=h_new)
    _carry_where_masked(h_new, h_prev, m)


gru_forward_op = ElementwiseOp(
    "gru_forward",
    "raw T xw, raw T inner, T h_prev, T m, int32 units",
    "raw T gates, T h_new",
    _ROW_INDEX.replace("WIDTH", "3")
    + f"""
const T zg = {_sigmoid_of("xw[k] + inner[k]")};
const T rg = {_sigmoid_of("xw[k + units] + inner[k + units]")};
const T hh = tanh(xw[k + 2 * units] + rg * inner[k + 2 * units]);
gates[k] = zg;
gates[k + units] = rg;
gates[k + 2 * units] = hh;
h_new = m != T(0) ? T(zg * h_prev + (T(1) - zg) * hh) : h_prev;
""",
    _gru_forward_twin,
)
"""One GRU step (``reset_after=True``) given ``inner = h_prev @ recurrent_kernel + bias[1]``.

Inputs: ``xw`` (batch, 3u) the input projection plus ``bias[0]``, ``inner`` (batch, 3u),
``h_prev``, ``m``, ``units``. Outputs: ``gates`` the activated ``[z, r, hh]`` and
``h_new`` the carried state.
"""


def _gru_backward_twin(gates, inner, h_prev, m, dh, units, dx, dinner, dh_carry) -> None:
    u = units
    shape, dtype = dh.shape, dh.dtype
    z, r, hh = (gates[:, k * u : (k + 1) * u] for k in range(3))
    dxz, dxr, dxh = (dx[:, k * u : (k + 1) * u] for k in range(3))
    masked = not m.all()
    dh_new = numpy.multiply(dh, m, out=_scratch(shape, dtype, 1)) if masked else dh
    tmp = _scratch(shape, dtype, 2)
    # dz = dh_new * (h_prev - hh) * z * (1 - z)
    numpy.subtract(1.0, z, out=tmp)
    tmp *= z
    numpy.multiply(dh_new, tmp, out=dxz)
    numpy.subtract(h_prev, hh, out=tmp)
    dxz *= tmp
    # da = dh_new * (1 - z) * (1 - hh ** 2), the gradient of the candidate's pre-activation
    numpy.multiply(hh, hh, out=tmp)
    numpy.subtract(1.0, tmp, out=tmp)
    numpy.multiply(dh_new, tmp, out=dxh)
    numpy.subtract(1.0, z, out=tmp)
    dxh *= tmp
    # dr = da * inner_h * r * (1 - r)
    numpy.subtract(1.0, r, out=tmp)
    tmp *= r
    tmp *= inner[:, 2 * u :]
    numpy.multiply(dxh, tmp, out=dxr)
    dinner[:, : 2 * u] = dx[:, : 2 * u]
    numpy.multiply(dxh, r, out=dinner[:, 2 * u :])
    numpy.multiply(dh_new, z, out=dh_carry)
    if masked:
        keep = numpy.subtract(1.0, m, out=_scratch(m.shape, dtype, 3))
        numpy.multiply(dh, keep, out=tmp)
        dh_carry += tmp


gru_backward_op = ElementwiseOp(
    "gru_backward",
    "raw T gates, raw T inner, T h_prev, T m, T dh, int32 units",
    "raw T dx, raw T dinner, T dh_carry",
    _ROW_INDEX.replace("WIDTH", "3")
    + """
const T zg = gates[k];
const T rg = gates[k + units];
const T hh = gates[k + 2 * units];
const bool runs = m != T(0);
const T dh_new = runs ? dh : T(0);
const T dz = dh_new * (h_prev - hh) * zg * (T(1) - zg);
const T da = dh_new * (T(1) - zg) * (T(1) - hh * hh);
const T dr = da * inner[k + 2 * units] * rg * (T(1) - rg);
dx[k] = dz;
dx[k + units] = dr;
dx[k + 2 * units] = da;
dinner[k] = dz;
dinner[k + units] = dr;
dinner[k + 2 * units] = da * rg;
dh_carry = dh_new * zg + (runs ? T(0) : dh);
""",
    _gru_backward_twin,
)
"""Backward of :data:`gru_forward_op` for one step.

Outputs: ``dx`` (batch, 3u), the gradient of the input projection; ``dinner`` (batch, 3u),
the gradient of ``h_prev @ recurrent_kernel + bias[1]``; ``dh_carry``, the part of
``h_prev``'s gradient that does not go through ``dinner @ recurrent_kernel.T``.
"""


# -- Embedding ---------------------------------------------------------------------


def scatter_add(target: Any, indices: Any, values: Any) -> None:
    """``target[indices[n]] += values[n]`` for every ``n``, repeated indices adding up.

    ``target`` (rows, ...) is updated in place; ``indices`` is a 1-D integer array and
    ``values`` has shape ``(len(indices), *target.shape[1:])``.
    """
    if backend() == "cupy":
        import cupyx  # the backend package is the one place allowed to import CuPy

        cupyx.scatter_add(target, indices, values)
        return
    if len(indices) == 0:
        return
    # Sorting, one reduceat per run of equal ids and one fancy add is ~3x faster
    # than ``numpy.add.at`` for embedding-sized updates.
    order = numpy.argsort(indices, kind="stable")
    sorted_ids = indices[order]
    starts = numpy.flatnonzero(numpy.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    target[sorted_ids[starts]] += numpy.add.reduceat(values[order], starts, axis=0)
