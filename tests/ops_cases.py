"""The op test table: every exported op with one or more input cases.

Pure NumPy (no gpukeras import) so that ``tests/make_ops_fixtures.py`` can read it under
real Keras/JAX. An argument spec is one of:

- ``("f", shape)``: standard normal floats;  ``("p", shape)``: floats in [0.5, 2);
- ``("u", shape)``: floats in (-0.8, 0.8);   ``("g", shape)``: floats in [1.2, 3);
- ``("s", shape)``: rows that sum to one (probabilities along the last axis);
- ``("i", shape, n)``: ints in [0, n);       ``("b", shape)``: booleans;
- ``("list", [spec, ...])``: a Python list of arrays (concatenate, stack);
- anything else: passed as it is (Python scalars, strings, tuples).

Float inputs are the ones differentiated. ``CASES`` lists ``(op_name, args, kwargs)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

F23, F34, F4, F234 = ("f", (2, 3)), ("f", (3, 4)), ("f", (4,)), ("f", (2, 3, 4))
P23, P34 = ("p", (2, 3)), ("p", (3, 4))

_UNARY_F = [
    "negative",
    "absolute",
    "abs",
    "exp",
    "expm1",
    "sin",
    "cos",
    "tan",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "square",
    "erf",
    "sign",
    "floor",
    "ceil",
    "logical_not",
    "isnan",
    "isfinite",
    "relu",
    "relu6",
    "sigmoid",
    "softplus",
    "softsign",
    "silu",
    "swish",
    "gelu",
    "elu",
    "selu",
    "celu",
    "leaky_relu",
    "log_sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "sparse_plus",
    "squareplus",
    "tanh_shrink",
]
_UNARY_P = ["log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal"]
_UNARY_U = ["arcsin", "arccos", "arctanh"]
_BINARY = [
    "add",
    "subtract",
    "multiply",
    "maximum",
    "minimum",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "arctan2",
]
_BINARY_P = ["divide", "true_divide", "floor_divide", "mod"]
_LOGICAL = ["logical_and", "logical_or", "logical_xor"]
_REDUCE = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "norm"]


def _cases() -> list[tuple[str, list[Any], dict[str, Any]]]:
    cases: list[tuple[str, list[Any], dict[str, Any]]] = []
    cases += [(name, [F23], {}) for name in _UNARY_F]
    cases += [(name, [P23], {}) for name in _UNARY_P]
    cases += [(name, [("u", (2, 3))], {}) for name in _UNARY_U]
    cases += [("arccosh", [("g", (2, 3))], {})]
    cases += [("gelu", [F23], {"approximate": False}), ("elu", [F23], {"alpha": 0.5})]
    cases += [("leaky_relu", [F23], {"negative_slope": 0.1})]
    for name in _BINARY:
        cases += [
            (name, [F34, F34], {}),
            (name, [F34, F4], {}),
            (name, [("f", (2, 1, 4)), ("f", (3, 1))], {}),
        ]
        cases += [(name, [F34, 0.5], {})]
    for name in _BINARY_P:
        cases += [(name, [P34, P34], {}), (name, [P34, ("p", (4,))], {}), (name, [2.0, P34], {})]
    cases += [(name, [("b", (3, 4)), ("b", (4,))], {}) for name in _LOGICAL]
    cases += [
        ("power", [P34, F34], {}),
        ("power", [P34, 3.0], {}),
        ("power", [P34, ("f", (4,))], {}),
    ]
    cases += [("where", [("b", (3, 4)), F34, F4], {}), ("where", [("b", (3, 1)), F34, 0.0], {})]
    cases += [
        ("clip", [F34, -0.5, 0.5], {}),
        ("round", [F34], {}),
        ("round", [F34], {"decimals": 1}),
    ]
    for name in _REDUCE:
        cases += [
            (name, [F234], {}),
            (name, [F234], {"axis": 1}),
            (name, [F234], {"axis": (0, 2), "keepdims": True}),
        ]
    cases += [("prod", [P23], {}), ("prod", [("p", (2, 3, 4))], {"axis": -1})]
    cases += [
        ("argmax", [F234], {"axis": 1}),
        ("argmin", [F234], {}),
        ("argmax", [F34], {"axis": -1, "keepdims": True}),
    ]
    cases += [("any", [("b", (3, 4))], {"axis": 0}), ("all", [("b", (3, 4))], {})]
    cases += [("norm", [F4], {"ord": 1}), ("norm", [F34], {"ord": np.inf, "axis": 1})]
    cases += [
        ("reshape", [F234], {"newshape": (4, 6)}),
        ("reshape", [F234], {"newshape": (-1, 4)}),
        ("transpose", [F234], {}),
        ("transpose", [F234], {"axes": (1, 0, 2)}),
        ("expand_dims", [F23], {"axis": 1}),
        ("squeeze", [("f", (2, 1, 3))], {"axis": 1}),
        ("squeeze", [("f", (1, 3, 1))], {}),
        ("broadcast_to", [F4], {"shape": (3, 4)}),
        ("concatenate", [("list", [F34, ("f", (2, 4))])], {"axis": 0}),
        ("concatenate", [("list", [F23, F23, ("f", (2, 1))])], {"axis": 1}),
        ("stack", [("list", [F34, F34])], {"axis": 1}),
        ("split", [("f", (4, 3))], {"indices_or_sections": 2}),
        ("split", [("f", (2, 5))], {"indices_or_sections": [1, 3], "axis": 1}),
        ("take", [F34, ("i", (5,), 3)], {"axis": 0}),
        ("take", [F34, ("i", (2, 2), 12)], {}),
        ("take", [F234, ("i", (2,), 4)], {"axis": -1}),
        ("take_along_axis", [F34, ("i", (3, 2), 4)], {"axis": 1}),
        ("take_along_axis", [F34, ("i", (5, 4), 3)], {"axis": 0}),
        ("tile", [F23], {"repeats": (2, 1)}),
        ("tile", [F4], {"repeats": (2, 3)}),
        ("repeat", [F23], {"repeats": 2, "axis": 1}),
        ("repeat", [F23], {"repeats": 3}),
        ("repeat", [F23], {"repeats": np.array([1, 0, 2]), "axis": 1}),
        ("pad", [F23], {"pad_width": ((1, 0), (2, 1))}),
        ("pad", [F23], {"pad_width": ((0, 1), (1, 1)), "constant_values": 0.5}),
        ("cast", [F23], {"dtype": "float32"}),
        ("cast", [F23], {"dtype": "int32"}),
        ("ones_like", [F23], {}),
        ("zeros_like", [F23], {}),
        ("full_like", [F23], {"fill_value": 2.0}),
        ("moveaxis", [F234], {"source": 0, "destination": -1}),
        ("swapaxes", [F234], {"axis1": 0, "axis2": 2}),
        ("getitem", [F234, (slice(None), 1)], {}),
        ("getitem", [F34, (slice(1, 3), slice(None, None, 2))], {}),
        ("matmul", [F23, F34], {}),
        ("matmul", [F234, ("f", (4, 2))], {}),
        ("matmul", [F4, ("f", (4, 2))], {}),
        ("matmul", [F34, F4], {}),
        ("matmul", [F4, F4], {}),
        ("matmul", [("f", (2, 1, 3, 4)), ("f", (3, 4, 2))], {}),
        ("dot", [F23, F34], {}),
        ("dot", [F4, F4], {}),
        ("dot", [F23, ("f", (2, 3, 2))], {}),
        ("dot", [F23, 2.0], {}),
        ("tensordot", [F234, ("f", (3, 4, 2))], {"axes": 2}),
        ("tensordot", [F234, ("f", (4, 2, 3))], {"axes": ([1, 2], [2, 0])}),
        ("einsum", ["ij,jk->ik", F23, F34], {}),
        ("einsum", ["bij,jk", F234, ("f", (4, 2))], {}),
        ("einsum", ["ij->j", F23], {}),
        ("einsum", ["...ij,...jk->...ik", F234, ("f", (4, 2))], {}),
        ("einsum", ["ij,kj->", F23, ("f", (4, 3))], {}),
        ("softmax", [F234], {}),
        ("softmax", [F234], {"axis": 1}),
        ("log_softmax", [F234], {}),
        ("log_softmax", [F234], {"axis": 0}),
        ("one_hot", [("i", (2, 3), 4)], {"num_classes": 4}),
        ("one_hot", [("i", (3,), 4)], {"num_classes": 4, "axis": 0}),
        ("binary_crossentropy", [("u", (3, 4)), ("s", (3, 4))], {}),
        ("binary_crossentropy", [("u", (3, 4)), F34], {"from_logits": True}),
        ("categorical_crossentropy", [("s", (3, 4)), ("s", (3, 4))], {}),
        ("categorical_crossentropy", [("s", (3, 4)), F34], {"from_logits": True}),
        (
            "categorical_crossentropy",
            [("s", (4, 3)), ("f", (4, 3))],
            {"from_logits": True, "axis": 0},
        ),
        ("sparse_categorical_crossentropy", [("i", (3,), 4), ("s", (3, 4))], {}),
        ("sparse_categorical_crossentropy", [("i", (3, 1), 4), F34], {"from_logits": True}),
        ("cumsum", [F234], {"axis": 1}),
        ("cumsum", [F23], {}),
        ("flip", [F234], {"axis": 1}),
        ("flip", [F23], {}),
        ("argsort", [F34], {}),
        ("sort", [F34], {"axis": 0}),
        ("slice", [F234], {"start_indices": (0, 1, 1), "shape": (2, 2, 3)}),
        ("moments", [F234], {"axes": (0, 2)}),
        ("moments", [F234], {"axes": [1], "keepdims": True}),
        ("isinf", [F23], {}),
        ("logaddexp", [F34, F4], {}),
        ("exp2", [F23], {}),
        ("triu", [F34], {}),
        ("tril", [F234], {"k": -1}),
        ("ravel", [F234], {}),
        ("hstack", [("list", [F23, ("f", (2, 2))])], {}),
        ("vstack", [("list", [F4, F34])], {}),
        ("outer", [F23, F4], {}),
        ("top_k", [F34], {"k": 2}),
        ("count_nonzero", [("i", (3, 4), 2)], {"axis": 1}),
        ("normalize", [F34], {}),
        ("normalize", [F34], {"axis": 0, "order": 1}),
        ("convert_to_tensor", [F23], {}),
        ("stop_gradient", [F23], {}),
        ("zeros", [(2, 3)], {}),
        ("ones", [(3,)], {}),
        ("full", [(2, 2), 1.5], {}),
        ("eye", [3], {}),
        ("eye", [3, 4], {"k": 1}),
        ("arange", [5], {}),
        ("arange", [1.0, 4.0, 0.5], {}),
        ("array", [F23], {}),
    ]
    return cases


CASES = _cases()


def case_id(index: int, case: tuple[str, list[Any], dict[str, Any]]) -> str:
    """A stable key for the fixture file: ``'017_add'``."""
    return f"{index:03d}_{case[0]}"


def _draw(spec: Any, rng: np.random.Generator) -> Any:
    kind = spec[0]
    if kind == "f":
        return rng.standard_normal(spec[1])
    if kind == "p":
        return rng.uniform(0.5, 2.0, spec[1])
    if kind == "u":
        return rng.uniform(-0.8, 0.8, spec[1])
    if kind == "g":
        return rng.uniform(1.2, 3.0, spec[1])
    if kind == "s":
        raw = rng.uniform(0.1, 1.0, spec[1])
        return raw / raw.sum(axis=-1, keepdims=True)
    if kind == "i":
        return rng.integers(0, spec[2], spec[1]).astype(np.int32)
    if kind == "b":
        return rng.uniform(size=spec[1]) > 0.5
    raise ValueError(f"unknown spec {spec!r}")


def _is_spec(arg: Any) -> bool:
    return (
        isinstance(arg, tuple)
        and len(arg) >= 2
        and isinstance(arg[0], str)
        and len(arg[0]) == 1
        and arg[0] in "fpugsib"
    )


def draw_inputs(index: int) -> list[Any]:
    """The case's arguments with arrays drawn (float64), from a seed fixed by its index."""
    rng = np.random.default_rng(1000 + index)
    out: list[Any] = []
    for arg in CASES[index][1]:
        if isinstance(arg, tuple) and arg and arg[0] == "list":
            out.append([_draw(s, rng) for s in arg[1]])
        elif _is_spec(arg):
            out.append(_draw(arg, rng))
        else:
            out.append(arg)
    return out


def float_positions(args: list[Any]) -> list[tuple[int, int | None]]:
    """Where the float arrays are: ``(arg, None)`` or ``(arg, item)`` inside a list."""
    places: list[tuple[int, int | None]] = []
    for i, a in enumerate(args):
        if isinstance(a, list):
            places += [
                (i, j)
                for j, item in enumerate(a)
                if getattr(item, "dtype", None) is not None and item.dtype.kind == "f"
            ]
        elif getattr(a, "dtype", None) is not None and a.dtype.kind == "f":
            places.append((i, None))
    return places
