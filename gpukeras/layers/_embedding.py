"""Embedding: integer token ids to rows of a trainable table, with Keras's ``mask_zero``."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras import constraints, initializers, regularizers
from gpukeras._legacy import legacy_arguments, warn_user
from gpukeras.backend.kernels import recurrent as kernels
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._keras_tensor import is_symbolic
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register

_LEGACY_EMBEDDING = {
    "init": ("embeddings_initializer", None),
    "W_regularizer": ("embeddings_regularizer", None),
    "W_constraint": ("embeddings_constraint", None),
}


@register
class Embedding(Layer):
    """Turns token ids (non-negative ints below ``input_dim``) into dense vectors.

    The output has the input's shape plus a last axis of ``output_dim``. Ids may
    arrive as floats (the fit loop feeds floatx), but must be whole numbers.
    Ids are checked on host (NumPy) inputs; device (CuPy) inputs are not checked,
    since that would cost a device-to-host sync per batch.

    Args:
        input_dim: Positive int, the vocabulary size (largest id + 1). Required.
        output_dim: Positive int, the size of each vector. Required.
        embeddings_initializer: Default ``'uniform'`` (uniform in [-0.05, 0.05]).
        embeddings_regularizer: Default ``None``.
        embeddings_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        mask_zero: Treat id 0 as padding: the layer outputs a mask that is
            False where the id is 0, which recurrent layers use to skip steps;
            default ``False``.
        weights: Initial table as ``[array]`` (or an array); default ``None``.
        input_length: Legacy; accepted with a DeprecationWarning and ignored
            unless it gives the input shape; default ``None``.
        dropout: Keras 1's word dropout, a float in [0, 1): while training, each
            vocabulary entry is dropped (all its occurrences in the batch give zeros)
            with this probability, the kept ones scaled by ``1 / (1 - dropout)``;
            accepted with a DeprecationWarning; default ``0.0``.
        **kwargs: :class:`Layer` arguments; Keras 1 names ``init``,
            ``W_regularizer`` with a DeprecationWarning.
    """

    call_state = ("_ids", "_input_shape", "_word_scale")

    @legacy_arguments("Embedding", _LEGACY_EMBEDDING)
    def __init__(
        self,
        input_dim: int | None = None,
        output_dim: int | None = None,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        input_length: int | None = None,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.dropout = _checked_word_dropout(dropout)
        if input_length is not None:
            warn_user(
                "Embedding: the argument `input_length` is deprecated; use "
                f"input_shape=({input_length},) or an Input. "
                f"Received: input_length={input_length!r}"
            )
            if not any(k in kwargs for k in ("input_shape", "input_dim", "batch_input_shape")):
                kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Embedding {name} must be a positive int. Received: {name}={value!r}"
                )
        set_constraints(self, embeddings_constraint=embeddings_constraint)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self._initial_weights = weights
        self._word_scale: Any = None

    def build(self, input_shape: Shape | None = None) -> None:
        self.embeddings = self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )
        if self._initial_weights is not None:
            weights = self._initial_weights
            self.set_weights(list(weights) if isinstance(weights, (list, tuple)) else [weights])
            self._initial_weights = None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape), self.output_dim)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return inputs != 0

    def __call__(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """Look up ``inputs`` (ids checked here while they are still on the host)."""
        if (
            not K.is_device_array(inputs)
            and not hasattr(inputs, "value")
            and not is_symbolic(inputs)
        ):
            inputs = numpy.asarray(inputs)
            self._check_ids(inputs)
        return super().__call__(inputs, training=training, mask=mask)

    def forward(self, x: Any, training: bool = False) -> Any:
        if not K.is_device_array(x):
            self._check_ids(x)
        xp = K.get_array_module(x)
        ids = x if x.dtype.kind in "iu" else x.astype(xp.int32)
        self._ids = ids
        self._input_shape = x.shape
        self._word_scale = None
        if training and self.dropout:
            keep = K.random.uniform((self.input_dim,), self.embeddings.value.dtype) >= self.dropout
            scale = keep.astype(self.embeddings.value.dtype) * (1.0 / (1.0 - self.dropout))
            self._word_scale = scale[ids][..., None]
            return self.embeddings.value[ids] * self._word_scale
        return self.embeddings.value[ids]

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        if self._word_scale is not None:
            grad = grad * self._word_scale
        if self.trainable:
            table_grad = self.embeddings.grad
            table_grad.fill(0.0)
            kernels.scatter_add(
                table_grad, self._ids.reshape(-1), grad.reshape(-1, self.output_dim)
            )
        if not self.needs_input_grad:
            return None
        # Ids are discrete: nothing flows back to whatever produced them.
        return xp.zeros(self._input_shape, dtype=grad.dtype)

    def _check_ids(self, ids: numpy.ndarray) -> None:
        if ids.dtype.kind not in "biuf":
            raise TypeError(
                f"Embedding {self.name!r} needs integer token ids. "
                f"Received: inputs with dtype {ids.dtype}"
            )
        if ids.size == 0:
            return
        if ids.dtype.kind == "f" and not numpy.array_equal(ids, numpy.floor(ids)):
            bad = ids[ids != numpy.floor(ids)].reshape(-1)[0]
            raise ValueError(
                f"Embedding {self.name!r} needs whole-number token ids. "
                f"Received: inputs containing {float(bad)!r}"
            )
        low, high = ids.min(), ids.max()
        if low < 0 or high >= self.input_dim:
            raise ValueError(
                f"Embedding {self.name!r} needs token ids in [0, input_dim) = "
                f"[0, {self.input_dim}). Received: inputs with ids from "
                f"{low.item()!r} to {high.item()!r}"
            )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            **({"dropout": self.dropout} if self.dropout else {}),
        }


def _checked_word_dropout(dropout: Any) -> float:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(
            f"Embedding: `dropout` must be a float in [0, 1). Received: dropout={dropout!r}"
        )
    if dropout:
        warn_user(
            "Embedding: the argument `dropout` (Keras 1's word dropout) is deprecated; it "
            f"still drops whole vocabulary entries while training. Received: dropout={dropout!r}"
        )
    return float(dropout)
