"""Export to a standalone ONNX model: :func:`to_onnx`.

The graph has one input, ``input`` (float32 or float64, shape (N, n_features)): the numeric
feature matrix the model's stored preprocessing expects (for a model trained on a CSV file,
the encoded features: numeric columns, then one 0/1 column per category). A classifier has
the outputs ``label`` (N,) and ``probabilities`` (N, n_classes), a regressor ``predictions``
(N, n_outputs) in the targets' units. See docs/onnx.md.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.errors import InputError, MissingDependencyError
from deltaprop.export._builder import GraphBuilder
from deltaprop.export._model import ExportSpec, describe, emit_model, numpy_output_types

if TYPE_CHECKING:
    import onnx

__all__ = ["to_onnx", "DEFAULT_OPSET", "MIN_OPSET", "INPUT_NAME"]

#: Opset of the default ONNX domain that :func:`to_onnx` targets unless told otherwise.
DEFAULT_OPSET = 17
#: The lowest opset :func:`to_onnx` builds for.
MIN_OPSET = 17
#: Name of the graph's input.
INPUT_NAME = "input"


def require_onnx() -> Any:
    """The ``onnx`` module, or :class:`~deltaprop.errors.MissingDependencyError` saying how to
    install it."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError(
            'exporting to ONNX needs the onnx package: pip install "deltaprop[onnx]"'
        ) from None
    return onnx


def to_onnx(model: Any, path: str | os.PathLike | None = None, *,
            opset: int = DEFAULT_OPSET, input_dtype: str = "float32",
            name: str | None = None) -> onnx.ModelProto:
    """Export a network, a fitted estimator or a model file to an ONNX model.

    The graph takes the raw numeric feature matrix and applies everything deltaprop applies
    when it predicts: the stored input preprocessing (standardization, PCA whitening), every
    layer (``Gemm`` with ``transB=1`` and the activation; Maxout as ``Reshape`` +
    ``ReduceMax``; dropout is the identity at inference), then class probabilities and labels
    for a classifier or, for a regressor, the outputs with the stored target scaling undone.
    As in deltaprop, the preprocessing and the target scaling compute in float64 and the
    network in float32. The model passes ``onnx.checker.check_model`` (with shape inference).

    Parameters
    ----------
    model : Network, MLPClassifier, MLPRegressor, str or path-like
        A :class:`deltaprop.Network` (its ``extras`` are used when it was loaded from a model
        file), a fitted :class:`deltaprop.MLPClassifier` / :class:`deltaprop.MLPRegressor`,
        or the path of a model file written by ``deltaprop train``, ``Network.save`` or
        ``est.save``.
    path : str or path-like, optional
        Also write the serialized model here (atomically).
    opset : int, default 17
        Version of the default ONNX operator set, from 17 up to the newest the installed
        ``onnx`` package knows.
    input_dtype : {"float32", "float64"}, default "float32"
        Element type of the graph's input. float32 rounds the raw features to about seven
        significant digits before the preprocessing; "float64" keeps them exact, which
        matters for features whose spread is tiny compared with their magnitude.
    name : str, optional
        Name of the graph (default: ``"deltaprop"``).

    Returns
    -------
    onnx.ModelProto
        Inputs: ``input`` (N, n_features) of ``input_dtype``. Outputs: ``label`` and
        ``probabilities`` (float32 (N, n_classes)) for a classifier, ``predictions``
        (float32 (N, n_outputs)) for a regressor.

    Raises
    ------
    MissingDependencyError
        If the ``onnx`` package is not installed (``pip install "deltaprop[onnx]"``).
    InputError
        If the model cannot be expressed in ONNX (the message names the layer index and its
        activation), the opset or input_dtype is invalid, or ``model`` is not exportable.

    Examples
    --------
    >>> import numpy as np
    >>> import deltaprop as dp
    >>> net = dp.mlp([4, 8, 3], activation="tanh", seed=0)
    >>> proto = dp.to_onnx(net)
    >>> [o.name for o in proto.graph.output]
    ['label', 'probabilities']
    >>> from onnx.reference import ReferenceEvaluator
    >>> X = np.ones((2, 4), dtype=np.float32)
    >>> label, proba = ReferenceEvaluator(proto).run(None, {"input": X})
    >>> bool(np.allclose(proba, net.predict_proba(X), atol=1e-5))
    True
    """
    onnx = require_onnx()
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int | np.integer) or not (
            MIN_OPSET <= opset <= newest):
        raise InputError(f"opset must be an integer from {MIN_OPSET} to {newest} (the newest "
                         f"the installed onnx {onnx.__version__} knows), got {opset!r}")
    if str(input_dtype) not in ("float32", "float64"):
        raise InputError(f"input_dtype must be 'float32' or 'float64', got {input_dtype!r}")
    spec = describe(model)
    proto = _build(onnx, spec, int(opset), np.dtype(str(input_dtype)), name or "deltaprop")
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        from deltaprop.files.archive import atomic_write_bytes

        atomic_write_bytes(path, proto.SerializeToString())
    return proto


def _build(onnx: Any, spec: ExportSpec, opset: int, input_dtype: np.dtype,
           name: str) -> onnx.ModelProto:
    from deltaprop import __version__

    helper = onnx.helper
    b = GraphBuilder(opset)
    outputs = emit_model(b, spec, INPUT_NAME, input_dtype=input_dtype.type)
    for internal, public in zip(outputs, spec.output_names(), strict=True):
        b.rename_output(internal, public)
    elem = helper.np_dtype_to_tensor_dtype
    graph_inputs = [helper.make_tensor_value_info(INPUT_NAME, elem(input_dtype),
                                                  ["N", spec.n_features])]
    graph_outputs = [
        helper.make_tensor_value_info(
            out_name, onnx.TensorProto.STRING if dtype.kind in "US" else elem(dtype),
            ["N" if d is None else d for d in shape])
        for out_name, dtype, shape in numpy_output_types(spec)
    ]
    graph = helper.make_graph(b.nodes, name, graph_inputs, graph_outputs,
                              initializer=b.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="deltaprop",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    proto.doc_string = _description(spec)
    meta = {"deltaprop.task": spec.task, "deltaprop.source": spec.source,
            "deltaprop.n_features": str(spec.n_features)}
    if spec.classes is not None:
        meta["deltaprop.classes"] = json.dumps([str(c) for c in np.asarray(spec.classes)
                                                .tolist()])
    if spec.feature_names is not None:
        meta["deltaprop.feature_names"] = json.dumps(spec.feature_names)
    helper.set_model_props(proto, meta)
    return proto


def _description(spec: ExportSpec) -> str:
    net = spec.network
    layers = ", ".join(repr(layer) for layer in net.layers)
    outputs = ("label, probabilities" if spec.is_classifier else "predictions")
    return (f"{spec.source} exported by deltaprop: input (N, {spec.n_features}) -> "
            f"[{layers}] -> {outputs}")
