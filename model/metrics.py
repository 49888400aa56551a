"""Validation metrics from decoded predictions: pure functions over arrays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

SPARK_IOU_THRESHOLDS = np.arange(0.50, 0.951, 0.05)


# The metric names every layer reads: the keys of `detection_metrics`, the curves the HPO keeps.
CLASS_ACC, CENTRE_ACC, IOU, SPARK_SCORE = "class_acc", "centre_acc", "iou", "spark_score"
# The training side of each epoch: the mean losses (total first) and the learning rate at its end.
LOSS_NAMES = ("loss", "loss_centre", "loss_class", "loss_box")
LR = "lr"


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of matching rows of two (N, 4) arrays of normalised [cx, cy, w, h] boxes."""
    a0, a1 = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
    b0, b1 = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod(axis=1)
    union = a[:, 2:].prod(axis=1) + b[:, 2:].prod(axis=1) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    return np.bincount(truth * num_classes + pred, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def detection_metrics(
    pred_cells: np.ndarray,
    pred_classes: np.ndarray,
    pred_boxes: np.ndarray,
    gt_cells: np.ndarray,
    gt_classes: np.ndarray,
    gt_boxes: np.ndarray,
    num_classes: int,
) -> dict[str, float | list[list[int]]]:
    """class_acc is the report's decisive metric: the class read AT THE PREDICTED centre cell."""
    iou = box_iou(pred_boxes, gt_boxes)
    right_class = pred_classes == gt_classes
    spark = np.mean([(right_class & (iou > t)).mean() for t in SPARK_IOU_THRESHOLDS])
    return {
        CLASS_ACC: float(right_class.mean()),
        CENTRE_ACC: float((pred_cells == gt_cells).all(axis=1).mean()),
        IOU: float(iou.mean()),
        SPARK_SCORE: float(spark),
        "confusion": confusion_matrix(gt_classes, pred_classes, num_classes).tolist(),
    }


# What a study may maximise (`--objective`), each with the metric that breaks its ties: class is
# read at the predicted centre, so centre accuracy decides between equal class accuracies, and
# the other objectives fall back to the report's decisive metric.
TIE_BREAK = {CLASS_ACC: CENTRE_ACC, CENTRE_ACC: CLASS_ACC, SPARK_SCORE: CLASS_ACC}
OBJECTIVES = tuple(TIE_BREAK)
DEFAULT_OBJECTIVE = CLASS_ACC


def rank_key(value: float, tie_break: float | None) -> tuple[float, float]:
    """The one ranking rule, for epochs, trials and configurations alike: the objective first,
    ties broken by its `TIE_BREAK` metric (a missing one ranks last)."""
    return (value, tie_break if tie_break is not None else 0.0)


def rank_epoch(
    metrics: Mapping[str, Any], objective: str = DEFAULT_OBJECTIVE
) -> tuple[float, float]:
    """The same rule on one epoch's metrics (a training history row, a curve log row)."""
    return rank_key(metrics[objective], metrics.get(TIE_BREAK[objective]))
