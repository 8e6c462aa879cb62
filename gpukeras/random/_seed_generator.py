"""``SeedGenerator``: a seeded random stream whose position survives exact resume."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras._naming import unique_name

_MIX = 0x9E3779B97F4A7C15  # spreads (seed, count) pairs over the generator's seed space


class SeedGenerator:
    """A stream of seeds for ``gpukeras.random`` ops, as ``keras.random.SeedGenerator``.

    Each draw uses a device generator seeded from ``(seed, count)`` and advances the
    count. The count lives in the backend's random state under this generator's name,
    so ``BackupAndRestore`` (which saves that state) resumes it exactly on NumPy and
    CuPy. ``seed=None`` takes a seed from the host stream (``utils.set_random_seed``).
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        if seed is None:
            seed = int(K.random.host_generator().integers(0, 2**31 - 1))
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(
                f"SeedGenerator's seed must be a non-negative int or None. Received: seed={seed!r}"
            )
        self.seed = seed
        self.name = name or unique_name("seed_generator")

    def next_generator(self) -> Any:
        """A device generator for the next draw (advances the stream)."""
        count = K.random.next_count(self.name)
        return K.random.device_generator((self.seed * _MIX + count) % 2**63)

    @property
    def count(self) -> int:
        """How many draws this stream has made."""
        return K.random.count(self.name)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name!r} seed={self.seed}>"
