"""Where exported nodes go: a standalone ONNX graph, or a skl2onnx container.

The code that translates layers, preprocessing and output heads talks to a :class:`Builder`
only: ``constant`` adds a tensor, ``node`` adds one operator and returns the name of its
output, ``reduce`` hides the opset-dependent spelling of ``ReduceMax`` / ``ReduceSum`` (their
``axes`` moved from an attribute to an input). :class:`GraphBuilder` collects the nodes for
:func:`deltaprop.export.to_onnx`; :mod:`deltaprop.export.skl2onnx` has one that writes into
skl2onnx's container.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

__all__ = ["Builder", "GraphBuilder", "FLOAT", "DOUBLE"]

FLOAT = np.float32  #: the element type the exported networks compute in
DOUBLE = np.float64  #: the element type of the preprocessing and target scaling
_CAST_TO = {np.dtype(FLOAT): 1, np.dtype(DOUBLE): 11}  # onnx.TensorProto.FLOAT, DOUBLE

# The opset from which each reduction takes ``axes`` as an input instead of an attribute.
_AXES_AS_INPUT = {"ReduceSum": 13, "ReduceMax": 18}


class Builder(ABC):
    """Adds constants and operators to a graph under construction.

    Attributes
    ----------
    opset : int
        The version of the default ONNX operator set the graph declares.
    """

    opset: int

    @abstractmethod
    def constant(self, hint: str, value: np.ndarray) -> str:
        """Add ``value`` as a constant tensor; returns its (unique) name."""

    @abstractmethod
    def node(self, op_type: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        """Add one ``op_type`` operator with a single output; returns the output's name."""

    def weights(self, hint: str, value: np.ndarray) -> str:
        """A floating-point constant in the networks' element type (float32)."""
        return self.constant(hint, np.asarray(value, dtype=FLOAT))

    def doubles(self, hint: str, value: np.ndarray) -> str:
        """A floating-point constant in the preprocessing's element type (float64)."""
        return self.constant(hint, np.asarray(value, dtype=DOUBLE))

    def cast(self, x: str, dtype: type, hint: str) -> str:
        """``x`` converted to ``dtype`` (float32 or float64)."""
        return self.node("Cast", [x], hint, to=_CAST_TO[np.dtype(dtype)])

    def reduce(self, op_type: str, x: str, axes: list[int], keepdims: bool, hint: str) -> str:
        """``op_type`` (ReduceMax, ReduceSum) over ``axes``, spelled as the opset requires."""
        if self.opset >= _AXES_AS_INPUT[op_type]:
            axes_name = self.constant(f"{hint}_axes", np.asarray(axes, dtype=np.int64))
            return self.node(op_type, [x, axes_name], hint, keepdims=int(keepdims))
        return self.node(op_type, [x], hint, axes=list(axes), keepdims=int(keepdims))


class GraphBuilder(Builder):
    """Collects nodes and initializers for one standalone ONNX graph.

    Parameters
    ----------
    opset : int
        The default-domain opset the graph is built for.
    """

    def __init__(self, opset: int):
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self._name(hint)
        value = np.asarray(value)
        if value.dtype.kind in "UO":  # strings: object array of str for numpy_helper
            value = value.astype(object)
        self.initializers.append(self._numpy_helper.from_array(value, name=name))
        return name

    def node(self, op_type: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = self._name(hint)
        self.nodes.append(self._helper.make_node(op_type, inputs, [out],
                                                 name=self._name(op_type), **attrs))
        return out

    def rename_output(self, internal: str, final: str) -> None:
        """Make the node that produces ``internal`` write ``final`` instead (graph outputs
        keep their public names without an extra Identity node)."""
        for node in self.nodes:
            for i, name in enumerate(node.output):
                if name == internal:
                    node.output[i] = final
            for i, name in enumerate(node.input):
                if name == internal:
                    node.input[i] = final
