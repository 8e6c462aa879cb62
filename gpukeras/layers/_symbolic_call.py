"""A layer called on KerasTensors: build it, find its output shapes, record a Node.

``Layer.__call__`` sends symbolic inputs here (one early branch in ``_call.layer_call``).
Nothing is computed on data. The output specs come from the layer's Keras 3
``compute_output_spec`` when a user's layer defines one, else from its own
``compute_output_shape`` when it has one (every built-in layer, Sequential and functional
models); a layer written with ``call()`` that has neither is run once on zeros (twice when
an axis is unknown, as ``_call.infer_output_shape`` does), which also gives the dtypes and
handles lists/dicts in and out. ``training``, ``mask`` and other keyword arguments given
at the symbolic call are kept on the node and used each time the graph runs
(``base_model(x, training=False)`` keeps a base in inference mode, as in Keras).
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.layers._keras_tensor import KerasTensor, flatten, map_structure, pack_like
from gpukeras.layers._node import Node

_PROBE_SIZES = (2, 3)


class _Spec:
    """One output's shape and dtype (a leaf: a tuple would read as a structure)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: Any) -> None:
        self.shape, self.dtype = shape, dtype


def symbolic_layer_call(
    layer: Any, inputs: Any, training: Any, mask: Any, kwargs: dict[str, Any]
) -> Any:
    """The KerasTensor(s) ``layer(inputs, ...)`` returns; records the call as a Node."""
    from gpukeras.layers._input import InputLayer

    if isinstance(layer, InputLayer):
        raise TypeError(
            f"An InputLayer is not called on tensors: use keras.Input(shape) for the "
            f"model's inputs. Received: a call of {layer.name!r}"
        )
    _check_all_symbolic(layer, inputs)
    shapes = map_structure(lambda t: t.shape, inputs)
    _build(layer, shapes)
    spec = _output_spec(layer, inputs, shapes, kwargs)
    outputs = map_structure(lambda leaf: KerasTensor(leaf.shape, leaf.dtype), spec)
    for i, tensor in enumerate(flatten(outputs)):
        tensor.name = layer.name if i == 0 else f"{layer.name}_{i}"
    call_kwargs = dict(kwargs)
    if training is not None:
        call_kwargs["training"] = training
    if mask is not None:
        call_kwargs["mask"] = mask
    Node(layer, (inputs,), call_kwargs, outputs)
    return outputs


def _build(layer: Any, shapes: Any) -> None:
    """Build for one shape, or (a call() layer taking several inputs) for their shapes as
    a list or dict, as Keras passes them to ``build``."""
    if isinstance(shapes, dict) and not layer.built:
        layer.build(shapes)
        layer.built = True
        return
    layer.ensure_built(shapes)


def _check_all_symbolic(layer: Any, inputs: Any) -> None:
    for leaf in flatten(inputs):
        if not isinstance(leaf, KerasTensor):
            raise TypeError(
                f"Layer {layer.name!r} was called on a mix of KerasTensors and data: in the "
                f"functional API every input must be a KerasTensor (wrap constants in "
                f"keras.Input or a layer). Received: {type(leaf).__name__} {leaf!r}"[:400]
            )


def _output_spec(layer: Any, inputs: Any, shapes: Any, kwargs: dict[str, Any]) -> Any:
    """The structure of ``(shape, dtype)`` pairs the layer returns for ``inputs``."""
    if "compute_output_spec" in _own_methods(type(layer)):  # Keras 3's symbolic hook
        out = layer.compute_output_spec(inputs, **kwargs)
        return map_structure(lambda t: _Spec(tuple(t.shape), t.dtype), out)
    if _knows_its_output_shape(layer):
        out_shapes = layer.compute_output_shape(shapes)
        dtype = _output_dtype(layer)
        return _pair_shapes(out_shapes, dtype)
    return probe_output_spec(layer, inputs, kwargs)


def _own_methods(cls: type) -> set[str]:
    """Names defined by ``cls`` and its bases below gpukeras's Layer."""
    from gpukeras.layers._layer import Layer

    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Layer or klass.__module__.startswith("gpukeras."):
            break
        names.update(klass.__dict__)
    return names


