"""Training-time noise: GaussianNoise, GaussianDropout and the SpatialDropout layers."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.layers._dropout import Dropout
from gpukeras.layers._layer import Layer
from gpukeras.layers._serialization import register


def _checked(name: str, value: Any, upper: float | None) -> float:
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
    if bad or (upper is not None and value >= upper):
        limit = f"in [0, {upper})" if upper is not None else ">= 0"
        raise ValueError(f"Expected `{name}` to be a float {limit}. Received: {name}={value!r}")
    return float(value)


@register
class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` while training.

    The noise does not depend on the input, so the gradient passes through unchanged.

    Args:
        stddev: Float >= 0. Required.
        seed: Int seed for this layer's own random stream; default ``None``.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ()

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev = _checked("stddev", stddev, None)
        self.seed = seed
        self._generator = None if seed is None else K.random.device_generator(seed)

    def forward(self, x: Any, training: bool = False) -> Any:
        if not training or self.stddev == 0:
            return x
        return x + K.random.normal(x.shape, x.dtype, self._generator) * self.stddev

    def backward(self, grad: Any) -> Any:
        return grad

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register
class GaussianDropout(Layer):
    """Multiplies inputs by ``N(1, rate / (1 - rate))`` noise while training.

    Args:
        rate: Float in [0, 1), the drop probability the noise stands for. Required.
        seed: Int seed for this layer's own random stream; default ``None``.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_noise",)

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _checked("rate", rate, 1.0)
        self.seed = seed
        self._generator = None if seed is None else K.random.device_generator(seed)
        self._noise: Any = None

    def forward(self, x: Any, training: bool = False) -> Any:
        if not training or self.rate == 0:
            self._noise = None
            return x
        stddev = (self.rate / (1.0 - self.rate)) ** 0.5
        self._noise = K.random.normal(x.shape, x.dtype, self._generator) * stddev + 1.0
        return x * self._noise

    def backward(self, grad: Any) -> Any:
        return grad if self._noise is None else grad * self._noise

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel)."""

    def __init__(
        self, rate: float, data_format: str | None = None, seed: int | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(rate, seed=seed, **kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(
                "data_format must be 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}"
            )
        self.data_format = data_format or K.image_data_format()

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.data_format == "channels_first":
            return (shape[0], shape[1], *(1 for _ in shape[2:]))
        return (shape[0], *(1 for _ in shape[1:-1]), shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "data_format": self.data_format}
        config.pop("noise_shape", None)
        return config


@register
class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of ``(N, steps, channels)`` inputs (see ``Dropout``)."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("data_format", None)  # always (batch, steps, channels), as in Keras
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)


@register
class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of 4-d inputs (see ``Dropout``)."""


@register
class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of 5-d inputs (see ``Dropout``)."""
