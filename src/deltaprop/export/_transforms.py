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
- :class:`~deltaprop.data.preprocessing.Preprocessor`: its steps in order.

Targets (regression): a Standardizer is undone by ``Mul(scale)``, ``Add(mean)``, a
:class:`~deltaprop.data.target_scaling.TargetScaler` by ``Sub(offset)``, ``Div(scale)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.data.preprocessing import Preprocessor, Standardizer
from deltaprop.data.target_scaling import TargetScaler
from deltaprop.data.whitening import PCAWhitener
from deltaprop.errors import InputError
from deltaprop.export._builder import Builder

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
    raise InputError(f"the stored input preprocessing {type(step).__name__} cannot be exported "
                     "to ONNX (Standardizer, PCAWhitener and Preprocessor chains can)")


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
