"""Decision regions of a classifier on 2-D data, with the points (003)."""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.viz.figures import new_figure

__all__ = ["plot_decision_regions"]


def plot_decision_regions(network: Any, X: Any, y: Any, resolution: int = 200,
                          padding: float = 0.5, title: str | None = None,
                          ax: Any = None, transform: Any = None) -> Any:
    """Colour the plane by the class the network predicts and draw the points (003).

    003 "Classification regions with single-layer network": "Single-layer networks are limited
    to linear classification boundaries"; a hidden layer bends them.

    Parameters
    ----------
    network : Network with 2 inputs (a classifier)
    X : array (N, 2); y : array (N,) of class indices (or one-hot rows)
    resolution : int
        Grid points per axis.
    ax : matplotlib Axes, optional
        Draw into this Axes (its Figure is returned) instead of a new Figure.
    transform : callable, optional
        Raw points -> network inputs (a model file's stored preprocessing): the plane and
        the points are drawn in raw units, the network sees transformed ones.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise InputError(f"decision regions need 2-D inputs, X has shape {X.shape}")
    if network.n_inputs != 2:
        raise InputError(f"the network has {network.n_inputs} inputs, decision regions need 2")
    y = np.asarray(y)
    y = y.argmax(axis=1) if y.ndim == 2 else y.astype(int)
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    inputs = (lambda P: P) if transform is None else transform
    pred = np.asarray(network.predict(inputs(np.c_[gx.ravel(), gy.ravel()])))
    if pred.ndim == 2:  # regression-style outputs: threshold the first column
        pred = (pred[:, 0] > 0.5).astype(int)
    k = int(max(pred.max(), y.max())) + 1
    from matplotlib.colors import ListedColormap

    base = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]
    colors = [base[i % len(base)] for i in range(k)]
    if ax is None:
        fig = new_figure((5, 4.4))
        ax = fig.subplots()
    else:
        fig = ax.figure
    ax.contourf(gx, gy, pred.reshape(gx.shape), levels=np.arange(k + 1) - 0.5,
                cmap=ListedColormap(colors), alpha=0.3)
    for c in range(k):
        m = y == c
        ax.scatter(X[m, 0], X[m, 1], s=12, color=colors[c], edgecolor="k", linewidth=0.3,
                   label=f"class {c}")
    fit = np.asarray(network.predict(inputs(X)))
    fit = (fit[:, 0] > 0.5).astype(int) if fit.ndim == 2 else fit
    acc = float(np.mean(fit == y))
    ax.set_title(title or f"decision regions (accuracy {acc:.3f} on the {len(X)} points "
                          "shown)", fontsize="medium")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(fontsize="x-small", loc="best")
    return fig
