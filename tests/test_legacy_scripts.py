"""Scripts written the way Keras 0.x/1.x examples were, run through ``import gpukeras as
keras``: each trains, its loss falls, and each old argument warns once, at its line."""

from __future__ import annotations

import sys
import warnings
from collections import Counter

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras.backend import _image_format

OLD_PATHS = (
    "gpukeras.layers.advanced_activations",
    "gpukeras.layers.convolutional",
    "gpukeras.layers.core",
    "gpukeras.layers.embeddings",
    "gpukeras.layers.recurrent",
    "gpukeras.preprocessing.sequence",
    "gpukeras.utils.np_utils",
)


class OldWarnings:
    """Records warnings; checks each old spelling warned once, from this file."""

    def __enter__(self) -> OldWarnings:
        for name in OLD_PATHS:  # forgotten, so that each warns in this script too
            sys.modules.pop(name, None)
            parent, _, child = name.rpartition(".")
            if hasattr(sys.modules.get(parent), child):
                delattr(sys.modules[parent], child)
        self._catcher = warnings.catch_warnings(record=True)
        self.caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._catcher.__exit__(*exc_info)

    def deprecations(self) -> list[warnings.WarningMessage]:
        return [w for w in self.caught if issubclass(w.category, DeprecationWarning)]

    def check(self, *expected: str) -> None:
        found = self.deprecations()
        assert all(w.filename == __file__ for w in found), [
            (w.filename, str(w.message)) for w in found if w.filename != __file__
        ]
        per_line = Counter((w.lineno, str(w.message)) for w in found)
        assert max(per_line.values()) == 1, per_line.most_common(3)
        text = "\n".join(str(w.message) for w in found)
        for name in expected:
            assert f"`{name}`" in text, f"no warning for {name}:\n{text}"


def falls(losses: list[float]) -> bool:
    return losses[-1] < losses[0] * 0.9


def test_keras_0x_mlp_with_show_accuracy_and_nb_epoch_trains():
    rng = np.random.RandomState(1337)
    with OldWarnings() as old:
        from gpukeras.layers.core import Activation, Dense, Dropout  # noqa: PLC0415
        from gpukeras.models import Sequential  # noqa: PLC0415
        from gpukeras.optimizers import SGD  # noqa: PLC0415
        from gpukeras.utils import np_utils  # noqa: PLC0415

        X_train = rng.randn(600, 20).astype("float32")
        labels = (X_train[:, 0] > 0).astype(int) + (X_train[:, 1] > 0).astype(int)
        Y_train = np_utils.to_categorical(labels, 3)

        model = Sequential()
        model.add(Dense(64, input_dim=20, init="uniform", W_regularizer="l2"))
        model.add(Activation("tanh"))
        model.add(Dropout(0.2))
        model.add(Dense(3, init="uniform"))
        model.add(Activation("softmax"))
        sgd = SGD(lr=0.02, decay=1e-6, momentum=0.9, nesterov=True)
        model.compile(loss="categorical_crossentropy", optimizer=sgd, class_mode="categorical")
        history = model.fit(
            X_train, Y_train, nb_epoch=8, batch_size=16, show_accuracy=True, verbose=0
        )
        score = model.evaluate(X_train, Y_train, batch_size=16, show_accuracy=True, verbose=0)
        classes = model.predict_classes(X_train, batch_size=32)
        probabilities = model.predict_proba(X_train[:4])
    old.check(
        "keras.layers.core", "init", "W_regularizer", "lr", "decay", "class_mode", "nb_epoch",
        "show_accuracy", "predict_classes", "predict_proba",
    )  # fmt: skip
    assert falls(history.history["loss"])
    assert history.history["acc"][-1] > 0.7
    assert len(score) == 2 and score[1] > 0.7
    assert classes.shape == (600,) and set(np.unique(classes)) <= {0, 1, 2}
    assert probabilities.shape == (4, 3)


class Antirectifier(keras.layers.Layer):
    """The Keras 1/2 example's custom layer, written with ``K.*``."""

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        shape[-1] *= 2
        return tuple(shape)

    def call(self, x, mask=None):
        x -= K.mean(x, axis=1, keepdims=True)
        x = K.l2_normalize(x, axis=1)
        pos = K.relu(x)
        neg = K.relu(-x)
        return K.concatenate([pos, neg], axis=1)


class LinearK1(keras.layers.Layer):
    """Keras 1's custom layer: ``K.variable`` weights declared via ``trainable_weights``."""

    def __init__(self, output_dim, **kwargs):
        self.output_dim = output_dim
        super().__init__(**kwargs)

    def build(self, input_shape):
        value = np.random.RandomState(0).uniform(-0.1, 0.1, (input_shape[1], self.output_dim))
        self.W = K.variable(value.astype("float32"))
        self.trainable_weights = [self.W]  # Keras 1's way

    def call(self, x, mask=None):
        return K.dot(x, self.W)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.output_dim)


