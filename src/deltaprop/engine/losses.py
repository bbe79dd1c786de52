"""Loss functions L(h^m, y) with their gradients ∂L/∂h^m, and the fused canonical deltas.

The backward pass starts from the output error δ^m = φ'(a^m) ⊙ ∇L(h^m) (000 Eq. 8a). Every loss
gives that general gradient. For its *canonical link* (004 "Canonical link functions" table:
identity + squared error, logistic + binary cross-entropy, softmax + categorical cross-entropy)
the product simplifies to δ^m = ŷ − y, and the loss can be computed from the pre-activation a^m
directly with log-sum-exp, so neither exp overflows nor log(0) occurs for any finite a^m.

Per-sample losses are averaged over the batch ("Batch training", 001): the network's loss is
the mean (or the ``sample_weight``-weighted mean) of the per-sample values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from deltaprop.checks import build_registered, check_number, register_subclass
from deltaprop.errors import InputError

__all__ = [
    "Loss",
    "SquaredError",
    "MeanSquaredError",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "get",
    "names",
    "register",
]


def _clip_probabilities(h: np.ndarray) -> np.ndarray:
    # Only the general (non-canonical) path needs this: keep log() and 1/h finite.
    eps = np.finfo(h.dtype).eps
    return np.clip(h, eps, 1.0 - eps)


def _log_sum_exp(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]


class Loss(ABC):
    """A per-sample loss L(h, y), its gradient ∂L/∂h and (optionally) its canonical link.

    Attributes
    ----------
    canonical : str or None
        Name of the output activation for which δ^m = ŷ − y (004 table).
    output_bounds : tuple
        Range the network's outputs must lie in for the loss to be defined (e.g. (0, 1) for
        cross-entropy); the network refuses an output activation whose range exceeds it.
    """

    name: ClassVar[str] = "loss"
    canonical: ClassVar[str | None] = None
    output_bounds: ClassVar[tuple[float, float]] = (-np.inf, np.inf)

    @abstractmethod
    def per_sample(self, h: np.ndarray, y: np.ndarray) -> np.ndarray:
        """L for each row of the batch, shape (N,)."""

    @abstractmethod
    def gradient(self, h: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∇L(h^m) = ∂L/∂h^m for each sample, shape (N, k) (000 Eq. 6d, 8a)."""

    def per_sample_from_logits(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """L computed from the pre-activation a^m of the canonical output activation."""
        raise InputError(f"{self.name} has no canonical link to compute from logits")

    def delta_from_logits(self, a: np.ndarray, h: np.ndarray, y: np.ndarray,
                          out: np.ndarray | None = None) -> np.ndarray:
        """Fused output error δ^m = ŷ − y for the canonical pair (004 table), into ``out``."""
        if self.canonical is None:
            raise InputError(f"{self.name} has no canonical link, so no fused delta")
        return np.subtract(h, y, out=out)

    def value(self, h: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """Mean of :meth:`per_sample` over the batch (weighted when ``sample_weight`` is given)."""
        return _mean(self.per_sample(h, y), sample_weight)

    def validate_targets(self, y: np.ndarray, where: str = "Y") -> None:  # noqa: B027
        """Raise :class:`InputError` for targets the loss is not defined for (none by default)."""

    def config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _mean(values: np.ndarray, sample_weight: np.ndarray | None) -> float:
    if sample_weight is None:
        return float(values.mean())
    return float(np.dot(values, sample_weight) / sample_weight.sum())


class SquaredError(Loss):
    """E = ½‖d − y‖² (002 §1, §3); canonical with the identity output: δ^m = y − d."""

    name = "squared_error"
    canonical = "identity"

    def per_sample(self, h, y):
        r = h - y
        return 0.5 * np.einsum("nk,nk->n", r, r)

    def gradient(self, h, y):
        return h - y

    def per_sample_from_logits(self, a, y):
        return self.per_sample(a, y)


class MeanSquaredError(Loss):
    """MSE (001 "Loss function for training ANNs"): (1/k) Σ_i (ŷ_i − y_i)² per sample.

    Averaged over the batch this is the notes' (1/N) Σ (ŷ − y)². Its gradient is 2(ŷ − y)/k, so
    it has no canonical link with δ = ŷ − y; it always takes the general path.
    """

    name = "mean_squared_error"

    def per_sample(self, h, y):
        r = h - y
        return np.einsum("nk,nk->n", r, r) / h.shape[1]

    def gradient(self, h, y):
        return (2.0 / h.shape[1]) * (h - y)


class BinaryCrossEntropy(Loss):
    """Neg-log-loss −y log ŷ − (1 − y) log(1 − ŷ) (001), summed over independent outputs.

    Canonical with the logistic output (004 table, 001 "Put together": ∂J/∂w = (ŷ − y)x). From
    the logit a: L = max(a, 0) − a·y + log(1 + e^{−|a|}), finite for every finite a.
    """

    name = "binary_cross_entropy"
    canonical = "logistic"
    output_bounds = (0.0, 1.0)

    def per_sample(self, h, y):
        p = _clip_probabilities(h)
        return -(y * np.log(p) + (1.0 - y) * np.log1p(-p)).sum(axis=1)

    def gradient(self, h, y):
        p = _clip_probabilities(h)
        return (p - y) / (p * (1.0 - p))  # 001: ∂J/∂ŷ = (ŷ − y) / (ŷ(1 − ŷ))

    def per_sample_from_logits(self, a, y):
        return (np.maximum(a, 0.0) - a * y + np.log1p(np.exp(-np.abs(a)))).sum(axis=1)

    def validate_targets(self, y, where="Y"):
        _check_unit_interval(y, self.name, where)


class CategoricalCrossEntropy(Loss):
    """E = −Σ_k t_k ln y_k (003 "Training MLPs"); canonical with softmax: δ = y − t.

    From the logits: L = logsumexp(a)·Σ_k t_k − Σ_k t_k a_k. Targets are one-hot rows (000 Eq. 2)
    or, more generally, rows of probabilities summing to one.

    Parameters
    ----------
    label_smoothing : float, default 0
        ε in [0, 1): train against t̃ = (1 − ε) t + ε/K instead of t (Szegedy et al. 2016,
        "Rethinking the Inception architecture", §7), so the fused delta is ŷ − t̃ and no
        logit is pushed towards infinity. Metrics still use the given targets.

    Examples
    --------
    >>> import numpy as np
    >>> loss = get("categorical_cross_entropy:label_smoothing=0.1")
    >>> loss.smooth(np.array([[0.0, 1.0]]))
    array([[0.05, 0.95]])
    """

    name = "categorical_cross_entropy"
    canonical = "softmax"
    output_bounds = (0.0, 1.0)

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0,
                                            high=1.0, high_open=True)

    def smooth(self, y: np.ndarray) -> np.ndarray:
        """t̃ = (1 − ε) t + ε/K (the targets themselves when ε = 0)."""
        eps = self.label_smoothing
        if eps == 0.0:
            return y
        return (1.0 - eps) * y + eps / y.shape[1]

    def per_sample(self, h, y):
        return -(self.smooth(y) * np.log(_clip_probabilities(h))).sum(axis=1)

    def gradient(self, h, y):
        return -self.smooth(y) / _clip_probabilities(h)

    def per_sample_from_logits(self, a, y):
        y = self.smooth(y)
        return _log_sum_exp(a) * y.sum(axis=1) - np.einsum("nk,nk->n", y, a)

    def delta_from_logits(self, a, h, y, out=None):
        """δ^m = ŷ − t̃ (004 table, with the smoothed targets)."""
        return np.subtract(h, self.smooth(y), out=out)

    def config(self):
        if self.label_smoothing == 0.0:
            return {"name": self.name}
        return {"name": self.name, "label_smoothing": self.label_smoothing}

    def __repr__(self):
        if self.label_smoothing == 0.0:
            return "CategoricalCrossEntropy()"
        return f"CategoricalCrossEntropy(label_smoothing={self.label_smoothing!r})"

    def validate_targets(self, y, where="Y"):
        _check_unit_interval(y, self.name, where)
        sums = y.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-3)
        if bad.size:
            r = int(bad[0])
            raise InputError(
                f"{self.name} needs each row of {where} to sum to 1 (one-hot labels, 000 Eq. 2); "
                f"row {r} sums to {sums[r]:.6g}"
            )


