"""Per-layer histograms of h^l with the activation's limits marked (001 "Saturation of a
neuron")."""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.inspection import diagnostics
from deltaprop.viz.figures import new_figure

__all__ = ["plot_activation_histograms"]


def plot_activation_histograms(network: Any, X: Any, bins: int = 50,
                               eps: float | None = None, title: str | None = None) -> Any:
    """Histograms of every hidden layer's activations h^l, limits marked (001 saturation).

    Bars piled against the ends of a logistic or tanh range are saturated units; the shaded
    bands are the ``eps`` margins used by
    :func:`deltaprop.inspection.diagnostics.saturation_fractions`.
    """
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
