"""Callbacks: objects whose hooks the training loop calls (Keras names)."""

from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._callback_list import CallbackList
from gpukeras.callbacks._history import History
from gpukeras.callbacks._logs import Logs

__all__ = ["Callback", "CallbackList", "History", "Logs"]
