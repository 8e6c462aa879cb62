"""Callbacks: objects whose hooks the training loop calls (Keras names)."""

from gpukeras.callbacks._backup_and_restore import BackupAndRestore
from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._callback_list import CallbackList
from gpukeras.callbacks._csv_logger import CSVLogger
from gpukeras.callbacks._early_stopping import EarlyStopping
from gpukeras.callbacks._history import History
from gpukeras.callbacks._lambda_callback import LambdaCallback
from gpukeras.callbacks._learning_rate_scheduler import LearningRateScheduler
from gpukeras.callbacks._logs import Logs
from gpukeras.callbacks._model_checkpoint import ModelCheckpoint
from gpukeras.callbacks._monitor import MonitorCallback
from gpukeras.callbacks._progbar_logger import ProgbarLogger
from gpukeras.callbacks._reduce_lr_on_plateau import ReduceLROnPlateau
from gpukeras.callbacks._remote_monitor import RemoteMonitor
from gpukeras.callbacks._tensorboard import TensorBoard
from gpukeras.callbacks._terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "Logs",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "RemoteMonitor",
    "TensorBoard",
    "TerminateOnNaN",
]
