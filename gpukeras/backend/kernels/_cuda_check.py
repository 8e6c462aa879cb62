"""Compile gpukeras's CUDA kernels with NVRTC, without a GPU.

CuPy compiles a kernel on its first call, on the device, so a kernel that does not compile for
some dtype is only found on a GPU, by whoever first trains in that dtype. Here the same CUDA
source CuPy would build (its code generators, its headers, its NVRTC options) is produced for a
chosen dtype and compiled for a chosen architecture (``sm_80``, ``sm_90``) by calling NVRTC
directly: ``cupy.cuda.compiler.compile_using_nvrtc`` would ask the device for its architecture.
This needs the ``cupy-cuda12x`` wheel, NVRTC (``nvidia-cuda-nvrtc-cu12``) and the CUDA headers
(``nvidia-cuda-runtime-cu12``), but no device and no driver.

It uses CuPy internals (``cupy._core._kernel``/``_reduction`` code generators), so it is
tested against the CuPy version the ``cuda-check`` extra installs.
"""

from __future__ import annotations

from typing import Any

import numpy

#: Architectures the check compiles for: A100 and H100/H200.
ARCHITECTURES = (80, 90)
#: Block size CuPy's simple reductions use on CUDA.
_REDUCTION_BLOCK = 512
# cupy._core._kernel._ArgKind values.
_ARRAY, _INDEXER, _SCALAR = 1, 2, 3


class KernelCompileError(RuntimeError):
    """NVRTC rejected a kernel: the message names the kernel, dtype, architecture and log."""


def unavailable_reason() -> str | None:
    """Why kernels cannot be compiled here (no CuPy, NVRTC or CUDA headers), or None."""
    try:
        import cupy

        if getattr(cupy, "STANDIN", False):
            return "the imported cupy is the tests' CuPy stand-in, which cannot compile CUDA"
        from cupy._core import core
        from cupy_backends.cuda.libs import nvrtc
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot check here"
        return f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        nvrtc.getVersion()
    except Exception as exc:  # noqa: BLE001
        why = f"{type(exc).__name__}: {exc}"
        return f"NVRTC cannot be loaded ({why}); pip install 'gpukeras[cuda-check]'"
    try:
        core.assemble_cupy_compiler_options(())
    except Exception as exc:  # noqa: BLE001
        return f"the CUDA headers are missing ({type(exc).__name__}: {exc})"
    return None


def cuda_source(kernel: Any, dtype: Any) -> str:
    """The whole translation unit CuPy would compile for ``kernel`` on ``dtype`` inputs."""
    from cupy._core import core

    types = {name: numpy.dtype(t).type for name, t in kernel.placeholder_types(dtype).items()}
    if kernel.kind == "reduction":
        body = _reduction_code(kernel, types)
    else:
        body = _elementwise_code(kernel, types)
    headers = "".join(f"#include <{header}>\n" for header in core._cupy_header_list)
    return headers + body


def compile_kernel(kernel: Any, dtype: Any, arch: int) -> None:
    """Compile ``kernel`` for ``dtype`` on ``sm_<arch>``; raise :class:`KernelCompileError`."""
    from cupy._core import core
    from cupy.cuda import compiler

    source = cuda_source(kernel, dtype)
    options = core.assemble_cupy_compiler_options(tuple(kernel.options)) + (
        f"-arch=sm_{arch}",
        "--device-as-default-execution-space",
    )
    try:
        compiler._NVRTCProgram(source, f"gpukeras_{kernel.name}.cu").compile(options)
    except compiler.CompileException as error:
        log = str(error).strip()
        raise KernelCompileError(
            f"CUDA kernel {kernel.name!r} does not compile for {numpy.dtype(dtype).name} on "
            f"sm_{arch}:\n{log}"
        ) from None


def _type_map(types: dict[str, Any], *extra: tuple[str, Any]) -> Any:
    from cupy._core._kernel import _TypeMap

    return _TypeMap(tuple(sorted(types.items())) + extra)


def _elementwise_code(kernel: Any, types: dict[str, Any]) -> str:
    import cupy
    from cupy._core import _carray, _kernel

    in_params = _kernel._get_param_info(kernel.in_params, True)
    out_params = _kernel._get_param_info(kernel.out_params, False)
    arginfos = []
    for param in in_params + out_params:
        dtype = param.dtype if param.dtype is not None else types[param.ctype]
        as_scalar = param in in_params and (
            param.name in kernel.scalars or (param.dtype is not None and not param.raw)
        )
        if as_scalar:
            arginfos.append(_kernel._ArgInfo(_SCALAR, _scalar_type(), dtype, 0, True, True))
        else:
            arginfos.append(_kernel._ArgInfo(_ARRAY, cupy.ndarray, dtype, 1, True, True))
    arginfos.append(_kernel._ArgInfo(_INDEXER, _carray.Indexer, None, 1, True, True))
    params = in_params + out_params + (_kernel.ParameterInfo("CIndexer _ind", False),)
    return _kernel._get_elementwise_kernel_code(
        tuple(arginfos), _type_map(types), params, kernel.operation, f"gpukeras_{kernel.name}", ""
    )


def _reduction_code(kernel: Any, types: dict[str, Any]) -> str:
    import cupy
    from cupy._core import _carray, _kernel, _reduction

    in_params = _kernel._get_param_info(kernel.in_params, True)
    out_params = _kernel._get_param_info(kernel.out_params, False)
    params = (
        in_params
        + out_params
        + _kernel._get_param_info("CIndexer _in_ind, CIndexer _out_ind", False)
        + _kernel._get_param_info("int32 _block_stride", True)
    )
    arginfos = [
        _kernel._ArgInfo(_ARRAY, cupy.ndarray, types[p.ctype] if p.dtype is None else p.dtype,
                         1 if p in in_params else 0, True, True)
        for p in in_params + out_params
    ]  # fmt: skip
    arginfos += [
        _kernel._ArgInfo(_INDEXER, _carray.Indexer, None, 1, True, True),
        _kernel._ArgInfo(_INDEXER, _carray.Indexer, None, 0, True, True),
        _kernel._ArgInfo(_SCALAR, _scalar_type(), numpy.int32, 0, True, True),
    ]
    reduce_type = kernel.reduce_type or out_params[0].ctype
    return _reduction._ReductionKernel_get_cached_function_code(
        len(in_params), len(out_params), params, tuple(arginfos),
        _type_map(types, ("IndexT", numpy.int32)), f"gpukeras_{kernel.name}", _REDUCTION_BLOCK,
        reduce_type, kernel.identity, kernel.map_expr, kernel.reduce_expr, kernel.post_map_expr,
        "", tuple(kernel.options),
    )  # fmt: skip


def _scalar_type() -> type:
    from cupy._core import _scalar

    return _scalar.CScalar
