"""Sequential: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from typing import Any

from gpukeras._naming import unique_name
from gpukeras.layers import InputLayer, KerasTensor, Layer
from gpukeras.models._model import Model
from gpukeras.models._step import forward_pass
from gpukeras.models._summary import print_summary
from gpukeras.variables import Variable

Shape = tuple[Any, ...]


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: Layers to add in order (an ``Input(...)`` may come first);
            default ``None``.
        trainable: Whether training updates the weights; default ``True``.
        name: Model name; default ``sequential``, ``sequential_1``, ...
    """

    _fused_step_ok = True  # its own layer stack: the fused step when every layer allows
    activity_regularizer = None  # its layers carry their own
    _sets_built_itself = True
    # A plain object's attributes and repr: none of a subclassed model's tracking.
    __setattr__ = object.__setattr__
    __repr__ = object.__repr__

    def __init__(
        self, layers: list[Any] | None = None, trainable: bool = True, name: str | None = None
    ) -> None:
        self.name = name or unique_name("sequential")
        self.trainable = bool(trainable)
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._step = None
        self.built = False
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"`layers` must be a list of layers. Received: layers={layers!r}")
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        """The layers, in order (the input layer is not listed, as in Keras)."""
        return list(self._layers)

    # -- weights (layer by layer; the fit loop reads trainable_weights every step) --------
    @property
    def weights(self) -> list[Variable]:
        """Every layer's weights, layer by layer (trainable then non-trainable)."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for layer in self._layers for w in layer.trainable_weights]

    def count_params(self) -> int:
        """Number of scalars in all weights."""
        return int(sum(layer.count_params() for layer in self._layers))

    def add(self, layer: Any) -> None:
        """Append ``layer`` (or set the input with ``Input(...)`` / ``InputLayer``)."""
        if isinstance(layer, KerasTensor):
            layer = layer.input_layer
        if not isinstance(layer, Layer) or layer is self:
            raise TypeError(
                "Only gpukeras layers can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if isinstance(layer, InputLayer):
            self._set_input(layer)
            return
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                "All layers added to a Sequential model should have unique names. "
                f"Name {layer.name!r} is already the name of a layer in this model."
            )
        if not self._layers and self._input_layer is None and layer.batch_input_shape:
            self._input_layer = InputLayer(batch_shape=layer.batch_input_shape)
        self._layers.append(layer)
        self._invalidate()
        if self._input_layer is not None:
            self.build(self._input_layer.batch_shape)
        elif _functional_input_shape(self._layers[0]) is not None:
            self.build(_functional_input_shape(self._layers[0]))  # as Keras: its Input's shape

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise TypeError("There are no layers in the model to pop.")
        layer = self._layers.pop()
        self._invalidate()
        if self._input_layer is not None and self._layers:
            self.build(self._input_layer.batch_shape)
        return layer

    def _set_input(self, layer: InputLayer) -> None:
        if self._layers or self._input_layer is not None:
            raise ValueError(
                "An Input/InputLayer can only be the first layer of a Sequential model. "
                f"Received: {layer.name!r} after {len(self._layers)} layer(s)"
            )
        self._input_layer = layer

    def _invalidate(self) -> None:
        self.built = False
        self._step = None

    def build(self, input_shape: Shape | None = None) -> None:
        """Build every layer for inputs of ``input_shape`` (batch axis first)."""
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError(
                    "Cannot build the model without an input shape: add an Input(shape) first "
                    "or pass input_shape=... to the first layer. Received: input_shape=None"
                )
            input_shape = self._input_layer.batch_shape
        shape = tuple(input_shape)
        self.input_shape = (None, *shape[1:])
        for layer in self._layers:
            layer.ensure_built(shape)
            shape = layer.compute_output_shape(shape)
        self.output_shape = (None, *tuple(shape)[1:])
        self.built = bool(self._layers)

    def _ensure_model_built(self, data_shape: Shape) -> None:
        if not self._layers:
            raise ValueError("The model has no layers yet; add layers before using it.")
        if not self.built:
            self.build(self._input_layer.batch_shape if self._input_layer else data_shape)

    def __call__(self, inputs: Any, training: Any = None) -> Any:
        """Run the layers on an array and return the output (no batching).

        Inside a ``GradientTape`` (a custom ``train_step``) the layers join the tape, so
        ``tape.gradient`` reaches the weights.
        """
        from gpukeras import autodiff
        from gpukeras import backend as K
        from gpukeras.layers._call import call_with_mask, resolve_training
        from gpukeras.layers._keras_tensor import is_symbolic

        if is_symbolic(inputs):  # the functional API: a node in a graph
            return Layer.__call__(self, inputs, training=training)
        training = resolve_training(training)  # None: the enclosing call's (or False)
        x = inputs if isinstance(inputs, autodiff.Tensor) else K.to_device(inputs)
        self._ensure_model_built(tuple(x.shape))
        if not autodiff.is_recording():
            return forward_pass(self._layers, x, bool(training))
        mask = None
        for layer in self._layers:
            x, mask = call_with_mask(layer, x, bool(training), mask)
        return x

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """The layers in order: how a Sequential nested in another model runs (as a
        ``call()`` layer, so the outer model's tape or forward pass reaches its layers)."""
        return self.__call__(inputs, training=training)

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        **kwargs: Any,
    ) -> None:
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        print_summary(self, line_length=line_length, print_fn=print_fn)

    # -- configuration ----------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Keras 3's Sequential config: the input layer, then each layer's config."""
        from gpukeras.layers._serialization import serialize

        layers = [serialize(self._input_layer)] if self._input_layer is not None else []
        layers += [serialize(layer) for layer in self._layers]
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "layers": layers}
        if self.input_shape is not None:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Sequential:
        """A new, unbuilt-weights model from :meth:`get_config`'s output."""
        from gpukeras.layers._serialization import deserialize

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config.get("layers", []):
            model.add(deserialize(layer_config, custom_objects))
        if not model.built and config.get("build_input_shape") and model.layers:
            model.build(tuple(config["build_input_shape"]))
        return model


def _functional_input_shape(layer: Any) -> Shape | None:
    """The input shape of a functional model with one input (Keras builds a Sequential that
    starts with one from it), else None."""
    if getattr(layer, "_graph", None) is None or len(layer.inputs) != 1:
        return None
    return layer.inputs[0].shape
