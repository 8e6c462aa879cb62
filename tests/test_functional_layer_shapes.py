"""Every built-in layer on a KerasTensor: the symbolic output shape is the one data gives."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import layers

SEQUENCE, IMAGE, VOLUME, FLAT = (None, 6, 3), (None, 8, 8, 2), (None, 4, 4, 4, 2), (None, 5)
CASES = {
    "Dense": (FLAT, lambda: layers.Dense(3)),
    "Dense on sequences": (SEQUENCE, lambda: layers.Dense(2)),
    "Activation": (FLAT, lambda: layers.Activation("tanh")),
    "Dropout": (FLAT, lambda: layers.Dropout(0.5)),
    "GaussianNoise": (FLAT, lambda: layers.GaussianNoise(0.1)),
    "GaussianDropout": (FLAT, lambda: layers.GaussianDropout(0.1)),
    "ActivityRegularization": (FLAT, lambda: layers.ActivityRegularization(l1=0.1)),
    "BatchNormalization": (IMAGE, lambda: layers.BatchNormalization()),
    "LayerNormalization": (SEQUENCE, lambda: layers.LayerNormalization()),
    "Flatten": (IMAGE, lambda: layers.Flatten()),
    "Reshape": (SEQUENCE, lambda: layers.Reshape((3, 6))),
    "Permute": (SEQUENCE, lambda: layers.Permute((2, 1))),
    "RepeatVector": (FLAT, lambda: layers.RepeatVector(4)),
    "Masking": (SEQUENCE, lambda: layers.Masking()),
    "Conv1D": (SEQUENCE, lambda: layers.Conv1D(4, 3, strides=2, padding="same")),
    "Conv2D": (IMAGE, lambda: layers.Conv2D(3, 3)),
    "Conv2DTranspose": (IMAGE, lambda: layers.Conv2DTranspose(3, 3, strides=2)),
    "DepthwiseConv2D": (IMAGE, lambda: layers.DepthwiseConv2D(3)),
    "SeparableConv2D": (IMAGE, lambda: layers.SeparableConv2D(4, 3)),
    "MaxPooling1D": (SEQUENCE, lambda: layers.MaxPooling1D(2)),
    "AveragePooling1D": (SEQUENCE, lambda: layers.AveragePooling1D(2)),
    "MaxPooling2D": (IMAGE, lambda: layers.MaxPooling2D()),
    "AveragePooling2D": (IMAGE, lambda: layers.AveragePooling2D(padding="same")),
    "GlobalAveragePooling1D": (SEQUENCE, lambda: layers.GlobalAveragePooling1D()),
    "GlobalMaxPooling1D": (SEQUENCE, lambda: layers.GlobalMaxPooling1D()),
    "GlobalAveragePooling2D": (IMAGE, lambda: layers.GlobalAveragePooling2D()),
    "GlobalMaxPooling2D": (IMAGE, lambda: layers.GlobalMaxPooling2D()),
    "UpSampling2D": (IMAGE, lambda: layers.UpSampling2D()),
    "ZeroPadding2D": (IMAGE, lambda: layers.ZeroPadding2D(1)),
    "Cropping1D": (SEQUENCE, lambda: layers.Cropping1D(1)),
    "Cropping2D": (IMAGE, lambda: layers.Cropping2D(1)),
    "Cropping3D": (VOLUME, lambda: layers.Cropping3D(1)),
    "SpatialDropout1D": (SEQUENCE, lambda: layers.SpatialDropout1D(0.2)),
    "SpatialDropout2D": (IMAGE, lambda: layers.SpatialDropout2D(0.2)),
    "SpatialDropout3D": (VOLUME, lambda: layers.SpatialDropout3D(0.2)),
    "SimpleRNN": (SEQUENCE, lambda: layers.SimpleRNN(4)),
    "GRU sequences": (SEQUENCE, lambda: layers.GRU(4, return_sequences=True)),
    "LSTM states": (SEQUENCE, lambda: layers.LSTM(4, return_state=True)),
    "Bidirectional": (SEQUENCE, lambda: layers.Bidirectional(layers.LSTM(2))),
    "TimeDistributed": (SEQUENCE, lambda: layers.TimeDistributed(layers.Dense(2))),
    "Embedding": ((None, 6), lambda: layers.Embedding(10, 3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_symbolic_shape_is_the_shape_of_the_data(xp, case):
    shape, make = CASES[case]
    dtype = "int32" if case == "Embedding" else "float32"
    inputs = keras.Input(batch_shape=shape, dtype=dtype)
    outputs = make()(inputs)
    model = keras.Model(inputs, outputs)
    data = np.random.default_rng(0).integers(0, 9, (2, *shape[1:])).astype(dtype)
    got = model.predict(data, verbose=0) if not isinstance(outputs, list) else model(data)
    for tensor, value in zip(
        outputs if isinstance(outputs, list) else [outputs],
        got if isinstance(got, list) else [got],
    ):
        assert tensor.shape == (None, *tuple(value.shape)[1:]), case
