"""Functional: the model ``keras.Model(inputs, outputs)`` makes.

``Model.__new__`` returns one when ``Model`` itself is given inputs and outputs (as Keras
does). The graph between them is found and checked once (``_graph``); the layers are
built while the graph is made, so weights exist before any data. Calling the model runs
the nodes in order (``_run``): each layer through ``Layer.__call__``'s machinery, so under
a ``GradientTape`` a built-in layer is one tape node and a shared layer's gradient is the
sum over its calls. A graph that is a plain chain of built-in layers (one input, one
output) trains with the fused Sequential step, bit for bit as the same Sequential.
"""

from __future__ import annotations

from typing import Any

from gpukeras.layers import Layer
from gpukeras.layers._keras_tensor import KerasTensor, flatten, pack_like
from gpukeras.layers._node import Operation
from gpukeras.models._model import Model
from gpukeras.models.functional import _run
from gpukeras.models.functional._graph import Graph

Shape = tuple[Any, ...]


class Functional(Model):
    """A model defined by its input and output KerasTensors.

    Args:
        inputs: A KerasTensor (``keras.Input(...)``), a list or a dict of them.
        outputs: KerasTensor(s) computed from ``inputs``: one, a list or a dict.
        name: Model name; default ``functional``, ``functional_1``, ...
        trainable: Whether training updates the weights; default ``True``. Setting it
            sets every layer's, as in Keras (``base.trainable = False`` freezes a base).
    """

    _sets_built_itself = True

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, **kwargs: Any) -> None:
        self._inputs_struct = _checked_structure(inputs, "inputs")
        self._outputs_struct = _checked_structure(outputs, "outputs")
        graph = Graph(flatten(self._inputs_struct), flatten(self._outputs_struct))
        object.__setattr__(self, "_graph", graph)
        Model._init_layer(self, name=name or _default_name(), **kwargs)
        self.built = True
        self.input_shape = _shapes_like(self._inputs_struct)
        self.output_shape = _shapes_like(self._outputs_struct)

    # -- structure -------------------------------------------------------------------
    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._graph.inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._graph.outputs)

    @property
    def input(self) -> Any:
        """The ``inputs`` as given: one KerasTensor, a list or a dict."""
        return self._inputs_struct

    @property
    def output(self) -> Any:
        """The ``outputs`` as given: one KerasTensor, a list or a dict."""
        return self._outputs_struct

    @property
    def input_names(self) -> list[str]:
        return _names(self._inputs_struct)

    @property
    def output_names(self) -> list[str]:
        """Keras 3's output names: the dict keys, else the output layers' names."""
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct)
        return [t._keras_history.operation.name for t in self._graph.outputs]

    @property
    def operations(self) -> list[Any]:
        """Every layer and op of the graph, in Keras's order (inputs first)."""
        return list(self._graph.operations)

    @property
    def layers(self) -> list[Layer]:
        """The layers of the graph (the InputLayers first), each once, in Keras's order."""
        return [op for op in self._graph.operations if isinstance(op, Layer)]

    def _tracked_sublayers(self) -> list[Layer]:
        """The layers whose losses and penalties belong to this model (``_tracking``)."""
        from gpukeras.layers import InputLayer

        return [layer for layer in self.layers if not isinstance(layer, InputLayer)]

    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        constructing = "_trainable" not in self.__dict__  # leave layers frozen before as is
        self.__dict__["_trainable"] = bool(value)
        if constructing:
            return
        for layer in self.__dict__.get("_graph").operations:
            if isinstance(layer, Layer):
                layer.trainable = bool(value)

    # -- running ---------------------------------------------------------------------
    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """The outputs for ``inputs`` (the structure of ``model.input``, or a list in
        order, or a dict keyed by input name), in the structure of ``model.output``."""
        outputs, _ = _run.run_graph(self, inputs, training, mask)
        return pack_like(self._outputs_struct, outputs)

    def _tape_forward(self, x: Any, training: bool) -> tuple[Any, Any]:
        from gpukeras.layers._call import training_scope

        with training_scope(training):
            outputs, masks = _run.run_graph(self, x, training, None)
        if len(outputs) == 1:
            return outputs[0], masks[0]
        return pack_like(self._outputs_struct, outputs), pack_like(self._outputs_struct, masks)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The outputs' shapes (the batch axis from ``input_shape``)."""
        first = flatten_shapes(input_shape)
        batch = first[0] if first else None
        shapes = [(batch, *t.shape[1:]) for t in self._graph.outputs]
        return _pack_shapes(self._outputs_struct, shapes)

    def _mark_built(self, shape: Shape) -> None:
        self.built = True  # its input shapes are the Inputs' (set at construction)

    def _summary_rows(self) -> list[tuple[str, ...]]:
        from gpukeras.models.functional._summary import summary_rows

        return summary_rows(self)

    def summary(self, line_length: int | None = None, *args: Any, **kwargs: Any) -> None:
        """Keras's table of layers; functional graphs add the "Connected to" column."""
        wide = len(self._summary_rows()[0]) == 4
        Model.summary(self, line_length or (108 if wide else None), *args, **kwargs)

    # -- the fused step ----------------------------------------------------------------
    @property
    def _fused_step_ok(self) -> bool:
        """Whether the graph is a chain the fused Sequential step can run (see
        :meth:`_layer_stack`)."""
        return self._layer_stack() is not None

    def _layer_stack(self) -> list[Layer] | None:
        """The layers in order when the graph is a plain chain of built-in layers (each
        called once on the previous one's output, no ops, no models, no call() layers);
        otherwise ``None``."""
        cached = self.__dict__.get("_stack_cache", False)
        if cached is False:
            cached = _run.chain_of(self)
            self.__dict__["_stack_cache"] = cached
        return cached

    # -- configuration -----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Functional model {self.name!r}: get_config is not implemented yet (saving "
            "functional models is a separate part of issue 14)."
        )


