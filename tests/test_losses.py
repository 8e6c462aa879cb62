"""Losses: Keras 3 values (fixtures from real Keras), exact gradients, lookup and errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import losses

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "losses.npz")
_DATA = np.load(FIXTURES)
CASES = json.loads(str(_DATA["meta"]))


def host(x) -> np.ndarray:
    return np.asarray(K.to_host(x))


def fixture(case: dict, field: str) -> np.ndarray:
    return _DATA[f"{case['name']}/{field}"]


def build(case: dict) -> losses.Loss:
    return getattr(losses, case["class"])(**case["kwargs"])


# --------------------------------------------------------------------------- Keras values
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_values_match_keras(case, xp):
    loss = build(case)
    y_true, y_pred = xp.asarray(fixture(case, "y_true")), xp.asarray(fixture(case, "y_pred"))
    tol = {"rtol": 2e-5, "atol": 2e-6}
    value = loss(y_true, y_pred)
    assert value.shape == () and value.dtype == np.float32
    np.testing.assert_allclose(host(value), fixture(case, "loss"), **tol)
    np.testing.assert_allclose(
        host(loss.per_sample(y_true, y_pred).mean()), fixture(case, "loss"), **tol
    )
    none = getattr(losses, case["class"])(reduction="none", **case["kwargs"])
    np.testing.assert_allclose(host(none(y_true, y_pred)), fixture(case, "none"), **tol)
    total = getattr(losses, case["class"])(reduction="sum", **case["kwargs"])
    np.testing.assert_allclose(host(total(y_true, y_pred)), fixture(case, "sum"), **tol)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_gradient_matches_keras(case, xp):
    """per_sample_grad / N is JAX's gradient of Keras's mean loss (clip included)."""
    loss = build(case)
    y_pred = fixture(case, "y_pred")
    grad = loss.per_sample_grad(xp.asarray(fixture(case, "y_true")), xp.asarray(y_pred))
    assert grad.shape == y_pred.shape and grad.dtype == np.float32
    np.testing.assert_allclose(
        host(grad) / y_pred.shape[0], fixture(case, "grad_of_mean"), rtol=1e-4, atol=1e-6
    )


WEIGHTED = [c for c in CASES if f"{c['name']}/sample_weight" in _DATA.files]


@pytest.mark.parametrize("case", WEIGHTED, ids=[c["name"] for c in WEIGHTED])
def test_sample_weight_matches_keras(case, xp):
    y_true, y_pred = xp.asarray(fixture(case, "y_true")), xp.asarray(fixture(case, "y_pred"))
    weights = xp.asarray(fixture(case, "sample_weight"))
    value = build(case)(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(host(value), fixture(case, "weighted"), rtol=2e-5, atol=2e-6)
    mean_w = getattr(losses, case["class"])(reduction="mean_with_sample_weight", **case["kwargs"])
    np.testing.assert_allclose(
        host(mean_w(y_true, y_pred, sample_weight=weights)),
        fixture(case, "mean_with_sample_weight"),
        rtol=2e-5,
        atol=2e-6,
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_names_and_config_match_keras(case):
    loss = build(case)
    assert loss.name == case["keras_name"]
    config = loss.get_config()
    for key, value in case["config"].items():
        assert config[key] == value, key
    rebuilt = type(loss).from_config(config)
    assert rebuilt.get_config() == config


def test_per_sample_weights_on_rank3_mean_per_sample(xp):
    """One weight per sample on (N, T, C) inputs: sum(per_sample * w) / N."""
    rng = np.random.default_rng(0)
    y_true, y_pred = xp.asarray(rng.normal(size=(3, 5, 4))), xp.asarray(rng.normal(size=(3, 5, 4)))
    weights = xp.asarray([0.5, 2.0, 0.0])
    loss = losses.MeanSquaredError()
    expected = (loss.per_sample(y_true, y_pred) * weights).sum() / 3.0
    np.testing.assert_allclose(host(loss(y_true, y_pred, sample_weight=weights)), host(expected))
    column = loss(y_true, y_pred, sample_weight=weights[:, None])
    np.testing.assert_allclose(host(column), host(expected))


# ----------------------------------------------------------------- finite differences
def _targets_probabilities(rng, shape):
    raw = rng.uniform(0.1, 1.0, size=shape)
    return raw / raw.sum(axis=-1, keepdims=True)


def _targets_one_hot(rng, shape):
    return np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])]


def _labels(rng, shape):
    return rng.integers(0, shape[-1], size=shape[:-1])


def _binary(rng, shape):
    return rng.integers(0, 2, size=shape).astype(np.float64)


def _normal(rng, shape):
    return rng.normal(size=shape)


def _positive(rng, shape):
    return rng.uniform(0.2, 3.0, size=shape)


def _in_unit(rng, shape):
    return rng.uniform(0.05, 0.95, size=shape)


# (id, loss factory, targets, predictions): predictions kept away from clip edges and kinks.
GRADIENT_SPECS = [
    ("cce", lambda: losses.CategoricalCrossentropy(), _targets_one_hot, _in_unit),
    (
        "cce_soft_smooth",
        lambda: losses.CategoricalCrossentropy(label_smoothing=0.1),
        _targets_probabilities,
        _positive,
    ),
    (
        "cce_logits",
        lambda: losses.CategoricalCrossentropy(from_logits=True),
        _targets_probabilities,
        _normal,
    ),
    (
        "cce_logits_smooth",
        lambda: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        _targets_one_hot,
        _normal,
    ),
    ("cce_axis0", lambda: losses.CategoricalCrossentropy(axis=1), _targets_one_hot, _in_unit),
    ("scce", lambda: losses.SparseCategoricalCrossentropy(), _labels, _in_unit),
    (
        "scce_logits",
        lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
        _labels,
        _normal,
    ),
    (
        "scce_ignore",
        lambda: losses.SparseCategoricalCrossentropy(ignore_class=0),
        _labels,
        _in_unit,
    ),
    ("bce", lambda: losses.BinaryCrossentropy(), _binary, _in_unit),
    ("bce_smooth", lambda: losses.BinaryCrossentropy(label_smoothing=0.2), _binary, _in_unit),
    ("bce_logits", lambda: losses.BinaryCrossentropy(from_logits=True), _in_unit, _normal),
    ("mse", losses.MeanSquaredError, _normal, _normal),
    ("mae", losses.MeanAbsoluteError, _normal, _normal),
    ("mape", losses.MeanAbsolutePercentageError, _normal, _normal),
    ("msle", losses.MeanSquaredLogarithmicError, _positive, _positive),
    ("huber", lambda: losses.Huber(delta=0.7), _normal, _normal),
    ("log_cosh", losses.LogCosh, _normal, _normal),
    ("cosine", losses.CosineSimilarity, _normal, _normal),
    ("kld", losses.KLDivergence, _targets_probabilities, _in_unit),
    ("poisson", losses.Poisson, _positive, _positive),
    ("hinge_binary", losses.Hinge, _binary, _normal),
    ("hinge_signed", losses.Hinge, lambda r, s: 2 * _binary(r, s) - 1, _normal),
    ("squared_hinge", losses.SquaredHinge, _binary, _normal),
    ("categorical_hinge", losses.CategoricalHinge, _targets_one_hot, _normal),
]


def numerical_gradient(f, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + step
        plus = f(x)
        x[index] = original - step
        minus = f(x)
        x[index] = original
        grad[index] = (plus - minus) / (2 * step)
    return grad


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)], ids=["rank2", "rank3"])
@pytest.mark.parametrize("spec", GRADIENT_SPECS, ids=[s[0] for s in GRADIENT_SPECS])
def test_per_sample_grad_is_exact(spec, shape, xp):
    _, make_loss, make_targets, make_predictions = spec
    rng = np.random.default_rng(7)
    loss = make_loss()
    y_true = xp.asarray(make_targets(rng, shape))
    y_pred = make_predictions(rng, shape)

    def objective(pred: np.ndarray) -> float:
        return float(host(loss.per_sample(y_true, xp.asarray(pred)).sum()))

    analytic = loss.per_sample_grad(y_true, xp.asarray(y_pred))
    assert analytic.dtype == np.float64
    np.testing.assert_allclose(
        host(analytic), numerical_gradient(objective, y_pred.copy()), rtol=1e-6, atol=1e-8
    )


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


FUSED_SPECS = [
    ("cce", lambda: losses.CategoricalCrossentropy(), _targets_one_hot, "softmax"),
    (
        "cce_smooth",
        lambda: losses.CategoricalCrossentropy(label_smoothing=0.1),
        _targets_probabilities,
        "softmax",
    ),
    ("scce", lambda: losses.SparseCategoricalCrossentropy(), _labels, "softmax"),
    (
        "scce_ignore",
        lambda: losses.SparseCategoricalCrossentropy(ignore_class=2),
        _labels,
        "softmax",
    ),
    ("bce", lambda: losses.BinaryCrossentropy(), _binary, "sigmoid"),
    ("bce_smooth", lambda: losses.BinaryCrossentropy(label_smoothing=0.2), _in_unit, "sigmoid"),
]


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)], ids=["rank2", "rank3"])
@pytest.mark.parametrize("spec", FUSED_SPECS, ids=[s[0] for s in FUSED_SPECS])
def test_fused_grad_is_gradient_through_activation(spec, shape, xp):
    _, make_loss, make_targets, activation = spec
    rng = np.random.default_rng(3)
    loss = make_loss()
    y_true = xp.asarray(make_targets(rng, shape))
    logits = rng.normal(size=shape)
    forward = _softmax if activation == "softmax" else _sigmoid

    def objective(z: np.ndarray) -> float:
        return float(host(loss.per_sample(y_true, xp.asarray(forward(z))).sum()))

    fused = loss.fused_grad(activation, y_true, xp.asarray(forward(logits)))
    assert fused.shape == shape and fused.dtype == np.float64
    np.testing.assert_allclose(
        host(fused), numerical_gradient(objective, logits.copy()), rtol=1e-6, atol=1e-8
    )


def test_fused_grad_declines_what_it_cannot_fuse(xp):
    y = xp.asarray(np.eye(3))
    p = xp.asarray(np.full((3, 3), 1 / 3))
    assert losses.CategoricalCrossentropy(from_logits=True).fused_grad("softmax", y, p) is None
    assert losses.CategoricalCrossentropy().fused_grad("sigmoid", y, p) is None
    assert losses.CategoricalCrossentropy().fused_grad(None, y, p) is None
    assert losses.CategoricalCrossentropy(axis=0).fused_grad("softmax", y, p) is None
    assert losses.BinaryCrossentropy().fused_grad("softmax", y, p) is None
    assert losses.MeanSquaredError().fused_grad("softmax", y, p) is None
    assert losses.CategoricalCrossentropy().fused_grad("softmax", y, p) is not None


def test_clipped_probabilities_have_zero_gradient(xp):
    y_true = xp.asarray([[1.0, 0.0], [0.0, 1.0]])
    y_pred = xp.asarray([[0.0, 1.0], [1.0 - 1e-9, 1e-9]])
    grad = losses.BinaryCrossentropy().per_sample_grad(y_true, y_pred)
    np.testing.assert_array_equal(host(grad), np.zeros((2, 2)))
    value = losses.BinaryCrossentropy().per_sample(y_true, y_pred)
    np.testing.assert_allclose(host(value), -np.log(1e-7), rtol=1e-6)


# ------------------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_preserved(dtype, xp):
    rng = np.random.default_rng(1)
    y_true = xp.asarray(_targets_one_hot(rng, (4, 3)))
    y_pred = xp.asarray(_in_unit(rng, (4, 3)).astype(dtype))
    for loss in (
        losses.CategoricalCrossentropy(),
        losses.MeanSquaredError(),
        losses.BinaryCrossentropy(from_logits=True),
    ):
        value = loss(y_true, y_pred, sample_weight=xp.asarray([1.0, 2.0, 0.0, 1.0]))
        assert isinstance(value, xp.ndarray) and value.shape == () and value.dtype == dtype
        assert loss.per_sample(y_true, y_pred).dtype == dtype
        assert loss.per_sample_grad(y_true, y_pred).dtype == dtype
    assert losses.SparseCategoricalCrossentropy().per_sample([0, 1, 2, 0], y_pred).dtype == dtype


def test_sparse_accepts_int_float_and_column_labels(xp):
    y_pred = xp.asarray(_in_unit(np.random.default_rng(2), (4, 3)))
    loss = losses.SparseCategoricalCrossentropy()
    expected = host(loss.per_sample(np.array([0, 2, 1, 2]), y_pred))
    for labels in ([0.0, 2.0, 1.0, 2.0], np.array([[0], [2], [1], [2]]), xp.asarray([0, 2, 1, 2])):
        np.testing.assert_allclose(host(loss.per_sample(labels, y_pred)), expected)
    one_hot = losses.CategoricalCrossentropy().per_sample(np.eye(3)[[0, 2, 1, 2]], y_pred)
    np.testing.assert_allclose(host(one_hot), expected)


def test_rank1_predictions_are_one_value_per_sample(xp):
    y_true, y_pred = xp.asarray([0.0, 1.0, 1.0]), xp.asarray([0.2, 0.6, 0.9])
    loss = losses.BinaryCrossentropy()
    assert loss.per_sample(y_true, y_pred).shape == (3,)
    assert loss.per_sample_grad(y_true, y_pred).shape == (3,)
    column = loss.per_sample(y_true, y_pred[:, None])
    np.testing.assert_allclose(host(loss.per_sample(y_true, y_pred)), host(column))


def test_ignore_class_means_over_the_other_labels(xp):
    y_pred = xp.asarray([[0.2, 0.3, 0.5]] * 3)
    loss = losses.SparseCategoricalCrossentropy(ignore_class=0)
    labels = np.array([0, 1, 2])
    expected = (-np.log(0.3) - np.log(0.5)) / 2
    np.testing.assert_allclose(host(loss(labels, y_pred)), expected, rtol=1e-6)
    np.testing.assert_allclose(host(loss.per_sample(labels, y_pred).mean()), expected, rtol=1e-6)
    assert host(loss.per_sample_grad(labels, y_pred))[0].tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------------------ lookup
@pytest.mark.parametrize(
    ("identifier", "cls", "name"),
    [
        ("mse", losses.MeanSquaredError, "mse"),
        ("MSE", losses.MeanSquaredError, "MSE"),
        ("mean_squared_error", losses.MeanSquaredError, "mean_squared_error"),
        ("mae", losses.MeanAbsoluteError, "mae"),
        ("mape", losses.MeanAbsolutePercentageError, "mape"),
        ("msle", losses.MeanSquaredLogarithmicError, "msle"),
        ("kld", losses.KLDivergence, "kld"),
        ("kullback_leibler_divergence", losses.KLDivergence, "kullback_leibler_divergence"),
        ("logcosh", losses.LogCosh, "logcosh"),
        ("log_cosh", losses.LogCosh, "log_cosh"),
        ("huber", losses.Huber, "huber"),
        ("bce", losses.BinaryCrossentropy, "bce"),
        ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical_crossentropy"),
        (
            "sparse_categorical_crossentropy",
            losses.SparseCategoricalCrossentropy,
            "sparse_categorical_crossentropy",
        ),
        ("CategoricalHinge", losses.CategoricalHinge, "categorical_hinge"),
        ("Huber", losses.Huber, "huber_loss"),
        ("cosine_similarity", losses.CosineSimilarity, "cosine_similarity"),
        ("poisson", losses.Poisson, "poisson"),
        ("squared_hinge", losses.SquaredHinge, "squared_hinge"),
    ],
)
def test_get_by_name(identifier, cls, name):
    loss = losses.get(identifier)
    assert type(loss) is cls and loss.name == name


def test_get_other_identifiers():
    instance = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(instance) is instance
    assert type(losses.get(losses.Poisson)) is losses.Poisson
    assert type(losses.get(losses.mean_squared_error)) is losses.MeanSquaredError
    assert losses.mse is losses.MSE is losses.mean_squared_error
    assert losses.get(None) is None
    config = losses.serialize(losses.CategoricalCrossentropy(label_smoothing=0.2))
    rebuilt = losses.get(config)
    assert type(rebuilt) is losses.CategoricalCrossentropy and rebuilt.label_smoothing == 0.2
    with pytest.raises(TypeError, match="Received: loss=3"):
        losses.get(3)


def test_unknown_loss_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown loss: 'foo'") as info:
        losses.get("foo")
    message = str(info.value)
    assert "Received: loss='foo'" in message
    assert "'categorical_crossentropy'" in message and "'mse'" in message


def test_crossentropy_needs_shapes():
    with pytest.raises(ValueError, match="y_true and y_pred"):
        losses.get("crossentropy")
    assert type(losses.get("ce", y_true=(8,), y_pred=(8, 5))) is (
        losses.SparseCategoricalCrossentropy
    )


def test_plain_callable_has_no_gradient(xp):
    def my_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).sum(axis=-1)

    loss = losses.get(my_loss)
    y = xp.asarray(np.ones((2, 3)))
    assert loss.name == "my_loss"
    np.testing.assert_allclose(host(loss.per_sample(y, 2 * y)), [3.0, 3.0])
    np.testing.assert_allclose(host(loss(y, 2 * y)), 3.0)
    with pytest.raises(TypeError, match="per_sample_grad"):
        loss.per_sample_grad(y, 2 * y)
    my_loss.per_sample_grad = lambda y_true, y_pred: 2 * (y_pred - y_true)
    np.testing.assert_allclose(host(losses.get(my_loss).per_sample_grad(y, 2 * y)), 2.0)


# ------------------------------------------------------------------------------ errors
def test_shape_mismatch_names_both_shapes(xp):
    with pytest.raises(
        ValueError,
        match=r"y_true has shape \(32, 10\) but y_pred has shape "
        r"\(32, 3\)",
    ):
        losses.CategoricalCrossentropy().per_sample(xp.zeros((32, 10)), xp.ones((32, 3)))
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4, 3\)"):
        losses.MeanSquaredError()(xp.zeros((4, 1)), xp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"sparse labels need shape \(4,\)"):
        losses.SparseCategoricalCrossentropy().per_sample(xp.zeros((4, 3)), xp.ones((4, 3)))


def test_sparse_labels_out_of_range(xp):
    y_pred = xp.asarray(np.full((3, 3), 1 / 3))
    loss = losses.SparseCategoricalCrossentropy()
    with pytest.raises(
        ValueError,
        match=r"labels must be in \[0, 3\).*Received: y_true "
        r"containing \[3\]",
    ):
        loss.per_sample(np.array([0, 3, 1]), y_pred)
    with pytest.raises(ValueError, match=r"containing \[-1\]"):
        loss(np.array([0, -1, 1]), y_pred)
    labels = xp.asarray([0, 3, 1])
    if K.is_device_array(labels):
        # Reading device labels back would stall the step: the loss turns NaN instead.
        assert np.isnan(host(loss.per_sample(labels, y_pred))[1])
    else:
        with pytest.raises(ValueError, match="labels must be in"):
            loss.per_sample(labels, y_pred)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: reduction='average'"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing=1.5"):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="delta=0"):
        losses.Huber(delta=0)
    with pytest.raises(ValueError, match=r"sample_weight\.shape=\(3,\)"):
        losses.MeanSquaredError()(np.zeros((4, 2)), np.ones((4, 2)), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="Received: axis=5"):
        losses.CategoricalCrossentropy(axis=5).per_sample(np.eye(3), np.eye(3))
