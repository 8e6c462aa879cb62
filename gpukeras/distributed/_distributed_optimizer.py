"""DistributedOptimizer: average every step's gradients across ranks, then update as usual."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.distributed import _context
from gpukeras.optimizers import Optimizer

# One subclass per wrapped optimizer class, made on first use (see DistributedOptimizer).
_WRAPPED_CLASSES: dict[type, type] = {}


class DistributedOptimizer(Optimizer):
    """Wrap an optimizer so that each step uses the gradients averaged over all ranks.

    Horovod's ``DistributedOptimizer`` for gpukeras. Before the wrapped
    optimizer updates the weights, all of the step's gradients are summed in
    the optimizer's flat gradient buffer, where the layers wrote them (see
    ``gpukeras.optimizers._flat``), or, when the variables could not be
    packed, copied into one flat buffer per dtype (allocated once), summed
    across ranks in ONE allreduce (NCCL or CUDA-aware MPI on GPUs, MPI on
    host buffers with NumPy; see :class:`gpukeras.backend.Collectives`),
    divided by the number of ranks, and handed to the wrapped optimizer as
    views of that buffer. Every rank then applies the same update.

    The result is an instance of a subclass of both ``DistributedOptimizer``
    and the wrapped optimizer's class, holding the wrapped optimizer's state
    (a shallow copy): ``learning_rate``, ``iterations``, ``variables``,
    ``get_config`` (the wrapped optimizer's, so saved models name e.g.
    ``Adam``), ``set_weights`` and everything else behave as the wrapped
    optimizer's do. Use the wrapper, not the wrapped optimizer, from then on.
    Wrapping a ``DistributedOptimizer`` again returns it unchanged.

    Constructing one calls :func:`gpukeras.distributed.init`. ``fit`` trains
    data-parallel exactly when the model's optimizer is a
    ``DistributedOptimizer`` and there is more than one rank: it then shards
    each global batch across ranks (see ``docs/distributed.md``).

    The first averaged step checks, with one small allgather, that every rank
    has the same variables (names, shapes, dtypes); a mismatch raises a
    ValueError naming the ranks and their shapes on every rank.

    Args:
        optimizer: The gpukeras optimizer to wrap. Required.

    Attributes:
        local_share: This rank's share of the next step's global batch;
            ``None`` (the default) means ``1 / size()``, a plain average.
            ``fit`` sets it for each step so that an uneven last batch is
            averaged by rows, exactly as one process would.
    """

    _wrapped_class: type | None = None

    def __new__(cls, optimizer: Any = None, *args: Any, **kwargs: Any) -> Any:
        if cls is not DistributedOptimizer:
            return super().__new__(cls)
        if isinstance(optimizer, DistributedOptimizer):
            return optimizer
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                "`optimizer` must be a gpukeras optimizer instance (e.g. "
                "gpukeras.optimizers.Adam()). Received: "
                f"optimizer={optimizer!r} of type {type(optimizer).__name__}"
            )
        return super().__new__(_wrapped_class_for(type(optimizer)))

    def __init__(self, optimizer: Optimizer) -> None:  # noqa: D107 - documented on the class
        if optimizer is self:
            return  # DistributedOptimizer(already_distributed)
        self.__dict__.update(optimizer.__dict__)
        _context.init()
        self.local_share: float | None = None
        self._layout: tuple[Any, ...] | None = None
        self._buffers: list[tuple[Any, list[tuple[int, int, int]]]] = []
        self._layout_checked = False

    # -- the step -----------------------------------------------------------------
    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None):
        """Average the gradients across ranks, then apply them as the wrapped optimizer does.

        Takes the same arguments as :meth:`Optimizer.apply`.
        """
        grads = list(grads)
        pairs = self._pairs(grads, trainable_variables)
        if not pairs:
            return
        if not self.built:  # packs the gradients into one flat buffer, reduced in place
            self.build([variable for _, variable in pairs])
            pairs = self._pairs(grads, trainable_variables)
        if _context.size() > 1:
            pairs = self._averaged(pairs)
        super().apply([grad for grad, _ in pairs], [variable for _, variable in pairs])

    def _averaged(self, pairs: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        """``pairs`` with each gradient replaced by a view of the reduced flat buffer."""
        present = [i for i, (grad, _) in enumerate(pairs) if grad is not None]
        grads = {i: self._as_gradient(pairs[i][0], pairs[i][1]) for i in present}
        layout = tuple((id(pairs[i][1]), grads[i].shape, grads[i].dtype.str) for i in present)
        if layout != self._layout:
            self._check_same_variables_everywhere([pairs[i][1] for i in present], grads)
            self._buffers = []
            self._layout = layout
        averaged = list(pairs)
        flat = self._flat
        variables = [variable for _, variable in pairs]
        if flat is not None and flat.holds(variables, [grads.get(i) for i in range(len(pairs))]):
            # The gradients already are views of one flat buffer: reduce it where it is.
            self._reduce(flat.grads)
            return [(grads[i], variable) for i, variable in enumerate(variables)]
        if not self._buffers:
            self._buffers = _flat_buffers(grads)
        for buffer, slots in self._buffers:
            for index, start, stop in slots:
                buffer[start:stop] = grads[index].reshape(-1)
            self._reduce(buffer)
            for index, start, stop in slots:
                averaged[index] = (buffer[start:stop].reshape(grads[index].shape), pairs[index][1])
        return averaged

    def _reduce(self, buffer: Any) -> None:
        """``buffer`` summed over ranks in one allreduce, weighted by ``local_share``."""
        ranks = _context.size()
        prescale = 1.0 if self.local_share is None else float(self.local_share) * ranks
        if prescale != 1.0:
            buffer *= prescale
        _context.collectives().allreduce_sum(buffer)
        buffer *= 1.0 / ranks

    def _check_same_variables_everywhere(self, variables: list[Any], grads: dict) -> None:
        own = [
            (variable.path, tuple(int(d) for d in grad.shape), numpy.dtype(grad.dtype).name)
            for variable, grad in zip(variables, grads.values())
        ]
        everyone = _context.allgather(own)
        if all(signature == everyone[0] for signature in everyone):
            return
        listed = "; ".join(
            f"rank {r}: {[f'{path} {shape} {dtype}' for path, shape, dtype in signature]}"
            for r, signature in enumerate(everyone)
        )
        raise ValueError(
            "DistributedOptimizer: the ranks have different trainable variables, so their "
            "gradients cannot be averaged. Every rank must build the same model. "
            f"Received: {listed}"
        )

    # -- Optimizer behaviour ---------------------------------------------------------
    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        """The wrapped class's optimizer from ``config``, wrapped again."""
        if cls._wrapped_class is None:
            raise TypeError(
                "DistributedOptimizer has no config of its own: rebuild the wrapped optimizer "
                "and wrap it. Received: DistributedOptimizer.from_config"
            )
        return DistributedOptimizer(cls._wrapped_class.from_config(config, custom_objects))

    def __repr__(self) -> str:
        return f"DistributedOptimizer({super().__repr__()})"


def _wrapped_class_for(inner: type) -> type:
    """``DistributedOptimizer`` mixed into ``inner``, named like it (for saving)."""
    made = _WRAPPED_CLASSES.get(inner)
    if made is None:
        made = type(
            inner.__name__,
            (DistributedOptimizer, inner),
            {
                "__module__": inner.__module__,
                "__qualname__": inner.__qualname__,
                "__doc__": DistributedOptimizer.__doc__,
                "_wrapped_class": inner,
            },
        )
        _WRAPPED_CLASSES[inner] = made
    return made


def _flat_buffers(grads: dict[int, Any]) -> list[tuple[Any, list[tuple[int, int, int]]]]:
    """One flat buffer per dtype, and where each gradient lies in it: ``(index, start, stop)``."""
    xp = K.array_module()
    groups: dict[str, list[tuple[int, int, int]]] = {}
    totals: dict[str, int] = {}
    for index, grad in grads.items():
        key = numpy.dtype(grad.dtype).str
        start = totals.get(key, 0)
        totals[key] = start + int(grad.size)
        groups.setdefault(key, []).append((index, start, totals[key]))
    return [(xp.empty(totals[key], dtype=key), slots) for key, slots in groups.items()]
