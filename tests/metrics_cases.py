"""Cases for the stateful metrics checked against Keras 3 on JAX (tests/make_metrics_fixtures.py
writes Keras's values; tests/test_metrics_keras_values.py compares gpukeras with them).

Each case: (id, class name, constructor config, data kind, weighted). Data kinds are made by
``make_batches`` from a fixed seed, so both sides see the same inputs (the fixture stores them).
"""

from __future__ import annotations

import numpy as np

BATCHES = 2
BATCH_SIZE = 16

CASES = [
    ("auc_roc", "AUC", {}, "binary", False),
    ("auc_roc_weighted", "AUC", {}, "binary", True),
    ("auc_pr", "AUC", {"curve": "PR"}, "binary", True),
    ("auc_prgain", "AUC", {"curve": "PRGAIN"}, "binary", False),
    ("auc_minoring", "AUC", {"summation_method": "minoring", "num_thresholds": 7}, "binary", True),
    ("auc_majoring", "AUC", {"summation_method": "majoring", "curve": "PR"}, "binary", False),
    ("auc_thresholds", "AUC", {"thresholds": [0.1, 0.35, 0.5, 0.8]}, "binary", True),
    ("auc_even_thresholds", "AUC", {"thresholds": [0.25, 0.5, 0.75]}, "binary", False),
    ("auc_multi_label", "AUC", {"multi_label": True}, "multilabel", True),
    ("auc_multi_label_pr", "AUC", {"multi_label": True, "curve": "PR"}, "multilabel", False),
    (
        "auc_label_weights",
        "AUC",
        {"multi_label": True, "num_labels": 3, "label_weights": [0.2, 1.0, 0.5]},
        "multilabel",
        True,
    ),
    ("auc_pooled_label_weights", "AUC", {"label_weights": [0.2, 1.0, 0.5]}, "multilabel", True),
    ("auc_from_logits", "AUC", {"from_logits": True}, "logits", False),
    ("precision", "Precision", {}, "binary", False),
    ("precision_weighted", "Precision", {}, "binary", True),
    ("precision_thresholds", "Precision", {"thresholds": [0.0, 0.3, 0.5, 1.0]}, "binary", True),
    ("precision_even", "Precision", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "binary", True),
    ("precision_top_k", "Precision", {"top_k": 2}, "multilabel", False),
    ("precision_class_id", "Precision", {"class_id": 1, "thresholds": 0.4}, "multilabel", True),
    ("recall", "Recall", {}, "binary", True),
    ("recall_top_k_class", "Recall", {"top_k": 1, "class_id": 2}, "multilabel", True),
    ("recall_thresholds", "Recall", {"thresholds": [0.2, 0.6]}, "multilabel", False),
    ("true_positives", "TruePositives", {}, "binary", True),
    ("false_positives", "FalsePositives", {"thresholds": [0.15, 0.5, 0.85]}, "binary", False),
    ("true_negatives", "TrueNegatives", {}, "multilabel", True),
    ("false_negatives", "FalseNegatives", {"thresholds": [0.0, 0.5, 1.0]}, "binary", True),
    ("f1_none", "F1Score", {}, "onehot", False),
    ("f1_micro", "F1Score", {"average": "micro"}, "onehot", True),
    ("f1_macro_threshold", "F1Score", {"average": "macro", "threshold": 0.3}, "multilabel", True),
    ("f1_weighted", "F1Score", {"average": "weighted"}, "onehot", True),
    ("fbeta_none", "FBetaScore", {"beta": 2.0}, "multilabel", False),
    ("fbeta_macro", "FBetaScore", {"beta": 0.5, "average": "macro"}, "onehot", True),
    ("mean_iou", "MeanIoU", {"num_classes": 4}, "sparse", False),
    ("mean_iou_float", "MeanIoU", {"num_classes": 4, "dtype": "float32"}, "sparse", True),
    ("mean_iou_ignore", "MeanIoU", {"num_classes": 4, "ignore_class": 2}, "sparse", False),
    ("mean_iou_dense", "MeanIoU", {"num_classes": 4, "sparse_y_true": False,
                                   "sparse_y_pred": False}, "onehot", False),
    ("iou", "IoU", {"num_classes": 4, "target_class_ids": [0, 3]}, "sparse", False),
    ("binary_iou", "BinaryIoU", {"threshold": 0.4, "dtype": "float32"}, "binary", True),
    ("binary_iou_int", "BinaryIoU", {"target_class_ids": [1]}, "binary", False),
    ("one_hot_iou", "OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 2]}, "onehot", False),
    ("one_hot_mean_iou", "OneHotMeanIoU", {"num_classes": 4, "dtype": "float32"}, "onehot", True),
]  # fmt: skip


def make_batches(kind: str, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``BATCHES`` batches of (y_true, y_pred, sample_weight) for one data kind."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(BATCHES):
        weights = rng.uniform(0.0, 2.0, BATCH_SIZE).astype(np.float32)
        if kind in ("binary", "logits"):
            y_true = rng.integers(0, 2, (BATCH_SIZE, 1)).astype(np.float32)
            y_pred = rng.uniform(0, 1, (BATCH_SIZE, 1)).astype(np.float32)
            # values on and at the edges of thresholds
            y_pred[:4, 0] = [0.0, 1.0, 0.5, 0.25]
            if kind == "logits":
                y_pred = (y_pred - 0.5) * 8
        elif kind == "multilabel":
            y_true = rng.integers(0, 2, (BATCH_SIZE, 3)).astype(np.float32)
            y_pred = rng.uniform(0, 1, (BATCH_SIZE, 3)).astype(np.float32)
            y_pred[0] = [0.5, 0.5, 0.0]
        elif kind == "onehot":
            y_true = np.eye(4, dtype=np.float32)[rng.integers(0, 4, BATCH_SIZE)]
            y_pred = rng.uniform(0, 1, (BATCH_SIZE, 4)).astype(np.float32)
            y_pred /= y_pred.sum(axis=1, keepdims=True)
        elif kind == "sparse":
            y_true = rng.integers(0, 4, BATCH_SIZE).astype(np.int32)
            y_pred = rng.integers(0, 4, BATCH_SIZE).astype(np.int32)
            weights = rng.integers(0, 3, BATCH_SIZE).astype(np.float32)
        else:
            raise ValueError(f"unknown data kind {kind!r}")
        batches.append((y_true, y_pred, weights))
    return batches


def input_sum(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray) -> float:
    """One float summarising a batch, stored beside Keras's result to prove same inputs."""
    return sum(float(np.asarray(a, np.float64).sum()) for a in (y_true, y_pred, weights))
