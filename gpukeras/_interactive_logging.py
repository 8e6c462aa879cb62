"""Where progress output and callback messages go: stdout, or the ``gpukeras`` logger.

Keras's ``utils.disable_interactive_logging()`` sends what fit/evaluate/predict and the
callbacks would print to a logger instead (for servers and log collectors); this module keeps
that switch, with no imports of the rest of gpukeras so the callbacks can depend on it.
"""

from __future__ import annotations

import logging
import threading

LOGGER = logging.getLogger("gpukeras")

_state = threading.local()
_default = {"interactive": True}


def enable_interactive_logging() -> None:
    """Print progress bars and callback messages to stdout (the default)."""
    _default["interactive"] = True
    _state.interactive = True


def disable_interactive_logging() -> None:
    """Send progress bars and callback messages to the ``gpukeras`` logger at INFO level."""
    _default["interactive"] = False
    _state.interactive = False


def is_interactive_logging_enabled() -> bool:
    return getattr(_state, "interactive", _default["interactive"])


def set_logging_verbosity(level: str | int) -> None:
    """Level of the ``gpukeras`` logger: a name (``'INFO'``, ``'WARNING'``...) or a number."""
    if isinstance(level, str):
        named = logging.getLevelName(level.upper())
        if not isinstance(named, int):
            raise ValueError(
                "`level` must be one of 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL' or an "
                f"int. Received: level={level!r}"
            )
        level = named
    LOGGER.setLevel(level)


def log_message(text: str) -> None:
    """One message to the logger, without the line breaks stdout output carries."""
    message = text.strip("\r\n")
    if message:
        LOGGER.info(message)
