"""ElementwiseOp bodies compiled for the CPU: bit-identical to the twins, cached, and optional.

The compiled loops need a C++ compiler; without one every op runs its NumPy twin and only the
fallback tests below apply.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

from gpukeras.backend.kernels import _host, normalization
from gpukeras.backend.kernels import dense as dense_kernels
from gpukeras.backend.kernels import optimizers as optimizer_kernels
from gpukeras.backend.kernels._op import ElementwiseOp

needs_compiler = pytest.mark.skipif(
    _host._compiler() is None, reason="needs a C++ compiler to build the CPU loops"
)

#: The compiled loops are the NumPy backend's: these tests call ops on host arrays.
pytestmark = pytest.mark.numpy_only("the C++ loops run on the NumPy backend")


@pytest.fixture(autouse=True)
def _loops_for_any_size(monkeypatch):
    """These tests use small arrays; the size cut-off has a test of its own."""
    monkeypatch.setattr(_host, "MIN_ELEMENTS", 1)


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A fresh cache folder and fresh per-op variants, so the test sees its own builds."""
    folder = tmp_path / "kernels"
    monkeypatch.setenv(_host.CACHE_ENV_VAR, str(folder))
    monkeypatch.setitem(_host._state, "cache", None)
    yield folder
    _host._state["cache"] = None


def _fresh_op(op: ElementwiseOp) -> ElementwiseOp:
    """A copy of ``op`` with no compiled variants yet (the originals are shared by the suite)."""
    return ElementwiseOp(op.name, op.in_params, op.out_params, op.operation, op.numpy_twin)


def _optimizer_cases():
    k = optimizer_kernels
    return {
        "sgd": (k.sgd_op(False, False), []),
        "sgd_momentum": (k.sgd_op(True, False), [0.9]),
        "sgd_nesterov": (k.sgd_op(True, True), [0.9]),
        "rmsprop": (k.rmsprop_op(False, False), [0.9, 0.1, 1e-7]),
        "rmsprop_momentum": (k.rmsprop_op(False, True), [0.9, 0.1, 1e-7, 0.5]),
        "rmsprop_centered": (k.rmsprop_op(True, False), [0.8, 0.2, 1e-3]),
        "rmsprop_centered_momentum": (k.rmsprop_op(True, True), [0.8, 0.2, 1e-3, 0.5]),
        "adam": (k.adam_op(False), [0.003, 0.1, 0.001, 1e-7]),
        "adam_amsgrad": (k.adam_op(True), [0.003, 0.1, 0.001, 1e-7]),
        "adamax": (k.adamax_op(), [0.1, 0.999, 0.271, 1e-7]),
        "nadam": (k.nadam_op(), [0.1, 0.001, 0.87, 0.2, 0.15, 0.1, 0.003, 1e-7]),
        "adagrad": (k.adagrad_op(), [1e-7]),
        "adadelta": (k.adadelta_op(), [0.95, 0.05, 1e-7]),
    }


def _both_ways(op, inputs, outputs):
    """Run the compiled loop and the twin on copies; return (compiled, twin) outputs."""
    compiled = [o.copy() for o in outputs]
    twin = [o.copy() for o in outputs]
    assert _host.run(op, (*inputs, *compiled)), "the compiled loop did not run"
    op.numpy_twin(*inputs, *twin)
    return compiled, twin


