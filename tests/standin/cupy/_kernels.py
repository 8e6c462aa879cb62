"""Stand-in ``ElementwiseKernel`` and ``ReductionKernel``: CuPy's type checks, NumPy twins.

The type placeholders are checked the way ``cupy._core._kernel._decide_params_type`` does:
every array bound to one placeholder (``T``) must have the same dtype, an array given for a
typed parameter (``float32 x``) must have exactly that dtype, outputs must be device arrays,
and a host ``numpy.ndarray`` anywhere is refused. Then the kernel does not run CUDA: the
gpukeras op of the same name runs its NumPy twin on the arrays behind the device arrays.
"""

from __future__ import annotations

from typing import Any

import numpy

from cupy._array import ndarray, refuse_host, unwrap


class _Param:
    def __init__(self, text: str) -> None:
        words = text.split()
        self.raw = "raw" in words[:-2]
        self.type_name, self.name = words[-2], words[-1]
        self.placeholder = len(self.type_name) == 1
        self.dtype = None if self.placeholder else numpy.dtype(self.type_name)


def _params(text: str) -> list[_Param]:
    return [_Param(part) for part in text.split(",") if part.strip()]


def check_types(kernel_name: str, in_params: list[_Param], out_params: list[_Param],
                inputs: tuple, outputs: tuple) -> dict[str, numpy.dtype]:  # fmt: skip
    """Bind placeholders to dtypes as CuPy does; raise its ``TypeError`` on a mismatch."""
    bound: dict[str, numpy.dtype] = {}
    for param, value in list(zip(out_params, outputs)) + list(zip(in_params, inputs)):
        if isinstance(value, numpy.ndarray):
            refuse_host(value, f"kernel {kernel_name} argument {param.name}")
        if param in out_params and type(value) is not ndarray:
            raise TypeError("Output arguments must be cupy.ndarray")
        if type(value) is not ndarray:
            continue  # Python scalars take the parameter's type
        dtype = value.dtype
        if param.dtype is not None:
            if dtype != param.dtype:
                raise TypeError(f"Type is mismatched. {param.name} {dtype} {param.dtype}")
        elif param.type_name in bound and bound[param.type_name] != dtype:
            raise TypeError(
                f"Type is mismatched. {param.name} {dtype} {bound[param.type_name]} "
                f"{param.type_name} (kernel {kernel_name})"
            )
        else:
            bound[param.type_name] = dtype
    return bound


def check_shapes(kernel_name: str, params: list[_Param], args: tuple, n_in: int) -> None:
    """CuPy broadcasts the non-raw arrays together; non-raw outputs must have that shape."""
    shapes = [a.shape for p, a in zip(params, args) if not p.raw and type(a) is ndarray]
    try:
        shape = numpy.broadcast_shapes(*shapes)
    except ValueError as error:
        raise ValueError(f"kernel {kernel_name}: {error}") from None
    for param, value in zip(params[n_in:], args[n_in:]):
        if not param.raw and value.shape != shape:
            raise ValueError(
                f"Out shape is mismatched (kernel {kernel_name}, {param.name}: "
                f"{value.shape} for a loop of shape {shape})"
            )


def _twin(kernel_name: str) -> Any:
    from gpukeras.backend.kernels import _registry

    name = kernel_name.removeprefix("gpukeras_")
    kernel = _registry.find(name)
    if kernel is None:
        raise NotImplementedError(
            f"The CuPy stand-in runs kernels through their gpukeras NumPy twins; no gpukeras "
            f"kernel is named {name!r}"
        )
    return kernel.numpy_twin


class ElementwiseKernel:
    def __init__(self, in_params: str, out_params: str, operation: str,
                 name: str = "kernel", **kwargs: Any) -> None:  # fmt: skip
        self.in_params, self.out_params = _params(in_params), _params(out_params)
        self.operation, self.name = operation, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        n_in = len(self.in_params)
        if len(args) != n_in + len(self.out_params):
            raise TypeError(f"Wrong number of arguments for {self.name!r}")
        check_types(self.name, self.in_params, self.out_params, args[:n_in], args[n_in:])
        check_shapes(self.name, self.in_params + self.out_params, args, n_in)
        _twin(self.name)(*(unwrap(a) for a in args))
        outputs = args[n_in:]
        return outputs[0] if len(outputs) == 1 else outputs


class ReductionKernel:
    def __init__(self, in_params: str, out_params: str, map_expr: str, reduce_expr: str,
                 post_map_expr: str, identity: Any, name: str = "reduce_kernel",
                 **kwargs: Any) -> None:  # fmt: skip
        self.in_params, self.out_params = _params(in_params), _params(out_params)
        self.name = name

    def __call__(self, *args: Any, out: Any = None, axis: Any = None, keepdims: bool = False):
        if axis is not None or keepdims:
            raise NotImplementedError("the stand-in reduces over the whole array only")
        check_types(self.name, self.in_params, self.out_params, args, (out,))
        _twin(self.name)(*(unwrap(a) for a in args), out=out._a)
        return out


class RawKernel:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the CuPy stand-in cannot run raw CUDA kernels")


RawModule = RawKernel
