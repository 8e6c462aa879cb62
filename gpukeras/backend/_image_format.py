"""The default channel order of image layers: ``image_data_format()``, read once from
``$KERAS_HOME/keras.json`` (default ``~/.keras/keras.json``) as Keras does.

Keras 0.x/1.x scripts assume Theano's channels-first order; their users put
``"image_data_format": "channels_first"`` (or the older ``"image_dim_ordering": "th"``) in
keras.json, and every conv, pooling, padding and flatten layer built without a
``data_format`` then follows it.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

FORMATS = ("channels_last", "channels_first")
_DIM_ORDERINGS = {"tf": "channels_last", "th": "channels_first"}
_MAX_CONFIG_BYTES = 1 << 16  # keras.json is a few lines; anything larger is not one
_state: dict[str, Any] = {"format": None}


def config_path() -> str:
    """Where keras.json is read from."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "keras.json")


def image_data_format() -> str:
    """``'channels_last'`` or ``'channels_first'``: set, else keras.json's, else last."""
    if _state["format"] is None:
        _state["format"] = _from_config(config_path())
    return _state["format"]


def set_image_data_format(data_format: str) -> None:
    """Set the default channel order for image layers built from now on."""
    if data_format not in FORMATS:
        raise ValueError(
            f"Unknown data_format: expected one of {FORMATS}. Received: data_format={data_format!r}"
        )
    _state["format"] = data_format


def image_dim_ordering() -> str:
    """Keras 1's spelling: ``'th'`` (channels first) or ``'tf'`` (channels last)."""
    return "th" if image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(dim_ordering: str) -> None:
    """Keras 1's spelling of :func:`set_image_data_format` (``'th'`` or ``'tf'``)."""
    if dim_ordering not in _DIM_ORDERINGS:
        raise ValueError(
            f"Unknown dim_ordering: expected 'th' or 'tf'. Received: dim_ordering={dim_ordering!r}"
        )
    set_image_data_format(_DIM_ORDERINGS[dim_ordering])


def _from_config(path: str) -> str:
    """keras.json's channel order; a missing or unreadable file means channels-last (as
    in Keras), a value that is neither format is an error naming the file."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(_MAX_CONFIG_BYTES + 1)
    except OSError:
        return "channels_last"
    try:
        if len(raw) > _MAX_CONFIG_BYTES:
            raise ValueError("larger than 64 KiB")
        config = json.loads(raw.decode("utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        warnings.warn(f"Ignoring {path}: {error}", stacklevel=3)
        return "channels_last"
    if "image_data_format" in config:
        value = config["image_data_format"]
        if value in FORMATS:
            return value
    elif "image_dim_ordering" in config:
        value = config["image_dim_ordering"]
        if value in _DIM_ORDERINGS:
            return _DIM_ORDERINGS[value]
    else:
        return "channels_last"
    raise ValueError(
        f"{path}: `image_data_format` must be one of {FORMATS} (or `image_dim_ordering` "
        f"'th'/'tf'). Received: {value!r:.80}"
    )