@needs_compiler
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("clip", ["none", "scale", "value", "decay"])
@pytest.mark.parametrize("name", sorted(_optimizer_cases()))
def test_optimizer_loops_are_bit_identical_to_twins(name, clip, dtype):
    op, scalars = _optimizer_cases()[name]
    rng = np.random.default_rng(5)
    shape = (37, 11)  # odd sizes: the vectorised loop's remainder runs too
    grad = rng.normal(size=shape).astype(dtype)
    gmul = np.array(0.5 if clip == "scale" else 1.0, dtype=dtype)
    gdiv = np.array(1.7 if clip == "scale" else 1.0, dtype=dtype)
    glo, ghi = (-0.3, 0.3) if clip == "value" else (-np.inf, np.inf)
    wd = 0.01 if clip == "decay" else 0.0
    n_slots = len(op.out_params.split(",")) - 1
    outputs = [rng.normal(size=shape).astype(dtype)]
    # Non-negative running averages; a large first slot keeps centered RMSprop's
    # velocity - average^2 positive, so every sqrt is defined.
    outputs += [(0.3 * np.abs(rng.normal(size=shape)) + 0.1).astype(dtype) for _ in range(n_slots)]
    if n_slots:
        outputs[1] += 2.0
    inputs = [grad, gmul, gdiv, glo, ghi, wd, 0.05, *scalars]
    for _ in range(3):  # a few steps, each from the previous step's state
        compiled, twin = _both_ways(op, inputs, outputs)
        for got, expected in zip(compiled, twin, strict=True):
            np.testing.assert_array_equal(got, expected)
        outputs = twin


@needs_compiler
def test_ema_loop_is_bit_identical():
    rng = np.random.default_rng(3)
    param, average = rng.normal(size=(2, 4, 3)).astype("float32")
    compiled, twin = _both_ways(optimizer_kernels.ema_op(), [0.9, 0.1, param], [average])
    np.testing.assert_array_equal(compiled[0], twin[0])


@needs_compiler
@pytest.mark.parametrize("name", ["linear", "relu"])
def test_bias_activation_loops_broadcast_the_bias_by_row(name):
    rng = np.random.default_rng(1)
    z = (rng.normal(size=(2, 9, 13)) * 3).astype("float32")
    z[0, 0, :3] = [np.nan, -0.0, 0.0]  # relu keeps NaN and signs as numpy.maximum does
    bias = rng.normal(size=13).astype("float32")
    compiled, twin = _both_ways(dense_kernels._FORWARD_OPS[name], [bias], [z])
    np.testing.assert_array_equal(compiled[0], twin[0])


@needs_compiler
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_backward_loops_are_bit_identical(name):
    rng = np.random.default_rng(2)
    y = np.abs(rng.normal(size=(17, 5))).astype("float32") * (name != "relu" or 1)
    y[::3] = 0.0
    grad = rng.normal(size=(17, 5)).astype("float32")
    scratch = np.empty(y.shape, "bool" if name == "relu" else "float32")
    op = dense_kernels._BACKWARD_OPS[name]
    compiled, twin = _both_ways(op, [y, grad, scratch], [np.empty_like(y)])
    np.testing.assert_array_equal(compiled[0], twin[0])


@needs_compiler
def test_batchnorm_loops_broadcast_per_channel_values():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3, 3, 6)).astype("float32")
    channel = [rng.normal(size=6).astype("float32") for _ in range(5)]
    compiled, twin = _both_ways(normalization.affine_op, [x, *channel[:2]], [np.empty_like(x)])
    np.testing.assert_array_equal(compiled[0], twin[0])
    g = rng.normal(size=x.shape).astype("float32")
    compiled, twin = _both_ways(normalization.grad_op, [x, g, *channel], [np.empty_like(x)])
    np.testing.assert_array_equal(compiled[0], twin[0])


@needs_compiler
def test_column_broadcast_reads_one_value_per_row():
    op = _fresh_op(ElementwiseOp("scale_rows", "T x, T s", "T y", "y = x * s;", None))
    x = np.arange(12, dtype="float32").reshape(3, 4)
    s = np.array([[1.0], [10.0], [100.0]], dtype="float32")
    y = np.empty_like(x)
    assert _host.run(op, (x, s, y))
    np.testing.assert_array_equal(y, x * s)


# --- CUDA bodies that call libm: checked against their twins, with a tolerance ------------


@needs_compiler
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_libm_bodies_stay_on_twins_but_match_them(name):
    op = dense_kernels._FORWARD_OPS[name]
    rng = np.random.default_rng(4)
    z = (rng.normal(size=(16, 12)) * 3).astype("float32")
    bias = rng.normal(size=12).astype("float32")
    assert not _host.run(op, (bias, z.copy())), "libm bodies must not replace their twins"
    compiled, expected = z.copy(), z.copy()
    assert _host.run(op, (bias, compiled), exact_only=False)
    op.numpy_twin(bias, expected)
    np.testing.assert_allclose(compiled, expected, rtol=2e-6, atol=1e-7)