def _knows_its_output_shape(layer: Any) -> bool:
    """A built-in layer (``forward``/``backward``), a model, or a ``call()`` layer that
    defines ``compute_output_shape``; otherwise the output shape is probed."""
    from gpukeras.layers import _call
    from gpukeras.layers._lambda import Lambda
    from gpukeras.layers._layer import Layer
    from gpukeras.models._model import Model

    if hasattr(layer, "get_output_shape_for") or hasattr(layer, "_input_layer"):
        return True  # a Keras 1 layer's rule; a Sequential's (from its build)
    if not _call.uses_call(layer):
        return True
    if isinstance(layer, Lambda) and layer._output_shape is None:
        return False  # its rule is the same probe, for one input only
    method = type(layer).compute_output_shape
    return method is not Layer.compute_output_shape and method is not Model.compute_output_shape


def _output_dtype(layer: Any) -> str:
    """The layer's compute dtype (a Sequential's: its last layer's)."""
    inner = getattr(layer, "layers", None)
    if "compute_dtype" not in layer.__dict__ and inner:
        return _output_dtype(inner[-1])
    return getattr(layer, "compute_dtype", None) or K.floatx()


def _pair_shapes(shapes: Any, dtype: Any) -> Any:
    """``shapes`` (one shape, or a list/dict of shapes) as ``(shape, dtype)`` leaves."""
    if _is_shape(shapes):
        return _Spec(tuple(shapes), dtype)
    if isinstance(shapes, dict):
        return {key: _pair_shapes(value, dtype) for key, value in shapes.items()}
    return [_pair_shapes(value, dtype) for value in shapes]


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) or hasattr(d, "__index__") for d in value
    )


def probe_output_spec(layer: Any, inputs: Any, kwargs: dict[str, Any]) -> Any:
    """Run ``layer.call`` on zeros shaped like ``inputs``: ``(shape, dtype)`` per output.

    Unknown axes are tried at two sizes; an output axis that follows them is unknown.
    The run records nothing on a tape and leaves the random streams, the weights and the
    ``add_loss`` losses as they were.
    """
    from gpukeras import autodiff
    from gpukeras.layers._call import run_call, training_scope

    tensors = [t for t in flatten([inputs, kwargs]) if isinstance(t, KerasTensor)]
    unknown = any(d is None for t in tensors for d in t.shape[1:])
    runs = []
    for size in _PROBE_SIZES if unknown else _PROBE_SIZES[:1]:
        zeros = {id(t): _zeros(t.shape, t.dtype, size) for t in tensors}

        def swap(leaf: Any, zeros: dict = zeros) -> Any:
            return zeros[id(leaf)] if isinstance(leaf, KerasTensor) else leaf

        saved = K.random.get_state()
        values = [(v.value, v.value.copy()) for v in layer.weights]
        try:
            with autodiff.scope(layer.name), training_scope(False):
                args = (map_structure(swap, inputs), map_structure(swap, kwargs))
                out = run_call(layer, args[0], False, None, args[1])
        finally:
            K.random.set_state(saved)
            for value, before in values:
                value[...] = before
            layer.clear_losses()
        runs.append(map_structure(lambda y: autodiff.unwrap(y), out))
    return _merge_runs(layer, runs, inputs)


def _zeros(shape: tuple, dtype: Any, size: int) -> Any:
    concrete = tuple(size if d is None else int(d) for d in shape)
    return K.array_module().zeros(concrete, dtype=dtype)


def _merge_runs(layer: Any, runs: list[Any], inputs: Any) -> Any:
    first = flatten(runs[0])
    shapes = [[tuple(int(d) for d in y.shape) for y in flatten(run)] for run in runs]
    merged = []
    for i, y in enumerate(first):
        ranks = {len(s[i]) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(
                f"Layer {layer.name!r}: the rank of call()'s output depends on the input's "
                f"unknown axes, so its output shape cannot be inferred. Define "
                f"compute_output_shape(input_shape). Received: inputs={inputs!r}"
            )
        shape = tuple(
            d if all(s[i][a] == d for s in shapes) else None for a, d in enumerate(y.shape)
        )
        batch_unknown = all(t.shape and t.shape[0] is None for t in flatten(inputs))
        if batch_unknown and shape and shape[0] == _PROBE_SIZES[0]:
            shape = (None, *shape[1:])
        merged.append(_Spec(shape, str(y.dtype)))
    return pack_like(runs[0], merged)
