"""ImageDataGenerator.flow_from_directory and load_img: class folders become labels, and
the directory is treated as hostile (links out of it, oversized files and images,
undecodable files and bad names are refused with errors naming them)."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("PIL", reason="the image extra (pip install gpukeras[image])")
from PIL import Image  # noqa: E402

import gpukeras as keras  # noqa: E402
from gpukeras.preprocessing import _image_files  # noqa: E402
from gpukeras.preprocessing.image import ImageDataGenerator, load_img  # noqa: E402
from gpukeras.saving import FileFormatError  # noqa: E402


def write_image(path, value: int, size=(6, 4), mode="RGB") -> None:
    """A ``size=(width, height)`` image of one colour (the red channel is ``value``)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    colour = value if mode == "L" else (value, 255 - value, 7)
    Image.new(mode, size, colour).save(path)


@pytest.fixture
def folders(tmp_path):
    """Two classes: 3 dark cats (value 10, 20, 30) and 2 bright dogs (200, 210)."""
    root = tmp_path / "data"
    for index, value in enumerate((10, 20, 30)):
        write_image(root / "cats" / f"c{index}.png", value)
    for index, value in enumerate((200, 210)):
        write_image(root / "dogs" / f"d{index}.jpg", value)
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


def test_subfolders_are_the_classes_in_sorted_order(folders, capsys):
    flow = ImageDataGenerator().flow_from_directory(
        folders, target_size=(4, 6), batch_size=5, shuffle=False
    )
    assert "Found 5 images belonging to 2 classes." in capsys.readouterr().out
    assert flow.class_indices == {"cats": 0, "dogs": 1}
    assert flow.filenames == ["cats/c0.png", "cats/c1.png", "cats/c2.png", "dogs/d0.jpg",
                              "dogs/d1.jpg"]  # fmt: skip
    images, labels = flow[0]
    assert images.shape == (5, 4, 6, 3) and images.dtype == np.float32
    np.testing.assert_allclose(images[:3, 0, 0, 0], [10, 20, 30])
    assert abs(images[3, 0, 0, 0] - 200) <= 2  # JPEG
    np.testing.assert_array_equal(labels, [[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]])


@pytest.mark.parametrize(
    ("class_mode", "expected"),
    [
        ("binary", [0, 0, 0, 1, 1]),
        ("sparse", [0, 0, 0, 1, 1]),
    ],
)
def test_binary_and_sparse_labels_are_class_indices(folders, class_mode, expected):
    flow = ImageDataGenerator().flow_from_directory(
        folders, target_size=(4, 6), class_mode=class_mode, shuffle=False
    )
    np.testing.assert_array_equal(flow[0][1], expected)


def test_class_mode_input_and_none(folders):
    generator = ImageDataGenerator(rescale=1 / 255)
    images, targets = generator.flow_from_directory(folders, target_size=(4, 6),
                                                    class_mode="input")[0]  # fmt: skip
    np.testing.assert_array_equal(images, targets)
    assert images.max() <= 1.0
    alone = generator.flow_from_directory(folders, target_size=(4, 6), class_mode=None)[0]
    assert isinstance(alone, np.ndarray) and alone.shape == (5, 4, 6, 3)


def test_target_size_grayscale_and_channels_first(folders):
    generator = ImageDataGenerator(data_format="channels_first")
    flow = generator.flow_from_directory(
        folders, target_size=(2, 3), color_mode="grayscale", classes=["dogs"], batch_size=8
    )
    images, labels = flow[0]
    assert images.shape == (2, 1, 2, 3) and flow.image_shape == (1, 2, 3)
    assert flow.class_indices == {"dogs": 0} and labels.shape == (2, 1)


def test_the_same_seed_gives_the_same_augmented_batches(folders):
    generator = ImageDataGenerator(rotation_range=45, horizontal_flip=True)
    a = generator.flow_from_directory(folders, target_size=(4, 6), batch_size=2, seed=4)
    b = generator.flow_from_directory(folders, target_size=(4, 6), batch_size=2, seed=4)
    for index in range(len(a)):
        np.testing.assert_array_equal(a[index][0], b[index][0])


def test_validation_split_takes_the_first_files_of_each_class(folders):
    generator = ImageDataGenerator(validation_split=0.5)
    validation = generator.flow_from_directory(folders, subset="validation", shuffle=False)
    training = generator.flow_from_directory(folders, subset="training", shuffle=False)
    assert validation.filenames == ["cats/c0.png", "dogs/d0.jpg"]
    assert training.filenames == ["cats/c1.png", "cats/c2.png", "dogs/d1.jpg"]


def test_a_link_out_of_the_directory_is_refused_by_name(folders, tmp_path):
    outside = tmp_path / "secret.png"
    write_image(outside, 1)
    os.symlink(outside, folders / "cats" / "link.png")
    with pytest.raises(FileFormatError, match=r"link\.png is a link that leads out of"):
        ImageDataGenerator().flow_from_directory(folders)


