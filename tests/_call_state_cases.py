"""One or more example calls for every registered layer, for the per-call state tests.

``CASES`` maps a registered class name to cases; ``NOT_CALLABLE`` names registered
classes that cannot take part, with the reason. A class added to the serialization
registry without an entry in one of them fails tests/test_call_state.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpukeras import layers

F64 = {"dtype": "float64"}


@dataclass
class Case:
    """``make()`` builds the layer; it is called on float64 inputs of ``shape`` (a list of
    shapes: a list of inputs, for a merge layer)."""

    make: Callable[[], Any]
    shape: Any
    training: bool = True
    int_input: int | None = None  # draw integer ids below this instead of floats
    mask: bool = False  # pass a (batch, steps) mask with the last step(s) masked out
    extra: dict[str, Any] = field(default_factory=dict)


def _lstm(**kwargs: Any) -> Any:
    return layers.LSTM(3, **F64, **kwargs)


CASES: dict[str, list[Case]] = {
    "ELU": [Case(lambda: layers.ELU(0.5, **F64), (3, 4))],
    "LeakyReLU": [Case(lambda: layers.LeakyReLU(0.1, **F64), (3, 4))],
    "PReLU": [
        Case(lambda: layers.PReLU(alpha_initializer="random_normal", **F64), (3, 4)),
        Case(lambda: layers.PReLU("random_uniform", shared_axes=[1, 2], **F64), (2, 3, 3, 2)),
    ],
    "ReLU": [Case(lambda: layers.ReLU(2.0, 0.1, 0.3, **F64), (3, 4))],
    "Softmax": [
        Case(lambda: layers.Softmax(**F64), (2, 4, 3)),
        Case(lambda: layers.Softmax(axis=(1, 2), **F64), (2, 4, 3)),
    ],
    "ThresholdedReLU": [Case(lambda: layers.ThresholdedReLU(0.2, **F64), (3, 4))],
    "Cropping1D": [Case(lambda: layers.Cropping1D((1, 2), **F64), (2, 6, 3))],
    "Cropping3D": [
        Case(lambda: layers.Cropping3D(1, **F64), (2, 4, 4, 3, 2)),
        Case(
            lambda: layers.Cropping3D(((0, 1), (1, 1), (1, 0)), "channels_first", **F64),
            (2, 2, 3, 4, 3),
        ),
    ],
    "ActivityRegularization": [
        Case(lambda: layers.ActivityRegularization(l1=0.01, l2=0.02, **F64), (3, 4))
    ],
    "GaussianDropout": [Case(lambda: layers.GaussianDropout(0.3, **F64), (4, 6))],
    "GaussianNoise": [Case(lambda: layers.GaussianNoise(0.5, **F64), (4, 6))],
    "Masking": [Case(lambda: layers.Masking(**F64), (2, 4, 3))],
    "Permute": [Case(lambda: layers.Permute((3, 1, 2), **F64), (2, 3, 4, 5))],
    "RepeatVector": [Case(lambda: layers.RepeatVector(3, **F64), (2, 4))],
    "SpatialDropout1D": [Case(lambda: layers.SpatialDropout1D(0.5, **F64), (2, 5, 4))],
    "SpatialDropout2D": [
        Case(lambda: layers.SpatialDropout2D(0.5, **F64), (2, 3, 3, 4)),
        Case(lambda: layers.SpatialDropout2D(0.5, "channels_first", **F64), (2, 4, 3, 3)),
    ],
    "SpatialDropout3D": [Case(lambda: layers.SpatialDropout3D(0.5, **F64), (2, 2, 2, 2, 3))],
    "Activation": [Case(lambda: layers.Activation("tanh", **F64), (3, 4))],
    "AveragePooling1D": [Case(lambda: layers.AveragePooling1D(2, **F64), (2, 6, 3))],
    "AveragePooling2D": [
        Case(lambda: layers.AveragePooling2D(2, **F64), (2, 4, 4, 3)),
        Case(lambda: layers.AveragePooling2D(3, 2, padding="same", **F64), (2, 5, 5, 2)),
    ],
    "BatchNormalization": [
        Case(lambda: layers.BatchNormalization(**F64), (5, 3)),
        Case(lambda: layers.BatchNormalization(axis=1, **F64), (4, 3, 2)),
        Case(lambda: layers.BatchNormalization(**F64), (5, 3), training=False),
    ],
    "Bidirectional": [
        Case(lambda: layers.Bidirectional(_lstm(return_sequences=True), **F64), (2, 4, 3)),
        Case(
            lambda: layers.Bidirectional(layers.GRU(2, **F64), merge_mode="mul", **F64),
            (2, 4, 3),
            mask=True,
        ),
        Case(lambda: layers.Bidirectional(_lstm(return_state=True), **F64), (2, 4, 3)),
        Case(
            lambda: layers.Bidirectional(layers.SimpleRNN(2, **F64), merge_mode=None, **F64),
            (2, 4, 3),
        ),
    ],
    "Conv1D": [Case(lambda: layers.Conv1D(4, 3, padding="causal", **F64), (2, 7, 3))],
    "Conv2D": [
        Case(lambda: layers.Conv2D(4, 3, activation="relu", **F64), (2, 6, 6, 3)),
        Case(lambda: layers.Conv2D(3, 3, padding="same", **F64), (2, 5, 5, 8)),
        Case(lambda: layers.Conv2D(4, 2, strides=2, activation="tanh", **F64), (2, 6, 6, 2)),
        Case(lambda: layers.Conv2D(4, 3, groups=2, **F64), (2, 5, 5, 4)),
    ],
    "Conv2DTranspose": [Case(lambda: layers.Conv2DTranspose(3, 3, strides=2, **F64), (2, 4, 4, 3))],
    "Cropping2D": [Case(lambda: layers.Cropping2D(((1, 0), (0, 1)), **F64), (2, 5, 5, 2))],
    "Dense": [
        Case(lambda: layers.Dense(4, activation="relu", **F64), (3, 5)),
        Case(lambda: layers.Dense(4, activation="softplus", **F64), (3, 5)),
        Case(lambda: layers.Dense(4, activity_regularizer="l2", **F64), (3, 2, 5)),
    ],
    "DepthwiseConv2D": [Case(lambda: layers.DepthwiseConv2D(3, **F64), (2, 6, 6, 3))],
    "Dropout": [
        Case(lambda: layers.Dropout(0.5, **F64), (4, 6)),
        Case(lambda: layers.Dropout(0.5, noise_shape=(None, 1), **F64), (4, 6)),
    ],
    "Embedding": [
        Case(lambda: layers.Embedding(10, 3, **F64), (2, 5), int_input=10),
        Case(lambda: layers.Embedding(10, 3, mask_zero=True, **F64), (2, 5), int_input=10),
        Case(lambda: layers.Embedding(10, 3, dropout=0.5, **F64), (2, 5), int_input=10),
    ],
    "Flatten": [Case(lambda: layers.Flatten(**F64), (2, 3, 4))],
    "GRU": [
        Case(lambda: layers.GRU(3, return_sequences=True, **F64), (2, 5, 3)),
        Case(lambda: layers.GRU(3, dropout=0.3, go_backwards=True, **F64), (2, 5, 3)),
        Case(lambda: layers.GRU(3, recurrent_dropout=0.4, **F64), (2, 5, 3), mask=True),
        Case(lambda: layers.GRU(3, recurrent_dropout=0.4, reset_after=False, **F64), (2, 5, 3)),
    ],
    "GlobalAveragePooling1D": [
        Case(lambda: layers.GlobalAveragePooling1D(**F64), (2, 5, 3), mask=True)
    ],
    "GlobalAveragePooling2D": [Case(lambda: layers.GlobalAveragePooling2D(**F64), (2, 4, 4, 3))],
    "GlobalMaxPooling1D": [Case(lambda: layers.GlobalMaxPooling1D(**F64), (2, 5, 3))],
    "GlobalMaxPooling2D": [Case(lambda: layers.GlobalMaxPooling2D(**F64), (2, 4, 4, 3))],
    "InputLayer": [Case(lambda: layers.InputLayer(shape=(4,), dtype="float64"), (3, 4))],
    "LSTM": [
        Case(lambda: _lstm(), (2, 5, 3)),
        Case(lambda: _lstm(return_sequences=True), (2, 5, 3), mask=True),
        Case(lambda: _lstm(return_state=True), (2, 5, 3)),
        Case(lambda: _lstm(dropout=0.25), (2, 5, 3)),
        Case(lambda: _lstm(recurrent_dropout=0.4, return_sequences=True), (2, 5, 3)),
    ],
    "LayerNormalization": [Case(lambda: layers.LayerNormalization(**F64), (3, 4))],
    "MaxPooling1D": [Case(lambda: layers.MaxPooling1D(2, **F64), (2, 6, 3))],
    "MaxPooling2D": [
        Case(lambda: layers.MaxPooling2D(2, **F64), (2, 4, 4, 3)),
        Case(lambda: layers.MaxPooling2D(3, 2, padding="same", **F64), (2, 5, 5, 2)),
    ],
    "Reshape": [Case(lambda: layers.Reshape((4, 3), **F64), (2, 12))],
    "SeparableConv2D": [Case(lambda: layers.SeparableConv2D(4, 3, **F64), (2, 6, 6, 3))],
    "SimpleRNN": [
        Case(lambda: layers.SimpleRNN(3, **F64), (2, 5, 3)),
        Case(lambda: layers.SimpleRNN(3, recurrent_dropout=0.4, **F64), (2, 5, 3)),
    ],
    "TimeDistributed": [
        Case(lambda: layers.TimeDistributed(layers.Dense(3, **F64), **F64), (2, 4, 5)),
        Case(lambda: layers.TimeDistributed(layers.Conv2D(2, 3, **F64), **F64), (2, 3, 5, 5, 2)),
        Case(lambda: layers.TimeDistributed(layers.BatchNormalization(**F64), **F64), (2, 3, 4)),
        Case(lambda: layers.TimeDistributed(layers.Dropout(0.5, **F64), **F64), (2, 3, 4)),
        Case(  # two levels of wrapped layers
            lambda: layers.TimeDistributed(
                layers.Bidirectional(layers.GRU(2, return_sequences=True, **F64), **F64),
                **F64,
            ),
            (2, 3, 4, 3),
        ),
    ],
    "UpSampling2D": [Case(lambda: layers.UpSampling2D(2, **F64), (2, 3, 3, 2))],
    # Merge layers: a list of inputs, broadcasting between ranks and size-1 axes.
    "Add": [Case(lambda: layers.Add(**F64), [(2, 3, 4), (2, 4), (2, 3, 1)])],
    "Subtract": [Case(lambda: layers.Subtract(**F64), [(2, 3), (2, 1)])],
    "Multiply": [
        Case(lambda: layers.Multiply(**F64), [(2, 3, 4), (2, 1, 4), (2, 4)]),
        Case(lambda: layers.Multiply(**F64), [(2, 3, 4), (2, 3, 4), (2, 3, 4)], mask=True),
    ],
    "Average": [Case(lambda: layers.Average(**F64), [(2, 3), (2, 3)])],
    "Maximum": [
        Case(lambda: layers.Maximum(**F64), [(2, 3, 4), (2, 3, 4), (2, 4)]),
        Case(lambda: layers.Maximum(**F64), [(2, 3, 4), (2, 3, 4), (2, 3, 4)], mask=True),
    ],
    "Minimum": [Case(lambda: layers.Minimum(**F64), [(2, 3), (2, 3)])],
    "Concatenate": [Case(lambda: layers.Concatenate(axis=1, **F64), [(2, 2, 3), (2, 4, 3)])],
    "Dot": [
        Case(lambda: layers.Dot(axes=1, normalize=True, **F64), [(3, 4), (3, 4)]),
        Case(lambda: layers.Dot(axes=(2, 1), **F64), [(2, 3, 4), (2, 4, 5)]),
    ],
    "ZeroPadding2D": [Case(lambda: layers.ZeroPadding2D(1, **F64), (2, 3, 3, 2))],
}

# Registered classes that cannot be called through forward_with_pullback, with the reason.
_TAPE_CELL = (
    "a call() layer: its gradient through time is recorded op by op on the tape, so no "
    "state of a call lives on the layer (tests/test_rnn_cells.py)"
)

NOT_CALLABLE: dict[str, str] = {
    "RNN": _TAPE_CELL,
    "SimpleRNNCell": _TAPE_CELL,
    "LSTMCell": _TAPE_CELL,
    "GRUCell": _TAPE_CELL,
    "StackedRNNCells": _TAPE_CELL,
    "Lambda": "a call() layer: its gradient is recorded op by op on the tape, so no state "
    "of a call lives on the layer (tests/test_lambda_layer.py)",
}
