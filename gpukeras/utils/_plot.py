"""plot_history: training curves of a ``fit`` as a PNG (matplotlib, an optional extra)."""

from __future__ import annotations

import os
from typing import Any

_INSTALL_HINT = (
    "Plotting needs matplotlib, an optional extra of gpukeras: "
    "`pip install gpukeras[plot]` (or `pip install matplotlib`)."
)


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend, or an ImportError naming the extra."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    matplotlib.use("Agg", force=False)  # draw to files; never needs a display
    import matplotlib.pyplot as pyplot

    return pyplot


def _curves(history: dict[str, list[float]]) -> list[str]:
    """Metric names to plot, ``loss`` first; ``val_x`` joins ``x`` (or stands alone)."""
    names = [key for key in history if not key.startswith("val_")]
    names += [key[4:] for key in history if key.startswith("val_") and key[4:] not in history]
    return sorted(names, key=lambda name: (name != "loss", name))


def plot_history(history: Any, path: Any, dpi: int = 100) -> str:
    """Draw loss and each metric (training and validation) per epoch into a PNG.

    One panel per metric, ``loss`` first; a ``val_<name>`` curve shares the
    panel of ``<name>``. Epochs on the x axis are 1-based, as progress bars show them.

    Args:
        history: The :class:`gpukeras.callbacks.History` returned by ``fit``,
            or its ``.history`` dict (name -> per-epoch values). Required.
        path: File to write (``str`` or path-like; ``.png`` is usual). Required.
        dpi: Resolution; default ``100``.

    Returns:
        The path written, as a ``str``.

    Raises:
        ImportError: matplotlib is not installed (``pip install gpukeras[plot]``).
        ValueError: ``history`` holds no values.
    """
    records = getattr(history, "history", history)
    if not isinstance(records, dict):
        raise TypeError(
            "`history` must be a History (what fit returns) or its .history dict. "
            f"Received: history={type(history).__name__}"
        )
    names = _curves(records)
    if not names or not any(records.values()):
        raise ValueError(
            "`history` holds no values to plot (was fit run?). Received: history with keys "
            f"{sorted(records)}"
        )
    path = os.fspath(path)
    pyplot = _pyplot()
    epochs_of = getattr(history, "epoch", None)
    figure, axes = pyplot.subplots(
        len(names), 1, figsize=(6.4, 2.6 * len(names)), squeeze=False, sharex=True
    )
    for axis, name in zip(axes[:, 0], names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            values = records.get(key)
            if not values:
                continue
            epochs = _epoch_numbers(epochs_of, len(values))
            axis.plot(epochs, [float(v) for v in values], marker="o", markersize=3, label=label)
        axis.set_ylabel(name)
        axis.grid(True, alpha=0.3)
        axis.legend()
    axes[-1, 0].set_xlabel("epoch")
    axes[-1, 0].xaxis.get_major_locator().set_params(integer=True)  # whole epochs only
    figure.tight_layout()
    try:
        figure.savefig(path, format="png", dpi=dpi)
    finally:
        pyplot.close(figure)
    return path


def _epoch_numbers(epochs: Any, count: int) -> list[int]:
    """1-based epoch numbers for ``count`` values (History.epoch when it matches)."""
    if epochs is not None and len(epochs) == count:
        return [int(e) + 1 for e in epochs]
    return list(range(1, count + 1))
