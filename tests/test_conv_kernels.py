"""The CUDA bodies of the convolution and BatchNormalization kernels agree with their NumPy
twins, checked without a GPU: each body is wrapped in a C++ loop over ``i`` (``typedef float
T``), built with the host compiler and run on the same inputs. Skipped without ``g++``."""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess

import numpy as np
import pytest

from gpukeras.backend.kernels import normalization
from gpukeras.backend.kernels.conv import ConvGeometry, col2im_op, im2col_op

CXX = shutil.which("g++")
pytestmark = pytest.mark.skipif(CXX is None, reason="needs g++ to build the kernel bodies")


def _params(text):
    return [p.split() for p in text.split(",")]


def _build(op, tmp_path, broadcast=()):
    """A C function ``run(n, inputs..., outputs...)`` running ``op.operation`` for i < n.

    Inputs named in ``broadcast`` are per-channel vectors read at ``i % C_`` (C_ is an
    extra first argument)."""
    args, loads = ["long long n", "int C_"], []
    for words in _params(op.in_params):
        name = words[-1]
        if words[0] == "raw":
            args.append(f"const T* {name}")
        elif words[0] == "int32":
            args.append(f"int {name}")
        else:
            args.append(f"const T* p_{name}")
            index = "i % C_" if name in broadcast else "i"
            loads.append(f"const T {name} = p_{name}[{index}];")
    refs = []
    for words in _params(op.out_params):
        args.append(f"T* p_{words[-1]}")
        refs.append(f"T& {words[-1]} = p_{words[-1]}[i];")
    source = (
        "typedef float T;\n"
        f'extern "C" void run({", ".join(args)}) {{\n'
        "for (long long i = 0; i < n; ++i) {\n"
        + "\n".join(loads + refs)
        + f"\n{op.operation}\n}}\n}}\n"
    )
    stem = tmp_path / f"{op.name}_{hashlib.md5(source.encode()).hexdigest()[:8]}"
    stem.with_suffix(".cpp").write_text(source)
    command = [CXX, "-O1", "-ffp-contract=off", "-shared", "-fPIC"]
    subprocess.run([*command, str(stem.with_suffix(".cpp")), "-o", f"{stem}.so"], check=True)
    return ctypes.CDLL(f"{stem}.so").run


def _pointer(array):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


GEOMETRIES = [
    ConvGeometry(2, 5, 6, 3, 3, 3, 1, 1, 1, 1, 0, 0, 3, 4),  # valid
    ConvGeometry(2, 7, 6, 2, 3, 3, 2, 2, 1, 1, 1, 1, 4, 3),  # same, stride 2
    ConvGeometry(1, 7, 7, 2, 3, 2, 1, 1, 2, 3, 2, 1, 7, 7),  # same, dilated
    ConvGeometry(1, 9, 8, 3, 4, 4, 2, 3, 1, 1, 1, 1, 5, 3),  # even kernel, uneven strides
    ConvGeometry(2, 11, 5, 2, 3, 3, 3, 2, 1, 1, 1, 0, 4, 2),  # transposed-conv style
]


@pytest.mark.parametrize("g", GEOMETRIES, ids=str)
def test_im2col_and_col2im_bodies_match_numpy(g, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=g.input_shape).astype(np.float32)
    cols = rng.normal(size=g.cols_shape).astype(np.float32)
    scalars = [ctypes.c_int(s) for s in g.scalars()]

    expected_cols = np.empty(g.cols_shape, np.float32)
    im2col_op.numpy_twin(x, *g.scalars(), expected_cols)
    got_cols = np.full(g.cols_shape, np.nan, np.float32)
    _build(im2col_op, tmp_path)(
        ctypes.c_longlong(got_cols.size), 0, _pointer(x), *scalars, _pointer(got_cols)
    )
    np.testing.assert_array_equal(got_cols, expected_cols)

    expected_x = np.empty(g.input_shape, np.float32)
    col2im_op.numpy_twin(cols, *g.scalars(), expected_x)
    got_x = np.full(g.input_shape, np.nan, np.float32)
    _build(col2im_op, tmp_path)(
        ctypes.c_longlong(got_x.size), 0, _pointer(cols), *scalars, _pointer(got_x)
    )
    np.testing.assert_allclose(got_x, expected_x, rtol=1e-6, atol=1e-6)


def test_batchnorm_bodies_match_numpy(tmp_path):
    rng = np.random.default_rng(1)
    rows, channels = 7, 3
    x, g = (rng.normal(size=(rows, channels)).astype(np.float32) for _ in range(2))
    vectors = [rng.normal(size=channels).astype(np.float32) for _ in range(5)]

    expected = np.empty_like(x)
    normalization.affine_op.numpy_twin(x, vectors[0], vectors[1], expected)
    got = np.empty_like(x)
    run = _build(normalization.affine_op, tmp_path, broadcast=("scale", "shift"))
    run(
        ctypes.c_longlong(x.size), channels, _pointer(x), *map(_pointer, vectors[:2]), _pointer(got)
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)

    expected = np.empty_like(x)
    normalization.grad_op.numpy_twin(x, g, *vectors, expected)
    got = np.empty_like(x)
    names = ("mean", "inv_std", "scale", "mean_g", "mean_gxhat")
    run = _build(normalization.grad_op, tmp_path, broadcast=names)
    run(
        ctypes.c_longlong(x.size), channels, _pointer(x), _pointer(g), *map(_pointer, vectors),
        _pointer(got),
    )  # fmt: skip
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("channels", [3, 8])
@pytest.mark.parametrize("g_args", [(0, 0), (1, 2)], ids=["valid", "padded"])
def test_numpy_im2col_paths_match_a_direct_gather(channels, g_args):
    """Few channels copy per kernel offset, many copy one windows view: same rows."""
    top, left = g_args
    g = ConvGeometry(2, 6, 7, channels, 3, 2, 2, 1, 1, 2, top, left, 3, 5)
    x = np.random.default_rng(2).normal(size=g.input_shape).astype(np.float32)
    padded = np.zeros((2, 6 + 2 * top + 2, 7 + 2 * left + 4, channels), np.float32)
    padded[:, top : top + 6, left : left + 7] = x
    expected = np.empty(g.cols_shape, np.float32)
    for oh in range(g.out_h):
        for ow in range(g.out_w):
            for kh in range(3):
                for kw in range(2):
                    expected[:, oh, ow, kh, kw] = padded[:, oh * 2 + kh, ow + 2 * kw]
    got = np.full(g.cols_shape, np.nan, np.float32)
    im2col_op.numpy_twin(x, *g.scalars(), got)
    np.testing.assert_array_equal(got, expected)
