"""What an exported graph computes: the model's inputs, preprocessing, network and outputs.

:func:`describe` reads any exportable object (a :class:`~deltaprop.engine.network.Network`, a fitted
:class:`~deltaprop.estimators.MLPClassifier` / :class:`~deltaprop.estimators.MLPRegressor`, or
the path of a model file written by ``deltaprop train``, ``Network.save`` or ``est.save``) into
an :class:`ExportSpec`; :func:`emit_model` adds its nodes to a :class:`Builder`.

Outputs mirror the predictions deltaprop itself makes from the same object:

=====================================  ===============================  ========================
source                                 probabilities                    label
=====================================  ===============================  ========================
``deltaprop train`` classifier         network outputs (``--proba``)    class name of the argmax
MLPClassifier, softmax                 network outputs                  ``classes_[argmax]``
MLPClassifier, binary (one logistic)   [1 − p, p]                       ``classes_[p > 0.5]``
MLPClassifier, logistic per class      outputs / their row sum          ``classes_[argmax]``
MLPClassifier, multilabel              network outputs                  ``outputs > 0.5`` (0/1)
Network, softmax (classifier)          network outputs                  argmax index
Network, one logistic (classifier)     [1 − p, p]                       ``p > 0.5`` (0/1)
Network, several logistic outputs      network outputs                  ``outputs > 0.5`` (0/1)
=====================================  ===============================  ========================

Regressors give ``predictions`` (N, n_outputs) in the targets' units: the target scaling that
``deltaprop train`` stored is undone in the graph.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from deltaprop.engine.network import Network
from deltaprop.errors import InputError
from deltaprop.export._builder import DOUBLE, FLOAT, Builder
from deltaprop.export._network import check_exportable, emit_network
from deltaprop.export._transforms import emit_inverse, emit_transform

__all__ = ["ExportSpec", "describe", "emit_model", "label_values"]

_CLI_EXTRA = "cli"
_ESTIMATOR_EXTRA = "sklearn_estimator"
_INT64 = 7  # onnx.TensorProto.INT64 (the Cast target), without importing onnx here


@dataclass
class ExportSpec:
    """Everything the exported graph computes, independent of how it is assembled.

    Attributes
    ----------
    network : Network
    n_features : int
        Columns of the raw feature matrix the graph takes.
    task : {"classification", "regression"}
    preprocessing : transformer or None
        Fitted input preprocessing applied before the network.
    target_scaler : transformer or None
        Fitted target scaling, undone after the network (regression).
    classes : ndarray or None
        Class labels indexed by output column (None for multilabel outputs).
    proba : {"outputs", "binary", "normalize"}
        How probabilities come from the network outputs (see the module docstring).
    label : {"argmax", "threshold", "multilabel"}
        How labels come from them.
    source : str
        What was exported, for the model's description.
    feature_names : list of str or None
        Names of the input columns, when the model file or estimator knows them.
    """

    network: Network
    n_features: int
    task: str
    preprocessing: Any = None
    target_scaler: Any = None
    classes: np.ndarray | None = None
    proba: str = "outputs"
    label: str = "argmax"
    source: str = "deltaprop Network"
    feature_names: list[str] | None = None

    @property
    def is_classifier(self) -> bool:
        return self.task == "classification"

    @property
    def n_probabilities(self) -> int:
        return 2 if self.proba == "binary" else self.network.n_outputs

    def output_names(self) -> list[str]:
        """Names of the graph outputs, in order."""
        return ["label", "probabilities"] if self.is_classifier else ["predictions"]


# ------------------------------------------------------------------------------ reading
def describe(model: Any) -> ExportSpec:
    """The :class:`ExportSpec` of a Network, a fitted estimator or a model-file path.

    Raises
    ------
    InputError
        For an object that is none of these, an unfitted estimator, or a network with a layer
        ONNX cannot express (the message names the layer index and its activation).
    ModelFileError
        For a path that is not a valid model file.
    """
    spec = _describe(model)
    check_exportable(spec.network)
    return spec


def _describe(model: Any) -> ExportSpec:
    if isinstance(model, str | os.PathLike):
        from deltaprop.engine.network import load

        return _from_network(load(model), str(model))
    if isinstance(model, Network):
        return _from_network(model, "network")
    if _is_estimator(model):
        if not hasattr(model, "_network"):
            raise InputError(f"this {type(model).__name__} is not fitted yet: call fit before "
                             "exporting it")
        return _from_estimator(model, model._network)
    raise InputError(f"cannot export a {type(model).__name__}: pass a deltaprop Network, a "
                     "fitted MLPClassifier or MLPRegressor, or the path of a model file")


def _is_estimator(model: Any) -> bool:
    estimators = sys.modules.get("deltaprop.estimators")  # not imported: no estimator exists
    return estimators is not None and isinstance(
        model, estimators.MLPClassifier | estimators.MLPRegressor)


def _from_network(net: Network, where: str) -> ExportSpec:
    extras = getattr(net, "extras", None) or {}
    if _ESTIMATOR_EXTRA in extras:
        from deltaprop.estimators import MLPClassifier, MLPRegressor

        cfg, arrays = extras[_ESTIMATOR_EXTRA]
        cls = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}.get(cfg.get("class"))
        if cls is None:
            raise InputError(f"{where}: unknown estimator class {cfg.get('class')!r}")
        est = cls()
        est._load_classes(cfg, arrays)
        return _from_estimator(est, net)
    if _CLI_EXTRA in extras:
        from deltaprop.data.pipeline import ModelInfo

        info = ModelInfo.from_network(net, where)
        names = None if info.schema is None else list(info.schema.feature_names)
        if info.task == "classification":
            return ExportSpec(net, info.n_features, "classification", info.preprocessor,
                              classes=np.asarray(info.class_names, dtype=str),
                              source="deltaprop train model", feature_names=names)
        return ExportSpec(net, info.n_features, "regression", info.preprocessor,
                          info.target_scaler, source="deltaprop train model",
                          feature_names=names)
    return _plain(net)


def _plain(net: Network) -> ExportSpec:
    name = net.output_activation.name
    k = net.n_outputs
    if net.is_classifier and name == "softmax":
        return ExportSpec(net, net.n_inputs, "classification", classes=np.arange(k))
    if net.is_classifier and name == "logistic":
        if k == 1:
            return ExportSpec(net, net.n_inputs, "classification", classes=np.arange(2),
                              proba="binary", label="threshold")
        return ExportSpec(net, net.n_inputs, "classification", label="multilabel")
    return ExportSpec(net, net.n_inputs, "regression")


def _from_estimator(est: Any, net: Network) -> ExportSpec:
    known = getattr(est, "feature_names_in_", None)
    common = {"source": type(est).__name__,
              "feature_names": None if known is None else [str(f) for f in known]}
    if not hasattr(est, "classes_"):
        return ExportSpec(net, net.n_inputs, "regression", **common)
    if est._multilabel:
        return ExportSpec(net, net.n_inputs, "classification", label="multilabel", **common)
    classes = np.asarray(est.classes_)
    if net.n_outputs == 1:
        return ExportSpec(net, net.n_inputs, "classification", classes=classes,
                          proba="binary", label="threshold", **common)
    proba = "outputs" if net.output_activation.name == "softmax" else "normalize"
    return ExportSpec(net, net.n_inputs, "classification", classes=classes, proba=proba,
                      **common)


# ----------------------------------------------------------------------------- building
def label_values(classes: np.ndarray, allow_double: bool = True) -> np.ndarray:
    """Class labels as an ONNX-representable array: int64, float64 or str.

    Booleans and integers become int64, strings (and objects) str; floats stay float64 when
    ``allow_double``, else they must be whole numbers and become int64.

    Raises
    ------
    InputError
        For fractional float labels when ``allow_double`` is False.
    """
    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if allow_double:
            return classes.astype(np.float64)
        if np.all(np.isfinite(classes)) and np.all(classes == np.round(classes)):
            return classes.astype(np.int64)
        raise InputError(f"class labels {classes.tolist()} are fractional floats; ONNX labels "
                         "here must be integers or strings")
    return np.array([str(c) for c in classes.tolist()], dtype=str)


def emit_model(b: Builder, spec: ExportSpec, x: str, labels: np.ndarray | None = None,
               input_dtype: type = FLOAT) -> list[str]:
    """Add the whole model applied to the raw features ``x``; returns its outputs' names.

    Preprocessing and target scaling run in float64 and the network in float32, as in
    deltaprop.

    Parameters
    ----------
    b : Builder
    spec : ExportSpec
    x : str
        A tensor of shape (N, spec.n_features) and element type ``input_dtype``.
    labels : ndarray, optional
        The label values to emit (default: ``label_values(spec.classes)``).
    input_dtype : numpy float32 or float64 type, default float32

    Returns
    -------
    list of str
        ``[label, probabilities]`` for a classifier, ``[predictions]`` for a regressor, all
        float32 but the labels.
    """
    double_input = np.dtype(input_dtype) == np.dtype(DOUBLE)
    if spec.preprocessing is not None:
        if not double_input:
            x = b.cast(x, DOUBLE, "input_double")
        x = b.cast(emit_transform(b, spec.preprocessing, x), FLOAT, "network_input")
    elif double_input:
        x = b.cast(x, FLOAT, "network_input")
    h = emit_network(b, spec.network, x)
    if not spec.is_classifier:
        if spec.target_scaler is None:
            return [h]
        targets = emit_inverse(b, spec.target_scaler, b.cast(h, DOUBLE, "outputs_double"))
        return [b.cast(targets, FLOAT, "predictions")]
    if spec.proba == "binary":
        complement = b.node("Sub", [b.weights("one", np.ones(1)), h], "complement")
        proba = b.node("Concat", [complement, h], "binary_proba", axis=1)
    elif spec.proba == "normalize":
        total = b.reduce("ReduceSum", h, [1], keepdims=True, hint="row_sum")
        proba = b.node("Div", [h, total], "normalized_proba")
    else:
        proba = h
    if spec.label == "multilabel":
        above = b.node("Greater", [h, b.weights("half", np.full(1, 0.5))], "above_half")
        return [b.node("Cast", [above], "label", to=_INT64), proba]
    if spec.label == "threshold":  # p > 0.5, exactly as deltaprop decides (no 1 − p rounding)
        above = b.node("Greater", [h, b.weights("half", np.full(1, 0.5))], "above_half")
        column = b.node("Cast", [above], "index_column", to=_INT64)
        flat = b.constant("flat_shape", np.array([-1], dtype=np.int64))
        index = b.node("Reshape", [column, flat], "class_index")
    else:
        index = b.node("ArgMax", [proba], "class_index", axis=1, keepdims=0)
    values = label_values(spec.classes) if labels is None else labels
    return [b.node("Gather", [b.constant("classes", values), index], "label", axis=0), proba]


def numpy_output_types(spec: ExportSpec, labels: np.ndarray | None = None
                       ) -> list[tuple[str, np.dtype, list[Any]]]:
    """``(name, dtype, shape)`` of each graph output; ``None`` stands for the batch size N."""
    if not spec.is_classifier:
        return [("predictions", np.dtype(FLOAT), [None, spec.network.n_outputs])]
    proba = ("probabilities", np.dtype(FLOAT), [None, spec.n_probabilities])
    if spec.label == "multilabel":
        return [("label", np.dtype(np.int64), [None, spec.network.n_outputs]), proba]
    values = label_values(spec.classes) if labels is None else labels
    return [("label", values.dtype, [None]), proba]
