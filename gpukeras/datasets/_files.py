"""Where data sets are looked for on this machine."""

from __future__ import annotations

import os

DATA_DIR_ENV_VAR = "GPUKERAS_DATA_DIR"
PACKAGED_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def cache_dirs() -> list[str]:
    """Folders searched for cached data set files, in order.

    ``$GPUKERAS_DATA_DIR`` alone when it is set; otherwise Keras's cache
    (``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``, so a file Keras
    downloaded is reused) and then gpukeras's (``~/.gpukeras/datasets``).
    """
    override = os.environ.get(DATA_DIR_ENV_VAR)
    if override:
        return [os.path.expanduser(override)]
    keras_home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return [
        os.path.expanduser(os.path.join(keras_home, "datasets")),
        os.path.expanduser(os.path.join("~", ".gpukeras", "datasets")),
    ]


def find_cached(path: str) -> tuple[str | None, list[str]]:
    """(the first existing file named ``path``, every place looked at).

    An absolute ``path`` is only looked for where it says.
    """
    path = os.path.expanduser(path)
    candidates = [path] if os.path.isabs(path) else [os.path.join(d, path) for d in cache_dirs()]
    found = next((c for c in candidates if os.path.isfile(c)), None)
    return found, candidates
