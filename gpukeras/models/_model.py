"""Model: the weight and file API shared by every model class, and subclassed models.

A subclassed model (``class M(keras.Model)`` with ``call()``) is a Layer: the layers,
nested models and Variables it holds in attributes (also inside lists, tuples and dicts)
are its own, found by walking its attributes in the order they were set (see
``_tracking``). ``Sequential`` keeps its own stack and overrides what it needs.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.layers import Layer
from gpukeras.models import _structure, _tracking
from gpukeras.models._compile_metrics import in_metrics_order
from gpukeras.models._custom_step import CustomStep, overrides_step
from gpukeras.models._custom_training import CustomTraining
from gpukeras.models._legacy_training import LegacyTraining, legacy_compile_arguments
from gpukeras.models._trainer import Trainer
from gpukeras.variables import Variable

Shape = tuple[Any, ...]
_LAYER_ARGUMENTS = ("name", "trainable", "dtype")


class Model(LegacyTraining, CustomTraining, Trainer, Layer):
    """Base class of models: ``Sequential``, or subclass it and write ``call()``.

    A subclass creates its layers in ``__init__`` (after ``super().__init__(**kwargs)``),
    optionally builds weights in ``build(input_shape)``, and computes its output in
    ``call(inputs, training=None, mask=None)`` (``training`` and ``mask`` are passed only
    when ``call`` takes them). It trains with ``compile``/``fit`` like any model and may
    override ``train_step``, ``test_step``, ``predict_step`` and ``compute_loss``.

    Args:
        name: Model name; default the snake_case class name (``my_model``, ``my_model_1``).
        trainable: Whether training updates the weights; default ``True``.
        dtype: Float type or dtype policy name of the model's own weights; default ``None``.

    ``Model(inputs, outputs, name=...)`` (positional or keyword) makes a functional model
    instead (``gpukeras.models.functional.Functional``), as in Keras.
    """

    history: Any = None
    _fused_step_ok = False  # call() decides the forward pass: the tape step runs it
    _sets_built_itself = False  # Sequential: its build() sets ``built`` (or leaves it)
    input_shape: Shape | None = None
    output_shape: Shape | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Model(inputs, outputs) is a functional model, as in Keras.
        if cls is Model and (args or {"inputs", "outputs"} & set(kwargs)):
            from gpukeras.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or {"inputs", "outputs"} & set(kwargs):
            # A subclass given inputs and outputs (CustomModel(inputs, outputs), or its
            # __init__ calling super().__init__(inputs=..., outputs=...)) becomes a
            # functional model with the subclass's methods, as Keras does.
            from gpukeras.models.functional._subclass import become_functional

            become_functional(self, args, kwargs)
            return
        if type(self) is Model:
            raise NotImplementedError(
                "Model() needs inputs and outputs (keras.Model(inputs, outputs)), or subclass "
                "gpukeras.Model and write call(). Received: no arguments"
            )
        self._init_layer(**kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        """A new model from ``get_config()``'s dict; a functional config (one with
        ``input_layers``) makes a functional model, as in Keras."""
        if isinstance(config, dict) and "input_layers" in config:
            from gpukeras.models.functional import Functional

            return Functional.from_config(config, custom_objects)
        return super().from_config(config)

    def _init_layer(self, **kwargs: Any) -> None:
        """The Layer part of a model: name, trainable, dtype; nothing else is accepted."""
        unknown = sorted(set(kwargs) - set(_LAYER_ARGUMENTS))
        if unknown:
            raise TypeError(
                f"Invalid keyword argument(s) for {type(self).__name__}: "
                f"{', '.join(map(repr, unknown))}. Valid: {', '.join(_LAYER_ARGUMENTS)}"
            )
        Layer.__init__(self, **kwargs)
        self._step = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A user's build(): the model is built once it returns (Sequential builds its own).
        if "build" in cls.__dict__ and not cls._sets_built_itself:
            cls.build = _marking_built(cls.__dict__["build"])

    def __setattr__(self, name: str, value: Any) -> None:
        # A Variable set on the model is one of its own weights, in the order set (Keras).
        if "_weights" in self.__dict__:  # set after Layer.__init__: the user's attributes
            if isinstance(value, Variable):
                if all(value is not own for own in self._weights):
                    self._weights.append(value)
            else:
                _tracking.note_attribute(self, name, value)
        object.__setattr__(self, name, value)

    # -- layers and weights ----------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers held in attributes (also in lists, tuples and dicts), in the order set."""
        return _tracking.tracked_layers(self)

    @property
    def weights(self) -> list[Variable]:
        """Own weights (``add_weight`` and Variable attributes), then each layer's, once each."""
        return _tracking.unique(self._own("weights") + self._of_layers("weights"))

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return _tracking.unique(
            self._own("trainable_weights") + self._of_layers("trainable_weights")
        )

    @property
    def non_trainable_weights(self) -> list[Variable]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def trainable_variables(self) -> list[Variable]:
        """Keras 3's name for :attr:`trainable_weights`."""
        return self.trainable_weights

    @property
    def variables(self) -> list[Variable]:
        """Keras 3's name for :attr:`weights`."""
        return self.weights

    def _own(self, kind: str) -> list[Variable]:
        """The model's own variables (not its layers'): ``weights`` (trainable first) or
        ``trainable_weights``."""
        own = self.__dict__.get("_weights", [])
        trainable = [w for w in own if w.trainable] if self.trainable else []
        if kind == "trainable_weights":
            return trainable
        return trainable + [w for w in own if all(w is not t for t in trainable)]

    def _of_layers(self, kind: str) -> list[Variable]:
        return [w for layer in self.layers for w in getattr(layer, kind)]

    def get_weights(self) -> list[numpy.ndarray]:
        """Host copies of :attr:`weights`, in Keras's order."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Overwrite :attr:`weights` from arrays in :meth:`get_weights` order."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Model {self.name!r} has {len(own)} weight arrays. "
                f"Received: a list of {len(weights)} arrays"
            )
        for variable, value in zip(own, weights):
            shape = tuple(numpy.shape(value))
            if shape != variable.shape:
                raise ValueError(
                    f"Weight {variable.path!r} has shape {variable.shape}. "
                    f"Received: an array of shape {shape}"
                )
        for variable, value in zip(own, weights):
            variable.assign(value)

    def count_params(self) -> int:
        """Number of scalars in all weights."""
        if not self.built:
            raise ValueError(
                f"You tried to call count_params on model {self.name!r}, but the model isn't "
                "built. Build it first: call it on a batch of data or call build(input_shape)."
            )
        return int(sum(numpy.prod(w.shape, dtype=numpy.int64) for w in self.weights))

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by ``index`` in :attr:`layers`."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Model {self.name!r} has {len(layers)} layers. Received: index={index}"
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name!r}. Existing layers are: {[layer.name for layer in layers]}"
        )

    def clear_losses(self) -> None:
        """Forget the ``add_loss`` losses of the model and of every layer below it."""
        for layer in [self, *_tracking.all_layers(self)]:
            layer.__dict__["_call_losses"] = []

    # -- building and calling ----------------------------------------------------------
    def build(self, input_shape: Shape | None = None) -> None:
        """Build the model for inputs of ``input_shape`` (batch axis first).

        Unless a subclass overrides it, this runs ``call`` once on zeros of that shape
        (inference mode), which builds every layer it uses, and records the output shape.
        """
        if input_shape is None:
            raise ValueError(
                f"Cannot build model {self.name!r} without an input shape. "
                "Received: input_shape=None"
            )
        shape = _structure.as_shapes(input_shape)
        self._mark_built(shape)
        self._probe(shape)

    def ensure_built(self, input_shape: Shape) -> None:
        """Build once, for the first input shape seen."""
        if not self.built:
            self._build_for(_structure.as_shapes(input_shape))

    def _build_for(self, shape: Shape) -> None:
        if _overrides(self, "build"):
            self.build(shape)
        self._mark_built(shape)

    def _mark_built(self, shape: Shape) -> None:
        self.built = True
        self.input_shape = _structure.batchless(shape)

    def _probe(self, shape: Shape) -> None:
        """Run ``call`` once on zeros (inference mode) to build the layers it uses and learn
        the output shape; draws nothing from the random streams and leaves no losses."""
        probe = _structure.zeros_like_shapes(shape, self.compute_dtype)
        saved = K.random.get_state()
        try:
            output = self(probe, training=False)
        finally:
            K.random.set_state(saved)
            self.clear_losses()
        self.output_shape = _structure.output_shapes(output)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The recorded output shape (after ``build``), else inferred from a run of ``call``."""
        if _structure.is_shape(self.output_shape) and tuple(input_shape[1:]) == tuple(
            self.input_shape[1:]
        ):
            return (input_shape[0], *self.output_shape[1:])
        return Layer.compute_output_shape(self, input_shape)

    def _ensure_model_built(self, data_shape: Shape) -> None:
        """Before fit/evaluate/predict: built, and the output shape known (one probe call)."""
        if not self.built:
            self._build_for(_structure.batchless(data_shape))
        if self.output_shape is None:
            self._probe(data_shape)

    # -- the training API's hooks ------------------------------------------------------
    def compile(self, *args: Any, **kwargs: Any) -> None:
        Trainer.compile(self, *args, **legacy_compile_arguments(kwargs))
        self.__dict__.pop("_custom_state", None)  # trackers for the new compiled metrics

    def _compiled_step(self, data: Any) -> Any:
        """The built-in step, bound to ``call()``; a ``CustomStep`` when the class
        overrides ``train_step``, ``test_step``, ``compute_loss`` or ``compute_metrics``."""
        if self._step is None:
            step = Trainer._compiled_step(self, data)
            if not self._fused_step_ok:
                _bind_to_call(self, step)
            self._step = CustomStep(self) if overrides_step(self) else step
        return self._step

    def _train_epoch(self, step: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(step, CustomStep):
            # Trainer.fit passes (data, batch_size, steps, shuffle, callbacks, epoch, resume, ...)
            resume = kwargs.get("resume", args[6] if len(args) > 6 else None)
            step.resume_epoch(None if resume is None else resume.total)
        return Trainer._train_epoch(self, step, *args, **kwargs)

    def _tape_forward(self, x: Any, training: bool) -> tuple[Any, Any]:
        return self(x, training=training), None

    def _require_compiled(self, method: str) -> None:
        if self.compiled and overrides_step(self):
            return  # its own steps compute the loss (compile(loss=None) is fine, as in Keras)
        Trainer._require_compiled(self, method)

    def _forward(self, x: Any) -> Any:
        if not self._fused_step_ok or _overrides(self, "predict_step"):
            from gpukeras import autodiff

            batch = (x,) if isinstance(x, (list, tuple)) else x  # several inputs: not (x, y)
            return autodiff.unwrap(self.predict_step(batch))
        return Trainer._forward(self, x)

    def evaluate(
        self, *args: Any, return_dict: bool = False, show_accuracy: Any = None, **kwargs: Any
    ) -> Any:
        """Loss and metrics (see ``Trainer.evaluate``); a custom ``test_step``'s keys in
        Keras's order: the metrics' names first, then the rest by name. Keras 0.x's
        ``show_accuracy`` is accepted with a warning (``LegacyTraining``)."""
        self._show_accuracy("evaluate", show_accuracy)
        if not overrides_step(self):
            result = Trainer.evaluate(self, *args, return_dict=return_dict, **kwargs)
            return self._without_legacy_accuracy(result, show_accuracy)
        logs = Trainer.evaluate(self, *args, return_dict=True, **kwargs)
        if return_dict:
            return logs
        return in_metrics_order(self, logs)

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        **kwargs: Any,
    ) -> None:
        """Print a Keras-style table of the layers and the parameter counts."""
        from gpukeras.models._summary import print_summary

        if not self.built:
            raise ValueError(
                f"Model {self.name!r} has not yet been built, so summary() has nothing to "
                "show. Build it first: call it on a batch of data, call build(input_shape) "
                "or fit it."
            )
        print_summary(self, line_length=line_length, print_fn=print_fn)

    # -- files (gpukeras.saving does the work) -----------------------------
    def save(self, filepath: Any, overwrite: bool = True) -> None:
        """Save the whole model (config, weights, optimizer state) to ``filepath``.

        Args:
            filepath: ``*.keras`` (Keras 3 zip) or ``*.h5``/``*.hdf5`` (legacy HDF5).
            overwrite: Replace an existing file without asking; default ``True``.
        """
        from gpukeras import saving

        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Save the weights to ``filepath`` (``.weights.h5`` or legacy ``.h5``).

        Args:
            filepath: ``*.weights.h5`` (Keras 3 layout, with the optimizer state) or
                ``*.h5``/``*.hdf5`` (legacy weights layout).
            overwrite: Replace an existing file without asking; default ``True``.
        """
        from gpukeras import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(
        self, filepath: Any, by_name: bool = False, skip_mismatch: bool = False
    ) -> None:
        """Load weights saved by :meth:`save_weights` or :meth:`save` (or by Keras).

        Args:
            filepath: A ``.weights.h5``, legacy ``.h5``/``.hdf5`` or ``.keras`` file.
            by_name: Legacy HDF5 only: load into layers of the same name; default
                ``False`` (by order of layers with weights).
            skip_mismatch: Skip layers whose saved shapes differ, with a warning;
                default ``False``.
        """
        from gpukeras import saving

        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def to_json(self, **kwargs: Any) -> str:
        """The model's config as JSON (Keras 3's form); ``kwargs`` go to ``json.dumps``."""
        from gpukeras import saving

        return saving.model_to_json(self, **kwargs)

    def get_compile_config(self) -> dict[str, Any] | None:
        """The string arguments given to ``compile`` (for ``training_config``)."""
        return getattr(self, "_compile_config", None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _overrides(model: Any, method: str) -> bool:
    """Whether ``model``'s class defines ``method`` itself (not Model's default)."""
    return getattr(type(model), method) is not getattr(Model, method)


def _marking_built(build: Any) -> Any:
    """``build`` that also records the model as built for ``input_shape`` (as Keras does)."""

    @functools.wraps(build)
    def wrapped(self: Any, input_shape: Any = None, *args: Any, **kwargs: Any) -> Any:
        result = build(self, input_shape, *args, **kwargs)
        if input_shape is not None and not self.built:
            self._mark_built(_structure.as_shapes(input_shape))
        return result

    return wrapped


def _bind_to_call(model: Any, step: Any) -> None:
    """Make the tape step run ``model``'s ``call()`` and count the losses its layers add."""
    from gpukeras.models._tape_step import TapeStep

    if isinstance(step, TapeStep):
        step.forward = model._tape_forward
        step.layers = lambda: [model]  # the step adds every layer below it
