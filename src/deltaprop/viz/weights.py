"""Pictures of weights: templates (the rows of W as images, 003 "Weights of each output unit
define a template") and Hinton diagrams (003)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.viz.figures import new_figure

__all__ = ["plot_weight_templates", "plot_hinton"]


def _weights_of(source: Any, layer: int = -1) -> np.ndarray:
    if hasattr(source, "trainable_layers"):
        n = len(source.trainable_layers)
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer) \
                or not -n <= layer < n:
            raise InputError(f"layer {layer!r} is out of range: the network has {n} trainable "
                             f"layers, 0..{n - 1} (or -{n}..-1 from the output)")
        return np.asarray(source.trainable_layers[layer].W, dtype=np.float64)
    W = np.asarray(source, dtype=np.float64)
    if W.ndim != 2:
        raise InputError(f"weights must be a 2-D matrix (n_out, n_in), got shape {W.shape}")
    return W


def plot_weight_templates(source: Any, image_shape: tuple[int, int] = (28, 28),
                          labels: Sequence[str] | None = None, cols: int | None = None,
                          title: str | None = None, layer: int = 0) -> Any:
    """Each unit's incoming weights as an image: the class "templates" of 003.

    003 "Single layer network trained on MNIST Digits": "Weights of each output unit define a
    'template' for the class"; red is positive (the digit's strokes), blue negative.

    Parameters
    ----------
    source : Network (trainable layer ``layer``, default the first) or array (n_out, n_in)
    image_shape : (rows, cols) with rows·cols = n_in
    labels : panel titles; default "class i" for an output layer, "unit i" otherwise
    cols : panels per row; default 5 for up to 10 panels, else a near-square grid
    layer : which trainable layer of a Network (its inputs must be the image)
    """
    W = _weights_of(source, layer)
    if W.shape[1] != image_shape[0] * image_shape[1]:
        raise InputError(f"W has {W.shape[1]} inputs, image_shape {image_shape} needs "
                         f"{image_shape[0] * image_shape[1]}")
    n = W.shape[0]
    if labels is None:
        output = (not hasattr(source, "trainable_layers")
                  or source.trainable_layers[layer] is source.trainable_layers[-1])
        labels = [f"{'class' if output else 'unit'} {i}" for i in range(n)]
    if cols is None:
        cols = 5 if n <= 10 else int(np.ceil(np.sqrt(n * 4 / 3)))
    cols = min(cols, n)
    rows = -(-n // cols)
    panel = min(1.8, 14.0 / cols)  # a grid of many units stays about 15 inches wide
    fig = new_figure((panel * cols + 0.8, (panel + 0.1) * rows + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    lim = float(np.abs(W).max()) or 1.0
    im = None
    font = "small" if panel >= 1.2 else "xx-small"
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < n:
            im = ax.imshow(W[i].reshape(image_shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(labels[i], fontsize=font, pad=2)
    fig.colorbar(im, ax=list(axes), shrink=0.7)
    if title:
        fig.suptitle(title)
    return fig


def plot_hinton(source: Any, max_weight: float | None = None, layer: int = -1,
                title: str | None = None, ax: Any = None, xlabel: str | None = None,
                ylabel: str | None = None) -> Any:
    """Hinton diagram: one square per weight, area ∝ |w|, white positive, black negative (003).

    Parameters
    ----------
    source : Network (trainable layer ``layer``) or array (n_out, n_in)
        Rows are drawn as rows (one row per unit).
    max_weight : float, optional
        Weight that fills a whole cell; default the largest |w|.
    xlabel, ylabel : str, optional
        Axis labels; default "input j" / "unit i" for a network's layer, "column" / "row"
        for an array (a reshaped template is not a weight matrix).
    """
    is_net = hasattr(source, "trainable_layers")
    W = _weights_of(source, layer)
    from matplotlib.patches import Rectangle

    rows, cols = W.shape
    if ax is None:
        fig = new_figure((min(12.0, max(4.5, 1.0 + 0.3 * cols)),
                          min(9.0, max(3.0, 1.3 + 0.3 * rows))))
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
    ax.set_xlabel(xlabel or ("input j" if is_net else "column"))
    ax.set_ylabel(ylabel or ("unit i" if is_net else "row"))
    what = f"W of layer {layer}" if is_net else "weights"
    ax.set_title(title or f"Hinton diagram of {what} ({rows}×{cols})\nmax |w| = {top:.3g}",
                 fontsize="medium", wrap=True)
    return fig
