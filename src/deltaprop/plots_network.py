"""Pictures of a network's inside: decision regions, templates, Hinton diagrams, histograms,
loss landscapes. Re-exported by :mod:`deltaprop.plots`; see there for the conventions
(pyplot-free Figures, matplotlib imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.plots import _NETWORK_PLOTS, _epochs_of, new_figure

__all__ = list(_NETWORK_PLOTS)  # the names deltaprop.plots re-exports lazily


def plot_decision_regions(network: Any, X: Any, y: Any, resolution: int = 200,
                          padding: float = 0.5, title: str | None = None,
                          ax: Any = None) -> Any:
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
    pred = np.asarray(network.predict(np.c_[gx.ravel(), gy.ravel()]))
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
    fit = np.asarray(network.predict(X))
    fit = (fit[:, 0] > 0.5).astype(int) if fit.ndim == 2 else fit
    acc = float(np.mean(fit == y))
    ax.set_title(title or f"decision regions (training accuracy {acc:.3f})")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(fontsize="x-small", loc="best")
    return fig


def _weights_of(source: Any, layer: int = -1) -> np.ndarray:
    if hasattr(source, "trainable_layers"):
        return np.asarray(source.trainable_layers[layer].W, dtype=np.float64)
    W = np.asarray(source, dtype=np.float64)
    if W.ndim != 2:
        raise InputError(f"weights must be a 2-D matrix (n_out, n_in), got shape {W.shape}")
    return W


def plot_weight_templates(source: Any, image_shape: tuple[int, int] = (28, 28),
                          labels: Sequence[str] | None = None, cols: int = 5,
                          title: str | None = None) -> Any:
    """Each output unit's weights as an image: the class "templates" of 003.

    003 "Single layer network trained on MNIST Digits": "Weights of each output unit define a
    'template' for the class"; red is positive (the digit's strokes), blue negative.

    Parameters
    ----------
    source : Network (its first trainable layer is used) or array (n_out, n_in)
    image_shape : (rows, cols) with rows·cols = n_in
    """
    W = _weights_of(source, 0)
    if W.shape[1] != image_shape[0] * image_shape[1]:
        raise InputError(f"W has {W.shape[1]} inputs, image_shape {image_shape} needs "
                         f"{image_shape[0] * image_shape[1]}")
    n = W.shape[0]
    cols = min(cols, n)
    rows = -(-n // cols)
    fig = new_figure((1.8 * cols + 0.6, 1.9 * rows + 0.3))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    lim = float(np.abs(W).max()) or 1.0
    im = None
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < n:
            im = ax.imshow(W[i].reshape(image_shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(labels[i] if labels is not None else f"class {i}", fontsize="small")
    fig.colorbar(im, ax=list(axes), shrink=0.7)
    if title:
        fig.suptitle(title)
    return fig


def plot_hinton(source: Any, max_weight: float | None = None, layer: int = -1,
                title: str | None = None, ax: Any = None) -> Any:
    """Hinton diagram: one square per weight, area ∝ |w|, white positive, black negative (003).

    Parameters
    ----------
    source : Network (trainable layer ``layer``) or array (n_out, n_in)
        Rows are drawn as rows (one row per unit).
    max_weight : float, optional
        Weight that fills a whole cell; default the largest |w|.
    """
    W = _weights_of(source, layer)
    from matplotlib.patches import Rectangle

    rows, cols = W.shape
    if ax is None:
        fig = new_figure((min(12.0, 1.0 + 0.3 * cols), min(9.0, 1.0 + 0.3 * rows)))
        ax = fig.subplots()
    else:
        fig = ax.figure
    top = max_weight if max_weight is not None else float(np.abs(W).max()) or 1.0
    ax.set_facecolor("grey")
    for (i, j), w in np.ndenumerate(W):
        side = np.sqrt(min(abs(w) / top, 1.0)) * 0.9
        ax.add_patch(Rectangle((j - side / 2, i - side / 2), side, side,
                               facecolor="white" if w > 0 else "black", edgecolor=None))
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xlabel("input j")
    ax.set_ylabel("unit i")
    ax.set_title(title or f"Hinton diagram of W ({rows}×{cols}), max |w| = {top:.3g}")
    return fig


def plot_layer_curves(history: Any, prefix: str, log: bool = False,
                      title: str | None = None, ylabel: str | None = None) -> Any:
    """One line per layer for the monitor keys ``prefix/layer{i}`` over the epochs."""
    from deltaprop.monitors import layer_series

    epochs, _ = _epochs_of(history)
    series = layer_series(epochs, prefix)
    if not series:
        raise InputError(f"the history has no '{prefix}/layer<i>' keys; add the monitor "
                         "callback that writes them (deltaprop.monitors)")
    fig = new_figure((6.4, 4.2))
    ax = fig.subplots()
    x = [e.get("epoch", i + 1) for i, e in enumerate(epochs)]
    cmap = _cmap("viridis")
    for n, (i, vals) in enumerate(series.items()):
        pts = [(a, v) for a, v in zip(x, vals, strict=True) if v is not None and np.isfinite(v)
               and (v > 0 or not log)]
        if pts:
            ax.plot(*zip(*pts, strict=True), color=cmap(n / max(len(series) - 1, 1)),
                    label=f"layer {i}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or prefix)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="x-small", ncol=2)
    ax.set_title(title or prefix)
    return fig


def plot_gradient_norms(history: Any, title: str | None = None) -> Any:
    """Per-layer gradient norms over epochs on a log scale (000 §9.3 vanishing/exploding).

    Uses the ``grad_norm/layer{i}`` keys of :class:`~deltaprop.monitors.GradientNormMonitor`,
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


