"""Stored preprocessing as ONNX operators: input transformers forward, target scaling undone.

Like deltaprop, the graph computes them in float64 (the callers cast to and from the float32
network). They stay nodes of their own rather than being folded into the first layer's
weights: folded weights W / scale and b − W mean / scale cancel large terms in float32 when a
feature's mean is large compared with its spread, and float32 whitening amplifies rounding
noise along directions of tiny variance (one-hot columns that sum to one make such a
direction).

- :class:`~deltaprop.data.preprocessing.Standardizer`: ``Sub(mean)``, ``Div(scale)``;
- :class:`~deltaprop.data.whitening.PCAWhitener`: ``Sub(mean)``, ``MatMul(components^T)`` and,
  when whitening, ``Div(sqrt(variance + epsilon))``;
- :class:`~deltaprop.data.deskew.Deskewer`: each image's moments from ``ReduceSum`` and
  ``MatMul``, its skew α = σ_rc / σ_rr, and one bilinear ``GridSample`` (zero padding, corners
  aligned) at the source coordinates (r + μ_r − r₀, c + μ_c − c₀ + α (r − r₀)); needs opset 16;
- :class:`~deltaprop.data.preprocessing.Preprocessor`: its steps in order.

Targets (regression): a Standardizer is undone by ``Mul(scale)``, ``Add(mean)``, a
:class:`~deltaprop.data.target_scaling.TargetScaler` by ``Sub(offset)``, ``Div(scale)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.data.deskew import Deskewer
from deltaprop.data.preprocessing import Preprocessor, Standardizer
from deltaprop.data.target_scaling import TargetScaler
from deltaprop.data.whitening import PCAWhitener
from deltaprop.errors import InputError
from deltaprop.export._builder import DOUBLE, FLOAT, Builder

__all__ = ["emit_transform", "emit_inverse"]


def emit_transform(b: Builder, step: Any, x: str) -> str:
    """Add the fitted input transformer ``step`` applied to the float64 ``x``; returns its
    (float64) output.

    Raises
    ------
    InputError
        For a transformer type that has no ONNX translation.
    """
    if isinstance(step, Preprocessor):
        for inner in step.steps:
            x = emit_transform(b, inner, x)
        return x
    if type(step) is Standardizer:
        centred = b.node("Sub", [x, b.doubles("mean", step.mean_)], "centred")
        return b.node("Div", [centred, b.doubles("scale", step.scale_)], "standardized")
    if type(step) is PCAWhitener:
        centred = b.node("Sub", [x, b.doubles("pca_mean", step.mean_)], "pca_centred")
        z = b.node("MatMul", [centred, b.doubles("components_T", step.components_.T)],
                   "pca_projected")
        if not step.whiten:
            return z
        std = np.sqrt(np.asarray(step.explained_variance_, np.float64) + step.epsilon)
        return b.node("Div", [z, b.doubles("pca_std", std)], "whitened")
    if type(step) is Deskewer:
        return _deskew(b, step, x)
    raise InputError(f"the stored input preprocessing {type(step).__name__} cannot be exported "
                     "to ONNX (Standardizer, PCAWhitener, Deskewer and Preprocessor chains can)")


#: The first opset with GridSample; it named bilinear sampling "linear" from opset 20 on.
_GRID_SAMPLE, _LINEAR_RENAMED = 16, 20


def _deskew(b: Builder, step: Deskewer, x: str) -> str:
    """:meth:`Deskewer.transform` (module docstring of :mod:`deltaprop.data.deskew`)."""
    if b.opset < _GRID_SAMPLE:
        raise InputError(f"exporting a deskewing model needs opset >= {_GRID_SAMPLE} "
                         f"(GridSample), got {b.opset}")
    h, w = step.image_shape
    r0, c0 = (h - 1) / 2, (w - 1) / 2
    r, c = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    zero, one = b.doubles("zero", np.float64(0.0)), b.doubles("one", np.float64(1.0))
    imgs = b.node("Reshape", [x, b.constant("image_dims", np.array([-1, h, w], np.int64))],
                  "images")
    rows = b.reduce("ReduceSum", imgs, [2], False, "ink_per_row")         # (N, H)
    cols = b.reduce("ReduceSum", imgs, [1], False, "ink_per_column")      # (N, W)
    m = b.reduce("ReduceSum", rows, [1], True, "ink")                     # (N, 1)
    ink = b.node("Greater", [m, zero], "has_ink")
    safe = b.node("Where", [ink, m, one], "ink_or_one")

    def centre(sums: str, coords: np.ndarray, middle: float, hint: str) -> str:
        mean = b.node("Div", [b.node("MatMul", [sums, b.doubles(f"{hint}_coords",
                                                               coords[:, None])], hint), safe],
                      f"{hint}_mean")
        return b.node("Where", [ink, mean, b.doubles(f"{hint}_middle", np.float64(middle))],
                      f"mu_{hint}")

    mu_r, mu_c = centre(rows, r, r0, "r"), centre(cols, c, c0, "c")       # (N, 1)
    dr = b.node("Sub", [b.doubles("r_row", r[None, :]), mu_r], "dr")        # (N, H)
    dc = b.node("Sub", [b.doubles("c_row", c[None, :]), mu_c], "dc")        # (N, W)
    s_rr = b.node("Div", [b.reduce("ReduceSum", b.node("Mul", [rows, b.node(
        "Mul", [dr, dr], "dr2")], "rows_dr2"), [1], True, "s_rr_sum"), safe], "s_rr")
    dc_col = b.node("Unsqueeze", [dc, b.constant("axis2", np.array([2], np.int64))], "dc_col")
    img_dc = b.node("Reshape", [b.node("MatMul", [imgs, dc_col], "img_dc3"),
                                b.constant("rows_dims", np.array([-1, h], np.int64))],
                    "img_dc")                                             # (N, H)
    s_rc = b.node("Div", [b.reduce("ReduceSum", b.node("Mul", [dr, img_dc], "dr_img_dc"),
                                   [1], True, "s_rc_sum"), safe], "s_rc")
    spread = b.node("Greater", [s_rr, b.doubles("tiny", np.float64(1e-12))], "has_spread")
    alpha = b.node("Where", [spread, b.node("Div", [s_rc, b.node(
        "Where", [spread, s_rr, one], "s_rr_or_one")], "skew"), zero], "alpha")
    # source coordinates of every output pixel, (N, H, W), scaled to GridSample's [-1, 1]
    grid_r = np.broadcast_to(r[:, None], (h, w))[None]
    grid_c = np.broadcast_to(c[None, :], (h, w))[None]
    n11 = b.constant("n11_dims", np.array([-1, 1, 1], np.int64))
    shift_r = b.node("Reshape", [b.node("Sub", [mu_r, b.doubles("r0", np.float64(r0))],
                                        "shift_r2"), n11], "shift_r")
    shift_c = b.node("Reshape", [b.node("Sub", [mu_c, b.doubles("c0", np.float64(c0))],
                                        "shift_c2"), n11], "shift_c")
    src_r = b.node("Add", [b.doubles("grid_r", grid_r), shift_r], "src_r")
    slant = b.node("Mul", [b.node("Reshape", [alpha, n11], "alpha3"),
                           b.doubles("grid_r_centred", grid_r - r0)], "slant")
    src_c = b.node("Add", [b.node("Add", [b.doubles("grid_c", grid_c), shift_c], "src_c0"),
                           slant], "src_c")
    norm_x = b.node("Sub", [b.node("Mul", [src_c, b.doubles("x_scale", np.float64(
        2 / (w - 1)))], "x_scaled"), one], "grid_x")
    norm_y = b.node("Sub", [b.node("Mul", [src_r, b.doubles("y_scale", np.float64(
        2 / (h - 1)))], "y_scaled"), one], "grid_y")
    axis3 = b.constant("axis3", np.array([3], np.int64))
    grid = b.node("Concat", [b.node("Unsqueeze", [norm_x, axis3], "grid_x4"),
                             b.node("Unsqueeze", [norm_y, axis3], "grid_y4")], "grid", axis=3)
    nchw = b.node("Unsqueeze", [imgs, b.constant("axis1", np.array([1], np.int64))], "nchw")
    mode = "linear" if b.opset >= _LINEAR_RENAMED else "bilinear"
    # sampled in float32, the type every runtime's GridSample has (onnxruntime has no double
    # kernel); the network that reads the pixels computes in float32 anyway
    sampled = b.node("GridSample", [b.cast(nchw, FLOAT, "nchw32"), b.cast(grid, FLOAT, "grid32")],
                     "deskewed_images", mode=mode, padding_mode="zeros", align_corners=1)
    flat = b.node("Reshape", [sampled, b.constant("flat_dims", np.array([-1, h * w], np.int64))],
                  "deskewed32")
    return b.cast(flat, DOUBLE, "deskewed")


def emit_inverse(b: Builder, scaler: Any, y: str) -> str:
    """Add the inverse of the fitted target scaler ``scaler`` applied to the float64 network
    outputs ``y``; returns the (float64) targets.

    Raises
    ------
    InputError
        For a scaler type that has no ONNX translation.
    """
    if isinstance(scaler, Preprocessor):
        for inner in reversed(scaler.steps):
            y = emit_inverse(b, inner, y)
        return y
    if type(scaler) is Standardizer:
        scaled = b.node("Mul", [y, b.doubles("target_scale", scaler.scale_)], "target_scaled")
        return b.node("Add", [scaled, b.doubles("target_mean", scaler.mean_)], "targets")
    if type(scaler) is TargetScaler:
        scale, offset = scaler._affine()
        shifted = b.node("Sub", [y, b.doubles("target_offset", offset)], "target_shifted")
        return b.node("Div", [shifted, b.doubles("target_scale", scale)], "targets")
    raise InputError(f"the stored target scaling {type(scaler).__name__} cannot be exported to "
                     "ONNX (Standardizer and TargetScaler can)")
