"""What ``deltaprop train`` and ``deltaprop evaluate`` report: metrics, summary text, files.

- :func:`classification_metrics`: confusion matrix, accuracy, per-class precision and recall.
- :func:`regression_metrics`: R², RMSE and MAE per target.
- :func:`format_summary`: the text block printed at the end of ``train`` and by ``evaluate``
  (``accuracy: 0.9812`` on its own line, so scripts can grep it).
- :func:`write_report`: history.json and the PNG figures (learning curves with the best epoch
  marked, confusion matrix), each written atomically.

matplotlib is only imported when figures are written (inside :mod:`deltaprop.viz.figures`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.files.archive import atomic_write_bytes
from deltaprop.training.metrics import confusion_matrix, r2_score

__all__ = ["classification_metrics", "regression_metrics", "model_metrics", "headline",
           "format_summary", "write_report"]


def classification_metrics(y_true: Any, y_pred: Any, n_classes: int) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/support and the confusion matrix.

    Precision of class k is C[k, k] / (column k sum), recall C[k, k] / (row k sum); a class
    that is never predicted (or absent) gets 0 instead of a division by zero.

    Examples
    --------
    >>> m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], 2)
    >>> m["accuracy"], m["precision"], m["recall"]
    (0.75, [1.0, 0.6666666666666666], [0.5, 1.0])
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    hits = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros(n_classes), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros(n_classes), where=actual > 0)
    return {"accuracy": float(hits.sum() / max(cm.sum(), 1)),
            "precision": precision.tolist(), "recall": recall.tolist(),
            "support": actual.tolist(), "confusion_matrix": cm.tolist()}


def regression_metrics(Y_true: np.ndarray, Y_pred: np.ndarray) -> dict[str, Any]:
    """R² (averaged over targets, as in the training history), RMSE and MAE per target."""
    Y_true, Y_pred = np.atleast_2d(Y_true.T).T, np.atleast_2d(Y_pred.T).T
    err = Y_pred - Y_true
    return {"r2": r2_score((err**2).sum(axis=0), Y_true),
            "rmse": np.sqrt((err**2).mean(axis=0)).tolist(),
            "mae": np.abs(err).mean(axis=0).tolist()}


def model_metrics(network: Any, info: Any, X: np.ndarray, y: Any) -> tuple[dict, np.ndarray]:
    """Metrics of a network on rows ``X`` already through ``info.transform`` and raw targets
    ``y``: what ``deltaprop evaluate`` prints and ``deltaprop plot`` reports. Returns
    ``(metrics, predictions)`` (class indices, or outputs in the targets' units)."""
    H = network.forward(X)
    if info.task == "classification":
        pred = H.argmax(axis=1) if H.shape[1] > 1 else (H[:, 0] > 0.5).astype(np.int64)
        return classification_metrics(y, pred, len(info.class_names)), pred
    pred = info.outputs_to_targets(H)
    return regression_metrics(np.asarray(y, np.float64).reshape(len(y), -1), pred), pred


def headline(metrics: dict[str, Any]) -> str:
    """``accuracy 0.980`` or ``R² 0.512``: the one number a plot command reports."""
    if "accuracy" in metrics:
        return f"accuracy {metrics['accuracy']:.4f}"
    return f"R² {metrics['r2']:.4f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                      enumerate(zip(row, widths, strict=True))).rstrip() for row in cells]


def format_summary(title: str, n_samples: int, loss: float, metrics: dict[str, Any],
                   class_names: Sequence[str] | None = None,
                   target_names: Sequence[str] | None = None) -> str:
    """The human-readable evaluation block (classification or regression).

    The confusion matrix is printed in full for at most 20 classes.
    """
    lines = [f"{title} ({n_samples} samples)", f"loss: {loss:.4f}"]
    if "accuracy" in metrics:
        names = list(class_names or range(len(metrics["precision"])))
        lines.append(f"accuracy: {metrics['accuracy']:.4f}")
        rows = [(n, f"{p:.4f}", f"{r:.4f}", s) for n, p, r, s in
                zip(names, metrics["precision"], metrics["recall"], metrics["support"],
                    strict=True)]
        lines += ["", *_table(("class", "precision", "recall", "support"), rows)]
        cm = metrics["confusion_matrix"]
        if len(cm) <= 20:
            lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
            lines += _table(("", *map(str, names)), [(n, *row) for n, row in
                                                     zip(names, cm, strict=True)])
    else:
        names = list(target_names or range(len(metrics["rmse"])))
        lines.append(f"r2: {metrics['r2']:.4f}")
        rows = [(n, f"{r:.4g}", f"{m:.4g}") for n, r, m in
                zip(names, metrics["rmse"], metrics["mae"], strict=True)]
        lines += ["", *_table(("target", "rmse", "mae"), rows)]
    return "\n".join(lines)


def write_report(out: Path, history: Any, *, y_true: Any = None, y_pred: Any = None,
                 class_names: Sequence[str] | None = None) -> list[Path]:
    """Write history.json, learning_curves.png and (with labels) confusion_matrix.png.

    Returns the paths written. Figures go through :func:`deltaprop.viz.figures.save_figure`
    (temp file + ``os.replace``), the JSON through ``atomic_write_bytes``.
    """
    from deltaprop.viz import plot_confusion_matrix, plot_learning_curves, save_figure

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "history.json"]
    atomic_write_bytes(written[0], json.dumps(history.to_dict(), indent=1).encode())
    if history.epochs:
        fig = plot_learning_curves(history, title="learning curves")
        written.append(Path(save_figure(fig, out / "learning_curves.png")))
    if y_true is not None and y_pred is not None:
        fig = plot_confusion_matrix(y_true, y_pred, labels=class_names,
                                    title=None)
        written.append(Path(save_figure(fig, out / "confusion_matrix.png")))
    return written
