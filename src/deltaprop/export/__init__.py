"""Exporting deltaprop models to other runtimes: ONNX.

- :func:`to_onnx`: a :class:`~deltaprop.engine.network.Network`, a fitted
  :class:`~deltaprop.estimators.MLPClassifier` / :class:`~deltaprop.estimators.MLPRegressor` or
  a model file as a standalone ONNX model (also ``deltaprop export MODEL --format onnx``);
- :func:`register_skl2onnx`: converters so ``skl2onnx.to_onnx`` handles scikit-learn pipelines
  that contain deltaprop's estimators.

Both need the optional extra ``pip install "deltaprop[onnx]"`` (the ``onnx`` package; skl2onnx
for pipelines); importing this package does not import them. Modules: ``onnx`` (the
standalone model), ``skl2onnx`` (the converter registration) and the private builders
``_model`` (what the graph computes), ``_network`` (layers and activations), ``_transforms``
(preprocessing and target scaling) and ``_builder`` (where nodes go). See docs/onnx.md.

Examples
--------
>>> import deltaprop as dp
>>> proto = dp.to_onnx(dp.mlp([2, 4, 1], activation="relu", seed=0))
>>> proto.opset_import[0].version
17
"""

from deltaprop.export.onnx import DEFAULT_OPSET, to_onnx
from deltaprop.export.skl2onnx import register_if_imported, register_skl2onnx

__all__ = ["to_onnx", "register_skl2onnx", "DEFAULT_OPSET"]

register_if_imported()
