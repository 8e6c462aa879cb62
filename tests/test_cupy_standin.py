"""The strict CuPy stand-in (tests/standin) catches what NumPy lets through and CuPy refuses.

Each test runs a short script in a subprocess with the stand-in first on the path and
``GPUKERAS_BACKEND=cupy``, so it works whether or not a real CuPy is installed here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "standin"


def run_on_standin(code: str) -> str:
    env = {
        **os.environ,
        "GPUKERAS_BACKEND": "cupy",
        "PYTHONPATH": os.pathsep.join([str(STANDIN), str(REPO)]),
        "GPUKERAS_HOST_KERNELS": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_numpy_refuses_device_arrays_and_device_arrays_refuse_host_ones():
    out = run_on_standin(
        """
        import numpy, cupy
        a = cupy.zeros(3, dtype="float32")
        for attempt in (lambda: numpy.asarray(a), lambda: numpy.add(a, 1), lambda: numpy.sum(a),
                        lambda: a + numpy.ones(3), lambda: cupy.add(a, numpy.ones(3)),
                        lambda: cupy.add(a, 1, where=True), lambda: cupy.add(a, [1, 2, 3])):
            try:
                attempt()
            except TypeError as error:
                print("refused:", type(error).__name__)
        try:
            cupy.errstate
        except AttributeError:
            print("refused: no errstate in CuPy")
        a[...] = numpy.ones(3)  # host to device is allowed, as in CuPy
        print("sum", float(a.sum()))
        """
    )
    assert out.count("refused:") == 8, out
    assert "sum 3.0" in out


def test_host_reads_are_counted_with_their_call_site():
    out = run_on_standin(
        """
        import cupy
        a = cupy.arange(4.0)
        a.get(); float(a[0]); a.item(1)
        reads = cupy.host_reads()
        print(sorted(reads.values()), all("<string>:4" in site for site in reads))
        """
    )
    assert "[1, 1, 1] True" in out


def test_kernel_type_placeholders_are_checked_like_cupy():
    out = run_on_standin(
        """
        import cupy
        from gpukeras.backend.kernels import normalization
        x = cupy.ones((4, 3), dtype="float16")
        scale = cupy.ones(3, dtype="float32")
        try:
            normalization.affine_op(x, scale, cupy.zeros(3, dtype="float16"), cupy.empty_like(x))
        except TypeError as error:
            print(error)
        """
    )
    assert "Type is mismatched. scale float32 float16 T" in out


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_batch_normalization_trains_and_predicts_under_mixed_precision(policy):
    if policy == "mixed_bfloat16":
        pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
    out = run_on_standin(
        f"""
        import numpy
        import gpukeras as keras
        keras.mixed_precision.set_global_policy({policy!r})
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(2)])
        model.compile(optimizer="adam", loss="mse")
        x = numpy.random.default_rng(0).normal(size=(32, 6)).astype("float32")
        history = model.fit(x, x[:, :2], epochs=2, batch_size=8, verbose=0)
        print("loss", numpy.isfinite(history.history["loss"]).all())
        print("predict", model.predict(x, verbose=0).shape)
        """
    )
    assert "loss True" in out and "predict (32, 2)" in out


def test_a_layer_forward_given_a_host_array_on_cupy_is_refused_clearly():
    out = run_on_standin(
        """
        import numpy
        import gpukeras as keras
        layer = keras.layers.Conv2D(2, 3)
        layer.build((None, 5, 5, 1))
        try:
            layer.forward(numpy.ones((1, 5, 5, 1), dtype="float32"))
        except TypeError as error:
            print(error)
        """
    )
    assert "runs on the CuPy backend and was given a host NumPy array for `x`" in out, out


def test_fit_reads_the_host_only_through_to_host_once_per_epoch():
    out = run_on_standin(
        """
        import numpy, cupy
        import gpukeras as keras
        from gpukeras import backend as K
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.BatchNormalization(),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        x = numpy.random.default_rng(0).normal(size=(64, 6)).astype("float32")
        y = numpy.eye(3, dtype="float32")[numpy.arange(64) % 3]
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # first-use work out of the way
        cupy.reset_host_reads()
        before = K.host_syncs()
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25)
        reads = cupy.host_reads()
        print("sites", sorted({site.split(":")[0].rsplit("/", 2)[-2:][-1] for site in reads}))
        print("reads", sum(reads.values()), "syncs", K.host_syncs() - before)
        """
    )
    assert "sites ['_transfer.py']" in out, out
    assert "reads 3 syncs 3" in out, out


def test_device_arrays_of_types_cupy_lacks_are_refused():
    out = run_on_standin(
        """
        import cupy
        for values in (["a", "b"], [object()]):
            try:
                cupy.asarray(values)
            except TypeError as error:
                print("refused", error)
        """
    )
    assert out.count("refused Unsupported dtype") == 2, out


def test_kernel_outputs_must_have_the_loop_shape_like_cupy():
    out = run_on_standin(
        """
        import cupy
        from gpukeras.backend.kernels import normalization
        x, channel = cupy.ones((4, 3), dtype="float32"), cupy.ones(3, dtype="float32")
        try:
            normalization.affine_op(x, channel, channel, cupy.empty((1, 3), dtype="float32"))
        except ValueError as error:
            print(error)
        """
    )
    assert "Out shape is mismatched" in out, out
