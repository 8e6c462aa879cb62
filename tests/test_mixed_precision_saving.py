"""Mixed precision models through saving and loading: dtype policies, LossScaleOptimizer state.

Formats: ``.keras``, legacy ``.h5`` and ``.weights.h5``. Files written by Keras 3 come from
tests/fixtures/make_mixed_precision_fixtures.py; the ``real_keras`` tests run the reference
Keras when GPUKERAS_KERAS_PYTHON names its Python.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import mixed_precision, optimizers
from gpukeras.mixed_precision import LossScaleOptimizer
from gpukeras.models import load_model
from gpukeras.saving import FileFormatError
from gpukeras.saving._h5safe import read_string_list

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
KERAS_FILE = os.path.join(FIXTURES, "keras_mixed_float16")
FORMATS = [".keras", ".h5", ".weights.h5"]
MODEL_FORMATS = [".keras", ".h5"]
KERAS_PYTHON = os.environ.get("GPUKERAS_KERAS_PYTHON")
needs_keras = pytest.mark.skipif(
    not KERAS_PYTHON, reason="set GPUKERAS_KERAS_PYTHON to a Python with keras 3 installed"
)


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    mixed_precision.set_global_policy(None)


def make_model(optimizer="adam", policy="mixed_float16"):
    """A small classifier built and compiled under ``policy`` (the global policy is reset)."""
    mixed_precision.set_global_policy(policy)
    try:
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(5, activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    finally:
        mixed_precision.set_global_policy(None)
    return model


def scaled_adam():
    """A LossScaleOptimizer whose state moves in one epoch: with 8 steps it skips 4 that
    overflow float16 (halving the scale from 2**20) and doubles the scale every 3."""
    return LossScaleOptimizer(optimizers.Adam(), initial_scale=2.0**20, dynamic_growth_steps=3)


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4), dtype="float32")
    return x, np.eye(3, dtype="float32")[rng.integers(0, 3, n)]


def save(model, path):
    if str(path).endswith(".weights.h5"):
        model.save_weights(path)
    else:
        model.save(path)


def reload(path, optimizer="adam"):
    """``load_model`` (under the float32 policy: the file must carry the policies), or for
    ``.weights.h5`` a model built under mixed_float16 that then loads the weights."""
    if str(path).endswith(".weights.h5"):
        model = make_model(optimizer)
        model.load_weights(path)
        return model
    return load_model(path)


def host(values):
    return [np.asarray(K.to_host(value)) for value in values]


def assert_mixed_float16(model):
    for layer in model.layers:
        assert layer.dtype_policy.name == "mixed_float16"
        assert (layer.compute_dtype, layer.dtype) == ("float16", "float32")
        assert all(weight.value.dtype == np.float32 for weight in layer.weights)


def settings(optimizer):
    """The config without the name (a model built anew names its optimizer 'adam_<n>')."""
    return {key: value for key, value in optimizer.get_config().items() if key != "name"}


def assert_same_state(actual, expected):
    """Same LossScaleOptimizer state: scale, counter, inner optimizer and every variable."""
    assert type(actual) is LossScaleOptimizer
    assert type(actual.inner_optimizer) is type(expected.inner_optimizer)
    assert settings(actual.inner_optimizer) == settings(expected.inner_optimizer)
    assert (actual.dynamic_scale, actual.step_counter, actual.iterations) == (
        expected.dynamic_scale,
        expected.step_counter,
        expected.iterations,
    )
    assert len(actual.variable_names) == len(expected.variable_names)
    assert actual.variable_names[:4] == [
        "iteration",
        "learning_rate",
        "step_counter",
        "dynamic_scale",
    ]
    for a, e in zip(host(actual.variables), host(expected.variables), strict=True):
        np.testing.assert_array_equal(a, e)


# -- round trips -----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", FORMATS)
def test_the_reported_model_loads_with_its_policy_and_optimizer(tmp_path, suffix):
    model = make_model()
    model.fit(*data(), epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    save(model, path)
    loaded = reload(path)
    assert_mixed_float16(loaded)
    assert_same_state(loaded.optimizer, model.optimizer)
    assert loaded.optimizer.name == "loss_scale_optimizer"
    x = data(seed=1)[0]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("suffix", FORMATS)
def test_training_resumes_bit_for_bit(tmp_path, suffix, backend_name):
    """fit 2 epochs straight == fit 1, save, load, fit 1 (skipped steps, scale and counter)."""
    x, y = data()
    straight, interrupted = make_model(scaled_adam()), make_model(scaled_adam())
    interrupted.set_weights(straight.get_weights())
    straight.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    interrupted.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    state = interrupted.optimizer
    assert state.skipped_steps > 0 and state.dynamic_scale not in (2.0**20, 2.0**15)
    assert state.step_counter != 0
    path = tmp_path / f"m{suffix}"
    save(interrupted, path)
    resumed = reload(path, scaled_adam())
    assert_same_state(resumed.optimizer, interrupted.optimizer)
    assert resumed.optimizer.initial_scale == 2.0**20
    assert resumed.optimizer.dynamic_growth_steps == 3
    resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert resumed.optimizer.dynamic_scale == straight.optimizer.dynamic_scale
    assert resumed.optimizer.iterations == straight.optimizer.iterations
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        if backend_name == "numpy":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("suffix", FORMATS)
def test_mixed_bfloat16_round_trip(tmp_path, suffix):
    pytest.importorskip("ml_dtypes")
    model = make_model(policy="mixed_bfloat16")
    assert not isinstance(model.optimizer, LossScaleOptimizer)  # Keras scales float16 only
    model.fit(*data(), epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    save(model, path)
    if suffix == ".weights.h5":
        loaded = make_model(policy="mixed_bfloat16")
        loaded.load_weights(path)
    else:
        loaded = load_model(path)
    for layer in loaded.layers:
        assert layer.dtype_policy.name == "mixed_bfloat16"
        assert (layer.compute_dtype, layer.dtype) == ("bfloat16", "float32")
    assert loaded.optimizer.iterations == model.optimizer.iterations


@pytest.mark.parametrize("suffix", MODEL_FORMATS)
def test_mixed_bfloat16_without_ml_dtypes_is_refused_clearly(tmp_path, suffix, monkeypatch):
    try:
        np.dtype("bfloat16")
        pytest.skip("NumPy already has a bfloat16 type in this process")
    except TypeError:
        pass
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import ml_dtypes raises
    path = tmp_path / f"m{suffix}"
    make_model().save(path)
    edit_dense_dtype(path, policy_entry("mixed_bfloat16"))
    with pytest.raises(FileFormatError) as info:
        load_model(path)
    message = str(info.value)
    assert "layer #1" in message and "(Dense)" in message and str(path) in message
    assert "'mixed_bfloat16'" in message and "ml_dtypes" in message


# -- what the files hold (Keras 3's forms) -----------------------------------------------------
def policy_entry(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}}


def read_config(path):
    """(model config, compile settings) as the file holds them."""
    if str(path).endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        return config, config["compile_config"]
    with h5py.File(path, "r") as file:
        training = json.loads(file.attrs["training_config"])
        return json.loads(file.attrs["model_config"]), training


@pytest.mark.parametrize("suffix", MODEL_FORMATS)
def test_configs_hold_dtype_policies_and_the_loss_scale_optimizer(tmp_path, suffix):
    model = make_model()
    model.fit(*data(), epochs=1, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    config, training = read_config(tmp_path / f"m{suffix}")
    input_entry, *dense_entries = config["config"]["layers"]
    assert input_entry["config"]["dtype"] == "float32"  # InputLayer: a plain string, as Keras
    for entry in dense_entries:
        assert entry["config"]["dtype"] == {
            **policy_entry("mixed_float16"),
            "registered_name": None,
        }
    optimizer = training["optimizer" if suffix == ".keras" else "optimizer_config"]
    assert optimizer["class_name"] == "LossScaleOptimizer"
    assert set(optimizer["config"]) == {
        "name",
        "inner_optimizer",
        "initial_scale",
        "dynamic_growth_steps",
    }
    inner = optimizer["config"]["inner_optimizer"]
    assert (inner["class_name"], inner["module"]) == ("Adam", "keras.optimizers")
    assert optimizer["config"]["initial_scale"] == 2.0**15
    assert optimizer["config"]["dynamic_growth_steps"] == 2000


def weights_file(path):
    """The HDF5 weights of a ``.keras`` archive, or the file itself."""
    if str(path).endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            return h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    return h5py.File(path, "r")


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_keras3_layout_of_the_optimizer_state(tmp_path, suffix):
    """``optimizer/vars``: the wrapper's iteration, learning_rate, step_counter, dynamic_scale
    then the inner optimizer's variables; ``optimizer/inner_optimizer/vars``: the inner's."""
    model = make_model(scaled_adam())
    model.fit(*data(), batch_size=4, epochs=1, verbose=0)
    save(model, tmp_path / f"m{suffix}")
    optimizer = model.optimizer
    inner = host(optimizer.inner_optimizer.variables)
    with weights_file(tmp_path / f"m{suffix}") as file:
        own = file["optimizer/vars"]
        assert own.attrs["name"] == "loss_scale_optimizer" and len(own) == 4 + len(inner)
        assert [int(own["0"][()]), float(own["1"][()])] == [0, 0.0]
        assert int(own["2"][()]) == optimizer.step_counter
        assert float(own["3"][()]) == optimizer.dynamic_scale
        wrapped = file["optimizer/inner_optimizer/vars"]
        assert wrapped.attrs["name"] == optimizer.inner_optimizer.name
        for index, value in enumerate(inner):
            np.testing.assert_array_equal(own[str(4 + index)][()], value)
            np.testing.assert_array_equal(wrapped[str(index)][()], value)


def test_legacy_h5_names_the_optimizer_weights_as_keras(tmp_path):
    model = make_model()
    model.fit(*data(), epochs=1, verbose=0)
    model.save(tmp_path / "m.h5")
    inner = model.optimizer.inner_optimizer
    with h5py.File(tmp_path / "m.h5", "r") as file:
        names = read_string_list(file["optimizer_weights"], "weight_names")
        assert names[:4] == [
            "loss_scale_optimizer/iteration",
            "loss_scale_optimizer/learning_rate",
            "loss_scale_optimizer/step_counter",
            "loss_scale_optimizer/dynamic_scale",
        ]
        assert names[4:] == [f"{inner.name}/{name}" for name in inner.variable_names]
        assert float(file["optimizer_weights"][names[3]][()]) == model.optimizer.dynamic_scale


# -- files written by Keras 3 ------------------------------------------------------------------
KERAS = np.load(f"{KERAS_FILE}.npz")


@pytest.mark.parametrize("suffix", FORMATS)
def test_loads_keras_written_mixed_float16_files(suffix):
    """Keras's .keras names the optimizer given to compile ('Adam'); the state in it is the
    LossScaleOptimizer's, so gpukeras wraps Adam back (Keras itself does so only when the
    global policy is mixed_float16 at load time)."""
    model = reload(f"{KERAS_FILE}{suffix}")
    assert_mixed_float16(model)
    optimizer = model.optimizer
    assert (
        type(optimizer) is LossScaleOptimizer and type(optimizer.inner_optimizer).__name__ == "Adam"
    )
    expected = [KERAS[f"opt{i}"] for i in range(len(KERAS.files) - 6)]
    actual = host(optimizer.variables)
    assert len(actual) == len(expected)
    for a, e in zip(actual[1:], expected[1:], strict=True):  # [0]: the wrapper's own iteration
        np.testing.assert_array_equal(a, e)
    assert (optimizer.step_counter, optimizer.iterations) == (4, 4)
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(weight, KERAS[f"w{i}"])
    # float16 arithmetic: JAX/XLA and NumPy round differently.
    np.testing.assert_allclose(model.predict(KERAS["x"], verbose=0), KERAS["y"], atol=2e-3)
    model.fit(KERAS["x"], KERAS["y"], batch_size=4, epochs=1, verbose=0)
    assert optimizer.iterations == 8


# -- bad input ---------------------------------------------------------------------------------
def edit_dense_dtype(path, dtype):
    """Set the first Dense entry's dtype in the model config of a .keras or .h5 file."""
    if str(path).endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        config = json.loads(members["config.json"])
        config["config"]["layers"][1]["config"]["dtype"] = dtype
        members["config.json"] = json.dumps(config).encode()
        with zipfile.ZipFile(path, "w") as archive:
            for name, data_bytes in members.items():
                archive.writestr(name, data_bytes)
        return
    with h5py.File(path, "a") as file:
        config = json.loads(file.attrs["model_config"])
        config["config"]["layers"][1]["config"]["dtype"] = dtype
        file.attrs["model_config"] = json.dumps(config).encode()


