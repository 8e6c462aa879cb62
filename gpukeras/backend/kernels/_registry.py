"""Every CUDA kernel gpukeras defines, enumerable without a GPU.

Kernels register themselves when they are built (:class:`ElementwiseOp` and
:class:`ReductionOp` call :func:`register`), and factories that build kernels lazily, one per
variant (the optimizers'), declare their variants with :func:`variants`. :func:`all_kernels`
imports every gpukeras module that defines a kernel (found by reading the source, so a new
module cannot be forgotten), builds every declared variant, and returns them all: the CUDA
compile check (``tests/test_cuda_compile.py``) compiles each one for every dtype.

Kernels built outside the ``gpukeras`` package (tests make throwaway ones) are not listed.
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

_KERNELS: dict[str, Any] = {}
_FACTORIES: list[tuple[Callable[..., Any], list[dict[str, Any]]]] = []
#: A module defines a kernel when its source builds one of the registering classes.
_DEFINES_KERNEL = re.compile(r"\b(ElementwiseOp|ReductionOp)\(")
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]

Factory = TypeVar("Factory", bound=Callable[..., Any])


def register(kernel: Any, module: str) -> None:
    """Record ``kernel`` (built in ``module``) under its name; gpukeras names must be unique."""
    if not module.startswith("gpukeras."):
        return
    existing = _KERNELS.get(kernel.name)
    if existing is not None and existing.definition() != kernel.definition():
        raise ValueError(
            f"Two different CUDA kernels are named {kernel.name!r}: kernel names must be unique. "
            f"Received: {existing.definition()} and {kernel.definition()}"
        )
    _KERNELS.setdefault(kernel.name, kernel)


def find(name: str) -> Any:
    """The gpukeras kernel called ``name`` (building every variant first), or None."""
    if name not in _KERNELS:
        all_kernels()
    return _KERNELS.get(name)


def placeholders(*param_lists: str) -> list[str]:
    """The one-letter type placeholders (``T``, ``S``...) in CuPy parameter lists, in order."""
    found: list[str] = []
    for params in param_lists:
        for item in filter(None, (part.strip() for part in params.split(","))):
            type_name = item.split()[-2]
            if len(type_name) == 1 and type_name not in found:
                found.append(type_name)
    return found


def variants(**choices: Iterable[Any]) -> Callable[[Factory], Factory]:
    """Declare the arguments a kernel factory is called with (every combination is built).

    ``@variants(momentum=(False, True), nesterov=(False, True))`` on ``sgd_op`` makes
    :func:`all_kernels` call ``sgd_op(momentum=..., nesterov=...)`` four times.
    """
    names = list(choices)
    combos = [dict(zip(names, values)) for values in itertools.product(*choices.values())]

    def declare(factory: Factory) -> Factory:
        _FACTORIES.append((factory, combos))
        return factory

    return declare


def all_kernels() -> list[Any]:
    """Every kernel gpukeras defines, each variant built, sorted by name."""
    for module in kernel_modules():
        importlib.import_module(module)
    for factory, combos in _FACTORIES:
        for arguments in combos:
            factory(**arguments)
    return [_KERNELS[name] for name in sorted(_KERNELS)]


def kernel_modules() -> list[str]:
    """Dotted names of the gpukeras modules whose source builds a kernel."""
    modules = []
    for path in sorted((_PACKAGE_ROOT / "gpukeras").rglob("*.py")):
        if path.name in ("_op.py", "_reduction.py", "_registry.py"):
            continue  # the classes themselves
        if _DEFINES_KERNEL.search(path.read_text(encoding="utf-8")):
            parts = path.relative_to(_PACKAGE_ROOT).with_suffix("").parts
            modules.append(".".join(p for p in parts if p != "__init__"))
    return modules
