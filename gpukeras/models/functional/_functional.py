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
        inputs = _checked_structure(inputs, "inputs")
        outputs = _checked_structure(outputs, "outputs")
        self._inputs_struct, self._outputs_struct = _from_intermediate(inputs, outputs)
        graph = Graph(flatten(self._inputs_struct), flatten(self._outputs_struct))
        object.__setattr__(self, "_graph", graph)
        trainable = kwargs.pop("trainable", None)
        Model._init_layer(self, name=name or _default_name(), **kwargs)
        if trainable is not None:
            self.trainable = trainable  # as Keras: sets every layer's too
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
        """Keras 3's output names: the names of the layers that make the outputs (also
        for dict outputs, whose keys name the outputs in losses and logs)."""
        return [t._keras_history.operation.name for t in self._graph.outputs]

    @property
    def operations(self) -> list[Any]:
        """Every layer and op of the graph, in Keras's order (inputs first)."""
        return list(self._graph.operations)

    @property
    def layers(self) -> list[Layer]:
        """The layers of the graph (the InputLayers first), each once, in Keras's order."""
        return [op for op in self._graph.operations if isinstance(op, Layer)]

    @layers.setter
    def layers(self, _: Any) -> None:
        raise AttributeError(
            "`Model.layers` attribute is reserved and should not be used. Please use another name."
        )

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
        outputs, masks = _run.run_graph(self, inputs, training, mask)
        # compute_mask, asked right after this call (``_call.call_with_mask``), hands them
        # on: a nested model's output masks reach the outer graph's next layers.
        self.__dict__["_output_masks"] = masks
        return pack_like(self._outputs_struct, outputs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output masks of the call just made (None where an output has none)."""
        masks = self.__dict__.pop("_output_masks", None)
        if masks is None or all(m is None for m in masks):
            return None
        if isinstance(self._outputs_struct, KerasTensor):
            return masks[0]
        return pack_like(self._outputs_struct, masks)

    def _tape_forward(self, x: Any, training: bool) -> tuple[Any, Any]:
        from gpukeras.layers._call import training_scope

        with training_scope(training):
            outputs, masks = _run.run_graph(self, x, training, None)
        if len(outputs) == 1:
            return outputs[0], masks[0]
        return pack_like(self._outputs_struct, outputs), pack_like(self._outputs_struct, masks)

    def _forward(self, x: Any) -> Any:
        """predict's batch output; one output in a list of one is the array, as Keras."""
        out = Model._forward(self, x)
        return out[0] if isinstance(out, list) and len(out) == 1 else out

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The outputs' shapes (the batch axis from ``input_shape``)."""
        batch = _batch_axis(input_shape)
        shapes = [(batch, *t.shape[1:]) for t in self._graph.outputs]
        return _pack_shapes(self._outputs_struct, shapes)

    def build(self, input_shape: Any = None) -> None:
        """Nothing to do: a functional model is built when it is made (as in Keras)."""

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
        """Keras 3's functional config: ``layers`` with their ``inbound_nodes``,
        ``input_layers``, ``output_layers`` (written by ``saving/_functional_write.py``)."""
        from gpukeras.saving._functional_write import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Functional:
        """A new model (fresh weights) from :meth:`get_config`'s dict, checked as a file's."""
        from gpukeras.saving._config import model_from_config

        model_config = {"class_name": "Functional", "config": config}
        return model_from_config(model_config, custom_objects, True, "the config")


def _default_name() -> str:
    from gpukeras._naming import unique_name

    return unique_name("functional")


def _checked_structure(value: Any, argument: str) -> Any:
    """``value`` (a KerasTensor, list/tuple or dict of them; a top tuple becomes a list),
    checked to hold only KerasTensors."""
    leaves = flatten(value)
    if not leaves:
        raise ValueError(
            f"Model needs at least one of `{argument}`. Received: {argument}={value!r}"
        )
    for leaf in leaves:
        if not isinstance(leaf, KerasTensor):
            raise ValueError(
                f"All `{argument}` values must be KerasTensors (from keras.Input or a layer "
                f"called on one). Received: {argument}={value!r} including invalid value "
                f"{leaf!r} of type {type(leaf).__name__}"[:600]
            )
    return list(value) if isinstance(value, tuple) else value


def _from_intermediate(inputs: Any, outputs: Any) -> tuple[Any, Any]:
    """As Keras: inputs that are intermediate tensors (``Model(x2, outputs)``) get new
    Inputs in their place, and the nodes between are called again on them (new nodes of
    the same layers, sharing their weights); otherwise ``(inputs, outputs)`` as given."""
    from gpukeras.layers._input import Input
    from gpukeras.layers._node import node_of
    from gpukeras.models._cloning import replay

    flat_inputs, flat_outputs = flatten(inputs), flatten(outputs)
    if all(node_of(t).is_input for t in flat_inputs):
        return inputs, outputs
    graph = Graph(flat_inputs, flat_outputs)
    new_inputs = [
        t
        if node_of(t).is_input
        else Input(batch_shape=t.shape, dtype=t.dtype, name=f"{t.name}CLONE")
        for t in flat_inputs
    ]
    tensors = {id(old): new for old, new in zip(flat_inputs, new_inputs)}
    replay(graph, tensors, lambda layer: layer)
    new_outputs = [tensors[id(t)] for t in flat_outputs]
    return pack_like(inputs, new_inputs), pack_like(outputs, new_outputs)


def _names(structure: Any) -> list[str]:
    if isinstance(structure, dict):
        return list(structure)
    return [t._keras_history.operation.name for t in flatten(structure)]


def _shapes_like(structure: Any) -> Any:
    """Keras's ``input_shape``/``output_shape``: one shape for one tensor (also a list or
    dict of one), else the list of shapes."""
    shapes = [t.shape for t in flatten(structure)]
    return shapes[0] if len(shapes) == 1 else shapes


def _pack_shapes(structure: Any, shapes: list[Shape]) -> Any:
    if isinstance(structure, KerasTensor):
        return shapes[0]
    if isinstance(structure, dict):
        return dict(zip(structure, shapes))
    return list(shapes)


def _batch_axis(shape: Any) -> Any:
    """The batch axis of the first shape in ``shape`` (one shape, or nested lists/dicts)."""
    while isinstance(shape, dict) or (shape and isinstance(shape[0], (tuple, list, dict))):
        shape = next(iter(shape.values())) if isinstance(shape, dict) else shape[0]
    return shape[0] if shape else None
