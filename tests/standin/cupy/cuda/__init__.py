"""``cupy.cuda`` for the stand-in: one (or ``GPUKERAS_STANDIN_DEVICES``) pretend device."""

from __future__ import annotations

import os
from typing import Any

from cupy.cuda import nccl, runtime  # noqa: F401

_CURRENT = {"device": 0}


class Device:
    def __init__(self, device: Any = None) -> None:
        self.id = _CURRENT["device"] if device is None else int(device)

    def use(self) -> None:
        _CURRENT["device"] = self.id

    def __enter__(self) -> Device:
        self._previous = _CURRENT["device"]
        self.use()
        return self

    def __exit__(self, *exc: Any) -> None:
        _CURRENT["device"] = self._previous

    @property
    def mem_info(self) -> tuple[int, int]:
        return (64 << 30, 80 << 30)

    @property
    def compute_capability(self) -> str:
        return "90"

    def synchronize(self) -> None:
        pass


def get_device_id() -> int:
    return _CURRENT["device"]


def device_count() -> int:
    return int(os.environ.get("GPUKERAS_STANDIN_DEVICES", "1"))


class Stream:
    null: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


Stream.null = Stream()


def get_current_stream() -> Stream:
    return Stream.null


class _MemoryPool:
    def free_bytes(self) -> int:
        return 0

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass

    def set_limit(self, **kwargs: Any) -> None:
        pass


_POOL = _MemoryPool()
