"""save_model, load_model, save_weights, load_weights, model_from_json: formats by name.

Writes go through :func:`atomic_write_path` (temporary file in the same
folder, fsync, ``os.replace``), so the file at a path is always a complete
old or new version; HDF5 files are built in memory first (``_in_memory``),
so a full disk raises an ``OSError`` naming the file instead of crashing h5py.
Reads decide the layout from the file's first bytes (HDF5 or zip), check the
name's extension, and turn anything malformed or unsafe into
:class:`FileFormatError` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from typing import Any

import h5py

from gpukeras._custom_objects import with_current
from gpukeras.saving import (
    _compile_config,
    _config,
    _config_safety,
    _config_write,
    _hdf5,
    _keras_zip,
    _legacy_plan,
    _optimizer_state,
    _subclassed,
)
from gpukeras.saving import _h5safe as safe
from gpukeras.saving._atomic import (
    atomic_write_bytes,
    atomic_write_path,
    closed_quietly_on_error,
    naming_the_file,
)
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._in_memory import hdf5_image

_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
_JSON_LIMIT = 1 << 26


# -- saving ------------------------------------------------------------------------------
def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Save architecture, compile settings, weights and optimizer state.

    Args:
        model: A built model with ``layers`` and ``get_config()``.
        filepath: ``*.keras`` (Keras 3's zip) or ``*.h5``/``*.hdf5`` (Keras's
            legacy HDF5 full-model layout).
        overwrite: Replace an existing file without asking; default ``True``
            (``False`` asks on the terminal, like Keras).
    """
    path = os.fspath(filepath)
    if not path.endswith(_MODEL_SUFFIXES) or path.endswith(".weights.h5"):
        raise ValueError(
            "Invalid filepath extension for saving a model. Expected a '.keras', '.h5' or "
            f"'.hdf5' file name ('.weights.h5' is for save_weights). Received: filepath={path}"
        )
    _refuse_subclassed_architecture(model, path)
    _hdf5.require_built(model, "save")
    if not _may_write(path, overwrite):
        return
    if path.endswith(".keras"):
        with naming_the_file(path), atomic_write_path(path) as temporary:
            with closed_quietly_on_error(open(temporary, "wb")) as file:
                _keras_zip.write_keras_zip(file, model)
    else:
        _write_hdf5(path, lambda file: _hdf5.write_legacy_model(file, model))


