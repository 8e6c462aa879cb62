"""An import hook that answers ``import keras...`` with gpukeras.

Every ``keras`` module is a view: ``keras.src.X.Y`` looks its attributes up on ``gpukeras.X.Y``
where that module exists, else on the nearest gpukeras parent (``keras.src.optimizers.adam.Adam``
is ``gpukeras.optimizers.Adam``). Views rather than the gpukeras modules themselves, so that
``from keras.src import testing`` imports ``keras.src.testing`` through this hook, not
``gpukeras.testing``. A name gpukeras lacks is a
:class:`Missing` placeholder, so a test file still imports and each test that uses the name fails
on its own, with a message naming what is missing: the pass count stays per test, not per file.
``keras.src.testing`` is this package's own :mod:`tests.keras_suite.testing`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import sys
import types
from pathlib import Path
from typing import Any

#: keras module names answered by modules of this package instead of gpukeras.
OVERRIDES = {
    "keras.src.testing": "tests.keras_suite.testing",
    "keras.src.testing.test_utils": "tests.keras_suite.testing",
    "keras.src.backend": "tests.keras_suite.backend_view",
    "keras.src.utils.file_utils": "tests.keras_suite.file_utils_view",
    "keras.src.dtype_policies": "tests.keras_suite.dtype_policies_view",
    "keras.src.dtype_policies.dtype_policy": "tests.keras_suite.dtype_policy_view",
}


class Missing:
    """What gpukeras does not provide: any use raises, naming the Keras name."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"gpukeras has no equivalent of {self._name}")

    __call__ = _refuse

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Missing(f"{self._name}.{attr}")

    def __mro_entries__(self, bases: tuple) -> tuple:
        # ``class Foo(keras.src.X.Missing)``: subclass a class that raises when used.
        name = self._name

        class _MissingBase:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                raise NotImplementedError(f"gpukeras has no equivalent of {name}")

        return (_MissingBase,)


@functools.cache
def _keras_root() -> Path | None:
    try:
        root = Path(importlib.metadata.distribution("keras").locate_file("keras"))
    except importlib.metadata.PackageNotFoundError:
        return None
    return root if root.is_dir() else None


def is_keras_module(keras_name: str) -> bool:
    """Whether the installed keras wheel has a module of that name (``keras.src.utils.
    numerical_utils``): such a name is a module view, not a :class:`Missing` attribute."""
    root = _keras_root()
    if root is None:
        return False
    path = root.joinpath(*keras_name.split(".")[1:])
    return path.is_dir() or path.with_suffix(".py").is_file()


def gpukeras_name(keras_name: str) -> str:
    parts = keras_name.split(".")[1:]
    if parts[:1] == ["src"]:
        parts = parts[1:]
    return ".".join(["gpukeras", *parts])


def _import_or_none(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class _View(types.ModuleType):
    """A keras module gpukeras has no module for: attributes come from ``source``."""

    def __init__(self, name: str, source: types.ModuleType | None) -> None:
        super().__init__(name)
        self.__path__ = []  # a package, so deeper keras names still resolve through the hook
        self._source = source

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        child = f"{self.__name__}.{attr}"
        if child in OVERRIDES:
            return importlib.import_module(child)
        source = self.__dict__.get("_source")
        if source is not None and hasattr(source, attr):
            return getattr(source, attr)
        if source is not None and _import_or_none(f"{source.__name__}.{attr}") is not None:
            return importlib.import_module(child)
        if is_keras_module(child):
            return importlib.import_module(child)
        return Missing(child)


def resolve(keras_name: str) -> types.ModuleType:
    """The module that stands for ``keras_name``."""
    if keras_name in OVERRIDES:
        return importlib.import_module(OVERRIDES[keras_name])
    target = gpukeras_name(keras_name)
    module = _import_or_none(target)
    parent = target
    while "." in parent and module is None:
        parent = parent.rsplit(".", 1)[0]
        module = _import_or_none(parent)
    return _View(keras_name, module)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return types.ModuleType(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system returns whatever sys.modules holds after exec_module: the target.
        sys.modules[module.__name__] = resolve(module.__name__)


class KerasToGpukeras(importlib.abc.MetaPathFinder):
    """Finds every ``keras`` / ``keras.*`` name before the real keras package can."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)


def install() -> None:
    """Route ``keras`` imports to gpukeras from now on (drops any real keras already loaded)."""
    if any(isinstance(finder, KerasToGpukeras) for finder in sys.meta_path):
        return
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, KerasToGpukeras())