def _cmap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def plot_activation_histograms(network: Any, X: Any, bins: int = 50,
                               eps: float | None = None, title: str | None = None) -> Any:
    """Histograms of every hidden layer's activations h^l, limits marked (001 saturation).

    Bars piled against the ends of a logistic or tanh range are saturated units; the shaded
    bands are the ``eps`` margins used by :func:`deltaprop.diagnostics.saturation_fractions`.
    """
    from deltaprop import diagnostics

    eps = diagnostics.DEFAULT_EPS if eps is None else eps
    outs = diagnostics.layer_outputs(network, X)[:-1]
    if not outs:
        raise InputError("the network has no hidden layer")
    sat = diagnostics.saturation_fractions(network, X, eps=eps)
    cols = min(5, len(outs))
    rows = -(-len(outs) // cols)
    fig = new_figure((2.6 * cols, 2.1 * rows + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(outs):]:
        ax.set_axis_off()
    for ax, (layer, _, h) in zip(axes, outs, strict=False):
        ax.hist(np.ravel(h), bins=bins, color="#4c72b0")
        act = getattr(layer, "activation", None)
        lo, hi = act.bounds if act is not None else (-np.inf, np.inf)
        if np.isfinite(lo) and np.isfinite(hi):
            m = eps * (hi - lo)
            ax.axvspan(lo, lo + m, color="red", alpha=0.2)
            ax.axvspan(hi - m, hi, color="red", alpha=0.2)
        frac = sat.get(layer.index, np.nan)
        label = f"{frac:.0%} saturated" if np.isfinite(frac) else act.name if act else ""
        ax.set_title(f"layer {layer.index}: {label}", fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig


def plot_landscape_1d(alphas: Any, losses: Any, title: str | None = None,
                      label: str | None = None, ax: Any = None, log: bool = False) -> Any:
    """L(θ + α d) against α (Li et al. 2018); α = 0 is the trained network."""
    if ax is None:
        fig = new_figure((5.2, 3.8))
        ax = fig.subplots()
    else:
        fig = ax.figure
    ax.plot(alphas, losses, label=label)
    ax.axvline(0.0, color="grey", ls=":", lw=1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("α (filter-normalized direction)")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    if label:
        ax.legend(fontsize="small")
    ax.set_title(title or "1-D loss slice")
    return fig


def plot_landscape_2d(alphas: Any, betas: Any, losses: Any, levels: int = 30,
                      title: str | None = None) -> Any:
    """Contours of L(θ + α d₁ + β d₂) (Li et al. 2018); the dot marks the trained network."""
    losses = np.asarray(losses, dtype=np.float64)
    finite = np.where(np.isfinite(losses), losses, np.nanmax(losses[np.isfinite(losses)]))
    fig = new_figure((5.4, 4.6))
    ax = fig.subplots()
    cs = ax.contourf(alphas, betas, np.log10(np.maximum(finite, 1e-12)), levels=levels,
                     cmap="viridis")
    ax.contour(alphas, betas, np.log10(np.maximum(finite, 1e-12)), levels=levels // 2,
               colors="k", linewidths=0.3)
    fig.colorbar(cs, ax=ax, label="log10 loss")
    ax.plot([0], [0], "o", color="white", mec="k")
    ax.set_xlabel("α")
    ax.set_ylabel("β")
    ax.set_aspect("equal")
    ax.set_title(title or "2-D loss slice (filter-normalized directions)")
    return fig