def _check_unit_interval(y: np.ndarray, name: str, where: str) -> None:
    if y.min() < 0 or y.max() > 1:  # two reductions; only a bad y pays for the search
        r, c = (int(i) for i in np.argwhere((y < 0) | (y > 1))[0])
        raise InputError(
            f"{name} needs targets in [0, 1]; {where}[{r}, {c}] = {y[r, c]:.6g}"
        )


_REGISTRY: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (SquaredError, MeanSquaredError, BinaryCrossEntropy, CategoricalCrossEntropy)
}
_ALIASES = {
    "sse": "squared_error",
    "mse": "mean_squared_error",
    "bce": "binary_cross_entropy",
    "log_loss": "binary_cross_entropy",
    "neg_log_loss": "binary_cross_entropy",
    "cross_entropy": "categorical_cross_entropy",
    "cce": "categorical_cross_entropy",
}


_BUILTIN = frozenset(_REGISTRY)
HOW_TO_REGISTER = ("a custom loss must be registered before it is used or loaded: "
                   "deltaprop.register_loss(YourClass)")


def names() -> list[str]:
    """Names of every registered loss."""
    return list(_REGISTRY)


def register(cls: type[Loss]) -> type[Loss]:
    """Register a user-defined :class:`Loss` subclass under its ``name`` (what :func:`get`
    accepts and model files store); returns the class, so it works as a decorator
    (``@deltaprop.register_loss``). Model files never carry code: a file naming a custom loss
    loads only where its class is registered."""
    return register_subclass(_REGISTRY, cls, Loss, "loss", _BUILTIN)


def get(spec: str | dict | Loss, **params) -> Loss:
    """Return the loss for a name (``"binary_cross_entropy"``, alias ``"bce"``), a spec with
    parameters (``"categorical_cross_entropy:label_smoothing=0.1"``), a config dict or an
    instance."""
    if isinstance(spec, Loss):
        if params:
            raise InputError("parameters cannot be given together with a Loss instance")
        return spec
    return build_registered(_REGISTRY, _ALIASES, spec, params, "loss", "a name, a dict or a Loss",
                            HOW_TO_REGISTER)