def test_custom_layers_written_with_backend_functions_train(xp):
    rng = np.random.RandomState(0)
    x = rng.randn(256, 10).astype("float32")
    y = keras.utils.to_categorical((x[:, :3].sum(axis=1) > 0).astype(int), 2)
    with OldWarnings() as old:
        model = keras.models.Sequential()
        model.add(keras.layers.Dense(32, input_shape=(10,)))
        model.add(Antirectifier())
        model.add(LinearK1(16))
        model.add(keras.layers.Lambda(lambda t: K.tanh(t) + K.square(t) * 0.1))
        model.add(keras.layers.Dense(2, activation="softmax"))
        model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        history = model.fit(K.to_device(x), K.to_device(y), nb_epoch=6, batch_size=32, verbose=0)
    old.check("nb_epoch", "trainable_weights")
    assert falls(history.history["loss"])
    assert model.layers[1].compute_output_shape((None, 32)) == (None, 64)
    assert len(model.layers[2].trainable_weights) == 1


def imdb_like(rng, samples=400, maxlen=30, vocabulary=50):
    """Reviews as word ids: positive ones use words 2..9 more often."""
    labels = rng.randint(0, 2, samples)
    reviews = []
    for label in labels:
        length = rng.randint(5, maxlen + 10)
        words = rng.randint(10, vocabulary, length)
        cue = rng.rand(length) < 0.3
        words[cue] = rng.randint(2, 10, cue.sum()) if label else words[cue]
        reviews.append(list(words))
    return reviews, labels


