"""Training metrics: which outputs count as correct, accuracy, R² and the confusion matrix.

One definition of each, shared by the Trainer, its fast steps, the CLI's reports and the plots.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["classification_rule", "n_correct", "evaluate", "r2_score", "confusion_matrix"]


def classification_rule(net) -> tuple[bool, float]:
    """(argmax rule?, threshold) with which predictions count as correct."""
    bounds = net.output_activation.bounds
    threshold = 0.5 if not all(map(math.isfinite, bounds)) else sum(bounds) / 2
    return net.output_activation.name != "logistic" and net.n_outputs > 1, threshold


def n_correct(out: np.ndarray, Y: np.ndarray, softmax_like: bool, threshold: float) -> int:
    """Rows whose argmax (softmax-like outputs) or thresholded outputs all match the target."""
    if softmax_like:
        return int(np.count_nonzero(out.argmax(axis=1) == Y.argmax(axis=1)))
    same = (out > threshold) == (Y > threshold)
    return int(np.count_nonzero(same.all(axis=1)))


def evaluate(net, Xv: np.ndarray, Yv: np.ndarray) -> dict[str, float]:
    """Validation loss (data term only, what early stopping watches) and accuracy/R²."""
    out = net.forward(Xv, check=False)
    logs = {"val_loss": net.loss_value(Yv, check=False)}
    if net.is_classifier:
        logs["val_accuracy"] = n_correct(out, Yv, *classification_rule(net)) / len(Xv)
    else:
        logs["val_r2"] = r2_score(((out - Yv) ** 2).sum(axis=0), Yv)
    return logs


def r2_score(sse: np.ndarray, Y: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (a constant column counts as 1
    if predicted exactly, else 0, as in scikit-learn)."""
    sst = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0).astype(np.float64)
    ok = sst > 0
    r2 = np.where(ok, 1.0 - sse / np.where(ok, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return float(r2.mean())


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``i`` predicted as class ``j`` (integer labels
    0..n_classes-1)."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)
