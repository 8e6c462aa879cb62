"""Load the Keras 3 reference cases written by tests/fixtures/make_conv_fixtures.py."""

from __future__ import annotations

import os

import numpy as np

from gpukeras import backend as K
from gpukeras import layers
from tests.fixtures.conv_cases import CONV_CASES, NORM_CASES, POOL_CASES

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
_LOADED: dict[str, dict[str, np.ndarray]] = {}

__all__ = ["CONV_CASES", "FIXTURES", "NORM_CASES", "POOL_CASES", "fixture", "layer_from_case"]


def fixture(name: str) -> dict[str, np.ndarray]:
    """The arrays of one .npz in tests/fixtures (read once)."""
    if name not in _LOADED:
        with np.load(os.path.join(FIXTURES, name)) as archive:
            _LOADED[name] = {key: archive[key] for key in archive.files}
    return _LOADED[name]


def layer_from_case(name: str, class_name: str, kwargs: dict) -> tuple:
    """The gpukeras layer built and given the case's weights, and the case's arrays."""
    data = fixture("conv_layers.npz")
    layer = getattr(layers, class_name)(**kwargs)
    x = K.to_device(data[f"{name}/x"])
    layer.ensure_built(tuple(x.shape))
    layer.set_weights([data[f"{name}/w{i}"] for i in range(len(layer.weights))])
    return layer, x, data
