"""ElementwiseOp bodies compiled for the CPU, the way CuPy compiles them for the GPU.

NumPy runs a fused update as several passes over memory (RMSprop's is nine); the same CUDA
body wrapped in a C++ loop is one pass. The first call with a new argument layout writes the
C++ source, builds it with the host C++ compiler into a per-user cache directory (the file
name carries a hash of the source, the flags, the compiler and the CPU), and loads it with
ctypes; later calls and later processes reuse the library. Without a compiler, with
``GPUKERAS_HOST_KERNELS=0``, or for an argument layout the loop does not cover, the op runs
its NumPy twin instead, so results never depend on a compiler being present. So do outputs
under :data:`MIN_ELEMENTS` elements, where the twin is quicker.

Layouts covered: every output is an aligned C-contiguous float32/float64 array of one shape;
each input is a scalar (a Python number, or a one-element float array no wider than the
outputs' dtype), an aligned C-contiguous array of the outputs' shape, a row broadcast along
the last axis (a bias of shape ``(cols,)``), or a column broadcast (shape ``(..., 1)``, like a
``keepdims`` row sum); no output may share memory with another array (checked by the loop
itself, which then writes nothing). ``raw`` parameters must not appear in the body, ``int32``
parameters are not supported, and neither are bodies that call functions other than ``sqrt``
and ``fabs``; such ops always use their twins.

Rounding: results are bit-identical to the twins'. The loops are built with
``-ffp-contract=off`` and without fast-math, so ``+ - * /`` and ``sqrt`` round exactly as
NumPy's ufuncs do, and ops calling ``exp``, ``log``, ``tanh`` or ``erfc`` (whose C library
versions may differ from NumPy's by an ulp) are left to their twins.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import warnings
from typing import Any

import numpy

ENABLE_ENV_VAR = "GPUKERAS_HOST_KERNELS"
CACHE_ENV_VAR = "GPUKERAS_KERNEL_CACHE"
_FLAGS = ("-O3", "-fno-math-errno", "-ffp-contract=off", "-fPIC", "-shared")
_TYPES = {numpy.dtype(numpy.float32): "float", numpy.dtype(numpy.float64): "double"}
#: Smaller outputs run the twin: a few NumPy calls on a few thousand elements cost less than
#: the ~4 us of preparing a call into the loop (measured on one core: RMSprop breaks even near
#: 1,000 elements, bias + relu near 4,000, relu's backward near 20,000).
MIN_ELEMENTS = 4096
_FAILED = object()
#: Functions whose results are correctly rounded everywhere, so loops stay bit-identical.
_EXACT_FUNCTIONS = frozenset({"sqrt", "fabs"})
_lock = threading.Lock()
_state: dict[str, Any] = {"compiler": None, "cache": None, "cpu": None, "enabled": None}
_char_at = ctypes.c_char.from_buffer


def enabled() -> bool:
    """Whether ops may run compiled on the CPU (a C++ compiler exists and no opt-out).

    ``GPUKERAS_HOST_KERNELS`` is read once, on first use.
    """
    if _state["enabled"] is None:
        opted_out = os.environ.get(ENABLE_ENV_VAR, "1").strip().lower() in ("0", "false", "no")
        _state["enabled"] = not opted_out and _compiler() is not None
    return _state["enabled"]


def run(op: Any, args: tuple[Any, ...], *, exact_only: bool = True) -> bool:
    """Run ``op`` on ``args`` compiled; False (nothing done) when the twin must run instead.

    ``exact_only=False`` also compiles bodies that call libm functions; tests use it to check
    CUDA bodies against their twins on machines without a GPU.
    """
    if not enabled():
        return False
    params, exact, first_out = _signature(op)
    if params is None or (exact_only and not exact) or len(args) != len(params):
        return False
    plan = _layout(params, args, args[first_out])
    if plan is None:
        return False
    dtype, pattern, rows, cols, values = plan
    function = _variant(op, params, dtype, pattern)
    if function is None:
        return False
    # Nonzero: an output shares memory with another array, and the loop wrote nothing.
    return not function(rows, cols, *values)


# --- what an op's parameters are -------------------------------------------------------------


def _signature(op: Any) -> tuple[list[tuple[str, str]] | None, bool, int]:
    """``([(name, role)], exact, index of the first output)``; None if the loop can't run it.

    Roles are "in", "raw" or "out". ``exact``: the body calls no function that may round
    differently from NumPy.
    """
    cached = op.__dict__.get("_host_signature")
    if cached is None:
        called = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", op.operation))
        params = _parse(op)
        roles = [role for _, role in params or ()]
        if "out" not in roles:
            params = None  # every output indexed by hand (raw): nothing for the loop to write
        first_out = roles.index("out") if params else 0
        cached = (params, called <= _EXACT_FUNCTIONS, first_out)
        op.__dict__["_host_signature"] = cached
    return cached


def _parse(op: Any) -> list[tuple[str, str]] | None:
    params = []
    for text, role in ((op.in_params, "in"), (op.out_params, "out")):
        for item in filter(None, (part.strip() for part in text.split(","))):
            words = item.split()
            raw, type_name, name = words[0] == "raw", words[-2], words[-1]
            if raw and re.search(rf"\b{name}\b", op.operation):
                return None  # indexed by hand: written for the CUDA thread layout
            if not raw and type_name != "T":
                return None
            params.append((name, "raw" if raw else role))
    return params


def _layout(params: list[tuple[str, str]], args: tuple[Any, ...], first: Any) -> Any:
    """``(dtype, pattern, rows, cols, call values)`` for this call, or None if not covered.

    ``first`` is the first output: its shape and dtype are the loop's.
    """
    if type(first) is not numpy.ndarray or first.dtype not in _TYPES:
        return None
    if first.size < MIN_ELEMENTS:
        return None
    shape, dtype = first.shape, first.dtype
    cols = shape[-1] if shape else 1
    rows = first.size // cols
    pattern, values = "", []
    for (_, role), value in zip(params, args):
        if role == "in":
            kind = _input_kind(value, shape, dtype, cols, rows)
            if kind is None:
                return None
            pattern += kind
            values.append(_address(value) if kind != "S" else _scalar(value))
        elif role == "out":
            if not _writable_like(value, shape, dtype):
                return None
            values.append(_address(value))
    return dtype, pattern, rows, cols, values


def _writable_like(out: Any, shape: tuple[int, ...], dtype: Any) -> bool:
    if type(out) is not numpy.ndarray or out.shape != shape or out.dtype != dtype:
        return False
    flags = out.flags
    return flags.c_contiguous and flags.aligned and flags.writeable


def _plain(array: numpy.ndarray) -> bool:
    """C order, and aligned: a misaligned ``T*`` is undefined behaviour in C++ (NumPy allows
    one, e.g. ``frombuffer`` at an odd offset)."""
    flags = array.flags
    return flags.c_contiguous and flags.aligned


def _address(array: numpy.ndarray) -> int:
    """The data pointer; through the buffer protocol, five times faster than ``.ctypes``."""
    try:
        return ctypes.addressof(_char_at(array))
    except (TypeError, ValueError, BufferError):  # read-only inputs refuse a writable buffer
        return array.ctypes.data


def _scalar(value: Any) -> float:
    return value.item() if getattr(value, "ndim", 0) else float(value)


def _input_kind(value: Any, shape: tuple[int, ...], dtype: Any, cols: int, rows: int) -> Any:
    """ "S" scalar, "F" full, "R" row broadcast, "C" column broadcast, or None."""
    if type(value) is float or (type(value) is int):
        return "S"
    if not isinstance(value, (numpy.ndarray, numpy.generic)):
        return None
    if value.size == 1 and value.dtype.kind == "f" and value.dtype.itemsize <= dtype.itemsize:
        # Held exactly by T. A wider one (a float64 scalar for a float32 loop) makes NumPy 2's
        # twin compute in float64, so that op is the twin's to run.
        return "S"
    if type(value) is not numpy.ndarray or value.dtype != dtype or not _plain(value):
        return None
    if value.shape == shape:
        return "F"
    if value.size == cols and value.shape[-1:] == (cols,) and len(value.shape) <= len(shape):
        return "R"
    if value.size == rows and value.shape[-1:] == (1,) and value.shape[:-1] == shape[:-1]:
        return "C"
    return None


# --- building and caching --------------------------------------------------------------------


def _variant(op: Any, params: list[tuple[str, str]], dtype: Any, pattern: str) -> Any:
    variants = op.__dict__.setdefault("_host_variants", {})
    key = (dtype, pattern)
    function = variants.get(key)
    if function is None:
        with _lock:
            function = variants.get(key)
            if function is None:
                function = variants[key] = _build(op, params, dtype, pattern)
    return None if function is _FAILED else function


def source(op: Any, params: list[tuple[str, str]], type_name: str, pattern: str) -> str:
    """The C++ translation unit for one op, element type and input layout.

    The function returns 1 without writing anything when an output's memory overlaps another
    array's: the loop reads and writes element by element, so a write could reach an element
    it has yet to read, while NumPy's twins copy an overlapping input first or run several
    passes. Such calls are left to the twin. Inputs may overlap each other (they are only read).
    """
    kinds = iter(pattern)
    arguments, loads, stores = ["int64_t rows", "int64_t cols"], [], []
    index = {"F": "i", "R": "c", "C": "r"}
    extent = {"F": "rows * cols", "R": "cols", "C": "rows"}
    arrays = []  # (pointer, elements, written)
    for name, role in params:
        if role == "in":
            kind = next(kinds)
            if kind == "S":
                arguments.append(f"double s_{name}")
                loads.append(f"const T {name} = (T)s_{name};")
            else:
                arguments.append(f"const T* p_{name}")
                loads.append(f"const T {name} = p_{name}[{index[kind]}];")
                arrays.append((f"p_{name}", extent[kind], False))
        elif role == "out":
            arguments.append(f"T* p_{name}")
            loads.append(f"T {name} = p_{name}[i];")
            stores.append(f"p_{name}[i] = {name};")
            arrays.append((f"p_{name}", "rows * cols", True))
    checks = [
        f"  if (gpukeras_overlap({a}, {na}, {b}, {nb})) return 1;"
        for i, (a, na, a_written) in enumerate(arrays)
        for b, nb, b_written in arrays[i + 1 :]
        if a_written or b_written
    ]
    return "\n".join(
        [
            "#include <cmath>",
            "#include <cstdint>",
            "using namespace std;",
            f"typedef {type_name} T;",
            "static bool gpukeras_overlap(const T* a, int64_t na, const T* b, int64_t nb) {",
            "  const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;",
            "  return x < y + (uintptr_t)nb * sizeof(T) && y < x + (uintptr_t)na * sizeof(T);",
            "}",
            f'extern "C" int gpukeras_{op.name}({", ".join(arguments)}) {{',
            *checks,
            "  for (int64_t r = 0; r < rows; ++r) {",
            "    for (int64_t c = 0; c < cols; ++c) {",
            "      const int64_t i = r * cols + c;",
            *(f"      {line}" for line in loads),
            *(f"      {line}" for line in op.operation.strip().splitlines()),
            "      ;",  # CuPy accepts a body without its final semicolon
            *(f"      {line}" for line in stores),
            "    }",
            "  }",
            "  return 0;",
            "}",
            "",
        ]
    )


def _build(op: Any, params: list[tuple[str, str]], dtype: Any, pattern: str) -> Any:
    text = source(op, params, _TYPES[dtype], pattern)
    compiler = _compiler()
    flags = (*_FLAGS, *_cpu_flags())
    digest = hashlib.sha256("\0".join([text, compiler, *flags, _cpu_id()]).encode()).hexdigest()
    library = os.path.join(_cache_dir(), f"{op.name}-{digest[:20]}.so")
    loaded = _load(library) if os.path.exists(library) else None
    if loaded is None:  # not built yet, or a damaged file: build it (again)
        if not _compile(text, compiler, flags, library, op.name):
            return _FAILED
        loaded = _load(library)
        if loaded is None:
            _state["enabled"] = False
            return _FAILED
    function = getattr(loaded, f"gpukeras_{op.name}")
    argtypes = [ctypes.c_int64, ctypes.c_int64]  # C long is 32 bits on Windows
    kinds = iter(pattern)
    for _, role in params:
        if role == "in":
            argtypes.append(ctypes.c_double if next(kinds) == "S" else ctypes.c_void_p)
        elif role == "out":
            argtypes.append(ctypes.c_void_p)
    function.argtypes, function.restype = argtypes, ctypes.c_int
    return function


def _load(library: str) -> Any:
    try:
        return ctypes.CDLL(library)
    except OSError:
        return None


def _compile(text: str, compiler: str, flags: tuple[str, ...], library: str, name: str) -> bool:
    """Build ``library``; False, with one warning, when that fails. A compiler that fails
    once (missing headers, a broken toolchain) or a cache folder that cannot be written (a
    full disk, a quota, a read-only file system) would fail for every op: every op runs its
    twin from then on in this process."""
    folder = os.path.dirname(library)
    try:
        output = _compile_into(text, compiler, flags, library)
    except OSError as exc:
        what, details = f"write the CPU kernel {name!r} to the kernel cache {folder!r}", str(exc)
    else:
        if output is None:
            return True
        what, details = f"compile the CPU kernel {name!r} with {compiler}", output[:2000]
    _state["enabled"] = False
    warnings.warn(
        f"gpukeras could not {what}, so every op runs its NumPy code from now on in this "
        f"process (set {ENABLE_ENV_VAR}=0 to skip compiling, or {CACHE_ENV_VAR} to cache "
        f"elsewhere). Cause: {details}",
        RuntimeWarning,
        stacklevel=3,
    )
    return False


def _compile_into(text: str, compiler: str, flags: tuple[str, ...], library: str) -> str | None:
    """Compile ``text`` into ``library``: None when done, else the compiler's message."""
    with tempfile.TemporaryDirectory(dir=os.path.dirname(library)) as work:
        cpp, built = os.path.join(work, "op.cpp"), os.path.join(work, "op.so")
        with open(cpp, "w") as handle:
            handle.write(text)
        try:
            done = subprocess.run(
                [compiler, *flags, cpp, "-o", built], capture_output=True, text=True, timeout=120
            )
        except (OSError, subprocess.SubprocessError) as exc:
            done = subprocess.CompletedProcess([], 1, "", str(exc))
        if done.returncode != 0:
            return done.stderr.strip() or f"exit status {done.returncode}"
        os.replace(built, library)  # atomic: other processes see a whole library or none
    return None


