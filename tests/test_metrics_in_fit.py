"""Threshold, F-score and IoU metrics inside fit/evaluate: compiled by name, read lazily
(one host read per epoch, as every other metric), vector results logged as arrays (Keras)."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, metrics


def _data(n=64, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
    return x, y


def _model(metric_list, classes=3):
    model = keras.Sequential([layers.Input((4,)), layers.Dense(classes, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=metric_list)
    return model


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("AUC", metrics.AUC),
        ("auc", metrics.AUC),
        ("Precision", metrics.Precision),
        ("recall", metrics.Recall),
        ("f1_score", metrics.F1Score),
        ("FBetaScore", metrics.FBetaScore),
        ("true_positives", metrics.TruePositives),
    ],
)
def test_compile_accepts_keras_metric_names(identifier, cls):
    metric = metrics.get(identifier)
    assert isinstance(metric, cls) and metric.name == identifier


def test_an_iou_needs_its_class_count():
    with pytest.raises(TypeError, match="num_classes"):
        metrics.get("MeanIoU")


def test_evaluate_gives_what_the_metric_gives_on_all_the_data(xp):
    x, y = _data()
    auc, precision = metrics.AUC(), metrics.Precision(thresholds=[0.2, 0.5])
    f1, iou = metrics.F1Score(average="macro"), metrics.OneHotMeanIoU(num_classes=3)
    model = _model([auc, precision, f1, iou])
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    prediction = model.predict(x, verbose=0)
    for metric in (auc, precision, f1, iou):
        fresh = type(metric).from_config(metric.get_config())
        fresh.update_state(y, prediction)
        expected = np.asarray(K.to_host(fresh.result()), dtype=np.float64)
        np.testing.assert_allclose(logs[metric.name], expected, rtol=1e-6, atol=1e-7)
    assert isinstance(logs["precision"], np.ndarray) and logs["precision"].shape == (2,)
    assert isinstance(logs["f1_score"], float)


def test_stateful_metrics_cost_no_extra_host_reads(xp):
    x, y = _data()
    plain = _model(["accuracy"])
    before = K.host_syncs()
    plain.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x, y))
    plain_syncs = K.host_syncs() - before
    with_metrics = _model(
        ["accuracy", "AUC", metrics.F1Score(), metrics.MeanIoU(3, sparse_y_true=False,
                                                               sparse_y_pred=False)]
    )  # fmt: skip
    before = K.host_syncs()
    with_metrics.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x, y))
    assert K.host_syncs() - before == plain_syncs == 3


def test_each_epoch_counts_only_its_own_batches(xp):
    x, y = _data()
    model = _model([])
    positives = metrics.TruePositives(thresholds=0.3)
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "categorical_crossentropy", [positives])
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    # Nothing trains: a count reset each epoch is the same twice, not doubled.
    first, second = history.history["true_positives"]
    assert first > 0 and second == first


def test_a_per_class_result_is_logged_as_an_array(xp, capsys):
    x, y = _data()
    model = _model([metrics.F1Score()])
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=2)
    scores = history.history["f1_score"][0]
    assert isinstance(scores, np.ndarray) and scores.shape == (3,)
    # the progress line shows the mean, as Keras's does
    assert f"f1_score: {scores.mean():.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("extension", ["keras", "h5"])
def test_saved_model_compiles_its_metric_objects_again(tmp_path, extension):
    x, y = _data()
    model = _model(
        ["AUC", metrics.F1Score(average="macro"), metrics.Precision(thresholds=[0.3, 0.6])]
    )
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / f"model.{extension}")
    model.save(path)
    restored = keras.models.load_model(path)
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    got = restored.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(got) == ["AUC", "f1_score", "loss", "precision"]
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6)
    config = model.get_compile_config()["metrics"]
    assert config[0] == "AUC" and config[1]["class_name"] == "F1Score"


class _OwnTrainStep(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        return super().train_step(data)


def test_a_custom_train_step_logs_a_per_class_result_as_an_array(xp):
    x, y = _data()
    f1 = metrics.F1Score()
    model = _OwnTrainStep()
    model.compile("sgd", "categorical_crossentropy", metrics=[f1, "AUC"])
    before = K.host_syncs()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert K.host_syncs() - before == 2  # one read per epoch, vectors included
    scores = history.history["f1_score"][-1]
    assert isinstance(scores, np.ndarray) and scores.shape == (3,)
    np.testing.assert_allclose(scores, K.to_host(f1.result()), rtol=1e-6)
    assert isinstance(history.history["AUC"][-1], float)


def test_every_keras_metrics_export_with_a_gpukeras_counterpart_is_there():
    # keras.metrics' public names (Keras 3.15), but the focal crossentropies gpukeras lacks
    keras_names = {
        "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU",
        "CategoricalAccuracy", "CategoricalCrossentropy", "CategoricalHinge",
        "ConcordanceCorrelation", "CosineSimilarity", "F1Score", "FBetaScore",
        "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError",
        "Mean", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU",
        "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric",
        "OneHotIoU", "OneHotMeanIoU", "PearsonCorrelation", "Poisson", "Precision",
        "PrecisionAtRecall", "R2Score", "Recall", "RecallAtPrecision", "RootMeanSquaredError",
        "SensitivityAtSpecificity", "SparseCategoricalAccuracy",
        "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
        "SpecificityAtSensitivity", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
        "TrueNegatives", "TruePositives", "binary_accuracy", "binary_crossentropy",
        "categorical_accuracy", "categorical_crossentropy", "categorical_hinge",
        "concordance_correlation", "deserialize", "get", "hinge", "huber", "kl_divergence",
        "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
        "mean_squared_error", "mean_squared_logarithmic_error", "pearson_correlation",
        "poisson", "serialize", "sparse_categorical_accuracy",
        "sparse_categorical_crossentropy", "sparse_top_k_categorical_accuracy",
        "squared_hinge", "top_k_categorical_accuracy",
    }  # fmt: skip
    assert keras_names - set(metrics.__all__) == set()
    assert metrics.get(metrics.mean_squared_error).name == "mean_squared_error"
