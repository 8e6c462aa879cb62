"""Old Keras argument names, accepted with a warning that points at the user's line."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning name the first frame outside gpukeras."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message: str, category: type[Warning] = DeprecationWarning) -> None:
    """Warn with the location of the user's code, not gpukeras's."""
    warnings.warn(message, category, stacklevel=user_stacklevel())


def legacy_arguments(owner: str, renames: Mapping[str, tuple[str, Callable[[Any], Any] | None]]):
    """Decorate ``__init__`` (or a method) to accept old Keras argument names.

    ``renames`` maps an old name to (new name, converter or None). An old name
    is renamed with a DeprecationWarning at the user's line; an old name given
    together with its new name is a TypeError naming both.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        positional = [
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if any(old in kwargs for old in renames):
                given = set(positional[: len(args)]) | set(kwargs)
                kwargs = _rename(owner, kwargs, renames, given)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def _rename(
    owner: str,
    kwargs: dict[str, Any],
    renames: Mapping[str, tuple[str, Callable[[Any], Any] | None]],
    given: set[str],
) -> dict[str, Any]:
    kwargs = dict(kwargs)
    for old, (new, convert) in renames.items():
        if old not in kwargs:
            continue
        value = kwargs.pop(old)
        if new in given:
            raise TypeError(
                f"{owner} got both the legacy argument `{old}` and its new name `{new}`; "
                f"pass only `{new}`. Received: {old}={value!r} and {new}="
                f"{kwargs.get(new, '<positional>')!r}"
            )
        warn_user(
            f"{owner}: the argument `{old}` is deprecated; use `{new}` instead. "
            f"Received: {old}={value!r}"
        )
        kwargs[new] = convert(value) if convert else value
    return kwargs
