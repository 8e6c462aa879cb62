"""Save a trained model in Keras's formats, load it back, and open it in Keras 3.

A small multilayer perceptron learns the 8x8 digits shipped with gpukeras and is saved three
ways: ``model.keras`` (Keras 3's zip archive: config, weights, optimizer state),
``model.h5`` (the legacy HDF5 full-model layout Keras 2 wrote) and ``model.weights.h5``
(weights only, Keras 3's layout). Each is loaded back with gpukeras and must predict
exactly what the original predicts; the reloaded model continues training where the original
stopped, because the optimizer state travels with it.

If Keras 3 is importable (``pip install keras jax``, with ``KERAS_BACKEND=jax`` or any other
backend), the script also opens ``model.keras`` and ``model.h5`` with
``keras.models.load_model`` and compares Keras's predictions with gpukeras's. Otherwise it
prints the lines to run in an environment that has Keras. Files go to a temporary folder
unless ``--out DIR`` is given.

    python examples/save_and_open_in_keras.py [--epochs 10] [--out DIR] [--seed 1]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile

import numpy as np

import gpukeras as keras
from gpukeras.datasets import digits
from gpukeras.layers import Dense, Dropout
from gpukeras.models import Sequential, load_model


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--out", help="folder for the saved files (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser.parse_args()


def build_model() -> Sequential:
    model = Sequential(
        [
            keras.Input((64,)),
            Dense(64, activation="relu"),
            Dropout(0.2),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def compare(name: str, expected: np.ndarray, got: np.ndarray, exact: bool) -> None:
    difference = float(np.abs(expected - got).max())
    same = difference == 0.0 if exact else difference < 1e-5
    verdict = "identical" if difference == 0.0 else f"largest difference {difference:.2e}"
    print(f"  {name:38s} {verdict}{'' if same else '  <-- MISMATCH'}")


def open_in_keras(paths: list[str], x: np.ndarray, expected: np.ndarray) -> None:
    if importlib.util.find_spec("keras") is None:
        print("Keras 3 is not installed here. Keep the files (--out DIR) and, where it is, run:")
        print("  import keras, numpy as np")
        print(f"  model = keras.models.load_model({paths[0]!r})")
        print("  model.predict(x)  # x: digits scaled to [0, 1], shape (n, 64)")
        return
    import keras as real_keras  # only here: gpukeras never needs Keras

    print(f"Keras {real_keras.__version__} ({real_keras.backend.backend()} backend) opens:")
    for path in paths:
        model = real_keras.models.load_model(path)
        compare(os.path.basename(path) + " in Keras", expected, model.predict(x, verbose=0), False)


def main() -> None:
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16

    model = build_model()
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Trained {args.epochs} epochs: test accuracy {accuracy:.4f}")
    expected = model.predict(x_test, verbose=0)

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out or scratch
        os.makedirs(folder, exist_ok=True)
        paths = {kind: os.path.join(folder, f"model.{kind}") for kind in ("keras", "h5")}
        for path in paths.values():
            model.save(path)
        weights_path = os.path.join(folder, "model.weights.h5")
        model.save_weights(weights_path)
        for path in [*paths.values(), weights_path]:
            print(f"Saved {path} ({os.path.getsize(path):,} bytes)")

        print("gpukeras loads them back:")
        for kind, path in paths.items():
            reloaded = load_model(path)
            compare(
                f"model.{kind} with load_model", expected, reloaded.predict(x_test, verbose=0), True
            )
        fresh = build_model()
        fresh.load_weights(weights_path)
        compare(
            "model.weights.h5 with load_weights", expected, fresh.predict(x_test, verbose=0), True
        )

        # The optimizer state travels in the .keras file: one more epoch from the reloaded
        # model gives the same weights as one more epoch from the original.
        reloaded = load_model(paths["keras"])
        for network in (model, reloaded):
            keras.utils.set_random_seed(args.seed + 1)
            network.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0, shuffle=False)
        compare(
            "one more epoch: reloaded vs original",
            model.predict(x_test, verbose=0),
            reloaded.predict(x_test, verbose=0),
            True,
        )
        open_in_keras(list(paths.values()), x_test, expected)


if __name__ == "__main__":
    main()
