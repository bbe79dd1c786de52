"""The input plane as a grid of points, and heatmaps over it packed as bytes for the page.

Every heatmap of the page (the output's decision regions and each neuron's h over the input
plane) is the network evaluated at the points of one :class:`InputGrid`. Values are sent as
one byte per cell, base64-encoded: 0 is ``center - half``, 255 is ``center + half``.

Examples
--------
>>> g = InputGrid((-1.0, 1.0, -1.0, 1.0), 2)
>>> g.points.tolist()
[[-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]]
>>> quantize(np.array([-1.0, 0.0, 1.0]), 0.0, 1.0).tolist()
[0, 128, 255]
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

__all__ = ["InputGrid", "quantize", "pack"]


class InputGrid:
    """``size`` × ``size`` cell centres over ``domain`` = (x1 min, x1 max, x2 min, x2 max).

    Row-major, top row first: row 0 holds the largest x2, as a canvas draws it.
    """

    def __init__(self, domain: tuple[float, float, float, float], size: int) -> None:
        self.domain = tuple(float(v) for v in domain)
        self.size = int(size)
        x0, x1, y0, y1 = self.domain
        xs = x0 + (np.arange(size) + 0.5) * (x1 - x0) / size
        ys = y1 - (np.arange(size) + 0.5) * (y1 - y0) / size
        gx, gy = np.meshgrid(xs, ys)
        self.points = np.column_stack([gx.ravel(), gy.ravel()])

    def subsample(self, values: np.ndarray, step: int) -> np.ndarray:
        """Every ``step``-th cell in both directions of per-cell ``values`` (first axis)."""
        shaped = values.reshape(self.size, self.size, *values.shape[1:])
        return shaped[::step, ::step].reshape(-1, *values.shape[1:])


def quantize(values: np.ndarray, center: Any, half: Any) -> np.ndarray:
    """Map ``values`` linearly onto 0..255 (``center ± half`` at the ends, clipped);
    ``center`` and ``half`` broadcast against ``values``."""
    half = np.maximum(np.asarray(half, dtype=np.float64), 1e-12)
    scaled = (np.asarray(values, dtype=np.float64) - center) / half
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.rint((np.clip(scaled, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def pack(data: np.ndarray) -> str:
    """uint8 array -> base64 text (the page decodes it with ``atob``)."""
    return base64.b64encode(np.ascontiguousarray(data, dtype=np.uint8).tobytes()).decode("ascii")