def test_a_folder_link_out_of_the_directory_is_refused(folders, tmp_path):
    write_image(tmp_path / "elsewhere" / "x.png", 1)
    os.symlink(tmp_path / "elsewhere", folders / "cats" / "more")
    with pytest.raises(FileFormatError, match=r"more is a link that leads out of"):
        ImageDataGenerator().flow_from_directory(folders, follow_links=True)


def test_a_class_named_by_a_link_out_of_the_directory_is_refused(folders, tmp_path):
    write_image(tmp_path / "elsewhere" / "x.png", 1)
    os.symlink(tmp_path / "elsewhere", folders / "birds")
    generator = ImageDataGenerator()
    assert "birds" not in generator.flow_from_directory(folders).class_indices
    with pytest.raises(FileFormatError, match=r"birds is a link that leads out of"):
        generator.flow_from_directory(folders, classes=["birds"])


def test_a_file_replaced_by_a_link_out_after_listing_is_refused_when_read(folders, tmp_path):
    flow = ImageDataGenerator().flow_from_directory(folders, classes=["cats"], shuffle=False)
    write_image(tmp_path / "secret.png", 1)
    os.remove(folders / "cats" / "c0.png")
    os.symlink(tmp_path / "secret.png", folders / "cats" / "c0.png")
    with pytest.raises(FileFormatError, match=r"c0\.png now leads out of the directory"):
        flow[0]


def test_links_inside_the_directory_are_read_and_loops_end(folders):
    os.symlink(folders / "cats" / "c0.png", folders / "dogs" / "again.png")
    os.symlink(folders / "dogs", folders / "dogs" / "loop")
    plain = ImageDataGenerator().flow_from_directory(folders, classes=["dogs"])
    assert plain.filenames == ["dogs/again.png", "dogs/d0.jpg", "dogs/d1.jpg"]
    followed = ImageDataGenerator().flow_from_directory(
        folders, classes=["dogs"], follow_links=True
    )
    assert followed.samples == 3  # the loop was entered at most once


def test_a_file_over_the_byte_limit_is_refused_before_reading(folders, monkeypatch):
    monkeypatch.setattr(_image_files, "MAX_IMAGE_BYTES", 50)
    with pytest.raises(FileFormatError, match=r"c0\.png: the file is \d+ bytes, over the 50-byte"):
        ImageDataGenerator().flow_from_directory(folders)


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(folders, monkeypatch):
    write_image(folders / "cats" / "huge.png", 5, size=(300, 300))
    flow = ImageDataGenerator().flow_from_directory(
        folders, classes=["cats"], shuffle=False, target_size=(4, 6)
    )
    monkeypatch.setattr(_image_files, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(FileFormatError, match=r"huge\.png: the image is 300x300 pixels"):
        flow[0]


def test_an_undecodable_image_is_a_file_format_error_naming_it(folders):
    (folders / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    flow = ImageDataGenerator().flow_from_directory(folders, classes=["cats"], shuffle=False)
    with pytest.raises(FileFormatError, match=r"broken\.png is not a readable image"):
        flow[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": ["../data"]}, r"`classes` must name subfolders.*'\.\./data'"),
        ({"classes": ["birds"]}, r"`classes` must name subfolders.*'birds'"),
        ({"class_mode": "onehot"}, r"class_mode.*Received: class_mode='onehot'"),
        ({"color_mode": "cmyk"}, r"color_mode.*Received: color_mode='cmyk'"),
        ({"target_size": 32}, r"target_size.*Received: target_size=32"),
    ],
)
def test_bad_arguments_are_named(folders, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageDataGenerator().flow_from_directory(folders, **kwargs)


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"existing folder.*nowhere"):
        ImageDataGenerator().flow_from_directory(tmp_path / "nowhere")


def test_load_img_resizes_and_converts(folders):
    image = load_img(folders / "cats" / "c1.png", color_mode="grayscale", target_size=(2, 3))
    assert image.size == (3, 2) and image.mode == "L"
    array = keras.preprocessing.image.img_to_array(image)
    assert array.shape == (2, 3, 1)


def test_a_model_trains_from_a_directory(tmp_path, backend_name):
    rng = np.random.default_rng(0)
    for index in range(8):
        write_image(tmp_path / "dark" / f"{index}.png", int(rng.integers(0, 60)), mode="L")
        write_image(tmp_path / "light" / f"{index}.png", int(rng.integers(190, 255)), mode="L")
    generator = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True)
    flow = generator.flow_from_directory(
        tmp_path,
        target_size=(4, 6),
        color_mode="grayscale",
        class_mode="binary",
        batch_size=4,
        seed=0,
    )
    model = keras.models.Sequential()
    model.add(keras.layers.Flatten(input_shape=(4, 6, 1)))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.5))
    losses = model.fit(flow, epochs=8, verbose=0).history["loss"]
    assert losses[-1] < 0.6 * losses[0]
