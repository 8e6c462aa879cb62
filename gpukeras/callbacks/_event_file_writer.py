"""EventFileWriter: TensorBoard event files written with the standard library only.

An event file is a TFRecord stream of serialized ``tensorflow.Event`` protocol
buffers. Each record is framed as::

    uint64 length (little endian) | uint32 masked_crc32c(length bytes)
    data                          | uint32 masked_crc32c(data)

The few protobuf messages needed (Event, Summary, Summary.Value,
SummaryMetadata, TensorProto, HistogramProto) are encoded by hand below, so
TensorBoard (and tensorboardX, TensorFlow) read the files without gpukeras
depending on any of them.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from typing import Any

from gpukeras.callbacks._file_errors import naming_failed_writes

# --- CRC-32C (Castagnoli), as TFRecord framing needs -------------------------------------


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (pure Python: fine for the small records scalars make)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 and add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    """``data`` framed as one TFRecord."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


# --- protobuf wire format ----------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s take ten bytes, as protobuf encodes them
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _int_field(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _double_field(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", value)


def _float_field(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def _bytes_field(field: int, value: bytes) -> bytes:
    return _key(field, 2) + _varint(len(value)) + value


def _packed_doubles(field: int, values: Sequence[float]) -> bytes:
    return _bytes_field(field, struct.pack(f"<{len(values)}d", *values))


# Field numbers from tensorflow/core/util/event.proto and framework/summary.proto.
_EVENT_WALL_TIME, _EVENT_STEP, _EVENT_FILE_VERSION, _EVENT_SUMMARY = 1, 2, 3, 5
_VALUE_TAG, _VALUE_SIMPLE, _VALUE_HISTO, _VALUE_TENSOR, _VALUE_METADATA = 1, 2, 5, 8, 9
_DT_STRING = 7


def _event(step: int, wall_time: float | None = None, body: bytes = b"") -> bytes:
    wall_time = time.time() if wall_time is None else wall_time
    return _double_field(_EVENT_WALL_TIME, wall_time) + _int_field(_EVENT_STEP, step) + body


def _summary_event(step: int, values: Iterable[bytes], wall_time: float | None = None) -> bytes:
    summary = b"".join(_bytes_field(1, value) for value in values)
    return _event(step, wall_time, _bytes_field(_EVENT_SUMMARY, summary))


def scalar_value(tag: str, value: float) -> bytes:
    """A ``Summary.Value`` holding ``simple_value`` (TensorBoard's scalars plugin)."""
    return _bytes_field(_VALUE_TAG, tag.encode()) + _float_field(_VALUE_SIMPLE, value)


def histogram_value(tag: str, values: Any, bucket_count: int = 30) -> bytes:
    """A ``Summary.Value`` holding a ``HistogramProto`` of the NumPy array ``values``."""
    import numpy

    flat = numpy.asarray(values, dtype=numpy.float64).ravel()
    if flat.size == 0:
        low = high = 0.0
        counts, edges = numpy.zeros(1), numpy.array([0.0, 0.0])
    else:
        low, high = float(flat.min()), float(flat.max())
        # A constant array still needs a bucket of non-zero width.
        span = (low, high) if high > low else (low - 0.5, high + 0.5)
        counts, edges = numpy.histogram(flat, bins=bucket_count, range=span)
    histogram = (
        _double_field(1, low)
        + _double_field(2, high)
        + _double_field(3, float(flat.size))
        + _double_field(4, float(flat.sum()))
        + _double_field(5, float(numpy.dot(flat, flat)))
        + _packed_doubles(6, [float(edge) for edge in edges[1:]])
        + _packed_doubles(7, [float(count) for count in counts])
    )
    return _bytes_field(_VALUE_TAG, tag.encode()) + _bytes_field(_VALUE_HISTO, histogram)


def text_tensor_value(tag: str, text: str, plugin_name: str, content: bytes = b"") -> bytes:
    """A ``Summary.Value`` holding a scalar string tensor for plugin ``plugin_name``."""
    plugin_data = _bytes_field(1, plugin_name.encode()) + _bytes_field(2, content)
    metadata = _bytes_field(1, plugin_data)
    tensor = _int_field(1, _DT_STRING) + _bytes_field(2, b"") + _bytes_field(8, text.encode())
    return (
        _bytes_field(_VALUE_TAG, tag.encode())
        + _bytes_field(_VALUE_TENSOR, tensor)
        + _bytes_field(_VALUE_METADATA, metadata)
    )


# --- the writer --------------------------------------------------------------------------

_file_counter = 0


def _event_file_name() -> str:
    """``events.out.tfevents.<time>.<host>.<pid>.<n>.v2``: unique within this process."""
    global _file_counter
    _file_counter += 1
    return (
        f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
        f"{os.getpid()}.{_file_counter}.v2"
    )


class EventFileWriter:
    """Appends summaries to a new event file in ``log_dir`` (created on first use).

    An ``OSError`` (a full disk) names TensorBoard and the event file.

    Args:
        log_dir: Folder of the event file. Required.
    """

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.path = os.path.join(log_dir, _event_file_name())
        with self._naming_failed_writes():
            os.makedirs(log_dir, exist_ok=True)
            self._file: Any = open(self.path, "wb")
        self._write(_event(0, body=_bytes_field(_EVENT_FILE_VERSION, b"brain.Event:2")))
        self.flush()

    def _naming_failed_writes(self) -> Any:
        return naming_failed_writes("TensorBoard", "an event file", self.path)

    def _write(self, event: bytes) -> None:
        if self._file is None:
            raise ValueError(f"The event file {self.path!r} is closed.")
        with self._naming_failed_writes():
            self._file.write(tfrecord(event))

    def add_values(self, step: int, values: Iterable[bytes]) -> None:
        """One event at ``step`` holding the encoded ``Summary.Value`` s ``values``."""
        values = list(values)
        if values:
            self._write(_summary_event(int(step), values))

    def add_scalars(self, step: int, scalars: dict[str, float]) -> None:
        """One event at ``step`` holding a scalar per ``tag: value``."""
        self.add_values(step, (scalar_value(tag, value) for tag, value in scalars.items()))

    def flush(self) -> None:
        if self._file is not None:
            with self._naming_failed_writes():
                self._file.flush()

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with self._naming_failed_writes():
                file.close()

    @property
    def closed(self) -> bool:
        return self._file is None
