"""Numbers that show why training fails: saturation, dead ReLUs, gradient and weight norms.

The notes spend as much time on failure as on success: vanishing and exploding gradients
(000 §9.3), saturated units (001 "Saturation of a neuron": "monitor whether your run into
saturation (e.g., how many neurons are close to limits of its range)") and dying ReLUs
(000 §9.3.2). Each function takes a network (and a batch) and returns one value per trainable
layer, keyed by the layer's index in ``network.layers`` (the index error messages use).
All of them are pure NumPy, run the network in inference mode (no dropout) and leave its
parameters untouched; :func:`gradient_norms` overwrites the layers' cached a, h, δ, dW, db.

Examples
--------
>>> import numpy as np, deltaprop as dp
>>> from deltaprop.inspection.diagnostics import saturation_fractions
>>> net = dp.mlp([10, 50, 50, 2], activation="logistic", init={"name": "normal", "std": 1.0},
...              seed=0)
>>> sat = saturation_fractions(net, np.random.default_rng(0).normal(size=(64, 10)))
>>> sorted(sat)
[0, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = [
    "layer_outputs",
    "saturation_fractions",
    "dead_unit_fractions",
    "inactive_unit_fractions",
    "gradient_norms",
    "weight_norms",
    "DEFAULT_EPS",
]

#: Default closeness to an activation's limits, as a fraction of its range: a logistic unit
#: counts as saturated when h < 0.05 or h > 0.95 (|a| > 2.94), where σ' < 0.048, less than a
#: fifth of its largest value 0.25; a tanh unit when |h| > 0.9.
DEFAULT_EPS = 0.05

_RELU_FAMILY = ("relu", "leaky_relu", "elu")


def _hidden_layers(network: Any, include_output: bool) -> list[Any]:
    layers = network.trainable_layers
    return layers if include_output else layers[:-1]


def layer_outputs(network: Any, X: Any) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """Forward ``X`` (inference mode) and return ``(layer, a, h)`` for every trainable layer.

    ``a`` is the pre-activation a^{l+1} = W h^l + b and ``h`` the output h^{l+1} = φ(a^{l+1})
    (000 Eq. 3-4).
    """
    network.forward(X)
    return [(layer, layer.a, layer.h) for layer in network.trainable_layers]


def _activation_name(layer: Any) -> str:
    act = getattr(layer, "activation", None)
    return "maxout" if act is None or type(layer).__name__ == "Maxout" else act.name


def saturation_fractions(network: Any, X: Any, eps: float = DEFAULT_EPS,
                         include_output: bool = False) -> dict[int, float]:
    """Fraction of unit activations within ``eps`` of their activation's limits (001).

    001 "Saturation of a neuron": "A neuron saturates if its output/activation is very close
    to the lower or upper limit of its activation function"; there its derivative, hence its
    error δ (000 Eq. 6c), is nearly zero and "changes to weights or inputs bring little change
    on the output".

    Parameters
    ----------
    network : Network
    X : array-like (N, n_in)
        The batch to look at.
    eps : float
        Closeness as a fraction of the activation's range: h ≤ lo + eps·(hi − lo) or
        h ≥ hi − eps·(hi − lo).
    include_output : bool
        Also report the output layer (a confident softmax output is "saturated" by design).

    Returns
    -------
    dict
        ``{layer index: fraction of (sample, unit) pairs saturated}``. Layers whose activation
        has an infinite limit (ReLU family, identity, maxout) get NaN: they cannot saturate in
        this sense; see :func:`dead_unit_fractions` for the ReLU's version.
    """
    if not 0 < eps < 0.5:
        raise InputError(f"eps must be in (0, 0.5), got {eps!r}")
    layer_outputs(network, X)
    out: dict[int, float] = {}
    for layer in _hidden_layers(network, include_output):
        act = getattr(layer, "activation", None)
        lo, hi = act.bounds if act is not None and _activation_name(layer) != "maxout" else (
            -np.inf, np.inf)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            out[layer.index] = float("nan")
            continue
        margin = eps * (hi - lo)
        h = layer.h
        out[layer.index] = float(np.mean((h <= lo + margin) | (h >= hi - margin)))
    return out


def dead_unit_fractions(network: Any, X: Any, include_output: bool = False) -> dict[int, float]:
    """Fraction of units whose derivative φ'(a) is zero on every sample of ``X`` (000 §9.3.2).

    000 §9.3.2, the dying ReLU: for negative inputs "both the activation and the derivative
    are zero ... If this happens for all inputs, the unit is effectively removed from the
    network": no error reaches its incoming weights, so it can never come back. A leaky ReLU
    or ELU unit has φ'(a) > 0 everywhere and so is never dead in this sense (it may still be
    *inactive*, see :func:`inactive_unit_fractions`, but it keeps learning).

    Returns
    -------
    dict
        ``{layer index: fraction of units dead on this batch}`` for every hidden layer of the
        ReLU family (relu, leaky_relu, elu); other activations are left out.
    """
    layer_outputs(network, X)
    out: dict[int, float] = {}
    for layer in _hidden_layers(network, include_output):
        name = _activation_name(layer)
        if name not in _RELU_FAMILY:
            continue
        d = layer.activation.derivative(layer.a, layer.h)
        out[layer.index] = float(np.mean(np.all(d == 0, axis=0)))
    return out


def inactive_unit_fractions(network: Any, X: Any,
                            include_output: bool = False) -> dict[int, float]:
    """Fraction of units with a ≤ 0 on every sample of ``X`` (the negative branch only).

    For ReLU this equals :func:`dead_unit_fractions`; for leaky ReLU and ELU it counts the
    units sitting in their small-slope branch for all inputs, which unlike dead ReLUs still
    pass a (small) gradient.
    """
    layer_outputs(network, X)
    out: dict[int, float] = {}
    for layer in _hidden_layers(network, include_output):
        if _activation_name(layer) in _RELU_FAMILY:
            out[layer.index] = float(np.mean(np.all(layer.a <= 0, axis=0)))
    return out


def gradient_norms(network: Any, X: Any, Y: Any) -> dict[int, float]:
    """Frobenius norm ‖∂L/∂W^l‖ of every trainable layer's weight gradient on (X, Y).

    000 §9.3: "As the recursive algorithm Eq. 6f propagates the errors down the layers, the
    error tends to become smaller and smaller ... the gradient vanishes" (or explodes).
    The gradient is the batch mean of 000 Eq. 6a; biases are left out.
    """
    network.forward(X)
    network.backward(Y)
    return {layer.index: float(np.linalg.norm(layer.dW)) for layer in network.trainable_layers}


def weight_norms(network: Any) -> dict[int, float]:
    """Frobenius norm ‖W^l‖ of every trainable layer's weights (biases left out).

    Large weights make a^l large and saturate the units (001 "Reason of saturation"); L2
    regularization keeps them small (002 §6).
    """
    return {layer.index: float(np.linalg.norm(layer.W)) for layer in network.trainable_layers}
