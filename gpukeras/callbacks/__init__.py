"""Callbacks: objects whose hooks the training loop calls (Keras names)."""

from gpukeras.callbacks._backup_and_restore import BackupAndRestore
from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._callback_list import CallbackList
from gpukeras.callbacks._early_stopping import EarlyStopping
from gpukeras.callbacks._history import History
from gpukeras.callbacks._logs import Logs
from gpukeras.callbacks._model_checkpoint import ModelCheckpoint
from gpukeras.callbacks._progbar_logger import ProgbarLogger

__all__ = [
    "BackupAndRestore",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "Logs",
    "ModelCheckpoint",
    "ProgbarLogger",
]
