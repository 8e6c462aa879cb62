"""ImageDataGenerator (keras.preprocessing.image): flow and its seeded determinism,
featurewise statistics, clear errors, the optional libraries, and training with
``fit``/``fit_generator`` (the augmentations themselves: test_image_augmentation.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("scipy", reason="the image extra (pip install gpukeras[image])")

import gpukeras as keras  # noqa: E402
from gpukeras.preprocessing import image as image_module  # noqa: E402
from gpukeras.preprocessing.image import ImageDataGenerator  # noqa: E402


def pattern(rows: int = 6, cols: int = 6, channels: int = 1) -> np.ndarray:
    """An image whose every pixel differs."""
    values = np.arange(rows * cols * channels, dtype="float32") + 1
    return values.reshape(rows, cols, channels)


AUGMENTING = dict(
    rotation_range=20,
    width_shift_range=0.1,
    height_shift_range=0.1,
    zoom_range=0.2,
    horizontal_flip=True,
)


def test_the_same_seed_gives_the_same_batches():
    x = np.random.default_rng(0).uniform(size=(10, 6, 6, 1)).astype("float32")
    y = np.arange(10)
    a = ImageDataGenerator(**AUGMENTING).flow(x, y, batch_size=4, seed=11)
    b = ImageDataGenerator(**AUGMENTING).flow(x, y, batch_size=4, seed=11)
    for index in range(len(a)):
        np.testing.assert_array_equal(a[index][0], b[index][0])
        np.testing.assert_array_equal(a[index][1], b[index][1])
    np.testing.assert_array_equal(a[1][0], a[1][0])  # asking again gives the same batch


def test_another_seed_or_another_epoch_gives_other_batches():
    x = np.random.default_rng(0).uniform(size=(10, 6, 6, 1)).astype("float32")
    flow = ImageDataGenerator(**AUGMENTING).flow(x, np.arange(10), batch_size=10, seed=11)
    other = ImageDataGenerator(**AUGMENTING).flow(x, np.arange(10), batch_size=10, seed=12)
    first_epoch = flow[0]
    assert not np.allclose(first_epoch[0], other[0][0])
    flow.on_epoch_end()
    second_epoch = flow[0]
    assert not np.array_equal(first_epoch[1], second_epoch[1])  # a new order
    assert sorted(second_epoch[1]) == list(range(10))  # still each sample once


def test_without_a_seed_the_global_seed_makes_runs_repeatable():
    x = np.random.default_rng(0).uniform(size=(4, 6, 6, 1)).astype("float32")
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(5)
        runs.append(ImageDataGenerator(**AUGMENTING).flow(x, batch_size=4)[0])
    np.testing.assert_array_equal(*runs)


def test_unseeded_draws_and_fit_follow_the_global_seed():
    x = np.random.default_rng(0).uniform(size=(6, 6, 6, 1)).astype("float32")
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(8)
        generator = ImageDataGenerator(featurewise_center=True, **AUGMENTING)
        generator.fit(x, augment=True)
        runs.append((generator.get_random_transform((6, 6, 1)), generator.mean))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_next_walks_the_batches_and_starts_a_new_epoch_as_keras_1_loops_expect():
    x = np.arange(5, dtype="float32").reshape(5, 1, 1, 1)
    flow = ImageDataGenerator().flow(x, np.arange(5), batch_size=2, shuffle=False)
    sizes = [len(next(flow)[0]) for _ in range(5)]
    assert sizes == [2, 2, 1, 2, 2]
    assert flow.epoch == 1
    assert len(flow) == 3


def test_a_keras_2_custom_iterator_subclass_works_with_fit():
    class Squares(image_module.Iterator):
        def __init__(self, n):
            super().__init__(n, batch_size=4, shuffle=True, seed=0)

        def _get_batches_of_transformed_samples(self, index_array):
            x = index_array.astype("float32")[:, None] / 10
            return x, x**2

    iterator = Squares(10)
    assert len(iterator) == 3
    seen = np.concatenate([iterator[index][0] for index in range(3)]).ravel()
    np.testing.assert_allclose(np.sort(seen), np.arange(10) / 10, rtol=1e-6)  # each once
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(1,))])
    model.compile(loss="mse", optimizer="sgd")
    assert len(model.fit(iterator, epochs=2, verbose=0).history["loss"]) == 2


def test_flow_yields_x_y_and_sample_weight_in_order_without_shuffle():
    x = np.arange(6, dtype="float32").reshape(6, 1, 1, 1)
    flow = ImageDataGenerator().flow(
        x, np.arange(6) * 10, batch_size=4, shuffle=False, sample_weight=np.ones(6)
    )
    images, labels, weights = flow[1]
    np.testing.assert_array_equal(images.ravel(), [4, 5])
    np.testing.assert_array_equal(labels, [40, 50])
    assert images.dtype == np.float32 and weights.shape == (2,)
    with pytest.raises(IndexError, match="batch 2.*2 batches"):
        flow[2]


def test_validation_split_takes_the_first_fraction_for_validation():
    x = np.arange(10, dtype="float32").reshape(10, 1, 1, 1)
    generator = ImageDataGenerator(validation_split=0.3)
    validation = generator.flow(x, np.arange(10), batch_size=10, shuffle=False, subset="validation")
    training = generator.flow(x, np.arange(10), batch_size=10, shuffle=False, subset="training")
    np.testing.assert_array_equal(validation[0][1], [0, 1, 2])
    np.testing.assert_array_equal(training[0][1], np.arange(3, 10))


def test_fit_finds_per_channel_mean_and_std_after_rescale():
    rng = np.random.default_rng(1)
    x = rng.normal([10.0, -4.0], [2.0, 0.5], size=(50, 4, 4, 2)).astype("float32")
    generator = ImageDataGenerator(
        featurewise_center=True, featurewise_std_normalization=True, rescale=2.0
    )
    generator.fit(x)
    np.testing.assert_allclose(generator.mean.ravel(), (2 * x).mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(generator.std.ravel(), (2 * x).std(axis=(0, 1, 2)), rtol=1e-4)
    assert generator.mean.shape == (1, 1, 2)
    out = generator.flow(x, batch_size=50, shuffle=False)[0]
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1.0, atol=1e-3)


def test_featurewise_statistics_of_channels_first_data_broadcast_over_channels():
    x = np.random.default_rng(2).normal(size=(20, 3, 4, 4)).astype("float32") + [
        [[1]],
        [[2]],
        [[3]],
    ]
    generator = ImageDataGenerator(featurewise_center=True, data_format="channels_first")
    generator.fit(x)
    assert generator.mean.shape == (3, 1, 1)
    np.testing.assert_allclose(generator.mean.ravel(), x.mean(axis=(0, 2, 3)), rtol=1e-5)


def test_zca_whitening_decorrelates_the_fitted_data():
    rng = np.random.default_rng(3)
    mixing = rng.normal(size=(12, 12))
    x = (rng.normal(size=(400, 12)) @ mixing).reshape(400, 2, 2, 3).astype("float32")
    generator = ImageDataGenerator(zca_whitening=True, featurewise_center=True)
    generator.fit(x)
    white = generator.flow(x, batch_size=400, shuffle=False)[0].reshape(400, -1)
    assert np.abs(np.cov(x.reshape(400, -1), rowvar=False) - np.eye(12)).max() > 1
    np.testing.assert_allclose(np.cov(white, rowvar=False, bias=True), np.eye(12), atol=0.05)


@pytest.mark.parametrize(("option", "implied"), [
    ("zca_whitening", "featurewise_center"),
    ("featurewise_std_normalization", "featurewise_center"),
    ("samplewise_std_normalization", "samplewise_center"),
])  # fmt: skip
def test_a_normalisation_turns_on_the_centring_it_needs_as_keras_does(option, implied):
    with pytest.warns(UserWarning, match=f"`{option}` overrides `{implied}=False`"):
        generator = ImageDataGenerator(**{option: True})
    assert getattr(generator, implied) is True


def test_standardize_before_fit_warns_and_leaves_data_alone():
    generator = ImageDataGenerator(featurewise_center=True)
    image = pattern(2, 2)
    with pytest.warns(UserWarning, match=r"featurewise_center.*\.fit\(numpy_data\)"):
        out = generator.standardize(image.copy())
    np.testing.assert_array_equal(out, image)


def test_fit_with_augment_uses_rounds_of_augmented_copies():
    x = np.random.default_rng(4).uniform(size=(5, 6, 6, 1)).astype("float32")
    plain = ImageDataGenerator(featurewise_center=True, rotation_range=90, fill_mode="constant")
    plain.fit(x)
    augmented = ImageDataGenerator(featurewise_center=True, rotation_range=90, fill_mode="constant")
    augmented.fit(x, augment=True, rounds=3, seed=0)
    assert augmented.mean.ravel()[0] < plain.mean.ravel()[0]  # corners filled with zeros


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fill_mode": "mirror"}, r"fill_mode.*Received: fill_mode='mirror'"),
        ({"zoom_range": [1, 2, 3]}, r"zoom_range.*Received: zoom_range=\[1, 2, 3\]"),
        ({"rotation_range": -5}, r"rotation_range.*Received: rotation_range=-5"),
        ({"width_shift_range": "wide"}, r"width_shift_range.*Received: width_shift_range='wide'"),
        ({"data_format": "NHWC"}, r"data_format.*Received: data_format='NHWC'"),
        ({"validation_split": 1.0}, r"validation_split.*Received: validation_split=1.0"),
        ({"brightness_range": 0.5}, r"brightness_range.*Received: brightness_range=0.5"),
    ],
)
def test_bad_arguments_are_named_with_their_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageDataGenerator(**kwargs)


def test_bad_flow_data_is_named_with_its_shape():
    generator = ImageDataGenerator()
    with pytest.raises(ValueError, match=r"rank 4.*x.shape=\(3, 4, 4\)"):
        generator.flow(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"same length.*y.shape=\(2,\)"):
        generator.flow(np.zeros((3, 4, 4, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"batch_size.*Received: batch_size=0"):
        generator.flow(np.zeros((3, 4, 4, 1)), batch_size=0)
    with pytest.raises(ValueError, match=r"seed.*Received: seed=-1"):
        generator.flow(np.zeros((3, 4, 4, 1)), seed=-1)
    with pytest.raises(ValueError, match=r"subset='training'.*validation_split"):
        generator.flow(np.zeros((3, 4, 4, 1)), subset="training")
    with pytest.raises(ValueError, match=r"rank-4.*x.shape=\(4, 4\)"):
        generator.fit(np.zeros((4, 4)))


def test_missing_scipy_is_an_import_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.ndimage", None)
    generator = ImageDataGenerator(rotation_range=10)
    with pytest.raises(ImportError, match=r"SciPy.*pip install gpukeras\[image\]"):
        generator.apply_transform(pattern(), {"theta": 5})


def test_missing_pillow_is_an_import_error_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    (tmp_path / "a.png").write_bytes(b"not read")
    with pytest.raises(ImportError, match=r"Pillow.*pip install gpukeras\[image\]"):
        image_module.load_img(tmp_path / "a.png")


def small_convnet() -> keras.models.Sequential:
    model = keras.models.Sequential()
    model.add(keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(2, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(0.01))
    return model


def stripes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal versus vertical stripes: a class that survives flips and shifts."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, n)
    base = np.zeros((8, 8), "float32")
    base[::2] = 1.0
    x = np.stack([base if label else base.T for label in labels])[..., None]
    x = x + rng.normal(scale=0.1, size=x.shape).astype("float32")
    return x, keras.utils.to_categorical(labels, 2)


def test_a_model_trains_on_augmented_batches_with_fit(backend_name):
    x, y = stripes(64)
    generator = ImageDataGenerator(
        width_shift_range=1,
        height_shift_range=1,
        horizontal_flip=True,
        vertical_flip=True,
        featurewise_center=True,
    )
    generator.fit(x)
    model = small_convnet()
    history = model.fit(generator.flow(x, y, batch_size=16, seed=0), epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_a_keras_1_script_trains_with_fit_generator_and_samples_per_epoch(backend_name):
    x, y = stripes(48)
    generator = ImageDataGenerator(horizontal_flip=True, rotation_range=0)
    model = small_convnet()
    with pytest.warns(DeprecationWarning, match="samples_per_epoch"):
        history = model.fit_generator(
            generator.flow(x, y, batch_size=16, seed=1),
            samples_per_epoch=len(x),
            nb_epoch=5,
            verbose=0,
        )
    losses = history.history["loss"]
    assert len(losses) == 5 and losses[-1] < 0.5 * losses[0]


def test_augmented_batches_add_no_host_reads_per_batch():
    x, y = stripes(64)
    flow = ImageDataGenerator(rotation_range=15, horizontal_flip=True).flow(x, y, batch_size=8)
    model = small_convnet()
    model.fit(flow, epochs=1, verbose=0)  # builds everything
    before = keras.backend.host_syncs()
    model.fit(flow, epochs=3, verbose=0)
    assert keras.backend.host_syncs() - before == 3  # one read of the logs per epoch
