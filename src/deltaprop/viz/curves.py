"""Curves over epochs: learning curves with the best epoch marked (002 §5, 001 "Overfitting
in ANNs") and per-layer monitor values such as gradient norms on a log scale (000 §9.3).

Examples
--------
>>> from deltaprop.training.callbacks import History
>>> from deltaprop.viz.curves import plot_learning_curves
>>> h = History([{"epoch": 1, "loss": 1.0, "val_loss": 1.1},
...              {"epoch": 2, "loss": 0.5, "val_loss": 0.9}], best_epoch=2)
>>> fig = plot_learning_curves(h)
>>> len(fig.axes)
1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.inspection.monitors import layer_series
from deltaprop.viz.figures import colormap, new_figure

__all__ = ["plot_learning_curves", "plot_layer_curves", "plot_gradient_norms"]


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
        A :class:`deltaprop.training.callbacks.History`, its ``to_dict()``, or the epoch dicts.
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


def plot_layer_curves(history: Any, prefix: str, log: bool = False,
                      title: str | None = None, ylabel: str | None = None) -> Any:
    """One line per layer for the monitor keys ``prefix/layer{i}`` over the epochs."""
    epochs, _ = _epochs_of(history)
    series = layer_series(epochs, prefix)
    if not series:
        raise InputError(f"the history has no '{prefix}/layer<i>' keys; add the monitor "
                         "callback that writes them (deltaprop.inspection.monitors)")
    x = [e.get("epoch", i + 1) for i, e in enumerate(epochs)]
    points = {i: [(a, v) for a, v in zip(x, vals, strict=True) if v is not None
                  and np.isfinite(v) and (v > 0 or not log)] for i, vals in series.items()}
    blank = [i for i, pts in points.items() if not pts]
    if len(blank) == len(points):
        why = (" (NaN): saturation applies to bounded units (logistic, tanh, scaled_tanh); "
               "ReLU-family and linear layers cannot saturate, see 'dead_relu' for theirs"
               if prefix == "saturation" else "")
        raise InputError(f"the history's '{prefix}/layer<i>' keys hold no finite values"
                         f"{why}")
    fig = new_figure((6.4, 4.2))
    ax = fig.subplots()
    cmap = colormap("viridis")
    for n, (i, pts) in enumerate(points.items()):
        if pts:
            ax.plot(*zip(*pts, strict=True), color=cmap(n / max(len(series) - 1, 1)),
                    label=f"layer {i}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or prefix)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="x-small", ncol=2)
    note = ""
    if blank:
        layers = ", ".join(map(str, blank))
        note = (f"\nlayer {layers}: unbounded units, no saturation" if prefix == "saturation"
                else f"\nlayer {layers}: no finite values")
    ax.set_title((title or prefix) + note, fontsize="medium")
    return fig


def plot_gradient_norms(history: Any, title: str | None = None) -> Any:
    """Per-layer gradient norms over epochs on a log scale (000 §9.3 vanishing/exploding).

    Uses the ``grad_norm/layer{i}`` keys of
    :class:`~deltaprop.inspection.monitors.GradientNormMonitor`,
    or else the trainer's own ``grad_norms`` lists.
    """
    epochs, best = _epochs_of(history)
    if not any(k.startswith("grad_norm/layer") for e in epochs for k in e):
        if not any(e.get("grad_norms") for e in epochs):
            raise InputError("the history has neither grad_norm/layer<i> nor grad_norms")
        epochs = [{**e, **{f"grad_norm/layer{i}": v
                           for i, v in enumerate(e.get("grad_norms") or [])}} for e in epochs]
    return plot_layer_curves(epochs, "grad_norm", log=True, ylabel="‖∂L/∂W‖",
                             title=title or "gradient norm per layer (000 §9.3)")