@pytest.mark.parametrize("suffix", MODEL_FORMATS)
@pytest.mark.parametrize(
    "dtype, shown, match",
    [
        (16, "16", "expected a dtype name"),
        ({"class_name": "DTypePolicy", "config": {"name": 16}}, "16", "expected a dtype name"),
        ({"class_name": "DTypePolicy", "config": {"name": None}}, "None", "expected a dtype"),
        ({"class_name": "DTypePolicy", "config": "mixed_float16"}, "'mixed_float16'", "not supp"),
        ({"class_name": "FancyPolicy", "config": {"name": "f32"}}, "'FancyPolicy'", "not supp"),
        ({"class_name": ["x"], "config": {}}, "['x']", "not supported"),
        (
            {"class_name": "QuantizedDTypePolicy", "config": {"name": "int8_from_mixed_float16"}},
            "'QuantizedDTypePolicy'",
            "quantized dtype policy",
        ),
        ({"class_name": "DTypePolicyMap", "config": {}}, "'DTypePolicyMap'", "not supported"),
        ("mixed_int8", "'mixed_int8'", "unknown mixed precision policy"),
        (policy_entry("mixed_float8"), "'mixed_float8'", "unknown mixed precision policy"),
        ("int8_from_mixed_float16", "'int8_from_mixed_float16'", "quantized dtype policies"),
        (["mixed_float16"], "['mixed_float16']", "expected a dtype name"),
    ],
)
def test_odd_dtype_entries_name_the_layer_and_the_value(tmp_path, suffix, dtype, shown, match):
    path = tmp_path / f"m{suffix}"
    make_model().save(path)
    edit_dense_dtype(path, dtype)
    with pytest.raises(FileFormatError, match=match) as info:
        load_model(path)
    message = str(info.value)
    assert f"layer #1 in {path} (Dense)" in message and shown in message


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update(dynamic_growth_steps=0),
        lambda c: c.pop("inner_optimizer"),
        lambda c: c.update(inner_optimizer={"class_name": "LossScaleOptimizer", "config": dict(c)}),
        lambda c: c["inner_optimizer"].update(class_name="Frobnicator"),
    ],
)
def test_unusable_loss_scale_settings_load_uncompiled_with_a_warning(tmp_path, change):
    path = tmp_path / "m.h5"
    model = make_model()
    model.fit(*data(), epochs=1, verbose=0)
    model.save(path)
    with h5py.File(path, "a") as file:
        training = json.loads(file.attrs["training_config"])
        change(training["optimizer_config"]["config"])
        file.attrs["training_config"] = json.dumps(training).encode()
    with pytest.warns(UserWarning, match="Could not compile"):
        loaded = load_model(path)
    assert not loaded.compiled
    assert_mixed_float16(loaded)


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_a_nonsense_loss_scale_in_the_file_is_refused(tmp_path, suffix):
    model = make_model()
    model.fit(*data(), epochs=1, verbose=0)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "a") as file:
        file["optimizer/vars/3"][()] = np.float32("nan")
    target = make_model()
    with pytest.raises(ValueError, match="dynamic_scale must be finite"):
        target.load_weights(path)