def _refuse_subclassed_architecture(model: Any, received: str) -> None:
    """A subclassed model's architecture is its Python code: no config or file holds it."""
    if _subclassed.is_subclassed(model):
        raise NotImplementedError(
            f"Saving the architecture of a subclassed model ({type(model).__name__}) is not "
            "supported: it is Python code, which a file cannot carry. Save its weights with "
            f"save_weights('....weights.h5') and rebuild the model in code. Received: {received}"
        )


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Save the model's weights (and, in Keras 3's layout, the optimizer's state).

    Args:
        model: A built model with ``layers``.
        filepath: ``*.weights.h5`` (Keras 3 layout) or ``*.h5``/``*.hdf5``
            (legacy layout, weights only).
        overwrite: Replace an existing file without asking; default ``True``.
    """
    path = os.fspath(filepath)
    if not path.endswith((".h5", ".hdf5")):
        raise ValueError(
            "The filename must end in '.weights.h5' (Keras 3 layout) or '.h5'/'.hdf5' "
            f"(legacy layout). Received: filepath={path}"
        )
    if _subclassed.is_subclassed(model) and not path.endswith(".weights.h5"):
        raise ValueError(
            "A subclassed model's weights are saved in Keras 3's layout, named by its "
            "attributes: the filename must end in '.weights.h5'. Received: filepath="
            f"{path}"
        )
    _hdf5.require_built(model, "save the weights of")
    if not _may_write(path, overwrite):
        return
    if path.endswith(".weights.h5"):
        _write_hdf5(path, lambda file: _hdf5.write_keras3_weights(file, model))
    else:
        _write_hdf5(path, lambda file: _hdf5.write_legacy_weights(file, model))


def _write_hdf5(path: str, write: Any) -> None:
    """Build the file in memory, then write its bytes atomically: a full disk raises an
    ``OSError`` naming ``path`` (h5py writing to disk itself crashes there), the old file
    stays, and no temporary is left."""
    image = hdf5_image(write)
    with image.getbuffer() as data:
        atomic_write_bytes(path, data)


def _may_write(path: str, overwrite: bool) -> bool:
    if not overwrite and os.path.isfile(path) and not _ask_to_overwrite(path):
        return False
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    return True


def _ask_to_overwrite(path: str) -> bool:
    """Keras's prompt: ``[WARNING] {path} already exists - overwrite? [y/n]``."""
    answer = input(f"[WARNING] {path} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True


# -- what a file is ------------------------------------------------------------------------
def _kind(path: str) -> str:
    """``'zip'`` or ``'hdf5'`` from the first bytes; anything else is refused."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: filepath={path}")
    with open(path, "rb") as file:
        head = file.read(8)
    if head.startswith(safe.ZIP_SIGNATURE):
        return "zip"
    if head == safe.HDF5_SIGNATURE or _has_user_block_signature(path):
        return "hdf5"
    raise FileFormatError(
        f"{path} is neither an HDF5 file nor a .keras zip archive (it may be empty, "
        f"truncated or of another format). First bytes: {head!r}"
    )


def _has_user_block_signature(path: str) -> bool:
    """HDF5 files may start after a user block of 512, 1024, 2048... bytes."""
    with open(path, "rb") as file:
        offset = 512
        while offset < min(os.path.getsize(path), 1 << 20):
            file.seek(offset)
            if file.read(8) == safe.HDF5_SIGNATURE:
                return True
            offset *= 2
    return False


# -- loading a whole model ---------------------------------------------------------------
def load_model(
    filepath: str | os.PathLike,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """Load a model saved by :func:`save_model` or by Keras (``.keras``, ``.h5``, ``.hdf5``).

    Args:
        filepath: The file to read.
        custom_objects: Your own layer (and loss) classes by the name the file
            uses; default ``None``. Nothing else is looked up or imported.
        compile: Compile the model with the saved optimizer, loss and metrics
            and restore the optimizer's state; default ``True``. A file whose
            compile settings gpukeras cannot use loads uncompiled, with a warning.
        safe_mode: Keras's flag; default ``True``. gpukeras refuses Lambda
            layers and serialized functions whatever its value.

    Raises:
        FileFormatError: The file is unreadable, malformed, unsafe, a
            weights-only file, or describes a model gpukeras cannot build.
    """
    path = os.fspath(filepath)
    if not path.endswith(_MODEL_SUFFIXES):
        raise ValueError(
            "File format not supported: expected a '.keras', '.h5' or '.hdf5' file name. "
            f"Received: filepath={path}"
        )
    if _kind(path) == "zip":
        return _load_keras_zip(path, custom_objects, compile, safe_mode)
    return _load_legacy_model(path, custom_objects, compile, safe_mode)


def _load_legacy_model(path: str, custom: Any, compile: bool, safe_mode: bool) -> Any:
    with safe.open_h5(path, path) as (file, budget):
        model_config = safe.read_json_attribute(file, "model_config", _JSON_LIMIT)
        if model_config is None:
            _refuse_weights_file(path, file)
        model = _config.model_from_config(
            model_config, custom, safe_mode, path, weights_follow=True
        )
        _, group = _hdf5.find_weights(file, path)
        weights = _hdf5.read_plan(_legacy_plan.legacy_plan(group, model, budget, False), budget)
        training = safe.read_json_attribute(file, "training_config", _JSON_LIMIT)
        optimizer = None
        if compile and training is not None and _compiled(model, training, True, custom, path):
            datasets = _optimizer_state.legacy_optimizer_datasets(file, budget)
            optimizer = _optimizer_state.optimizer_values(model, datasets, budget)
    _hdf5.assign_all(weights)
    if optimizer is not None:
        model.optimizer.set_weights(optimizer)
    return model


def _refuse_weights_file(path: str, file: h5py.File) -> None:
    if safe.has_string_list(file, "layer_names") or safe.has_entry(file, "layers"):
        raise FileFormatError(
            f"{path} holds only weights (no 'model_config' attribute), not a whole model. "
            "Build the same model in code, then call model.load_weights(filepath)."
        )
    raise FileFormatError(
        f"No model config found in {path}: it is not a Keras model file (expected a "
        "'model_config' attribute)."
    )


def _load_keras_zip(path: str, custom: Any, compile: bool, safe_mode: bool) -> Any:
    with _keras_zip.KerasZip(path) as archive:
        config = archive.read_json(_keras_zip.CONFIG_NAME)
        weights_bytes = archive.weights_bytes()
    if not isinstance(config, dict):
        raise FileFormatError(f"Invalid file {path}: config.json is not a JSON object.")
    model = _config.model_from_config(config, custom, safe_mode, path, weights_follow=True)
    label = f"{_keras_zip.WEIGHTS_NAME} in {path}"
    with safe.open_h5(weights_bytes, label) as (file, budget):
        plan = _hdf5.keras3_plan(file, model, budget, False, label)
        weights = _hdf5.read_plan(plan, budget)
        compile_config = config.get("compile_config")
        if isinstance(compile_config, dict) and "optimizer" not in compile_config:
            compile_config = {**compile_config, "optimizer": _saved_optimizer_id(file)}
        optimizer = None
        compiling = bool(compile and compile_config)
        # Under mixed_float16 Keras names the optimizer given to compile, which wrapped it in
        # a LossScaleOptimizer: the saved state is the wrapper's.
        loss_scaled = compiling and _optimizer_state.holds_loss_scale_state(file)
        if compiling and _compiled(model, compile_config, False, custom, path, loss_scaled):
            datasets = _optimizer_state.keras3_optimizer_datasets(file, budget)
            optimizer = _optimizer_state.optimizer_values(model, datasets, budget)
    _hdf5.assign_all(weights)
    if optimizer is not None:
        model.optimizer.set_weights(optimizer)
    return model


def _saved_optimizer_id(file: h5py.File) -> str:
    """The optimizer id behind ``optimizer/vars``'s name ('adam', 'rm_sprop', 'adam_1').

    Keras 3 leaves an optimizer given as a string id out of ``compile_config``
    and then compiles with RMSprop on load, dropping the saved state. Such an
    optimizer has its id's default settings and is named after its class, so
    the name tells which one it was.
    """
    from gpukeras import optimizers

    with contextlib.suppress(FileFormatError, *safe.READ_ERRORS):
        scaled = _optimizer_state.holds_loss_scale_state(file)  # then the wrapped optimizer's name
        path = "optimizer/inner_optimizer/vars" if scaled else "optimizer/vars"
        name = safe.safe_group(file, path).attrs.get("name")
        if isinstance(name, bytes):
            name = name.decode("utf8")
        candidate = re.sub(r"_\d+$", "", str(name)).replace("_", "")
        optimizers.get(candidate)
        return candidate
    return "rmsprop"


def _compiled(
    model: Any, config: Any, legacy: bool, custom: Any, path: str, loss_scaled: bool = False
) -> bool:
    """Compile from the file's settings; warn and leave it uncompiled if they don't fit.

    ``loss_scaled``: the file holds a LossScaleOptimizer's state; wrap the optimizer in one
    if the settings name the inner optimizer only.
    """
    custom = with_current(custom)
    _config_safety.check_tree(config, custom, True, path)
    had_optimizer = "optimizer" in vars(model)
    try:
        arguments = _compile_config.compile_arguments(config, legacy, custom)
        if loss_scaled:
            arguments["optimizer"] = _compile_config.loss_scaled(arguments["optimizer"])
        model.compile(**arguments)
    except (TypeError, ValueError, KeyError, AttributeError, NotImplementedError) as error:
        if not had_optimizer:  # compile sets it before checking the loss: undo that
            vars(model).pop("optimizer", None)
        warnings.warn(
            f"Could not compile the model loaded from {path} with its saved settings "
            f"({type(error).__name__}: {error}). The model is returned uncompiled: call "
            "model.compile(...) yourself, or pass compile=False to skip this.",
            stacklevel=4,
        )
        return False
    return True


# -- loading weights into a model ------------------------------------------------------------
def load_weights(
    model: Any,
    filepath: str | os.PathLike,
    skip_mismatch: bool = False,
    by_name: bool = False,
) -> None:
    """Load weights saved by :func:`save_weights`, :func:`save_model` or Keras.

    Reads the Keras 3 ``.weights.h5`` layout (with the optimizer's state when
    the model is compiled), the legacy weights layout, the weights of legacy
    full-model files and of ``.keras`` archives. Every declared shape is
    checked before any weight changes.

    Args:
        model: A built model with ``layers``.
        filepath: The file to read.
        skip_mismatch: Leave layers whose saved shapes (or, by name, counts)
            differ unchanged, with a warning, instead of raising; default ``False``.
        by_name: Legacy HDF5 only: load into layers of the same name and skip
            the others; default ``False`` (by order of layers with weights).
    """
    path = os.fspath(filepath)
    _hdf5.require_built(model, "load weights into")
    if _kind(path) == "zip":
        with _keras_zip.KerasZip(path) as archive:
            data = archive.weights_bytes()
        _load_weights_from(
            model, data, f"{_keras_zip.WEIGHTS_NAME} in {path}", skip_mismatch, by_name
        )
    else:
        _load_weights_from(model, path, path, skip_mismatch, by_name)


def _load_weights_from(
    model: Any, source: str | bytes, label: str, skip_mismatch: bool, by_name: bool
) -> None:
    optimizer = None
    with safe.open_h5(source, label) as (file, budget):
        layout, group = _hdf5.find_weights(file, label)
        if layout == "legacy":
            plan = _legacy_plan.legacy_plan(group, model, budget, skip_mismatch, by_name)
        elif by_name:
            raise ValueError(
                "Invalid keyword argument: by_name=True is only supported for legacy HDF5 "
                f"weights files, not Keras 3's '.weights.h5' layout. Received: filepath={label}"
            )
        else:
            plan = _hdf5.keras3_plan(group, model, budget, skip_mismatch, label)
        weights = _hdf5.read_plan(plan, budget)
        if layout == "keras3":
            datasets = _optimizer_state.keras3_optimizer_datasets(file, budget)
            optimizer = _optimizer_state.optimizer_values(model, datasets, budget)
    _hdf5.assign_all(weights)
    if optimizer is not None:
        model.optimizer.set_weights(optimizer)


# -- JSON --------------------------------------------------------------------------------
def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """A new model (fresh weights) from :meth:`Model.to_json`'s text or Keras's.

    Args:
        json_string: ``{"class_name": "Sequential", "config": {...}}`` as JSON,
            Keras 3 or legacy form.
        custom_objects: Your own layer classes by name; default ``None``.
    """
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"json_string must be a str. Received: {type(json_string).__name__}")
    config = safe.parse_json(json_string, "the JSON string")
    return _config.model_from_config(config, custom_objects, True, "the JSON string")


def model_to_json(model: Any, **kwargs: Any) -> str:
    """Keras 3's ``to_json``: the model config (Keras 3 form) as JSON; kwargs go to json.dumps."""
    _refuse_subclassed_architecture(model, "to_json()")
    return json.dumps(_config_write.model_config(model), default=_hdf5.json_default, **kwargs)
