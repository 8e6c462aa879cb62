"""Dtype policies: the dtype a layer computes in and the dtype its weights are kept in.

Keras 3 names: ``'float32'``, ``'float16'``, ``'bfloat16'``, ``'float64'`` (compute and
variables alike) and ``'mixed_float16'`` / ``'mixed_bfloat16'`` (compute in 16 bits, keep
float32 variables: the "master weights" the optimizer updates).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy

from gpukeras.backend._dtype import floatx

_PLAIN = ("float16", "bfloat16", "float32", "float64")
_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class Policy:
    """A dtype policy (Keras 3's ``DTypePolicy``).

    Args:
        name: a dtype name (``'float32'``, ``'float16'``, ``'float64'``, ``'int32'``...),
            ``'mixed_float16'`` or ``'mixed_bfloat16'``; default ``None``
            (``backend.floatx()``). bfloat16 needs a NumPy bfloat16 type (the
            ``ml_dtypes`` package) and is refused without one.
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = floatx()
        if not isinstance(name, str):
            raise TypeError(
                "A dtype policy needs a name such as 'float32' or 'mixed_float16'. "
                f"Received: name={name!r} of type {type(name).__name__}"
            )
        compute = _dtype_name(_MIXED.get(name, name), name)
        self.name = name if name in _MIXED else compute
        self.compute_dtype = compute
        self.variable_dtype = "float32" if name in _MIXED else compute

    @property
    def is_mixed(self) -> bool:
        """True when compute and variable dtypes differ."""
        return self.compute_dtype != self.variable_dtype

    def get_config(self) -> dict[str, Any]:
        """``{'name': name}``, as Keras writes it."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Policy:
        """The policy :meth:`get_config` describes."""
        return cls(config.get("name"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


def _dtype_name(name: str, policy: str) -> str:
    if name == "bfloat16":
        _register_bfloat16(policy)
    try:
        return numpy.dtype(name).name
    except TypeError:
        expected = ", ".join(repr(n) for n in (*_PLAIN, *_MIXED))
        raise ValueError(
            f"Unknown dtype policy: expected a dtype name or one of {expected}. "
            f"Received: name={policy!r}"
        ) from None


def _register_bfloat16(policy: str) -> None:
    """Give NumPy its bfloat16 type: importing ``ml_dtypes`` registers it (NumPy has none)."""
    try:
        importlib.import_module("ml_dtypes")
    except ImportError:
        raise ValueError(
            f"Dtype policy {policy!r} needs a NumPy bfloat16 type, which the ml_dtypes "
            f"package provides, and ml_dtypes is not installed (pip install ml_dtypes). "
            f"Received: name={policy!r}"
        ) from None


_GLOBAL: dict[str, Policy | None] = {"policy": None}


def global_policy() -> Policy:
    """The policy new layers use: the one set by :func:`set_global_policy`, else floatx."""
    return _GLOBAL["policy"] or Policy(floatx())


def set_global_policy(policy: Policy | str | None) -> None:
    """Set the policy of layers created from now on (``None`` resets to floatx).

    Args:
        policy: a :class:`Policy` or its name, e.g. ``'mixed_float16'``.
    """
    if policy is not None and not isinstance(policy, Policy):
        if not isinstance(policy, str):
            raise TypeError(
                "set_global_policy expects a Policy, a policy name or None. "
                f"Received: policy={policy!r} of type {type(policy).__name__}"
            )
        policy = Policy(policy)
    _GLOBAL["policy"] = policy


def resolve(dtype: Any) -> Policy:
    """The policy for a layer's ``dtype`` argument: None (global), a name, dtype or Policy."""
    if dtype is None:
        return global_policy()
    if isinstance(dtype, Policy):
        return dtype
    if isinstance(dtype, dict):  # Keras 3 config: {'class_name': 'DTypePolicy', 'config': ...}
        return Policy.from_config(dtype.get("config") or {})
    if isinstance(dtype, str):
        return Policy(dtype)
    try:
        return Policy(numpy.dtype(dtype).name)
    except TypeError:
        return Policy(str(dtype))  # raises the ValueError naming the policies
