"""Loss-landscape slices along filter-normalized random directions (Li et al. 2018, in 004).

004 "Remark: optimization problem and loss surface" cites Li, Xu, Taylor, Studer & Goldstein
(2018), *Visualizing the loss landscape of neural nets*. Their recipe: draw a random direction
d with the shape of every weight matrix, rescale each filter (for a dense layer: each unit's
row of incoming weights) to the norm of the same filter of the trained weights,
d_i ← d_i / ‖d_i‖ · ‖W_i‖, and leave biases out (d = 0 there). Then plot
L(θ + α d) (1-D) or L(θ + α d₁ + β d₂) (2-D). Filter normalization removes the scale
invariance that makes raw random directions misleading.

Examples
--------
>>> import numpy as np, deltaprop as dp
>>> from deltaprop.inspection.landscape import slice_1d
>>> net = dp.mlp([2, 4, 1], activation="tanh", seed=0)
>>> X = np.random.default_rng(0).normal(size=(20, 2)); Y = (X[:, :1] > 0).astype(float)
>>> alphas, losses = slice_1d(net, X, Y, n_points=5)
>>> alphas.tolist()
[-1.0, -0.5, 0.0, 0.5, 1.0]
>>> bool(np.isclose(losses[2], net.evaluate(X, Y)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.checks import as_generator
from deltaprop.errors import InputError

__all__ = ["random_direction", "loss_at", "slice_1d", "slice_2d"]


def random_direction(network: Any, rng: Any = None, normalize: str = "filter") -> list[np.ndarray]:
    """A random direction aligned with ``network.parameters()``.

    Parameters
    ----------
    network : Network
    rng : int or numpy.random.Generator, optional
    normalize : {"filter", "layer", "none"}
        "filter": each row of every W scaled to the norm of the same row of W (Li et al.);
        "layer": each matrix scaled to ‖W‖; "none": raw N(0, 1) entries. Biases get 0.
    """
    if normalize not in ("filter", "layer", "none"):
        raise InputError(f"normalize must be 'filter', 'layer' or 'none', got {normalize!r}")
    rng = as_generator(rng)
    out = []
    for p, info in zip(network.parameters(), network.parameter_info(), strict=True):
        if info.kind != "W":
            out.append(np.zeros_like(p))
            continue
        d = rng.standard_normal(p.shape)
        if normalize == "filter":
            scale = np.linalg.norm(p, axis=1, keepdims=True) / np.maximum(
                np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
            d = d * scale
        elif normalize == "layer":
            d = d * (np.linalg.norm(p) / max(np.linalg.norm(d), 1e-12))
        out.append(d.astype(p.dtype))
    return out


def loss_at(network: Any, X: Any, Y: Any, directions: list[list[np.ndarray]],
            coords: Any) -> float:
    """L(θ + Σ_k c_k d_k) on (X, Y); the network's parameters are restored afterwards."""
    params = network.parameters()
    saved = [p.copy() for p in params]
    try:
        for c, d in zip(coords, directions, strict=True):
            for p, dp_ in zip(params, d, strict=True):
                p += p.dtype.type(c) * dp_
        with np.errstate(over="ignore", invalid="ignore"):
            return float(network.evaluate(X, Y))
    finally:
        for p, s in zip(params, saved, strict=True):
            np.copyto(p, s)


def _grid(n_points: int, span: float) -> np.ndarray:
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 2:
        raise InputError(f"n_points must be an integer >= 2, got {n_points!r}")
    if not span > 0:
        raise InputError(f"span must be > 0, got {span!r}")
    return np.linspace(-span, span, n_points)


def slice_1d(network: Any, X: Any, Y: Any, n_points: int = 41, span: float = 1.0,
             seed: int | None = 0, normalize: str = "filter") -> tuple[np.ndarray, np.ndarray]:
    """Losses L(θ + α d) for α in ``linspace(-span, span, n_points)``.

    Returns
    -------
    (alphas, losses) : two arrays of shape (n_points,)
    """
    alphas = _grid(n_points, span)
    d = random_direction(network, seed, normalize)
    return alphas, np.array([loss_at(network, X, Y, [d], [a]) for a in alphas])


def slice_2d(network: Any, X: Any, Y: Any, n_points: int = 21, span: float = 1.0,
             seed: int | None = 0, normalize: str = "filter"
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Losses L(θ + α d₁ + β d₂) on an ``n_points × n_points`` grid.

    Returns
    -------
    (alphas, betas, losses) : losses[i, j] is at (alphas[j], betas[i])
    """
    grid = _grid(n_points, span)
    rng = as_generator(seed)
    d1 = random_direction(network, rng, normalize)
    d2 = random_direction(network, rng, normalize)
    losses = np.array([[loss_at(network, X, Y, [d1, d2], [a, b]) for a in grid] for b in grid])
    return grid, grid.copy(), losses
