"""CallbackList: calls every callback's hook, in order, with one shared logs dict."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._history import History

_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


def overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback`` replaces the base class's (empty or forwarding) ``hook``.

    A function set on the instance (``LambdaCallback``, ``cb.on_batch_end = f``) counts too.
    """
    if hook in getattr(callback, "__dict__", {}):
        return True
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


class CallbackList:
    """Dispatches hooks to callbacks: the user's, then History, then ProgbarLogger.

    Args:
        callbacks: The user's callbacks; default ``None``.
        add_history: Append a :class:`History` unless one is given; default ``False``.
        add_progbar: Append a ``ProgbarLogger`` unless one is given; default ``False``.
        model: Model handed to every callback; default ``None``.
        **params: The ``params`` dict handed to every callback.
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ) -> None:
        self.callbacks = _checked(callbacks)
        self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar:
            from gpukeras.callbacks._progbar_logger import ProgbarLogger

            if not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
                self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def set_model(self, model: Any) -> None:
        self.model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def wants_batch_logs(self, mode: str) -> bool:
        """Whether any callback overrides a batch hook of ``mode`` (train/test/predict)."""
        return any(overrides(c, h) for c in self.callbacks for h in _BATCH_HOOKS[mode])

    def __iter__(self):
        return iter(self.callbacks)

    @contextlib.contextmanager
    def released_on_error(self) -> Iterator[None]:
        """Run the block; if it raises, :meth:`release` the callbacks, then re-raise. Keras
        runs no ``on_train_end`` after an error, but files a callback opened should close."""
        try:
            yield
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Let go of what callbacks hold open (files, event writers) after a failed ``fit``,
        when ``on_train_end`` will not run. Callbacks opt in with a ``_release()`` method."""
        for callback in self.callbacks:
            release = getattr(callback, "_release", None)
            if callable(release):
                release()

    def _call(self, hook: str, *args: Any) -> None:
        # Keras hands every hook a dict, ``{}`` when there is nothing to log (on_train_begin,
        # on_epoch_begin...), so a callback may call ``logs.keys()`` without checking for None.
        *leading, logs = args
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            getattr(callback, hook)(*leading, logs)

    def on_train_begin(self, logs: Any = None) -> None:
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: Any = None) -> None:
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs: Any = None) -> None:
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: Any = None) -> None:
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs: Any = None) -> None:
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs: Any = None) -> None:
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call("on_predict_batch_end", batch, logs)

    # The seed's names.
    on_batch_begin = on_train_batch_begin
    on_batch_end = on_train_batch_end


def _checked(callbacks: Iterable[Callback] | None) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    found = list(callbacks)
    for callback in found:
        if not isinstance(callback, Callback):
            raise TypeError(
                "callbacks must be gpukeras.callbacks.Callback instances. "
                f"Received: callbacks=[..., {callback!r}, ...] ({type(callback).__name__})"
            )
    return found
