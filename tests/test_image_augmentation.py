"""ImageDataGenerator's augmentations (keras.preprocessing.image): each one's effect on a
small image, Keras's transform geometry (tests/make_image_fixtures.py), fill modes and
channel order."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy", reason="the image extra (pip install gpukeras[image])")

from gpukeras.preprocessing.image import ImageDataGenerator  # noqa: E402
from tests.make_image_fixtures import CASES  # noqa: E402

FIXTURES = np.load("tests/fixtures/image_transforms.npz")


def pattern(rows: int = 6, cols: int = 6, channels: int = 1) -> np.ndarray:
    """An image whose every pixel differs, so a moved pixel shows where it went."""
    values = np.arange(rows * cols * channels, dtype="float32") + 1
    return values.reshape(rows, cols, channels)


def one_image_batch(generator: ImageDataGenerator, image: np.ndarray, seed: int) -> np.ndarray:
    return generator.flow(image[None], batch_size=1, seed=seed)[0][0]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_affine_transforms_match_keras(index):
    params, fill_mode = CASES[index]
    generator = ImageDataGenerator(fill_mode=fill_mode, cval=0.25)
    out = generator.apply_transform(FIXTURES["image"], params)
    np.testing.assert_allclose(out, FIXTURES[f"case{index}"], atol=1e-5)


@pytest.mark.parametrize(
    ("argument", "axis"), [("height_shift_range", 0), ("width_shift_range", 1)]
)
def test_a_shift_moves_the_image_by_whole_pixels_and_fills_the_edge(argument, axis):
    generator = ImageDataGenerator(**{argument: [2]}, fill_mode="constant", cval=-1)
    image = pattern()
    seen = set()
    for seed in range(8):
        out = one_image_batch(generator, image, seed)
        moved = np.moveaxis(out, axis, 0)
        original = np.moveaxis(image, axis, 0)
        if np.array_equal(moved[:-2], original[2:]):  # moved towards index 0
            assert (moved[-2:] == -1).all()
            seen.add(-2)
        else:
            np.testing.assert_array_equal(moved[2:], original[:-2])
            assert (moved[:2] == -1).all()
            seen.add(2)
    assert seen == {-2, 2}


def test_a_fractional_shift_is_a_fraction_of_the_size():
    generator = ImageDataGenerator(width_shift_range=0.5)
    params = [generator.get_random_transform((4, 10, 1), seed) for seed in range(200)]
    shifts = np.array([p["ty"] for p in params])
    assert np.abs(shifts).max() <= 5 and np.abs(shifts).max() > 4  # within +-0.5 * 10 pixels
    assert all(p["tx"] == 0 for p in params)


@pytest.mark.parametrize(
    ("argument", "flipped"),
    [
        ("horizontal_flip", lambda x: x[:, ::-1]),
        ("vertical_flip", lambda x: x[::-1]),
    ],
)
def test_flips_mirror_about_half_of_the_images(argument, flipped):
    generator = ImageDataGenerator(**{argument: True})
    image = pattern(4, 5, 3)
    batch = generator.flow(np.repeat(image[None], 40, axis=0), batch_size=40, seed=3)[0]
    mirrored = [np.array_equal(out, flipped(image)) for out in batch]
    unchanged = [np.array_equal(out, image) for out in batch]
    assert all(m != u for m, u in zip(mirrored, unchanged))
    assert 8 < sum(mirrored) < 32


def test_a_quarter_turn_of_a_square_image_is_a_rotation_by_90_degrees():
    generator = ImageDataGenerator()
    image = pattern(5, 5, 2)
    out = generator.apply_transform(image, {"theta": 90})
    expected = [np.rot90(image, k, axes=(0, 1)) for k in (1, 3)]
    assert any(np.allclose(out, e, atol=1e-4) for e in expected)
    assert not np.allclose(out, image)


def test_rotation_range_draws_angles_within_the_range():
    generator = ImageDataGenerator(rotation_range=30)
    angles = [generator.get_random_transform((5, 5, 1), s)["theta"] for s in range(100)]
    assert max(np.abs(angles)) <= 30 and np.std(angles) > 10


def test_zooming_out_shrinks_the_picture_into_the_centre():
    generator = ImageDataGenerator(zoom_range=[2.0, 2.0], fill_mode="constant")
    out = one_image_batch(generator, np.ones((8, 8, 1), "float32"), seed=0)[..., 0]
    np.testing.assert_allclose(out[2:6, 2:6], 1.0)
    assert out.sum() == pytest.approx(16.0)


def test_zooming_in_keeps_the_centre_pixel_and_crops_the_rest():
    generator = ImageDataGenerator(fill_mode="constant", cval=-5)
    image = pattern(5, 5)
    out = generator.apply_transform(image, {"zx": 0.5, "zy": 0.5})
    assert out[2, 2, 0] == image[2, 2, 0]
    assert (out > 0).all()  # nothing from outside the image
    assert out.max() < image.max() and out.min() > image.min()


def test_shear_keeps_the_middle_row_and_slants_the_columns():
    generator = ImageDataGenerator(fill_mode="constant")
    image = pattern(5, 5)
    out = generator.apply_transform(image, {"shear": 45})[..., 0]
    assert not np.allclose(out, image[..., 0])
    # rows move by -sin(45) * (column - centre) while columns shrink by cos(45)
    np.testing.assert_allclose(out[:, 2], image[:, 2, 0])


def test_channel_shift_adds_one_offset_clipped_to_the_image_range():
    generator = ImageDataGenerator(channel_shift_range=10.0)
    image = pattern(3, 3, 2)
    params = generator.get_random_transform(image.shape, seed=5)
    shift = params["channel_shift_intensity"]
    assert 0 < abs(shift) <= 10
    out = generator.apply_transform(image, params)
    np.testing.assert_allclose(out, np.clip(image + shift, image.min(), image.max()))


def test_rescale_and_preprocessing_function_run_after_augmentation_in_keras_order():
    seen = []

    def record(x):
        seen.append(x.copy())
        return x + 1

    generator = ImageDataGenerator(horizontal_flip=True, rescale=0.5, preprocessing_function=record)
    image = pattern(2, 3)
    out = one_image_batch(generator, image, seed=0)
    assert np.array_equal(seen[0], image) or np.array_equal(seen[0], image[:, ::-1])
    np.testing.assert_allclose(out, (seen[0] + 1) * 0.5)


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "reflect", "wrap"])
def test_fill_modes_fill_what_a_shift_uncovers(fill_mode):
    generator = ImageDataGenerator(fill_mode=fill_mode, cval=7.0)
    row = np.array([1, 2, 3, 4], "float32")
    image = np.tile(row[None, :, None], (3, 1, 1))
    out = generator.apply_transform(image, {"ty": 2})[0, :, 0]  # reads 2 columns to the right
    np.testing.assert_allclose(out[:2], [3, 4])
    # 'wrap' is SciPy's (period n - 1, not n), which is what Keras's images get too.
    expected = {"constant": [7, 7], "nearest": [4, 4], "reflect": [4, 3], "wrap": [2, 3]}
    np.testing.assert_allclose(out[2:], expected[fill_mode])


def test_channels_first_augments_exactly_as_channels_last():
    settings = dict(
        rotation_range=40,
        width_shift_range=0.2,
        zoom_range=0.3,
        shear_range=10,
        horizontal_flip=True,
        channel_shift_range=2.0,
    )
    images = np.stack([pattern(6, 5, 3) * (k + 1) for k in range(4)])
    last = ImageDataGenerator(**settings, data_format="channels_last")
    first = ImageDataGenerator(**settings, data_format="channels_first")
    out_last = last.flow(images, batch_size=4, seed=9)[0]
    out_first = first.flow(images.transpose(0, 3, 1, 2), batch_size=4, seed=9)[0]
    np.testing.assert_allclose(out_first, out_last.transpose(0, 3, 1, 2), atol=1e-5)


def test_dim_ordering_th_is_channels_first_with_a_warning():
    with pytest.warns(DeprecationWarning, match="dim_ordering"):
        generator = ImageDataGenerator(dim_ordering="th")
    assert generator.data_format == "channels_first"
    assert (generator.channel_axis, generator.row_axis, generator.col_axis) == (1, 2, 3)


def test_brightness_scales_the_image_and_clips_at_255():
    generator = ImageDataGenerator(brightness_range=(0.5, 1.5))
    image = np.full((2, 2, 3), 200.0, "float32")
    params = [generator.get_random_transform(image.shape, seed) for seed in range(50)]
    factors = np.array([p["brightness"] for p in params])
    assert factors.min() >= 0.5 and factors.max() <= 1.5 and factors.std() > 0.2
    for p in params[:5]:
        out = generator.apply_transform(image, p)
        np.testing.assert_allclose(out, min(200.0 * p["brightness"], 255.0), rtol=1e-6)


def test_zoom_and_shear_ranges_draw_within_their_bounds():
    generator = ImageDataGenerator(zoom_range=0.2, shear_range=30)
    params = [generator.get_random_transform((6, 6, 1), seed) for seed in range(100)]
    zooms = np.array([(p["zx"], p["zy"]) for p in params])
    assert zooms.min() >= 0.8 and zooms.max() <= 1.2
    assert not np.allclose(zooms[:, 0], zooms[:, 1])  # rows and columns drawn separately
    shears = np.array([p["shear"] for p in params])
    assert np.abs(shears).max() <= 30 and shears.std() > 10
