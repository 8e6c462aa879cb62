"""The states a ``stateful=True`` recurrent layer carries from one batch to the next.

They stay on the device as plain arrays (never read on the host), detached from the tape:
as in Keras, no gradient flows from a batch into the batch before it.
"""

from __future__ import annotations

from typing import Any

from gpukeras import autodiff
from gpukeras import backend as K


class StatefulStates:
    """The carried states of one layer and the batch size they were made for."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.batch_size: int | None = None
        self.values: list[Any] | None = None

    def fix_batch_size(self, batch_size: Any, input_shape: Any) -> None:
        """Called from ``build``: a stateful layer needs its batch size from the start."""
        if batch_size is None:
            raise ValueError(
                f"Layer {self.layer.name!r} is stateful, so it needs a fixed batch size: "
                "give the model's input one (Input(shape, batch_size=...), or "
                "batch_input_shape / batch_size on the first layer). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.batch_size = int(batch_size)

    def check_batch(self, batch_size: int) -> None:
        if self.batch_size is not None and batch_size != self.batch_size:
            raise ValueError(
                f"Layer {self.layer.name!r} is stateful: every batch must have the batch "
                f"size it was built for, {self.batch_size} (sample i of a batch continues "
                f"sample i of the previous one). Received: a batch of {batch_size}"
            )

    def keep(self, states: list[Any]) -> None:
        """Keep the final states of a call (copies of their values, off the tape)."""
        self.values = [_detached(s) for s in states]

    def reset(self, states: Any = None) -> None:
        """Zeros next call (``None``), or the given states."""
        if states is None:
            self.values = None
            return
        given = list(states) if isinstance(states, (list, tuple)) else [states]
        self.values = [K.to_device(s) for s in given]


def _detached(state: Any) -> Any:
    if isinstance(state, (list, tuple)):
        return [_detached(s) for s in state]
    return autodiff.unwrap(state).copy()


class ResetStates:
    """``reset_states``/``reset_state`` of a recurrent layer holding ``_carried`` (a
    :class:`StatefulStates`, or ``None`` when not stateful)."""

    def reset_states(self, states: Any = None) -> None:
        """Forget the carried states of a ``stateful`` layer (zeros next call), or set
        them to ``states`` (Keras's ``reset_states``)."""
        carried = self.__dict__.get("_carried")
        if carried is None:
            name, stateful = self.__dict__.get("name"), self.__dict__.get("stateful")
            raise AttributeError(f"Layer {name!r} is not stateful. Received: stateful={stateful}")
        carried.reset(states)
        twin = self.__dict__.get("_twin")
        if twin is not None:  # an RNN running on a fused twin: the twin carries them
            twin.layer.reset_states(states)

    def reset_state(self, states: Any = None) -> None:
        """Keras 3's name for :meth:`reset_states`."""
        self.reset_states(states)
