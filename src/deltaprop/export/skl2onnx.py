"""skl2onnx converters for :class:`~deltaprop.estimators.MLPClassifier` and
:class:`~deltaprop.estimators.MLPRegressor`, so scikit-learn pipelines that end in (or contain)
a deltaprop estimator convert with ``skl2onnx.to_onnx``.

:func:`register_skl2onnx` registers a shape calculator and a converter for both classes (and
the ``zipmap``, ``nocl`` and ``output_class_labels`` options of skl2onnx's classifiers). It
runs by itself when :mod:`deltaprop.export` or :mod:`deltaprop.estimators` is imported while
skl2onnx is already imported; after ``import skl2onnx`` in a session where deltaprop's
estimators were imported first, call it once (or ``import deltaprop.export``).

The estimator's nodes are those of :func:`deltaprop.export.to_onnx`: the classifier gives
``label`` (int64 for integer or boolean classes, string for string classes) and
``probabilities`` (N, n_classes), the regressor ``variable`` (N, n_outputs). A double input is
cast to float32 for the network and the outputs cast back to double.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from deltaprop.errors import InputError, MissingDependencyError
from deltaprop.export._builder import Builder
from deltaprop.export._model import ExportSpec, describe, emit_model, label_values

__all__ = ["register_skl2onnx", "MIN_OPSET"]

#: The lowest target opset the converters support.
MIN_OPSET = 13
_ALIASES = {"MLPClassifier": "DeltapropMLPClassifier", "MLPRegressor": "DeltapropMLPRegressor"}
_CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [True, False],
                       "output_class_labels": [False, True]}


class _ContainerBuilder(Builder):
    """A :class:`Builder` writing into skl2onnx's ``scope`` and ``container``."""

    def __init__(self, scope: Any, container: Any):
        self.scope, self.container = scope, container
        self.opset = int(container.target_opset)

    def constant(self, hint: str, value: np.ndarray) -> str:
        from onnx import TensorProto, numpy_helper

        name = self.scope.get_unique_variable_name(f"dp_{hint}")
        value = np.asarray(value)
        if value.dtype.kind in "US":
            self.container.add_initializer(name, TensorProto.STRING, list(value.shape),
                                           [str(v) for v in value.ravel().tolist()])
        else:
            tensor = numpy_helper.from_array(value)
            self.container.add_initializer(name, tensor.data_type, list(value.shape), tensor)
        return name

    def node(self, op_type: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = self.scope.get_unique_variable_name(f"dp_{hint}")
        self.container.add_node(op_type, inputs, [out],
                                name=self.scope.get_unique_operator_name(f"dp_{op_type}"),
                                **attrs)
        return out


def _spec(operator: Any) -> ExportSpec:
    spec = describe(operator.raw_operator)
    if spec.is_classifier and spec.label == "multilabel":
        raise InputError("skl2onnx conversion of a multilabel MLPClassifier is not supported "
                         "(its labels are 0/1 rows, not classes); export it with "
                         "deltaprop.to_onnx instead")
    return spec


def _labels(operator: Any, spec: ExportSpec) -> np.ndarray | None:
    """The label values: the classes, or their indices with the option ``nocl=True``."""
    if not spec.is_classifier:
        return None
    options = operator.scope_inst.get_options(operator.raw_operator, {"nocl": False})
    if options["nocl"]:
        return np.arange(len(spec.classes), dtype=np.int64)
    return label_values(spec.classes, allow_double=False)


def _input_is_double(operator: Any) -> bool:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind = operator.inputs[0].type
    if not isinstance(kind, FloatTensorType | DoubleTensorType):
        raise InputError(f"{type(operator.raw_operator).__name__} converts float or double "
                         f"tensors, got {type(kind).__name__}")
    return isinstance(kind, DoubleTensorType)


def _shape_calculator(operator: Any) -> None:
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils import check_input_and_output_numbers

    spec = _spec(operator)
    n_out = 2 if spec.is_classifier else 1
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=n_out)
    tensor = DoubleTensorType if _input_is_double(operator) else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    if not spec.is_classifier:
        operator.outputs[0].type = tensor([n, spec.network.n_outputs])
        return
    labels = _labels(operator, spec)
    label_type = StringTensorType if labels.dtype.kind in "US" else Int64TensorType
    operator.outputs[0].type = label_type([n])
    operator.outputs[1].type = tensor([n, spec.n_probabilities])


def _converter(scope: Any, operator: Any, container: Any) -> None:
    spec = _spec(operator)
    b = _ContainerBuilder(scope, container)
    if b.opset < MIN_OPSET:
        raise InputError(f"converting {spec.source} needs target_opset >= {MIN_OPSET}, got "
                         f"{b.opset}")
    double = _input_is_double(operator)
    outputs = emit_model(b, spec, operator.inputs[0].full_name, labels=_labels(operator, spec),
                         input_dtype=np.float64 if double else np.float32)
    for i, (internal, variable) in enumerate(zip(outputs, operator.outputs, strict=True)):
        is_label = spec.is_classifier and i == 0
        if double and not is_label:
            container.add_node("Cast", [internal], [variable.full_name], to=11,  # DOUBLE
                               name=scope.get_unique_operator_name("dp_Cast"))
        else:
            container.add_node("Identity", [internal], [variable.full_name],
                               name=scope.get_unique_operator_name("dp_Identity"))


def register_skl2onnx() -> None:
    """Register deltaprop's estimators with skl2onnx (calling it again is harmless).

    Raises
    ------
    MissingDependencyError
        If skl2onnx is not installed (``pip install skl2onnx``).

    Examples
    --------
    >>> import numpy as np, skl2onnx
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import deltaprop as dp
    >>> from deltaprop.export import register_skl2onnx
    >>> register_skl2onnx()
    >>> X = np.random.default_rng(0).normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
    >>> pipe = Pipeline([("scale", StandardScaler()),
    ...                  ("mlp", dp.MLPClassifier((5,), solver="lbfgs", random_state=0))])
    >>> proto = skl2onnx.to_onnx(pipe.fit(X, y), X[:1].astype(np.float32),
    ...                          options={dp.MLPClassifier: {"zipmap": False}})
    >>> [o.name for o in proto.graph.output]
    ['label', 'probabilities']
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        raise MissingDependencyError(
            'converting scikit-learn pipelines needs skl2onnx: pip install skl2onnx '
            '(and pip install "deltaprop[onnx]")') from None
    from deltaprop.estimators import MLPClassifier, MLPRegressor

    update_registered_converter(MLPClassifier, _ALIASES["MLPClassifier"], _shape_calculator,
                                _converter, options=dict(_CLASSIFIER_OPTIONS))
    update_registered_converter(MLPRegressor, _ALIASES["MLPRegressor"], _shape_calculator,
                                _converter)


def register_if_imported() -> None:
    """Register with skl2onnx when it is already imported (never imports it)."""
    if sys.modules.get("skl2onnx") is not None:
        register_skl2onnx()
