"""TensorBoard: event files read back with a small TFRecord + protobuf reader.

(Readability by TensorBoard itself was checked once with tensorboard's EventAccumulator
in a throwaway environment; the suite does not depend on tensorboard.)
"""

from __future__ import annotations

import glob
import json
import os
import struct

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras.callbacks import LearningRateScheduler, TensorBoard
from gpukeras.callbacks._event_file_writer import EventFileWriter, crc32c, masked_crc32c
from tests.callbacks_support import tiny_data, tiny_model

# --- a minimal reader ----------------------------------------------------------------------


def read_records(path):
    """The payloads of a TFRecord file, checking both CRCs of every record."""
    records = []
    with open(path, "rb") as file:
        data = file.read()
    offset = 0
    while offset < len(data):
        header = data[offset : offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8 : offset + 12])
        assert length_crc == masked_crc32c(header)
        payload = data[offset + 12 : offset + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[offset + 12 + length : offset + 16 + length])
        assert payload_crc == masked_crc32c(payload)
        records.append(payload)
        offset += 16 + length
    return records


def _varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def parse(message):
    """Protobuf wire format -> {field number: [values]} (bytes for length-delimited)."""
    fields, i = {}, 0
    while i < len(message):
        key, i = _varint(message, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(message, i)
        elif wire == 1:
            value, i = struct.unpack("<d", message[i : i + 8])[0], i + 8
        elif wire == 5:
            value, i = struct.unpack("<f", message[i : i + 4])[0], i + 4
        elif wire == 2:
            length, i = _varint(message, i)
            value, i = message[i : i + length], i + length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        fields.setdefault(field, []).append(value)
    return fields


def events(folder):
    """Every event of the event files in ``folder``, parsed, file by file in name order."""
    found = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        found.extend(parse(record) for record in read_records(path))
    return found


def scalars(folder):
    """tag -> [(step, value)] for every simple_value in ``folder``."""
    out = {}
    for event in events(folder):
        for summary in event.get(5, []):
            for value in parse(summary).get(1, []):
                value = parse(value)
                if 2 in value:
                    tag = value[1][0].decode()
                    out.setdefault(tag, []).append((event[2][0], value[2][0]))
    return out


def value_messages(folder, field):
    """(tag, step, parsed sub-message ``field``) of every Summary.Value holding it."""
    out = []
    for event in events(folder):
        for summary in event.get(5, []):
            for value in parse(summary).get(1, []):
                value = parse(value)
                if field in value:
                    out.append((value[1][0].decode(), event[2][0], parse(value[field][0])))
    return out


# --- tests ---------------------------------------------------------------------------------


def test_crc32c_known_values():
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 test vector


def test_first_event_is_the_file_version(tmp_path):
    writer = EventFileWriter(str(tmp_path))
    writer.add_scalars(7, {"a": 1.5})
    writer.close()
    first, second = events(str(tmp_path))
    assert first[3] == [b"brain.Event:2"] and first[2] == [0]
    assert isinstance(first[1][0], float) and first[1][0] > 1e9  # wall time
    assert second[2] == [7]
    with pytest.raises(ValueError, match="closed"):
        writer.add_scalars(8, {"a": 1.0})


def test_epoch_scalars_in_train_and_validation(tmp_path):
    x, y = tiny_data()
    history = tiny_model().fit(
        x,
        y,
        epochs=3,
        batch_size=16,
        verbose=0,
        validation_split=0.25,
        callbacks=[TensorBoard(tmp_path, write_graph=False)],
    )
    train = scalars(str(tmp_path / "train"))
    val = scalars(str(tmp_path / "validation"))
    assert sorted(train) == ["epoch_accuracy", "epoch_learning_rate", "epoch_loss"]
    assert sorted(val) == ["epoch_accuracy", "epoch_loss"]
    assert [step for step, _ in train["epoch_loss"]] == [0, 1, 2]
    # simple_value is a float32
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], history.history["loss"], 1e-6)
    np.testing.assert_allclose([v for _, v in val["epoch_loss"]], history.history["val_loss"], 1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.01] * 3, 1e-6)


def test_a_per_class_metric_is_one_scalar_per_class(tmp_path):
    from gpukeras.metrics import F1Score

    x, y = tiny_data()
    model = tiny_model(metrics=(F1Score(),))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[TensorBoard(tmp_path)])
    train = scalars(str(tmp_path / "train"))
    assert {"epoch_f1_score/0", "epoch_f1_score/1"} <= set(train)
    scores = np.array([v for _, v in train["epoch_f1_score/1"]])
    np.testing.assert_allclose(scores, [s[1] for s in history.history["f1_score"]], 1e-6)


