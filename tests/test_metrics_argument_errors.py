"""The threshold, AUC, F-score, IoU and rate-floor metrics refuse bad arguments with Keras's
message and the value received."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import metrics


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        ("Precision", {"thresholds": [0.5, 1.5]},
         r"Threshold values must be in \[0, 1\]. Received: \[1.5\]"),
        ("TruePositives", {"thresholds": -0.1}, r"Received: \[-0.1\]"),
        ("AUC", {"num_thresholds": 1},
         "`num_thresholds` must be an integer > 1. Received: num_thresholds=1"),
        ("AUC", {"curve": "DET"},
         r'Invalid AUC curve value: "DET". Expected values are \["PR", "ROC", "PRGAIN"\]'),
        ("AUC", {"summation_method": "trapezoid"},
         'Invalid AUC summation method value: "trapezoid"'),
        ("AUC", {"num_labels": 3},
         "`num_labels` is needed only when `multi_label` is True. Received: num_labels=3"),
        ("FBetaScore", {"average": "median"}, "Received: average=median"),
        ("FBetaScore", {"beta": 2}, "It should be a Python float. Received: beta=2"),
        ("FBetaScore", {"beta": -1.0}, "It should be > 0. Received: beta=-1.0"),
        ("F1Score", {"threshold": 1.5}, "0 < threshold <= 1. Received: threshold=1.5"),
        ("F1Score", {"threshold": 1}, "Python float. Received: threshold=1"),
        ("IoU", {"num_classes": 3, "target_class_ids": [0, 3]},
         r"Target class id 3 is out of range, which is \[0, 3\)"),
        ("PrecisionAtRecall", {"recall": 1.2},
         r"`recall` must be in the range \[0, 1\]. Received: recall=1.2"),
        ("SensitivityAtSpecificity", {"specificity": 0.5, "num_thresholds": 0},
         "Received: num_thresholds=0"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_naming_the_value(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(metrics, cls)(**kwargs)


def test_multi_label_auc_needs_rank_2_predictions():
    auc = metrics.AUC(multi_label=True)
    with pytest.raises(ValueError, match=r"`y_pred` must have rank 2 when `multi_label=True`"):
        auc.update_state(np.ones((2, 3, 1)), np.ones((2, 3, 1)) / 2)


def test_f_scores_need_2d_inputs():
    with pytest.raises(ValueError, match=r"FBetaScore expects 2D inputs .* y_pred.shape=\(4,\)"):
        metrics.F1Score().update_state(np.ones(4), np.ones(4))


def test_class_id_needs_a_class_axis():
    with pytest.raises(ValueError, match=r"When class_id is provided, y_pred must be a 2D array"):
        metrics.Recall(class_id=1).update_state(np.ones(4), np.ones(4) / 2)


def test_float_weights_on_an_integer_confusion_matrix_warn():
    iou = metrics.MeanIoU(num_classes=2)
    with pytest.warns(UserWarning, match="passing weight as `float`, but dtype is `int`"):
        iou.update_state([0, 1], [0, 1], sample_weight=np.array([0.5, 1.5]))


def test_an_initial_value_is_copied_not_shared():
    start = np.array([[5, 0], [0, 7]])
    iou = metrics.MeanIoU(num_classes=2)
    iou.total_cm = iou.add_variable(shape=(2, 2), initializer=start, dtype="int32", name="cm")
    iou.update_state([0, 1], [0, 1])
    assert np.array(iou.total_cm).tolist() == [[6, 0], [0, 8]]
    assert start.tolist() == [[5, 0], [0, 7]]  # the caller's array is untouched
    with pytest.raises(ValueError, match=r"must have shape \(3,\). Received: initializer"):
        iou.add_variable(shape=(3,), initializer=[1.0, 2.0], name="bad")


def test_f_scores_need_a_known_class_count():
    with pytest.raises(ValueError, match=r"output_dim fully defined \(not None\)"):
        metrics.FBetaScore()._build((2, None), (2, None))


def test_metrics_answer_keras_private_dtype_name():
    assert metrics.AUC(dtype="float32")._dtype == "float32"
