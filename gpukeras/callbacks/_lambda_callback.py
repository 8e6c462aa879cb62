"""LambdaCallback: a callback made of plain functions, one per hook."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from gpukeras.callbacks._callback import Callback

# Every hook a function may be given for: Callback's on_* methods.
HOOK_NAMES = tuple(sorted(name for name in vars(Callback) if name.startswith("on_")))


class LambdaCallback(Callback):
    """Build a callback from functions called with the hook's positional arguments.

    ``on_epoch_begin``/``on_epoch_end`` get ``(epoch, logs)``,
    ``on_train_begin``/``on_train_end`` get ``(logs)``, batch hooks get
    ``(batch, logs)``. Any other hook of :class:`Callback` can be passed by
    name through ``**kwargs``: ``on_batch_begin``/``on_batch_end`` (the seed's
    names, also called for training batches), ``on_test_*`` and
    ``on_predict_*``. A hook left out does nothing.

    Args:
        on_epoch_begin: Default ``None``.
        on_epoch_end: Default ``None``.
        on_train_begin: Default ``None``.
        on_train_end: Default ``None``.
        on_train_batch_begin: Default ``None``.
        on_train_batch_end: Default ``None``.
        **kwargs: Other hooks by name; a hook that is not callable (or
            ``None``) raises TypeError. Any other name is kept as an attribute,
            as Keras does; an ``on_*`` name that is no hook (a likely typo)
            also warns, naming it.
    """

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
        **kwargs: Callable[..., Any] | None,
    ) -> None:
        super().__init__()
        extras = {name: kwargs.pop(name) for name in sorted(set(kwargs) - set(HOOK_NAMES))}
        _warn_about_hook_typos(extras)
        self.__dict__.update(extras)
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(
                    f"LambdaCallback hooks must be callables or None. Received: {name}={function!r}"
                )
            # An instance attribute shadows the class's method for this callback only.
            setattr(self, name, function)


def _warn_about_hook_typos(extras: dict[str, Any]) -> None:
    """Keras keeps unknown keyword arguments as plain attributes; one named like a hook is
    most likely a misspelt hook that would never be called, so say so."""
    typos = [name for name in extras if name.startswith("on_")]
    if typos:
        warnings.warn(
            f"LambdaCallback got unknown hook name(s): {', '.join(typos)}; they are kept as "
            f"attributes and never called. Valid names: {', '.join(HOOK_NAMES)}",
            stacklevel=3,
        )
