"""SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed: gradients, Keras parity, masks, files."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import layers, models, optimizers, regularizers
from gpukeras.backend.kernels import recurrent as kernels
from gpukeras.layers._serialization import deserialize, serialize
from tests.fixtures.recurrent_cases import ALL_CASES, MASK, UNMASKED
from tests.gradcheck import check_layer_gradients, numerical_gradient

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4, 2))
SMALL_MASK = np.array([[1, 1, 0, 1], [0, 1, 1, 0], [1, 0, 0, 0]], dtype=bool)


@pytest.fixture(scope="module")
def keras_outputs():
    with np.load(os.path.join(FIXTURES, "recurrent_layers.npz")) as data:
        return {key: data[key] for key in data.files}


def make(class_name, kwargs, **extra):
    kwargs = {**kwargs, **extra}
    if "layer" in kwargs:
        inner_class, inner_kwargs = kwargs["layer"]
        kwargs["layer"] = make(inner_class, inner_kwargs, **extra)
        kwargs.pop("dtype", None) if class_name == "TimeDistributed" else None
    return getattr(layers, class_name)(**kwargs)


def as_list(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


# -- gradients ------------------------------------------------------------------

RECURRENT = [
    ("SimpleRNN", {}),
    ("LSTM", {}),
    ("LSTM", {"activation": "softsign", "recurrent_activation": "tanh"}),
    ("LSTM", {"use_bias": False}),
    ("GRU", {}),
    ("GRU", {"reset_after": False}),
    ("GRU", {"activation": "softsign"}),
]


@pytest.mark.parametrize("class_name, kwargs", RECURRENT)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_recurrent_gradients(xp, class_name, kwargs, return_sequences, go_backwards, masked):
    layer = getattr(layers, class_name)(
        3,
        return_sequences=return_sequences,
        go_backwards=go_backwards,
        dtype="float64",
        bias_initializer="random_normal",
        **kwargs,
    )
    layer.ensure_built(X.shape)
    layer.input_mask = K.to_device(SMALL_MASK) if masked else None
    check_layer_gradients(layer, X)


@pytest.mark.parametrize("class_name", ["LSTM", "GRU", "SimpleRNN"])
def test_zero_output_for_mask_gradients(xp, class_name):
    layer = getattr(layers, class_name)(
        3, return_sequences=True, zero_output_for_mask=True, dtype="float64"
    )
    layer.ensure_built(X.shape)
    layer.input_mask = K.to_device(SMALL_MASK)
    check_layer_gradients(layer, X)


@pytest.mark.parametrize("class_name", ["LSTM", "GRU"])
def test_return_state_gradients_include_state_and_initial_state(xp, class_name):
    layer = getattr(layers, class_name)(
        3, return_sequences=True, return_state=True, dtype="float64"
    )
    x = K.to_device(X)
    layer.ensure_built(x.shape)
    layer.input_mask = K.to_device(SMALL_MASK)
    init = [K.to_device(RNG.normal(size=(3, 3))) for _ in range(layer.state_count)]
    outputs = layer.forward(x, initial_state=init)
    weights = [K.to_device(RNG.normal(size=o.shape)) for o in outputs]

    def objective() -> float:
        result = layer.forward(x, initial_state=init)
        return float(K.to_host(sum((o * w).sum() for o, w in zip(result, weights))))

    layer.forward(x, initial_state=init)
    grad_x = K.to_host(layer.backward(weights))
    grad_init = [K.to_host(g) for g in layer.initial_state_grads]
    grad_rec = K.to_host(layer.recurrent_kernel.grad).copy()
    np.testing.assert_allclose(grad_x, numerical_gradient(objective, x), rtol=1e-5, atol=1e-7)
    for analytic, state in zip(grad_init, init):
        np.testing.assert_allclose(
            analytic, numerical_gradient(objective, state), rtol=1e-5, atol=1e-7
        )
    numeric_rec = numerical_gradient(objective, layer.recurrent_kernel.value)
    np.testing.assert_allclose(grad_rec, numeric_rec, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_gradients(xp, merge_mode, return_sequences):
    layer = layers.Bidirectional(
        layers.LSTM(2, return_sequences=return_sequences, dtype="float64"),
        merge_mode=merge_mode,
        dtype="float64",
    )
    layer.ensure_built(X.shape)
    layer.input_mask = K.to_device(SMALL_MASK)
    check_layer_gradients(layer, X)


def test_bidirectional_gru_without_merge_gradients(xp):
    layer = layers.Bidirectional(
        layers.GRU(2, return_sequences=True, dtype="float64"), merge_mode=None
    )
    x = K.to_device(X)
    layer.ensure_built(x.shape)
    weights = [K.to_device(RNG.normal(size=(3, 4, 2))) for _ in range(2)]

    def objective() -> float:
        y, y_rev = layer.forward(x)
        return float(K.to_host((y * weights[0]).sum() + (y_rev * weights[1]).sum()))

    layer.forward(x)
    grad_x = K.to_host(layer.backward(weights))
    np.testing.assert_allclose(grad_x, numerical_gradient(objective, x), rtol=1e-5, atol=1e-7)


def test_time_distributed_dense_gradients(xp):
    layer = layers.TimeDistributed(
        layers.Dense(3, activation="tanh", dtype="float64", bias_initializer="random_normal")
    )
    check_layer_gradients(layer, RNG.normal(size=(2, 4, 5)))
    assert layer.compute_output_shape((None, 4, 5)) == (None, 4, 3)
    assert [w.shape for w in layer.weights] == [(5, 3), (3,)]


def test_regularizer_gradients_reach_recurrent_weights(xp):
    layer = layers.LSTM(
        2,
        dtype="float64",
        kernel_regularizer=regularizers.L2(0.1),
        recurrent_regularizer=regularizers.L1(0.05),
        bias_regularizer=regularizers.L2(0.2),
    )
    x = K.to_device(X)
    layer.ensure_built(x.shape)
    r = K.to_device(RNG.normal(size=(3, 2)))

    def total() -> float:
        y, _ = layer.forward_tracked(x, True)
        value = (y * r).sum()
        for penalty in layer.penalties():
            value = value + penalty
        return float(K.to_host(value))

    layer.forward_tracked(x, True)
    layer.backward_with_penalties(r)
    for variable in layer.trainable_weights:
        analytic = K.to_host(variable.grad).copy()
        np.testing.assert_allclose(
            analytic, numerical_gradient(total, variable.value), rtol=1e-5, atol=1e-7
        )


def test_dropout_uses_one_mask_per_sequence_and_its_gradient(xp):
    layer = layers.LSTM(3, dropout=0.5, seed=4, dtype="float64")
    x = K.to_device(X)
    layer.ensure_built(x.shape)
    y = layer.forward(x, training=True)
    mask = layer._dropout_mask
    assert mask.shape == (3, 2)  # one (batch, features) mask for all timesteps
    np.testing.assert_allclose(K.to_host(layer.forward(x)), K.to_host(layer(x)))
    r = K.to_device(RNG.normal(size=y.shape))
    layer.forward(x, training=True)
    grad = K.to_host(layer.backward(r))
    # Dropped features get no gradient at any timestep.
    dropped = K.to_host(layer._dropout_mask) == 0
    assert dropped.any()
    assert np.all(grad.transpose(1, 0, 2)[:, dropped] == 0)


# -- fused kernels agree with the plain array path ---------------------------------


def test_fused_and_plain_paths_agree(xp):
    x = K.to_device(RNG.normal(size=(3, 4, 2)).astype("float32"))
    for class_name in ("LSTM", "GRU"):
        fused = getattr(layers, class_name)(4, return_sequences=True)
        plain = getattr(layers, class_name)(4, return_sequences=True)
        plain._uses_fused_gates = lambda: False  # force the generic path
        fused.ensure_built(x.shape)
        plain.ensure_built(x.shape)
        plain.set_weights(fused.get_weights())
        for layer in (fused, plain):
            layer.input_mask = K.to_device(SMALL_MASK)
        np.testing.assert_allclose(
            K.to_host(fused.forward(x)), K.to_host(plain.forward(x)), rtol=1e-5, atol=1e-6
        )
        g = K.to_device(RNG.normal(size=(3, 4, 4)).astype("float32"))
        np.testing.assert_allclose(
            K.to_host(fused.backward(g)), K.to_host(plain.backward(g)), rtol=1e-4, atol=1e-5
        )


def test_scatter_add_accumulates_repeated_rows(xp):
    target = xp.zeros((4, 2), dtype="float32")
    kernels.scatter_add(target, xp.asarray([1, 3, 1]), xp.ones((3, 2), dtype="float32"))
    np.testing.assert_array_equal(K.to_host(target), [[0, 0], [2, 2], [0, 0], [1, 1]])


# -- parity with Keras 3 -----------------------------------------------------------


@pytest.mark.parametrize("name, class_name, kwargs", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_outputs_match_keras(xp, keras_outputs, name, class_name, kwargs):
    data = keras_outputs
    layer = make(class_name, kwargs)
    x = data[f"{name}/x"]
    layer(x)
    layer.set_weights([data[f"{name}/w{i}"] for i in range(int(data[f"{name}/n_weights"]))])
    count = int(data[f"{name}/n_outputs"])
    got = as_list(layer(x))
    assert len(got) == count
    for i, y in enumerate(got):
        np.testing.assert_allclose(K.to_host(y), data[f"{name}/out{i}"], rtol=1e-5, atol=2e-6)
    if name in UNMASKED:
        return
    masked = as_list(layer(x, mask=np.asarray(MASK, dtype=bool)))
    for i, y in enumerate(masked):
        np.testing.assert_allclose(
            K.to_host(y), data[f"{name}/masked_out{i}"], rtol=1e-5, atol=2e-6, err_msg=f"out{i}"
        )


def test_weight_shapes_and_names_follow_keras(xp):
    lstm = layers.LSTM(5)
    lstm.ensure_built((None, 7, 3))
    assert [(w.name, w.shape) for w in lstm.weights] == [
        ("kernel", (3, 20)),
        ("recurrent_kernel", (5, 20)),
        ("bias", (20,)),
    ]
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    gru = layers.GRU(5)
    gru.ensure_built((None, 7, 3))
    assert [w.shape for w in gru.weights] == [(3, 15), (5, 15), (2, 15)]
    gru_before = layers.GRU(5, reset_after=False)
    gru_before.ensure_built((None, 7, 3))
    assert gru_before.weights[2].shape == (15,)
    rnn = layers.SimpleRNN(5)
    rnn.ensure_built((None, 7, 3))
    assert [w.shape for w in rnn.weights] == [(3, 5), (5, 5), (5,)]
    recurrent = rnn.get_weights()[1]
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(5), atol=1e-5)  # orthogonal
    bidi = layers.Bidirectional(layers.LSTM(2))
    bidi.ensure_built((None, 4, 3))
    assert bidi.weights[0].path.startswith("forward_lstm")
    assert bidi.weights[3].path.startswith("backward_lstm")
    assert bidi.count_params() == 2 * (3 * 8 + 2 * 8 + 8)


# -- masks through a model ---------------------------------------------------------


def test_mask_flows_from_embedding_through_sequences(xp):
    tokens = np.array([[3, 1, 0, 0], [0, 2, 2, 5]])
    model = models.Sequential(
        [
            layers.Input((4,)),
            layers.Embedding(6, 3, mask_zero=True),
            layers.LSTM(4, return_sequences=True),
            layers.GRU(2),
        ]
    )
    lstm = model.layers[1]
    full = K.to_host(model(tokens))
    # The same sequences without their padding give the same result.
    for row, keep in ((0, [0, 1]), (1, [1, 2, 3])):
        alone = tokens[row : row + 1, keep]
        gru = model.layers[2]
        expect = gru(lstm(model.layers[0](alone)))
        np.testing.assert_allclose(full[row : row + 1], K.to_host(expect), rtol=1e-5, atol=1e-6)
    assert lstm.compute_mask(None, "m") == "m"
    assert model.layers[2].compute_mask(None, "m") is None


def test_model_fit_learns_a_sequence_task(xp):
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 5, size=(256, 6))
    labels = (tokens == 4).sum(axis=1) % 2  # parity of the number of 4s: needs memory
    tokens[::3, -2:] = 0  # trailing padding, masked
    labels = ((tokens == 4).sum(axis=1) % 2).astype("int64")
    model = models.Sequential(
        [
            layers.Input((6,)),
            layers.Embedding(5, 8, mask_zero=True),
            layers.LSTM(16),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizers.Adam(0.02),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(tokens, labels, epochs=25, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


# -- Keras files -------------------------------------------------------------------


def _keras_model():
    return models.Sequential(
        [
            layers.Input((6,)),
            layers.Embedding(12, 4, mask_zero=True),
            layers.LSTM(5),
            layers.Dense(3, activation="softmax"),
        ]
    )


def test_keras_weights_set_by_order_predict_like_keras(xp, keras_outputs):
    data = keras_outputs
    model = _keras_model()
    model.set_weights([data[f"model/w{i}"] for i in range(6)])
    got = model.predict(data["model/tokens"], verbose=0)
    np.testing.assert_allclose(got, data["model/predictions"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("filename", ["recurrent_model.weights.h5", "recurrent_model.h5"])
def test_keras_weight_files_load(xp, keras_outputs, filename):
    data = keras_outputs
    model = _keras_model()
    model.load_weights(os.path.join(FIXTURES, filename))
    got = model.predict(data["model/tokens"], verbose=0)
    np.testing.assert_allclose(got, data["model/predictions"], rtol=1e-5, atol=1e-6)


# -- direct calls, configs, bad input -----------------------------------------------


def test_direct_call_with_return_state_returns_a_list(xp):
    layer = layers.LSTM(3, return_state=True)
    out, h, c = layer(RNG.normal(size=(2, 5, 4)).astype("float32"))
    np.testing.assert_array_equal(K.to_host(out), K.to_host(h))
    assert c.shape == (2, 3)
    again = layer(RNG.normal(size=(2, 5, 4)), initial_state=[h, c])
    assert len(again) == 3
    assert layer.compute_output_shape((None, 5, 4)) == [(None, 3), (None, 3), (None, 3)]


@pytest.mark.parametrize(
    "layer",
    [
        lambda: layers.LSTM(3, return_sequences=True, go_backwards=True, dropout=0.25),
        lambda: layers.GRU(2, reset_after=False, activation="relu"),
        lambda: layers.SimpleRNN(4, use_bias=False),
        lambda: layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="sum"),
        lambda: layers.TimeDistributed(layers.Dense(3)),
    ],
)
def test_config_round_trip(xp, layer):
    original = layer()
    original.ensure_built((None, 4, 3))
    copy = deserialize(serialize(original))
    assert type(copy) is type(original)
    assert copy.get_config() == {**original.get_config()}
    assert [w.shape for w in copy.weights] == [w.shape for w in original.weights]


def test_lstm_config_has_keras_keys(xp):
    config = layers.LSTM(3).get_config()
    for key in ("units", "activation", "recurrent_activation", "unit_forget_bias",
                "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                "dropout", "recurrent_dropout", "recurrent_initializer", "seed"):  # fmt: skip
        assert key in config
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal"
    assert layers.GRU(3).get_config()["reset_after"] is True


def test_legacy_argument_names(xp):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = layers.LSTM(output_dim=3, inner_activation="hard_sigmoid", init="he_normal")
    assert layer.units == 3
    assert layer.recurrent_activation.name == "hard_sigmoid"
    assert any("output_dim" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: layers.LSTM(0), "units"),
        (lambda: layers.GRU(-2), "units"),
        (lambda: layers.SimpleRNN(2.5), "units"),
        (lambda: layers.LSTM(None), "units"),
        (lambda: layers.LSTM(2, dropout=1.5), "dropout"),
        (lambda: layers.Bidirectional(layers.Dense(2)), "layer"),
        (lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max"), "merge_mode"),
        (lambda: layers.TimeDistributed("dense"), "layer"),
    ],
)
def test_bad_arguments_name_the_argument(xp, build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_wrong_input_rank_and_mask_shape(xp):
    layer = layers.LSTM(2)
    with pytest.raises(ValueError, match="input_shape"):
        layer(np.zeros((3, 4), dtype="float32"))
    layer(np.zeros((3, 4, 2), dtype="float32"))
    with pytest.raises(ValueError, match="features"):
        layer(np.zeros((3, 4, 5), dtype="float32"))
    with pytest.raises(ValueError, match="mask"):
        layer(np.zeros((3, 4, 2), dtype="float32"), mask=np.ones((3, 5), dtype=bool))
    with pytest.raises(ValueError, match="TimeDistributed"):
        layers.TimeDistributed(layers.Dense(2))(np.zeros((3, 4), dtype="float32"))
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))


def test_keras3_weight_groups_name_the_groups_keras_writes(xp, keras_outputs):
    h5py = pytest.importorskip("h5py")
    model = _keras_model()
    keys = {1: "lstm"}
    with h5py.File(os.path.join(FIXTURES, "recurrent_model.weights.h5"), "r") as file:
        for index, key in keys.items():
            for path, variables in model.layers[index].keras3_weight_groups():
                group = file[f"layers/{key}/{path}"]
                assert len(group) == len(variables)
                for i, variable in enumerate(variables):
                    variable.assign(group[str(i)][()])
        model.layers[0].set_weights([file["layers/embedding/vars/0"][()]])
        dense = file["layers/dense/vars"]
        model.layers[2].set_weights([dense["0"][()], dense["1"][()]])
    got = model.predict(keras_outputs["model/tokens"], verbose=0)
    np.testing.assert_allclose(got, keras_outputs["model/predictions"], rtol=1e-5, atol=1e-6)
    bidi = layers.Bidirectional(layers.GRU(2))
    wrapped = layers.TimeDistributed(layers.Dense(2))
    bidi.ensure_built((None, 3, 2))
    wrapped.ensure_built((None, 3, 2))
    assert [p for p, _ in bidi.keras3_weight_groups()] == [
        "vars",
        "forward_layer/vars",
        "forward_layer/cell/vars",
        "backward_layer/vars",
        "backward_layer/cell/vars",
    ]
    assert [p for p, _ in wrapped.keras3_weight_groups()] == ["vars", "layer/vars"]


@pytest.mark.parametrize("backend_name", ["numpy"], indirect=True)
def test_lstm_numpy_buffers_keep_gate_blocks_contiguous_and_gradients_one_gemm(backend_name):
    from gpukeras.layers._lstm import _batch_minor

    step_major, time_major = _batch_minor(np, np.float32)
    gates = step_major(5, 3, 8)
    assert gates[2][:, 4:6].flags.f_contiguous  # one gate block of one step
    dz = time_major(5, 3, 8)
    assert np.shares_memory(dz.reshape(-1, 8), dz)  # reshaping for the GEMM is a view
    layer = layers.LSTM(2)
    layer.ensure_built((3, 5, 2))
    layer.forward(np.ones((3, 5, 2), np.float32))
    buffers = layer._current
    assert np.shares_memory(buffers["h"][:-1].reshape(-1, 2), buffers["h"])
    assert buffers["gates"][0][:, 2:4].flags.f_contiguous
