"""Old Keras module paths (``keras.layers.core``, ``keras.utils.np_utils`` ...) as aliases.

Each old path is a three-line module that calls :func:`alias_module`: the module gets
the current objects under their old names, one DeprecationWarning at the user's import
line (the module is then cached, so a second import is silent), and names that old
Keras had but gpukeras refuses raise an ImportError that names the replacement.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> Any:
    """The first frame outside gpukeras and the import machinery (the user's import)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        internal = filename.startswith("<frozen importlib") or "importlib" in filename
        if not internal and not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            return frame
        frame = frame.f_back
    return None


def warn_at_importer(message: str) -> None:
    """A DeprecationWarning located at the user's ``import`` line."""
    frame = _user_frame()
    if frame is None:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(
        message,
        DeprecationWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__", "__main__"),
        registry=registry,
    )


def alias_module(
    old_name: str,
    replacement: str,
    sources: Mapping[str, Iterable[str] | Mapping[str, str]],
    refused: Mapping[str, str] | None = None,
) -> None:
    """Fill the module ``old_name`` with names from ``sources`` and warn once.

    ``sources`` maps a current module to the names taken from it (a mapping renames:
    ``{old: current}``); ``refused`` maps old names to the error text that names what to
    use instead.
    """
    module = sys.modules[old_name]
    public = []
    for source, names in sources.items():
        target = importlib.import_module(source)
        pairs = names.items() if isinstance(names, Mapping) else ((n, n) for n in names)
        for old, current in pairs:
            setattr(module, old, getattr(target, current))
            public.append(old)
    module.__all__ = public
    refusals = dict(refused or {})
    display = old_name.replace("gpukeras", "keras", 1)

    def __getattr__(name: str) -> Any:
        if name in refusals:
            raise ImportError(f"`{display}.{name}` is not available in gpukeras: {refusals[name]}")
        raise AttributeError(f"module {display!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__
    warn_at_importer(
        f"`{display}` is a Keras 1/2 module path; it is deprecated. Use {replacement} instead."
    )


MERGE_REFUSAL = (
    "Keras 1's `merge(mode=...)` function was removed in Keras 2; use the merge layers "
    "`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`, `Concatenate` and `Dot` "
    "(or `layers.add(...)`, `layers.concatenate(...)` ...). Keras 1's `Merge([...], mode=...)` "
    "is available."
)