def test_learning_rate_follows_a_scheduler(tmp_path):
    x, y = tiny_data()
    schedule = LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    tiny_model().fit(x, y, epochs=3, verbose=0, callbacks=[schedule, TensorBoard(tmp_path)])
    train = scalars(str(tmp_path / "train"))
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.1, 0.05, 0.1 / 3])
    assert not os.path.exists(tmp_path / "validation")  # no validation: no folder


def test_integer_update_freq_writes_batch_scalars_and_reads_only_those_batches(tmp_path):
    x, y = tiny_data()  # 64 samples, batch 16: 4 batches per epoch
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)
    before = K.host_syncs()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    baseline = K.host_syncs() - before
    before = K.host_syncs()
    callback = TensorBoard(tmp_path, update_freq=3, write_steps_per_second=True)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    # Global batches 3 and 6 (of 8) are written: one transfer each.
    assert K.host_syncs() - before == baseline + 2
    train = scalars(str(tmp_path / "train"))
    assert [step for step, _ in train["batch_loss"]] == [3, 6]
    assert [step for step, _ in train["batch_accuracy"]] == [3, 6]
    assert [step for step, _ in train["batch_steps_per_second"]] == [3, 6]
    assert [step for step, _ in train["epoch_steps_per_second"]] == [0, 1]
    assert all(v > 0 for _, v in train["epoch_steps_per_second"])
    assert "batch_batch" not in train and "batch_size" not in train


def test_update_freq_epoch_reads_no_batch_logs(tmp_path):
    x, y = tiny_data()
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)
    before = K.host_syncs()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[TensorBoard(tmp_path)])
    assert K.host_syncs() - before == 2
    assert not any(tag.startswith("batch_") for tag in scalars(str(tmp_path / "train")))


def test_update_freq_batch_means_every_batch(tmp_path):
    x, y = tiny_data(32)
    tiny_model().fit(
        x,
        y,
        epochs=2,
        batch_size=16,
        verbose=0,
        callbacks=[TensorBoard(tmp_path, update_freq="batch")],
    )
    assert [s for s, _ in scalars(str(tmp_path / "train"))["batch_loss"]] == [1, 2, 3, 4]


def test_histograms(tmp_path):
    x, y = tiny_data()
    model = tiny_model()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[TensorBoard(tmp_path, histogram_freq=2)])
    found = value_messages(str(tmp_path / "train"), 5)
    tags = sorted({tag for tag, _, _ in found})
    assert tags == sorted(f"{w.path}/histogram" for w in model.weights)
    assert sorted({step for _, step, _ in found}) == [0, 2]
    kernel = model.weights[0].numpy()
    last = [h for tag, step, h in found if tag == f"{model.weights[0].path}/histogram"][-1]
    assert last[3] == [kernel.size]  # num
    assert last[1][0] == pytest.approx(kernel.min()) and last[2][0] == pytest.approx(kernel.max())
    counts = struct.unpack(f"<{len(last[7][0]) // 8}d", last[7][0])
    assert sum(counts) == kernel.size and len(counts) == 30


def test_write_graph_writes_the_model_config(tmp_path):
    x, y = tiny_data(32)
    model = tiny_model()
    model.fit(x, y, verbose=0, callbacks=[TensorBoard(tmp_path)])
    ((tag, step, tensor),) = value_messages(str(tmp_path / "train"), 8)
    assert (tag, step) == ("keras", 0)
    config = json.loads(tensor[8][0])
    assert config["class_name"] == "Sequential"
    assert config["config"] == json.loads(json.dumps(model.get_config()))


def test_each_fit_writes_new_files(tmp_path):
    x, y = tiny_data(32)
    model = tiny_model()
    callback = TensorBoard(tmp_path, write_graph=False)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    assert len(glob.glob(str(tmp_path / "train" / "events.out.tfevents.*"))) == 2
    assert [s for s, _ in scalars(str(tmp_path / "train"))["epoch_loss"]] == [0, 1, 0]


def test_unsupported_features(tmp_path):
    with pytest.warns(UserWarning, match="write_images=True"):
        TensorBoard(tmp_path, write_images=True)
    with pytest.warns(UserWarning, match="embeddings_freq"):
        TensorBoard(tmp_path, embeddings_freq=1)
    for profile_batch in (5, (2, 4), "1,3"):
        with pytest.raises(ValueError, match="Profiling is not available.*profile_batch"):
            TensorBoard(tmp_path, profile_batch=profile_batch)
    TensorBoard(tmp_path, profile_batch=(0, 0))


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"update_freq": 0}, r"Received: update_freq=0"),
        ({"update_freq": "step"}, r"Received: update_freq='step'"),
        ({"update_freq": 2.5}, r"Received: update_freq=2.5"),
        ({"histogram_freq": -1}, r"Received: histogram_freq=-1"),
    ],
)
def test_bad_arguments(kwargs, pattern, tmp_path):
    with pytest.raises(ValueError, match=pattern):
        TensorBoard(tmp_path, **kwargs)
