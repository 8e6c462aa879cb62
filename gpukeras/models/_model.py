"""Model: the weight and file API shared by every model class."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.models._trainer import Trainer
from gpukeras.variables import Variable


class Model(Trainer):
    """Base class of models: a stack of ``layers`` plus the training API.

    Only :class:`gpukeras.models.Sequential` is provided; the functional
    ``Model(inputs, outputs)`` form is not supported yet.
    """

    layers: list[Any]
    history: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if type(self) is Model:
            raise NotImplementedError(
                "The functional Model(inputs, outputs) API is not supported yet; "
                "use gpukeras.models.Sequential."
            )

    # -- weights ----------------------------------------------------------
    @property
    def weights(self) -> list[Variable]:
        """Every layer's weights, layer by layer (trainable then non-trainable)."""
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        if not getattr(self, "trainable", True):
            return []
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

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
        return int(sum(layer.count_params() for layer in self.layers))

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
