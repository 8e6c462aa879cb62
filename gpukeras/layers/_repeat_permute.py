"""RepeatVector and Permute: the same numbers, repeated or with axes reordered."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register


@register
class RepeatVector(Layer):
    """Repeats each ``(N, features)`` sample ``n`` times: ``(N, n, features)``.

    Args:
        n: Int >= 1, the number of repetitions. Required.
        **kwargs: :class:`Layer` arguments.
    """

    call_state = ()

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"Expected `n` to be an int >= 1. Received: n={n!r}")
        self.n = n

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                "RepeatVector expects 2-d inputs (batch, features). "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, x: Any, training: bool = False) -> Any:
        return x[:, None, :].repeat(self.n, axis=1)

    def backward(self, grad: Any) -> Any:
        return grad.sum(axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


@register
class Permute(Layer):
    """Reorders the axes of each sample; ``dims`` numbers them from 1 (the batch is 0).

    Args:
        dims: Tuple, a permutation of ``1..rank``, e.g. ``(2, 1)`` swaps two axes.
        **kwargs: :class:`Layer` arguments.
    """

    call_state = ()

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else None
        if dims is None or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "`dims` must be a permutation of 1..rank (the batch axis is not permuted). "
                f"Received: dims={dims!r}"
            )
        self.dims = dims
        self._inverse = tuple(sorted(range(len(dims)), key=lambda i: dims[i]))

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(
                f"Permute(dims={self.dims}) needs inputs of rank {len(self.dims) + 1}. "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def forward(self, x: Any, training: bool = False) -> Any:
        return x.transpose(0, *self.dims)

    def backward(self, grad: Any) -> Any:
        return grad.transpose(0, *(i + 1 for i in self._inverse))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}
