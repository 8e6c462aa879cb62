"""Dropout: zero a random fraction of inputs while training, scale the rest up."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.layers._layer import Layer


class Dropout(Layer):
    """Randomly sets inputs to 0 with frequency ``rate`` during training.

    Kept inputs are scaled by ``1 / (1 - rate)`` so the expected sum is
    unchanged; at inference the layer is the identity.

    Args:
        rate: Float in [0, 1), the fraction of inputs to drop. Required.
        noise_shape: Shape of the keep/drop mask, broadcast against the
            input (``None`` entries take the input's size); default ``None``
            (the input's shape).
        seed: Int seed for this layer's own random stream; default ``None``
            (the global device stream, see ``utils.set_random_seed``).
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_mask",)

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(
                f"Invalid value for argument `rate`: expected a float in [0, 1). "
                f"Received: rate={rate!r}"
            )
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._generator = None if seed is None else K.random.device_generator(seed)
        self._mask: Any = None

    def forward(self, x: Any, training: bool = False) -> Any:
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = K.random.uniform(self._mask_shape(x.shape), x.dtype, self._generator) >= self.rate
        self._mask = keep.astype(x.dtype)
        self._mask *= 1.0 / (1.0 - self.rate)
        return x * self._mask

    def backward(self, grad: Any) -> Any:
        return grad if self._mask is None else grad * self._mask

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.noise_shape is None:
            return tuple(shape)
        return tuple(s if n is None else n for s, n in zip(shape, self.noise_shape))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
            "seed": self.seed,
        }
