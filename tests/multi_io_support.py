"""Shared models and data of the several-inputs/outputs tests (test_multi_io*.py).

Keras-made fixture: tests/fixtures/make_multi_io_fixtures.py (a subclassed model taking a
dict of two inputs through a shared layer and returning a dict of two outputs; the same
model as a functional graph).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import gpukeras as keras
from gpukeras import layers

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "multi_io.npz")


class TwoHeads(keras.Model):
    """The fixture's model: ``shared`` on both inputs, a ``cls`` and a ``reg`` head."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shared = layers.Dense(8, activation="tanh")
        self.cls = layers.Dense(3, activation="softmax")
        self.reg = layers.Dense(1)

    def call(self, inputs):
        a = self.shared(inputs["a"])
        b = self.shared(inputs["b"])
        return {"cls": self.cls(a), "reg": self.reg(a + b)}


class ListHeads(keras.Model):
    """Two inputs in a list, two outputs in a list."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.cls = layers.Dense(3, activation="softmax")
        self.reg = layers.Dense(1)

    def call(self, inputs):
        first, second = inputs
        return [self.cls(first), self.reg(second)]


def xy(rows: int = 64):
    x = {"a": FIXTURE["a"][:rows], "b": FIXTURE["b"][:rows]}
    y = {"cls": FIXTURE["cls"][:rows], "reg": FIXTURE["reg"][:rows]}
    return x, y


def fixture_model(weighted: bool = False) -> TwoHeads:
    model = TwoHeads()
    x, _ = xy(2)
    model(x)
    for name in ("shared", "cls", "reg"):
        getattr(model, name).set_weights([FIXTURE[f"initial/{name}/{i}"] for i in range(2)])
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss={"cls": "categorical_crossentropy", "reg": "mse"},
        loss_weights={"cls": 1.0, "reg": 0.5},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
        weighted_metrics={"reg": ["mae"]} if weighted else None,
    )
    return model


def functional_model() -> keras.Model:
    """The fixture's model as a functional graph: two named Inputs, a shared layer, an op."""
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    shared = layers.Dense(8, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    cls = layers.Dense(3, activation="softmax", name="cls")(ha)
    reg = layers.Dense(1, name="reg")(ha + hb)
    model = keras.Model([a, b], [cls, reg])
    for name in ("shared", "cls", "reg"):
        model.get_layer(name).set_weights([FIXTURE[f"initial/{name}/{i}"] for i in range(2)])
    return model


class TwoInputs(keras.Model):
    """Two inputs in a dict, one output: the single-output logs and step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.gate = layers.Dense(6)
        self.out = layers.Dense(3, activation="softmax")

    def call(self, inputs):
        return self.out(self.gate(inputs["a"]) * inputs["b"])


class SharedListHeads(TwoHeads):
    """The fixture's model taking ``[a, b]`` and returning ``[cls, reg]`` (no output names)."""

    def call(self, inputs):
        a, b = self.shared(inputs[0]), self.shared(inputs[1])
        return [self.cls(a), self.reg(a + b)]
