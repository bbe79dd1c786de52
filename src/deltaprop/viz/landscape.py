"""Loss-landscape slices (004, Li et al. 2018), computed by
:mod:`deltaprop.inspection.landscape`."""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.viz.figures import new_figure

__all__ = ["plot_landscape_1d", "plot_landscape_2d"]


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
