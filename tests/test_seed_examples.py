"""The founding document's two examples, run as written (Python 3 print aside)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gpukeras as keras

# The guide's code, character for character except `print history.losses`.
LOSS_HISTORY = """
class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs={}):
        self.losses = []

    def on_batch_end(self, batch, logs={}):
        self.losses.append(logs.get('loss'))

model = Sequential()
model.add(Dense(10, input_dim=784, init='uniform'))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer='rmsprop')

history = LossHistory()
model.fit(X_train, Y_train, batch_size=128, nb_epoch=20, verbose=0, callbacks=[history])

print(history.losses)
"""

CHECKPOINT = """
from keras.callbacks import ModelCheckpoint

model = Sequential()
model.add(Dense(10, input_dim=784, init='uniform'))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer='rmsprop')

\'\'\'
saves the model weights after each epoch if the validation loss decreased
\'\'\'
checkpointer = ModelCheckpoint(filepath="/tmp/weights.hdf5", verbose=1, save_best_only=True)
model.fit(X_train, Y_train, batch_size=128, nb_epoch=20, verbose=0, validation_data=(X_test, Y_test), callbacks=[checkpointer])
"""


@pytest.fixture
def seed_namespace(monkeypatch):
    """What the guide assumes is in scope: keras, Sequential, Dense, Activation, data."""
    monkeypatch.setitem(sys.modules, "keras", keras)
    monkeypatch.setitem(sys.modules, "keras.callbacks", keras.callbacks)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 600)
    x = rng.normal(size=(600, 784)).astype("float32") * 0.1
    x[np.arange(600), labels] += 3.0  # a learnable signal
    y = np.eye(10, dtype="float32")[labels]
    return {
        "keras": keras,
        "Sequential": keras.models.Sequential,
        "Dense": keras.layers.Dense,
        "Activation": keras.layers.Activation,
        "X_train": x[:500],
        "Y_train": y[:500],
        "X_test": x[500:],
        "Y_test": y[500:],
    }


def test_loss_history_example(seed_namespace, capsys):
    with pytest.warns(DeprecationWarning):
        exec(LOSS_HISTORY, seed_namespace)
    losses = seed_namespace["history"].losses
    assert len(losses) == 20 * 4 and all(isinstance(v, float) for v in losses)
    assert losses[-1] < losses[0]
    assert capsys.readouterr().out.startswith("[")


def test_checkpoint_example(seed_namespace, capsys, tmp_path, monkeypatch):
    import os

    target = "/tmp/weights.hdf5"
    if os.path.exists(target):
        os.remove(target)
    with pytest.warns(DeprecationWarning):
        exec(CHECKPOINT, seed_namespace)
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to" in out
    assert "saving model to /tmp/weights.hdf5" in out
    assert os.path.getsize(target) > 0