def test_keras_1_imdb_lstm_with_generators_trains():
    rng = np.random.RandomState(7)
    reviews, labels = imdb_like(rng)
    with OldWarnings() as old:
        from gpukeras.layers.core import Activation, Dense  # noqa: PLC0415
        from gpukeras.layers.embeddings import Embedding  # noqa: PLC0415
        from gpukeras.layers.recurrent import LSTM  # noqa: PLC0415
        from gpukeras.preprocessing import sequence  # noqa: PLC0415

        X = sequence.pad_sequences(reviews, maxlen=30)
        model = keras.models.Sequential()
        model.add(Embedding(50, 16, input_length=30))
        model.add(LSTM(output_dim=16, init="glorot_uniform", inner_init="orthogonal",
                       dropout_W=0.1, dropout_U=0.1))  # fmt: skip
        model.add(Dense(1))
        model.add(Activation("sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer="adam", class_mode="binary")

        def batches():
            while True:
                for i in range(0, len(X), 40):
                    yield X[i : i + 40].astype("float32"), labels[i : i + 40].astype("float32")

        history = model.fit_generator(
            batches(), samples_per_epoch=len(X), nb_epoch=6, nb_worker=1, verbose=0,
            validation_data=batches(), nb_val_samples=80,
        )  # fmt: skip
        loss = model.evaluate_generator(batches(), val_samples=len(X))
        predictions = model.predict_generator(batches(), val_samples=80)
    old.check(
        "keras.layers.embeddings", "keras.layers.recurrent", "keras.preprocessing.sequence",
        "input_length", "output_dim", "init", "inner_init", "dropout_W", "dropout_U", "class_mode",
        "fit_generator", "samples_per_epoch", "nb_epoch", "nb_worker", "nb_val_samples",
        "evaluate_generator", "val_samples", "predict_generator",
    )  # fmt: skip
    assert falls(history.history["loss"])
    assert len(history.history["loss"]) == 6 and "val_loss" in history.history
    assert loss < history.history["loss"][0]
    assert predictions.shape == (80, 1)


def test_keras_1_cifar10_cnn_with_image_data_generator_trains(tmp_path, monkeypatch):
    """The cifar10_cnn example's shape: Theano's channels-first order from keras.json,
    real-time augmentation through ``ImageDataGenerator`` and ``fit_generator``."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "keras.json").write_text('{"image_dim_ordering": "th"}')
    monkeypatch.setitem(_image_format._state, "format", None)
    rng = np.random.RandomState(5)
    labels = rng.randint(0, 2, 96)
    X_train = rng.rand(96, 3, 8, 8).astype("float32") * 255
    X_train[labels == 1, :, 2:6, 2:6] = 255  # class 1: a bright square in the middle
    with OldWarnings() as old:
        from gpukeras.layers.advanced_activations import LeakyReLU  # noqa: PLC0415
        from gpukeras.layers.convolutional import Convolution2D, MaxPooling2D  # noqa: PLC0415
        from gpukeras.layers.core import Dense, Dropout, Flatten  # noqa: PLC0415
        from gpukeras.preprocessing.image import ImageDataGenerator  # noqa: PLC0415
        from gpukeras.utils import np_utils  # noqa: PLC0415

        Y_train = np_utils.to_categorical(labels, 2)
        model = keras.models.Sequential()
        model.add(Convolution2D(8, 3, 3, border_mode="same", input_shape=(3, 8, 8)))
        model.add(LeakyReLU(alpha=0.1))
        model.add(MaxPooling2D(pool_size=(2, 2)))
        model.add(Dropout(0.25))
        model.add(Flatten())
        model.add(Dense(2, activation="softmax"))
        sgd = keras.optimizers.SGD(lr=0.05, decay=1e-6, momentum=0.9, nesterov=True)
        model.compile(loss="categorical_crossentropy", optimizer=sgd)

        datagen = ImageDataGenerator(
            featurewise_center=True, featurewise_std_normalization=True, rotation_range=10,
            width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True,
            dim_ordering="th",
        )  # fmt: skip
        datagen.fit(X_train)
        history = model.fit_generator(
            datagen.flow(X_train, Y_train, batch_size=16), samples_per_epoch=X_train.shape[0],
            nb_epoch=6, verbose=0,
        )  # fmt: skip
        for X_batch, _ in datagen.flow(X_train, Y_train, batch_size=32):  # Keras 1's loop
            batch_shape = X_batch.shape
            break
    old.check(
        "keras.layers.advanced_activations", "keras.layers.convolutional", "border_mode",
        "alpha", "lr", "decay", "dim_ordering", "fit_generator", "samples_per_epoch", "nb_epoch",
    )  # fmt: skip
    assert datagen.data_format == "channels_first" and datagen.mean.shape == (3, 1, 1)
    assert batch_shape == (32, 3, 8, 8)
    assert falls(history.history["loss"])


def test_samples_per_epoch_needs_a_generator():
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="needs a generator"):
        model.fit_generator([np.zeros((2, 2))], samples_per_epoch=4)


def test_keras_2_siamese_network_with_k_functions_and_a_custom_loss_trains(xp):
    """The mnist_siamese example's shape: a shared base network, ``K.*`` distance and
    contrastive loss (a subclassed Model stands in for the functional API)."""
    rng = np.random.RandomState(5)
    centres = rng.randn(4, 12).astype("float32") * 2
    classes = rng.randint(0, 4, (256, 2))
    classes[::2, 1] = classes[::2, 0]  # half the pairs share a class
    pairs = centres[classes] + rng.randn(256, 2, 12).astype("float32") * 0.3
    same = (classes[:, 0] == classes[:, 1]).astype("float32")[:, None]

    def euclidean_distance(vects):
        x, y = vects
        return K.sqrt(K.maximum(K.sum(K.square(x - y), axis=1, keepdims=True), K.epsilon()))

    def contrastive_loss(y_true, y_pred):
        margin = 1.0
        return K.mean(
            y_true * K.square(y_pred) + (1 - y_true) * K.square(K.maximum(margin - y_pred, 0))
        )

    class Siamese(keras.Model):
        def __init__(self):
            super().__init__()
            self.base = keras.models.Sequential(
                [keras.layers.Dense(16, activation="relu"), keras.layers.Dense(8)]
            )

        def call(self, inputs):
            return euclidean_distance([self.base(inputs[:, 0]), self.base(inputs[:, 1])])

    with OldWarnings() as old:
        model = Siamese()
        model.compile(loss=contrastive_loss, optimizer=keras.optimizers.RMSprop(lr=0.005))
        history = model.fit(
            K.to_device(pairs), K.to_device(same), batch_size=32, nb_epoch=8, verbose=0
        )
    old.check("lr", "nb_epoch")
    assert falls(history.history["loss"])
    distances = model.predict(K.to_device(pairs), verbose=0)[:, 0]
    assert distances[same[:, 0] == 1].mean() < distances[same[:, 0] == 0].mean()


def test_keras_1_char_lstm_text_generation_trains_and_samples():
    """lstm_text_generation's shape: one-hot windows of characters, LSTM, softmax, RMSprop
    with ``lr=``; the sampling loop calls ``predict`` on one window at a time."""
    text = "the quick brown fox jumps over the lazy dog. " * 12
    chars = sorted(set(text))
    char_indices = {c: i for i, c in enumerate(chars)}
    maxlen, step = 8, 3
    sentences = [text[i : i + maxlen] for i in range(0, len(text) - maxlen, step)]
    next_chars = [text[i + maxlen] for i in range(0, len(text) - maxlen, step)]
    X = np.zeros((len(sentences), maxlen, len(chars)), dtype="float32")
    y = np.zeros((len(sentences), len(chars)), dtype="float32")
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            X[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1
    with OldWarnings() as old:
        from gpukeras.layers.core import Activation, Dense  # noqa: PLC0415
        from gpukeras.layers.recurrent import LSTM  # noqa: PLC0415

        model = keras.models.Sequential()
        model.add(LSTM(32, input_shape=(maxlen, len(chars))))
        model.add(Dense(len(chars)))
        model.add(Activation("softmax"))
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(lr=0.01))
        history = model.fit(X, y, batch_size=32, nb_epoch=6, verbose=0)
        generated = text[:maxlen]
        for _ in range(5):
            x = np.zeros((1, maxlen, len(chars)), dtype="float32")
            for t, char in enumerate(generated[-maxlen:]):
                x[0, t, char_indices[char]] = 1.0
            preds = model.predict(x, verbose=0)[0]
            generated += chars[int(np.argmax(preds))]
    old.check("keras.layers.core", "keras.layers.recurrent", "lr", "nb_epoch")
    assert falls(history.history["loss"])
    assert len(generated) == maxlen + 5 and set(generated) <= set(chars)
