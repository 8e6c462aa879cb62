"""``cupy.cuda.runtime`` for the stand-in."""

from __future__ import annotations


class CUDARuntimeError(RuntimeError):
    pass


def getDeviceCount() -> int:  # noqa: N802 - CuPy's name
    from cupy.cuda import device_count

    return device_count()


def deviceSynchronize() -> None:  # noqa: N802
    pass


def runtimeGetVersion() -> int:  # noqa: N802
    return 12090
