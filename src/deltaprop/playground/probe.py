"""One forward and one backward pass for a single point, laid out like ``deltaprop explain``.

:func:`probe` runs the engine on a float64 copy of the network for one sample (x, y) and
returns, per layer, the pre-activation a^l, the output h^l (000 Eq. 7), the error δ^l (000
Eq. 8a-8d), the gradient ∂L/∂W^l = δ^{l+1} (h^l)^T and the weights after one gradient-descent
update W ← W − η ∂L/∂W (000 Eq. 9), together with the text of
:func:`deltaprop.inspection.explain.explain` (001's
layout) for the same pass. The page shows both; the session then copies the updated weights
into the live network, so the step is one online update (000 Algorithm 9.1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.errors import NotDifferentiableError
from deltaprop.inspection.explain import explain

__all__ = ["probe"]


def _round(a: Any) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), 6).tolist()


def probe(network: Any, x: np.ndarray, y: np.ndarray, lr: float) -> dict[str, Any]:
    """Forward, backward and one update for the preprocessed input row ``x`` and target ``y``.

    Returns a JSON-able dict: ``layers`` (one entry per trainable layer with ``a``, ``h``,
    ``delta``, ``grad_W``, ``grad_b``, ``W_new``, ``b_new``), ``input``, ``output``,
    ``output_after``, ``loss``, ``loss_after``, ``text`` (the explain printout) and
    ``params`` (the updated parameter arrays, for the session; not JSON).
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    text = explain(network, x, y, lr=lr)
    net = network.copy(dtype="float64")
    out = net.forward(x)
    loss = net.loss_value(y)
    result: dict[str, Any] = {"input": _round(x[0]), "target": _round(y[0]),
                              "output": _round(out[0]), "loss": float(loss), "lr": float(lr),
                              "text": text}
    try:
        net.backward(y)
    except NotDifferentiableError as exc:
        result.update(error=str(exc), layers=[], params=None)
        return result
    layers = []
    for layer in net.trainable_layers:
        layers.append({
            "activation": getattr(layer.activation, "name", "maxout"),
            "a": _round(layer.a[0]), "h": _round(layer.h[0]), "delta": _round(layer.delta[0]),
            "grad_W": _round(layer.dW), "grad_b": None if layer.db is None else _round(layer.db),
        })
    for p, g in zip(net.parameters(), net.gradients(), strict=True):
        p -= lr * g
    for entry, layer in zip(layers, net.trainable_layers, strict=True):
        entry["W_new"] = _round(layer.W)
        entry["b_new"] = None if layer.b is None else _round(layer.b)
    after = net.forward(x)
    result.update(layers=layers, output_after=_round(after[0]),
                  loss_after=float(net.loss_value(y)),
                  params=[p.copy() for p in net.parameters()])
    return result
