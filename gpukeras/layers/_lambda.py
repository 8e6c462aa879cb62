"""Lambda: wrap a function written with ``gpukeras.ops`` as a layer.

The function is saved by its name only (never as bytecode). Loading a model that holds
a Lambda layer needs the function passed in ``custom_objects`` under that name; without
it the file is refused: loading never runs code stored in a file.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from gpukeras import _custom_objects
from gpukeras.layers import _call
from gpukeras.layers._layer import Layer
from gpukeras.layers._serialization import register

Shape = tuple[Any, ...]


@register
class Lambda(Layer):
    """Wraps an arbitrary function as a layer (Keras 3's ``keras.layers.Lambda``).

    Args:
        function: ``function(inputs, **arguments)``, written with ``gpukeras.ops`` so it
            has a gradient; it also gets ``mask``/``training`` if it takes them. Required.
        output_shape: The output shape (without the batch axis, or with it), or a
            function ``output_shape(input_shape)``; default ``None``: inferred by running
            the function once on zeros.
        mask: A mask for the output, or a function ``mask(inputs, previous_mask)``;
            default ``None`` (no mask).
        arguments: Keyword arguments for ``function`` (JSON-able values, to be saved);
            default ``None``.
        **kwargs: :class:`Layer` arguments.

    Saving writes the function's ``__name__``; ``load_model(...,
    custom_objects={name: function})`` resolves it again (a ``lambda`` is named
    ``'<lambda>'``: prefer a ``def`` for models you save).
    """

    def __init__(
        self,
        function: Callable[..., Any],
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                f"Lambda needs a callable `function`. Received: function={function!r:.100}"
            )
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(
                f"`arguments` must be a dict of keyword arguments. Received: arguments="
                f"{arguments!r:.100}"
            )
        if output_shape is not None and not callable(output_shape):
            output_shape = _checked_shape(output_shape)
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        self.supports_masking = mask is not None
        parameters = _parameters(function)
        self._takes_mask = "mask" in parameters
        self._takes_training = "training" in parameters

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if self._takes_mask:
            kwargs["mask"] = mask
        if self._takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = tuple(input_shape)
        if self._output_shape is None:
            return _call.cached_output_shape(self, input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        shape = self._output_shape
        if len(shape) == len(input_shape) and len(input_shape) > 1 and shape[0] is None:
            return shape  # already has the batch axis
        return (input_shape[0] if input_shape else None, *shape)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["function"] = _function_entry(self.function, "function")
        output_shape = self._output_shape  # like Keras 3: written only when given
        if callable(output_shape):
            config["output_shape"] = _function_entry(output_shape, "output_shape")
        elif output_shape is not None:
            config["output_shape"] = list(output_shape)
        if callable(self.mask):
            config["mask"] = _function_entry(self.mask, "mask")
        elif self.mask is not None:
            raise ValueError(
                f"Lambda layer {self.name!r}: only a mask function can be saved, not a mask "
                f"array. Received: mask of type {type(self.mask).__name__}"
            )
        config["arguments"] = dict(self.arguments)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Lambda:
        """Rebuild the layer; each function is looked up by name among the caller's
        ``custom_objects`` (see ``gpukeras.saving.custom_object_scope``)."""
        config = dict(config)
        config["function"] = resolve_function(config.get("function"), "function")
        if isinstance(config.get("output_shape"), dict):
            config["output_shape"] = resolve_function(config["output_shape"], "output_shape")
        if isinstance(config.get("mask"), dict):
            config["mask"] = resolve_function(config["mask"], "mask")
        return cls(**config)


def _parameters(function: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


def _checked_shape(shape: Any) -> Shape:
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, (list, tuple)) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in shape
    ):
        raise ValueError(
            "`output_shape` must be a tuple of ints (None for unknown axes) or a function "
            f"of the input shape. Received: output_shape={shape!r:.100}"
        )
    return tuple(shape)


def _function_entry(function: Callable[..., Any], argument: str) -> dict[str, Any]:
    """A function saved by name only (Keras 3's entry for a named function)."""
    name = getattr(function, "__name__", None)
    if not isinstance(name, str):
        raise ValueError(
            f"Lambda's `{argument}` must be a named function to be saved (it is saved by "
            f"name). Received: {function!r:.100}"
        )
    module = getattr(function, "__module__", None)
    return {
        "module": module if isinstance(module, str) else None,
        "class_name": "function",
        "config": name,
        "registered_name": name,
    }


def function_name(entry: Any) -> str | None:
    """The function name a saved Lambda entry refers to, or ``None`` if it is not one."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and entry.get("class_name") == "function":
        name = entry.get("config")
        return name if isinstance(name, str) else None
    return None


def resolve_function(entry: Any, argument: str) -> Callable[..., Any]:
    """The caller's function for a saved entry, or a ValueError saying how to pass it."""
    if callable(entry):
        return entry
    name = function_name(entry)
    if name is None:
        raise ValueError(
            f"Lambda's `{argument}` was saved as code (or in an unknown form); gpukeras never "
            f"runs code from a file. Received: {argument}={entry!r:.100}"
        )
    found = _custom_objects.current().get(name)
    if not callable(found):
        raise ValueError(
            f"Lambda's `{argument}` is the function {name!r}, which is not in custom_objects. "
            "Loading never runs code from a file: pass the function itself, e.g. "
            f"load_model(path, custom_objects={{{name!r}: your_function}}). "
            f"Received: custom_objects keys {sorted(_custom_objects.current())}"
        )
    return found