def _default_name() -> str:
    from gpukeras._naming import unique_name

    return unique_name("functional")


def _checked_structure(value: Any, argument: str) -> Any:
    """``value`` (a KerasTensor, list/tuple or dict of them) with lists made lists."""
    leaves = flatten(value)
    if not leaves:
        raise ValueError(
            f"Model needs at least one of `{argument}`. Received: {argument}={value!r}"
        )
    for leaf in leaves:
        if not isinstance(leaf, KerasTensor):
            raise TypeError(
                f"All `{argument}` of a functional Model must be KerasTensors (from "
                f"keras.Input or a layer called on one). Received: {argument} holding "
                f"{type(leaf).__name__} {leaf!r}"[:400]
            )
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list) and len(value) == 1 and argument == "outputs":
        return value  # Keras keeps a one-element list: predict returns a list
    return value


def _names(structure: Any) -> list[str]:
    if isinstance(structure, dict):
        return list(structure)
    return [t._keras_history.operation.name for t in flatten(structure)]


def _shapes_like(structure: Any) -> Any:
    if isinstance(structure, KerasTensor):
        return structure.shape
    return _pack_shapes(structure, [t.shape for t in flatten(structure)])


def _pack_shapes(structure: Any, shapes: list[Shape]) -> Any:
    if isinstance(structure, KerasTensor):
        return shapes[0]
    if isinstance(structure, dict):
        return dict(zip(structure, shapes))
    return list(shapes)


def flatten_shapes(shape: Any) -> list[Any]:
    """The first axis of each shape in ``shape`` (one shape, a list or a dict of them)."""
    if isinstance(shape, dict):
        return [s[0] for s in shape.values() if s]
    if shape and isinstance(shape[0], (tuple, list)):
        return [s[0] for s in shape if s]
    return [shape[0]] if shape else []


__all__ = ["Functional", "Operation"]
