"""Finite-difference check of the backpropagated gradients.

Each parameter θ is perturbed by ±ε and ±2ε and the five-point central difference
[−L(θ+2ε) + 8L(θ+ε) − 8L(θ−ε) + L(θ−2ε)] / 12ε (truncation error O(ε⁴), so ε can be large
enough that floating-point roundoff stays far below the tolerance) is compared with the
analytic ∂L/∂θ of :meth:`Network.backward` (000 Eq. 6a-6b). The check runs on a float64 copy
of the network in training mode; dropout masks and Gaussian noise are drawn once and held
fixed, and BatchNorm layers normalise with the batch's statistics (their gradients flow through
the batch mean and variance).
"""

from __future__ import annotations

import numpy as np

from deltaprop.checks import as_generator

__all__ = ["gradcheck"]


def gradcheck(network, X, Y, eps: float = 1e-4, floor: float = 1e-4,
              sample_weight=None, seed: int = 0) -> list[float]:
    """Largest relative error between analytic and numerical gradients, per parameter array.

    Parameters
    ----------
    network : Network
        Checked on a float64 copy; the network itself is not changed.
    X, Y : array-like
        A (small) batch.
    eps : float
        Finite-difference step.
    floor : float
        The relative error is |g − n| / max(|g| + |n|, floor), so entries whose true gradient is
        below ~floor are compared absolutely (to floor × tolerance) instead of dividing
        roundoff by zero: a dead ReLU has an exact 0 that differences see as ~1e-12.

    Returns
    -------
    list of float
        Aligned with ``network.parameters()``: [W¹, b¹, W², ...].

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> net = dp.mlp([3, 4, 2], activation="tanh", seed=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 3)); Y = np.eye(2)[[0, 1, 1, 0, 1]]
    >>> max(dp.gradcheck(net, X, Y)) < 1e-6
    True
    """
    net = network.copy(dtype="float64")
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    net.forward(X, training=True, rng=as_generator(seed))
    for layer in net.layers:
        if hasattr(layer, "frozen"):
            layer.frozen = True

    def loss() -> float:
        net.forward(X, training=True)
        return net.loss_value(Y, sample_weight)

    net.forward(X, training=True)
    net.backward(Y, sample_weight)
    analytic = [g.copy() for g in net.gradients()]
    errors = []
    for param, grad in zip(net.parameters(), analytic, strict=True):
        numeric = np.empty_like(param)
        flat, out = param.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            values = []
            for step in (2 * eps, eps, -eps, -2 * eps):
                flat[i] = keep + step
                values.append(loss())
            flat[i] = keep
            out[i] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * eps)
        denom = np.maximum(np.abs(grad) + np.abs(numeric), floor)
        errors.append(float(np.max(np.abs(grad - numeric) / denom)))
    return errors
