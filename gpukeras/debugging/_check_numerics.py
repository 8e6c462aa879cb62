"""The non-finite data check of ``fit``, ``evaluate`` and ``predict`` (off unless enabled)."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K

_enabled = False


def enable_check_numerics() -> None:
    """Check every batch ``fit``, ``evaluate`` and ``predict`` read for NaN and infinity.

    A batch holding one raises a ValueError naming the batch (and epoch), the
    argument (``x``, ``y``, ``sample_weight``, ``validation_data[0]``...), the row
    (of the array passed, or of the batch for a generator or Sequence) and the
    column. Costs one device-to-host transfer per batch until
    :func:`disable_check_numerics`.
    """
    global _enabled
    _enabled = True


def disable_check_numerics() -> None:
    """Stop checking batches (the default: data is used as given, as in Keras)."""
    global _enabled
    _enabled = False


def is_check_numerics_enabled() -> bool:
    """Whether :func:`enable_check_numerics` is in effect."""
    return _enabled


def check_batch(data: Any, index: Any, batch: int, parts: tuple, epoch: int | None = None) -> None:
    """Raise if one of ``parts`` (a batch's ``x, y, sample_weight``) holds NaN or infinity.

    ``data`` is the Dataset or BatchStream the batch came from and ``index`` its rows
    there (a slice or an index array; a stream's position). One transfer for all parts.
    """
    floating = [
        (slot, key, a)
        for slot, part in enumerate(parts)
        for key, a in _arrays(part)
        if a is not None and a.dtype.kind in "fc"
    ]
    if not floating:
        return
    xp = K.get_array_module(floating[0][2])
    finite = K.to_host(xp.stack([xp.isfinite(a).all() for _, _, a in floating]))
    if bool(numpy.all(finite)):
        return
    slot, key, array = floating[int(numpy.argmin(finite))]
    host = K.to_host(array)
    where = numpy.unravel_index(int(numpy.argmin(numpy.isfinite(host).reshape(-1))), host.shape)
    value = host[where]
    row, column = int(where[0]), [int(i) for i in where[1:]]
    name, row_in_data, part = _described(data, index, slot, row, batch)
    name += "" if key is None else f"[{key!r}]"
    at = f"row {row_in_data}" if part is None else f"row {row} of the batch's {part}"
    if column:
        at += f", column {column[0] if len(column) == 1 else tuple(column)}"
    in_epoch = "" if epoch is None else f" of epoch {epoch + 1}"
    cell = ", ".join(str(i) for i in [row if part else row_in_data, *column])
    shown = name if part is None else f"the {part} of batch {batch} from {name}"
    raise ValueError(
        f"`{name}` holds {value} at {at} (batch {batch}{in_epoch}). Found because "
        "gpukeras.debugging.enable_check_numerics() is on. "
        f"Received: {shown}[{cell}]={value}"
    )


def _arrays(part: Any) -> list[tuple[Any, Any]]:
    """``(key, array)`` of each array of a batch part: one array (key ``None``), or the
    list/dict a model with several inputs or outputs takes."""
    if isinstance(part, dict):
        return list(part.items())
    if isinstance(part, (list, tuple)):
        return list(enumerate(part))
    return [(None, part)]


def _described(data: Any, index: Any, slot: int, row: int, batch: int) -> tuple[str, int, Any]:
    """``(argument, row in the array passed, part)``; ``part`` names the batch's inputs,
    targets or sample weights of a generator or Sequence (rows are then the batch's)."""
    names = getattr(data, "names", None)
    if names is None:
        return getattr(data, "argument", "x"), row, ("inputs", "targets", "sample weights")[slot]
    if isinstance(index, slice):
        return names[slot], (index.start or 0) + row, None
    return names[slot], int(K.to_host(index[row : row + 1])[0]), None
