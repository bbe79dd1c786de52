"""The confusion matrix as a picture: counts of true vs predicted classes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.training.metrics import confusion_matrix
from deltaprop.viz.figures import new_figure

__all__ = ["plot_confusion_matrix"]


def plot_confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[str] | None = None,
                          normalize: bool = False, title: str | None = None) -> Any:
    """Confusion matrix: row = true class, column = predicted class, counts in the cells.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)
        Class indices (one-hot rows are turned into indices with argmax).
    labels : sequence of str, optional
        Class names; default ``0 .. K-1``.
    normalize : bool
        Show each row as fractions of its true class instead of counts.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise InputError(f"y_true has {t.size} labels but y_pred has {p.size}")
    k = int(max(t.max(), p.max())) + 1
    if labels is not None:
        labels = [str(s) for s in labels]
        if len(labels) < k:
            raise InputError(f"labels has {len(labels)} names but the data has class {k - 1}")
        k = len(labels)
    else:
        labels = [str(i) for i in range(k)]
    cm = confusion_matrix(t, p, k)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    side = max(3.5, 0.45 * k + 2)
    fig = new_figure((side + 0.8, side))
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, shrink=0.8)
    if k <= 20:
        hi = shown.max() if shown.max() > 0 else 1
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize="small",
                        color="white" if shown[i, j] > 0.6 * hi else "black")
    ax.set_xticks(range(k), labels, rotation=45 if max(map(len, labels)) > 2 else 0)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(title or f"confusion matrix (accuracy {acc:.3f})")
    return fig


def _labels(y: Any, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2:
        arr = arr.argmax(axis=1)
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D array of class indices, got shape "
                         f"{np.shape(y)}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InputError(f"{name} must hold integer class indices")
    elif arr.dtype.kind not in "iub":
        raise InputError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise InputError(f"{name} has a negative class index {arr.min()}")
    return arr