def _compiler() -> str | None:
    if _state["compiler"] is None:
        found = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
        _state["compiler"] = found or ""
    return _state["compiler"] or None


def _cpu_id() -> str:
    """What the library was tuned for: ``-march=native`` code must not move to another CPU."""
    if _state["cpu"] is None:
        described = ""
        try:
            with open("/proc/cpuinfo") as handle:
                lines = [ln for ln in handle if ln.startswith(("model name", "flags"))]
            described = "".join(sorted(set(lines)))
        except OSError:
            pass
        _state["cpu"] = described
    return _state["cpu"]


def _cpu_flags() -> tuple[str, ...]:
    # Only where the CPU can be told apart; elsewhere portable code is the safe choice.
    return ("-march=native",) if _cpu_id() and sys.platform.startswith("linux") else ()


def _cache_dir() -> str:
    """The per-user library cache, created private; a private temp dir if it is not safe."""
    if _state["cache"] is None:
        home = os.environ.get("GPUKERAS_HOME") or os.path.join("~", ".gpukeras")
        folder = os.path.expanduser(os.environ.get(CACHE_ENV_VAR) or os.path.join(home, "kernels"))
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if not _private(folder):
                raise PermissionError(folder)
        except OSError:
            # Loading a library others can write would run their code: use our own folder.
            folder = tempfile.mkdtemp(prefix="gpukeras-kernels-")
            atexit.register(shutil.rmtree, folder, True)
        _state["cache"] = folder
    return _state["cache"]


def _private(folder: str) -> bool:
    info = os.stat(folder)
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return owner_ok and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