def test_loss_scale_optimizer_deserializes_by_name():
    optimizer = LossScaleOptimizer(optimizers.SGD(0.1, momentum=0.9), initial_scale=8.0)
    again = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(again) is LossScaleOptimizer and type(again.inner_optimizer) is optimizers.SGD
    assert again.get_config() == optimizer.get_config()
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get("lossscaleoptimizer")  # needs the optimizer it wraps


# -- real Keras 3 --------------------------------------------------------------------------------
def run_keras(script, folder):
    environment = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")}
    result = subprocess.run(
        [KERAS_PYTHON, "-c", textwrap.dedent(script), str(folder)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


_KERAS_READS = """
    import sys, warnings, numpy as np, keras
    warnings.simplefilter("error", UserWarning)  # a skipped optimizer state fails the test
    folder = sys.argv[1]
    expected = np.load(f"{folder}/state.npz")
    state = [expected[f"opt{i}"] for i in range(len(expected.files) - 2)]

    def check(model, name, whole):
        o = model.optimizer
        assert type(o).__name__ == "LossScaleOptimizer", (name, o)
        assert type(o.inner_optimizer).__name__ == "Adam", name
        assert [l.dtype_policy.name for l in model.layers] == ["mixed_float16"] * 2, name
        assert (float(o.dynamic_scale), int(o.step_counter)) == (
            float(state[3]), int(state[2])), name
        values = [np.asarray(v) for v in o.variables]
        # Keras 3.15 restores only the wrapper's own four variables from a legacy .h5 (its
        # own files too): the inner optimizer is left unbuilt there, and
        # LossScaleOptimizer.set_weights sets its own variables only.
        if not whole:
            values, state_now = values[:4], state[:4]
        else:
            state_now = state
        assert len(values) == len(state_now), name
        for a, e in zip(values[1:], state_now[1:]):
            np.testing.assert_array_equal(a, e.astype(a.dtype), err_msg=name)
        np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                                   atol=2e-3, err_msg=name)

    check(keras.models.load_model(f"{folder}/m.keras"), "m.keras", True)
    check(keras.models.load_model(f"{folder}/m.h5"), "m.h5", False)
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(), "categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    model.load_weights(f"{folder}/m.weights.h5")
    check(model, "m.weights.h5", True)
    print("keras read all files")
"""


@needs_keras
def test_real_keras_loads_gpukeras_mixed_float16_files(tmp_path):
    model = make_model(scaled_adam())
    x, y = data()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for suffix in FORMATS:
        save(model, tmp_path / f"m{suffix}")
    state = {f"opt{i}": value for i, value in enumerate(host(model.optimizer.variables))}
    np.savez(tmp_path / "state.npz", x=x, y=model.predict(x, verbose=0), **state)
    assert "keras read all files" in run_keras(_KERAS_READS, tmp_path)


_KERAS_WRITES = """
    import sys, numpy as np, keras
    folder = sys.argv[1]
    keras.utils.set_random_seed(3)
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    inner = keras.optimizers.SGD(0.1, momentum=0.9)
    model.compile(keras.optimizers.LossScaleOptimizer(inner, initial_scale=2.0**20,
                                                      dynamic_growth_steps=3),
                  "categorical_crossentropy")
    x = np.random.rand(32, 4).astype("float32")
    y = np.eye(3, dtype="float32")[np.random.randint(0, 3, 32)]
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save(f"{folder}/k.keras")
    model.save_weights(f"{folder}/k.weights.h5")
    model.save(f"{folder}/k.h5")
    np.savez(f"{folder}/k.npz", x=x, y=np.asarray(model.predict(x, verbose=0), "float32"),
             **{f"opt{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
"""


@needs_keras
@pytest.mark.parametrize("suffix", FORMATS)
def test_gpukeras_loads_real_keras_mixed_float16_files(tmp_path, suffix):
    """An explicit LossScaleOptimizer(SGD) whose scale moved (overflowing steps skipped)."""
    run_keras(_KERAS_WRITES, tmp_path)
    expected = np.load(tmp_path / "k.npz")
    path = tmp_path / f"k{suffix}"
    model = reload(path, LossScaleOptimizer(optimizers.SGD(0.1, momentum=0.9)))
    assert_mixed_float16(model)
    optimizer = model.optimizer
    assert type(optimizer) is LossScaleOptimizer
    assert type(optimizer.inner_optimizer) is optimizers.SGD
    assert optimizer.inner_optimizer.momentum == 0.9
    if suffix != ".weights.h5":
        assert (optimizer.initial_scale, optimizer.dynamic_growth_steps) == (2.0**20, 3)
    actual = host(optimizer.variables)
    assert len(actual) == len(expected.files) - 2
    for i, value in enumerate(actual[1:], start=1):
        np.testing.assert_array_equal(value, expected[f"opt{i}"])
    assert optimizer.dynamic_scale < 2.0**20  # Keras skipped overflowing steps
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"], atol=2e-3)