@needs_compiler
def test_softmax_crossentropy_body_matches_its_twin():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(8, 10)).astype("float32")
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    targets = np.eye(10, dtype="float32")[np.arange(8)]
    inputs = [probs, targets, probs.sum(-1, keepdims=True), targets.sum(-1, keepdims=True)]
    inputs += [0.125, 1e-7, 1.0 - 1e-7]
    got = [np.empty_like(probs), np.empty_like(probs)]
    expected = [np.empty_like(probs), np.empty_like(probs)]
    assert _host.run(dense_kernels._XENT, (*inputs, *got), exact_only=False)
    dense_kernels._xent_twin(*inputs, *expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


# --- layouts the loop does not cover fall back to the twin --------------------------------


def _bias_relu():
    return dense_kernels._FORWARD_OPS["relu"]


@pytest.mark.parametrize(
    "case",
    ["strided input", "strided output", "dtype mismatch", "middle-axis broadcast", "int out"],
)
def test_uncovered_layouts_are_left_to_the_twin(case):
    z = np.ones((4, 6), "float32")
    bias = np.ones(6, "float32")
    args = {
        "strided input": (np.ones(12, "float32")[::2], z),
        "strided output": (bias, np.ones((4, 12), "float32")[:, ::2]),
        "dtype mismatch": (bias.astype("float64"), z),
        "middle-axis broadcast": (np.ones((4, 1, 3), "float32"), np.ones((4, 2, 3), "float32")),
        "int out": (bias, np.ones((4, 6), "int32")),
    }[case]
    assert not _host.run(_bias_relu(), args)


@needs_compiler
@pytest.mark.parametrize("kind", ["numpy scalar", "0-d array", "one-element array"])
def test_scalars_wider_than_the_loop_give_the_twins_numbers(kind):
    # NumPy 2 computes float32 * float64-scalar in float64; a float loop would round the
    # scalar to float first (different last bits for about one element in six).
    x = np.random.default_rng(7).normal(size=(64, 5)).astype("float32")
    scale = {"numpy scalar": np.float64, "0-d array": np.array, "one-element array": np.atleast_1d}
    wide = scale[kind](np.float64(0.1))
    shift = np.zeros(5, "float32")
    got, expected = np.empty_like(x), np.empty_like(x)
    normalization.affine_op(x, wide, shift, got)
    normalization.affine_op.numpy_twin(x, wide, shift, expected)
    np.testing.assert_array_equal(got, expected)


@needs_compiler
@pytest.mark.parametrize("scale", [np.float32(0.1), np.array(0.1, "float16"), 0.1, 2])
def test_scalars_the_loop_holds_exactly_still_run_compiled(scale):
    x = np.random.default_rng(8).normal(size=(6, 5)).astype("float32")
    compiled, twin = _both_ways(normalization.affine_op, [x, scale, np.ones(5, "float32")], [x])
    np.testing.assert_array_equal(compiled[0], twin[0])


def _misaligned(shape, fill):
    """A float32 array one byte past an aligned address (NumPy allows it; C++ does not)."""
    count = int(np.prod(shape))
    array = np.frombuffer(bytearray(4 * count + 1), "float32", count, offset=1).reshape(shape)
    array[...] = fill
    assert not array.flags.aligned and array.flags.writeable
    return array


@needs_compiler
@pytest.mark.parametrize("which", ["input", "output"])
def test_misaligned_arrays_are_left_to_the_twin(which):
    x = _misaligned((4, 6), 1.0) if which == "input" else np.ones((4, 6), "float32")
    y = _misaligned((4, 6), 0.0) if which == "output" else np.empty((4, 6), "float32")
    ones = np.ones(6, "float32")
    assert not _host.run(normalization.affine_op, (x, ones, ones, y))
    normalization.affine_op(x, ones, ones, y)
    np.testing.assert_array_equal(y, np.full((4, 6), 2.0))


def _plus_one_twin(x, y):
    np.add(x, 1.0, out=y)  # NumPy copies an input that overlaps the output first


@needs_compiler
@pytest.mark.parametrize("shift", [1, -1])
def test_an_input_overlapping_an_output_gives_the_twins_numbers(shift):
    op = _fresh_op(ElementwiseOp("plus_one_overlap", "T x", "T y", "y = x + (T)1;", None))
    op.numpy_twin = _plus_one_twin
    got, expected = (np.arange(9, dtype="float32") ** 2 for _ in range(2))
    x, y = (slice(0, 8), slice(1, 9)) if shift == 1 else (slice(1, 9), slice(0, 8))
    op(got[x], got[y])
    _plus_one_twin(expected[x], expected[y])
    np.testing.assert_array_equal(got, expected)


@needs_compiler
def test_outputs_sharing_memory_are_left_to_the_twin():
    op = _fresh_op(ElementwiseOp("two_outputs", "T x", "T a, T b", "a = x; b = x + x;", None))
    buffer = np.zeros(9, "float32")
    assert not _host.run(op, (np.ones(8, "float32"), buffer[:8], buffer[1:]))
    x = np.ones(8, "float32")
    assert _host.run(op, (x, np.empty(8, "float32"), np.empty(8, "float32")))  # still covered


def test_elementwise_op_falls_back_to_the_twin_when_loops_are_off(monkeypatch):
    monkeypatch.setenv(_host.ENABLE_ENV_VAR, "0")
    monkeypatch.setitem(_host._state, "enabled", None)  # read again, as in a new process
    calls = []
    op = ElementwiseOp("twice", "T x", "T y", "y = x + x;", lambda x, y: calls.append(1))
    op(np.ones(3, "float32"), np.empty(3, "float32"))
    assert calls == [1] and not _host.enabled()


def test_no_compiler_means_twins(monkeypatch):
    monkeypatch.setitem(_host._state, "compiler", "")
    monkeypatch.setitem(_host._state, "enabled", None)
    assert not _host.enabled()
    assert not _host.run(_bias_relu(), (np.ones(3, "float32"), np.ones((2, 3), "float32")))


# --- the cache -------------------------------------------------------------------------------


@needs_compiler
def test_a_built_loop_is_reused_without_compiling_again(private_cache, monkeypatch):
    x, y = np.arange(6, dtype="float64"), np.empty(6)
    op = _fresh_op(ElementwiseOp("cached_double", "T x", "T y", "y = x * (T)2;", None))
    assert _host.run(op, (x, y))
    libraries = sorted(p.name for p in private_cache.iterdir())
    assert len(libraries) == 1 and libraries[0].endswith(".so")  # no temporary files left

    def no_compiler(*args, **kwargs):
        raise AssertionError("compiled again although the library was cached")

    monkeypatch.setattr(subprocess, "run", no_compiler)
    again = _fresh_op(op)  # as a new process would see it: no variants in memory
    y[...] = 0
    assert _host.run(again, (x, y))
    np.testing.assert_array_equal(y, 2 * x)


_PROCESS = """
import subprocess
import numpy as np
from gpukeras.backend.kernels import _host, dense
_host.MIN_ELEMENTS = 1
if {forbid}:
    def compile_again(*args, **kwargs):
        raise SystemExit("compiled again")
    subprocess.run = compile_again
z, b = np.ones((3, 4), "float32"), np.ones(4, "float32")
dense._FORWARD_OPS["relu"](b, z)
print("ok" if (z == 2).all() else "wrong")
"""


@needs_compiler
def test_a_new_process_loads_the_cached_loop(private_cache):
    env = {**os.environ, _host.CACHE_ENV_VAR: str(private_cache), _host.ENABLE_ENV_VAR: "1"}
    env["GPUKERAS_BACKEND"] = "numpy"  # the CPU loop is under test, whatever the suite runs on
    for forbid in (False, True):
        code = _PROCESS.format(forbid=forbid)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert done.stdout.strip() == "ok", done.stderr
        assert len(list(private_cache.iterdir())) == 1  # built by the first process only


@needs_compiler
@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_others_can_write_is_not_used(private_cache):
    private_cache.mkdir()
    private_cache.chmod(0o777)
    chosen = _host._cache_dir()
    assert chosen != str(private_cache)
    assert not os.stat(chosen).st_mode & (stat.S_IWGRP | stat.S_IWOTH)


@needs_compiler
def test_a_failed_compile_warns_once_and_leaves_every_op_to_its_twin(private_cache, monkeypatch):
    monkeypatch.setitem(_host._state, "enabled", None)
    calls = []
    op = ElementwiseOp("broken", "T x", "T y", "y = x +;", lambda x, y: calls.append(1))
    x, y = np.ones(3, "float32"), np.empty(3, "float32")
    with pytest.warns(RuntimeWarning, match="could not compile the CPU kernel 'broken'"):
        op(x, y)
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        op(x, y)
    assert not later
    assert calls == [1, 1]
    assert not any(private_cache.iterdir())
    healthy = _fresh_op(dense_kernels._FORWARD_OPS["relu"])
    assert not _host.run(healthy, (np.ones(3, "float32"), np.ones((2, 3), "float32")))


@needs_compiler
@pytest.mark.parametrize("failing", ["TemporaryDirectory", "replace"])
def test_a_cache_that_cannot_be_written_warns_once_and_leaves_ops_to_twins(
    private_cache, monkeypatch, failing
):
    # A full disk, a quota or a read-only file system: the folder passed the privacy check.
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(_host._state, "enabled", None)
    target = _host.tempfile if failing == "TemporaryDirectory" else _host.os
    monkeypatch.setattr(target, failing, no_space)
    op = _fresh_op(ElementwiseOp("plus_three", "T x", "T y", "y = x + (T)3;", None))
    op.numpy_twin = lambda x, y: np.add(x, 3.0, out=y)
    x, y = np.zeros(4, "float32"), np.empty(4, "float32")
    with pytest.warns(RuntimeWarning, match="could not write the CPU kernel 'plus_three'"):
        op(x, y)
    np.testing.assert_array_equal(y, np.full(4, 3.0))
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        op(x, y)
    assert not later and not _host.enabled()


_DAMAGED = (
    "import numpy as np\n"
    "from gpukeras.backend.kernels import _host\n"
    "from gpukeras.backend.kernels._op import ElementwiseOp\n"
    "_host.MIN_ELEMENTS = 1\n"
    "op = ElementwiseOp('plus_one', 'T x', 'T y', 'y = x + (T)1;', None)\n"
    "y = np.empty(4, 'float32')\n"
    "op(np.zeros(4, 'float32'), y)\n"
)


@needs_compiler
def test_a_damaged_cached_library_is_rebuilt(private_cache):
    env = {**os.environ, _host.CACHE_ENV_VAR: str(private_cache), _host.ENABLE_ENV_VAR: "1"}
    env["GPUKERAS_BACKEND"] = "numpy"  # the CPU loop is under test, whatever the suite runs on
    subprocess.run([sys.executable, "-c", _DAMAGED], env=env, check=True)  # another process
    (library,) = private_cache.iterdir()
    library.write_bytes(b"not a shared library")  # e.g. a disk that filled up
    op = ElementwiseOp("plus_one", "T x", "T y", "y = x + (T)1;", None)
    x, y = np.zeros(4, "float32"), np.empty(4, "float32")
    assert _host.run(op, (x, y))
    np.testing.assert_array_equal(y, np.ones(4))


def test_an_op_whose_outputs_are_all_raw_is_left_to_its_twin():
    op = ElementwiseOp("raw_only", "T x", "raw T y", "y[i] = x;", None)
    assert not _host.run(op, (np.ones(3, "float32"), np.empty(3, "float32")))


@needs_compiler
def test_small_outputs_run_the_twin(monkeypatch):
    monkeypatch.setattr(_host, "MIN_ELEMENTS", 64)
    bias = np.ones(8, "float32")
    assert not _host.run(_bias_relu(), (bias, np.ones((7, 8), "float32")))  # 56 elements
    assert _host.run(_bias_relu(), (bias, np.ones((8, 8), "float32")))  # 64
