"""Pictures of training and of the inside of a network, as the notes draw them.

Every function builds a :class:`matplotlib.figure.Figure` without pyplot (no GUI, no global
state, safe on a headless machine) and returns it; :func:`save_figure` writes it atomically
as PNG or SVG. matplotlib is imported inside the functions so ``import deltaprop`` stays light.

- :func:`plot_learning_curves`: training vs validation loss and accuracy, best epoch marked
  (002 §5, 001 "Overfitting in ANNs").
- :func:`plot_confusion_matrix`: counts of true vs predicted classes.
- :func:`plot_decision_regions`: a classifier's regions on 2-D data with the points (003).
- :func:`plot_weight_templates`: the rows of a single-layer softmax network's W as images,
  one "template" per class (003 "Weights of each output unit define a template").
- :func:`plot_hinton`: Hinton diagram of a weight matrix (003).
- :func:`plot_layer_curves`: per-layer monitor values over epochs, e.g. gradient norms on a
  log scale (000 §9.3).
- :func:`plot_activation_histograms`: per-layer histograms of h^l with the activation's
  limits marked (001 "Saturation of a neuron").
- :func:`plot_landscape_1d`, :func:`plot_landscape_2d`: loss-landscape slices (004, Li et al.
  2018), computed by :mod:`deltaprop.landscape`.

Examples
--------
>>> from deltaprop.callbacks import History
>>> from deltaprop.plots import plot_learning_curves
>>> h = History([{"epoch": 1, "loss": 1.0, "val_loss": 1.1},
...              {"epoch": 2, "loss": 0.5, "val_loss": 0.9}], best_epoch=2)
>>> fig = plot_learning_curves(h)
>>> len(fig.axes)
1
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.errors import InputError

_NETWORK_PLOTS = (
    "plot_decision_regions",
    "plot_weight_templates",
    "plot_hinton",
    "plot_layer_curves",
    "plot_gradient_norms",
    "plot_activation_histograms",
    "plot_landscape_1d",
    "plot_landscape_2d",
)
_CLI = ("add_cli",)

__all__ = [
    "new_figure",
    "save_figure",
    "plot_learning_curves",
    "plot_confusion_matrix",
    *_NETWORK_PLOTS,
    *_CLI,
]


def __getattr__(name: str) -> Any:
    # The network pictures live in plots_network (kept separate to keep modules short) and
    # the CLI in plot_cli; both are loaded on first use.
    if name in _NETWORK_PLOTS:
        from deltaprop import plots_network

        return getattr(plots_network, name)
    if name == "add_cli":
        from deltaprop.plot_cli import add_cli

        return add_cli
    raise AttributeError(f"module 'deltaprop.plots' has no attribute {name!r}")


def new_figure(figsize: tuple[float, float] = (6.4, 4.8)) -> Any:
    """A pyplot-free Figure (rendered by the Agg canvas when saved)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` (format from the suffix: .png or .svg), atomically.

    The figure is rendered to a temporary file in the same folder and moved into place with
    ``os.replace``, so a reader never sees a half-written image.
    """
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise InputError(f"figure path {path!r} must end in .png or .svg")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=f".{fmt}", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            # metadata=None-ish: drop the creation date so reruns give identical PNGs.
            meta = {"Software": None} if fmt == "png" else {"Date": None}
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=meta)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# ----------------------------------------------------------------------------- histories
def _epochs_of(history: Any) -> tuple[list[dict[str, Any]], int | None]:
    """(epoch dicts, best epoch) from a History, its ``to_dict()`` or a list of dicts."""
    if hasattr(history, "epochs") and isinstance(history.epochs, list):
        return history.epochs, getattr(history, "best_epoch", None)
    if isinstance(history, dict) and "epochs" in history:
        return list(history["epochs"]), history.get("best_epoch")
    if isinstance(history, Sequence) and all(isinstance(e, dict) for e in history):
        return list(history), None
    raise InputError("history must be a History, History.to_dict() or a list of epoch dicts, "
                     f"got {type(history).__name__}")


def _series(epochs: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Epoch numbers and values of ``key`` where present and finite."""
    xs, ys = [], []
    for i, e in enumerate(epochs):
        v = e.get(key)
        if isinstance(v, int | float | np.number) and np.isfinite(v):
            xs.append(e.get("epoch", i + 1))
            ys.append(float(v))
    return np.asarray(xs), np.asarray(ys)


def plot_learning_curves(history: Any, metrics: Sequence[str] | None = None,
                         mark_best: bool = True, title: str | None = None,
                         log_loss: bool = False) -> Any:
    """Training vs validation curves, one panel per metric, best epoch marked (002 §5).

    002 §5 and 001 "Overfitting in ANNs": "monitor the loss on both training and test sets";
    when the validation loss turns up while the training loss keeps falling the network
    overfits, and early stopping keeps the epoch with the best validation score.

    Parameters
    ----------
    history : History, dict or list of dict
        A :class:`deltaprop.callbacks.History`, its ``to_dict()``, or the epoch dicts.
    metrics : sequence of str, optional
        Base keys to draw; each panel shows ``key`` and ``val_key``. Default: ``loss`` and
        whichever of ``accuracy``/``r2`` the history has.
    mark_best : bool
        Draw a vertical line at ``history.best_epoch`` (or the epoch of lowest ``val_loss``).
    title : str, optional
    log_loss : bool
        Log scale for the loss panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    epochs, best = _epochs_of(history)
    if not epochs:
        raise InputError("history has no epochs to plot")
    keys = {k for e in epochs for k in e}
    if metrics is None:
        metrics = ["loss"] + [k for k in ("accuracy", "r2") if k in keys]
    metrics = [m for m in metrics if m in keys or f"val_{m}" in keys]
    if not metrics:
        raise InputError(f"history has none of the metrics to plot; keys: {sorted(keys)}")
    if mark_best and best is None:
        _, v = _series(epochs, "val_loss")
        if v.size:
            best = int(_series(epochs, "val_loss")[0][int(np.argmin(v))])
    fig = new_figure((4.6 * len(metrics), 3.6))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        for key, style, label in ((metric, "-", "training"), (f"val_{metric}", "--",
                                                              "validation")):
            x, y = _series(epochs, key)
            if x.size:
                ax.plot(x, y, style, marker="." if x.size < 30 else None, label=label)
                if mark_best and best is not None and best in x:
                    ax.plot([best], [y[list(x).index(best)]], "o", color="black", ms=5)
        if mark_best and best is not None:
            ax.axvline(best, color="grey", ls=":", lw=1, label=f"best epoch {best}")
        if metric == "loss" and log_loss:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


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
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
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
