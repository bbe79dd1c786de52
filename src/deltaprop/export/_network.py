"""A deltaprop :class:`~deltaprop.engine.network.Network` as ONNX operators.

Every ``Dense`` layer is one ``Gemm`` with ``transB=1`` (deltaprop's W has shape
(n_out, n_in), so a = h W^T + b) followed by its activation; a ``Maxout`` layer is a ``Gemm``
onto n_out · pieces columns, a ``Reshape`` to (N, n_out, pieces) and a ``ReduceMax`` over the
pieces; ``Dropout`` is the identity at inference and adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deltaprop.engine import activations as act
from deltaprop.engine.layers import Dense, Dropout, Maxout
from deltaprop.errors import InputError
from deltaprop.export._builder import Builder

__all__ = ["emit_network", "check_exportable", "EXPORTABLE_ACTIVATIONS"]


def _identity(b: Builder, a: str, phi: act.Activation) -> str:
    return a


def _scaled_tanh(b: Builder, a: str, phi: act.Activation) -> str:
    # A · tanh(S · a) in the order ScaledTanh.value computes it
    inner = b.node("Mul", [a, b.weights("scaled_tanh_S", phi.S)], "scaled_tanh_in")
    t = b.node("Tanh", [inner], "scaled_tanh_t")
    return b.node("Mul", [t, b.weights("scaled_tanh_A", phi.A)], "scaled_tanh")


def _maxout(b: Builder, a: str, phi: act.Activation) -> str:
    # a holds `pieces` columns per unit: (N, units · pieces) -> (N, units, pieces) -> max
    shape = b.constant("maxout_shape", np.array([0, -1, phi.pieces], dtype=np.int64))
    pieces = b.node("Reshape", [a, shape], "pieces")  # 0: keep N
    return b.reduce("ReduceMax", pieces, [2], keepdims=False, hint="maxout")


# Keyed by the exact class: a subclass may compute something else under the same name.
_ACTIVATIONS: dict[type, Callable[[Builder, str, act.Activation], str]] = {
    act.Identity: _identity,
    act.Logistic: lambda b, a, phi: b.node("Sigmoid", [a], "logistic"),
    act.Tanh: lambda b, a, phi: b.node("Tanh", [a], "tanh"),
    act.ScaledTanh: _scaled_tanh,
    act.ReLU: lambda b, a, phi: b.node("Relu", [a], "relu"),
    act.LeakyReLU: lambda b, a, phi: b.node("LeakyRelu", [a], "leaky_relu", alpha=phi.beta),
    act.ELU: lambda b, a, phi: b.node("Elu", [a], "elu", alpha=phi.beta),
    act.Softmax: lambda b, a, phi: b.node("Softmax", [a], "softmax", axis=1),
    act.Maxout: _maxout,
}

#: Names of the activations an exported network may use.
EXPORTABLE_ACTIVATIONS = tuple(cls.name for cls in _ACTIVATIONS)


def check_exportable(network) -> None:
    """Raise :class:`~deltaprop.errors.InputError` naming the first layer ONNX cannot express.

    Parameters
    ----------
    network : deltaprop.Network

    Raises
    ------
    InputError
        For a layer type other than Dense, Maxout and Dropout, or an activation outside
        :data:`EXPORTABLE_ACTIVATIONS` (step and sign, or a user-defined Activation class).
    """
    for i, layer in enumerate(network.layers):
        if type(layer) is Dropout:
            continue
        if type(layer) not in (Dense, Maxout):
            raise InputError(f"layer {i} ({type(layer).__name__}) cannot be exported to ONNX: "
                             "only Dense, Maxout and Dropout layers can")
        phi = layer.activation
        if type(phi) not in _ACTIVATIONS:
            what = (f"activation {phi.name!r}" if type(phi) in _builtin_types()
                    else f"custom activation {type(phi).__name__} (name {phi.name!r})")
            why = (" (a forward-only unit with no ONNX counterpart here)"
                   if not phi.differentiable else "")
            raise InputError(f"layer {i} ({layer!r}) cannot be exported to ONNX: {what}{why}; "
                             f"exportable activations are {', '.join(EXPORTABLE_ACTIVATIONS)}")


def _builtin_types() -> set[type]:
    return {getattr(act, name) for name in act.__all__
            if isinstance(getattr(act, name), type)}


def emit_network(b: Builder, network, x: str) -> str:
    """Add the forward pass of ``network`` applied to ``x`` (N, n_inputs); returns h^m.

    Parameters
    ----------
    b : Builder
    network : deltaprop.Network
    x : str
        Name of a float32 tensor of shape (N, network.n_inputs).

    Returns
    -------
    str
        Name of the network's output, shape (N, network.n_outputs).
    """
    check_exportable(network)
    h = x
    for i, layer in enumerate(network.layers):
        if isinstance(layer, Dropout):
            continue  # inverted dropout: the identity at inference
        inputs = [h, b.weights(f"W{i}", layer.W)]
        if layer.b is not None:
            inputs.append(b.weights(f"b{i}", layer.b))
        a = b.node("Gemm", inputs, f"a{i}", transB=1)
        h = _ACTIVATIONS[type(layer.activation)](b, a, layer.activation)
    return h
