"""Training metrics: which outputs count as correct, accuracy, R² and the confusion matrix.

One definition of each, shared by the Trainer, its fast steps, the CLI's reports and the plots.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from deltaprop.data.moments import RunningMoments

__all__ = ["classification_rule", "n_correct", "evaluate", "evaluate_chunks", "r2_score",
           "r2_from_moments", "target_moments", "confusion_matrix"]


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


def evaluate_chunks(net, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """:func:`evaluate` over validation data given chunk by chunk as ``(X_val, Y_val)`` pairs:
    the loss is the running row-weighted mean and R² merges the targets' moments, so a single
    chunk gives exactly :func:`evaluate`'s numbers."""
    loss, n, hits = 0.0, 0, 0
    sse, moments = np.zeros(net.n_outputs), RunningMoments()
    rule = classification_rule(net)
    for Xv, Yv in chunks:
        out = net.forward(Xv, check=False)
        n += len(Xv)
        loss += (net.loss_value(Yv, check=False) - loss) * (len(Xv) / n)
        if net.is_classifier:
            hits += n_correct(out, Yv, *rule)
        else:
            sse = sse + ((out - Yv) ** 2).sum(axis=0)
            target_moments(Yv, moments)
    logs = {"val_loss": loss}
    if net.is_classifier:
        logs["val_accuracy"] = hits / n
    else:
        logs["val_r2"] = r2_from_moments(sse, moments)
    return logs


def target_moments(Y: np.ndarray, moments: RunningMoments) -> RunningMoments:
    """Merge the targets ``Y`` into ``moments`` with the sum of squares :func:`r2_score`
    uses, so that one block gives bit for bit its R²."""
    return moments.add(len(Y), Y.mean(axis=0), _sum_of_squares(Y))


def _sum_of_squares(Y: np.ndarray) -> np.ndarray:
    return ((Y - Y.mean(axis=0)) ** 2).sum(axis=0).astype(np.float64)


def r2_from_moments(sse: np.ndarray, moments: RunningMoments) -> float:
    """:func:`r2_score` of targets seen in blocks (:func:`target_moments`)."""
    return _r2(sse, moments.m2)


def r2_score(sse: np.ndarray, Y: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (a constant column counts as 1
    if predicted exactly, else 0, as in scikit-learn)."""
    return _r2(sse, _sum_of_squares(Y))


def _r2(sse: np.ndarray, sst: np.ndarray) -> float:
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
