"""Activation functions φ and their derivatives φ', as in Table 1 of 000.

Each activation maps the pre-activation ``a`` of a layer to its output ``h = φ(a)`` (000 Eq. 3)
and gives the factor the backward pass needs for the error ``δ = φ'(a) ⊙ ∂L/∂h`` (000 Eq. 6c,
8a-8b). Where the notes allow it, the derivative is computed from the stored output ``h``
(σ' = σ(1 − σ), tanh' = 1 − tanh², 000 §9.2.3), which is both cheaper and what the notes teach.

Arrays are batches: rows are samples, columns are units.

Examples
--------
>>> import numpy as np
>>> from deltaprop import activations
>>> phi = activations.get("logistic")
>>> a = np.array([[0.0, 2.0]])
>>> h = phi.value(a)
>>> np.round(phi.derivative(a, h), 4)
array([[0.25  , 0.105 ]])
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from deltaprop.checks import build_registered, register_subclass
from deltaprop.errors import InputError, NotDifferentiableError

__all__ = [
    "Activation",
    "Identity",
    "Step",
    "Sign",
    "Logistic",
    "Tanh",
    "ScaledTanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Softmax",
    "Maxout",
    "get",
    "names",
    "register",
]


class Activation(ABC):
    """Base class: an elementwise φ with its derivative φ' (Table 1 of 000).

    Subclasses set ``name`` and ``bounds`` (the closed range of values φ can take, used to check
    that targets lie within the output activation's range, 002 §4 "Target values") and implement
    :meth:`value` and :meth:`derivative`.
    """

    name: ClassVar[str] = "activation"
    bounds: tuple[float, float] = (-np.inf, np.inf)
    differentiable: ClassVar[bool] = True
    #: Pre-activations per unit: 1 for elementwise φ; maxout takes the max of ``pieces``.
    pieces: int = 1

    @abstractmethod
    def value(self, a: np.ndarray) -> np.ndarray:
        """h = φ(a) (000 Eq. 3)."""

    @abstractmethod
    def derivative(self, a: np.ndarray, h: np.ndarray) -> np.ndarray:
        """φ'(a), elementwise, given a and h = φ(a) (Table 1 of 000)."""

    def value_into(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """h = φ(a) written into the preallocated ``out`` (the training loop's buffers).

        The default copies :meth:`value`; the common activations override it with in-place
        ufuncs so a training step allocates nothing.
        """
        np.copyto(out, self.value(a))
        return out

    def backprop(
        self, a: np.ndarray, h: np.ndarray, grad_h: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """δ = φ'(a) ⊙ ∂L/∂h (000 Eq. 6c / 8a / 8b); written into ``out`` when given."""
        return np.multiply(self.derivative(a, h), grad_h, out=out)

    def config(self) -> dict:
        """JSON-able description, inverse of :func:`get`."""
        return {"name": self.name}

    def __repr__(self) -> str:
        params = {k: v for k, v in self.config().items() if k != "name"}
        inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.config().items())))


class Identity(Activation):
    """φ(a) = a, φ'(a) = 1: the output activation for regression (000 §9.2, Fig. 2)."""

    name = "identity"

    def value(self, a):
        return a.copy()

    def value_into(self, a, out):
        np.copyto(out, a)
        return out

    def derivative(self, a, h):
        return np.ones_like(a)

    def backprop(self, a, h, grad_h, out=None):
        if out is None:
            return grad_h.copy()
        np.copyto(out, grad_h)
        return out


class _ForwardOnly(Activation):
    differentiable = False

    def derivative(self, a, h):
        raise NotDifferentiableError(
            f"the {self.name!r} activation is forward-only: its derivative is zero almost "
            "everywhere, so backpropagation cannot train it. Train a step/sign layer with the "
            "perceptron algorithm (deltaprop.Perceptron, 001), or use 'logistic' or 'tanh'."
        )


class Step(_ForwardOnly):
    """Heaviside step with outputs 0/1: φ(a) = 1 if a > 0 else 0 (the perceptron's unit, 001)."""

    name = "step"
    bounds = (0.0, 1.0)

    def value(self, a):
        return (a > 0).astype(a.dtype)


class Sign(_ForwardOnly):
    """Sign with outputs ±1: φ(a) = 1 if a > 0 else −1 (001 "Math note"; 000 Eq. 1a-1c)."""

    name = "sign"
    bounds = (-1.0, 1.0)

    def value(self, a):
        return np.where(a > 0, 1.0, -1.0).astype(a.dtype)


class Logistic(Activation):
    """σ(a) = 1 / (1 + e^{−a}), σ' = σ(1 − σ) (Table 1 of 000).

    Computed from e^{−|a|} so that no exponential overflows for any finite a.
    """

    name = "logistic"
    bounds = (0.0, 1.0)

    def value(self, a):
        e = np.exp(-np.abs(a))
        return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)

    def derivative(self, a, h):
        return h * (1.0 - h)

    def value_into(self, a, out):
        # σ(a) = 1 / (1 + e^{−a}) in four in-place passes. e^{−a} overflows to inf only where
        # σ(a) is below the smallest normal number, and 1 / inf = 0 there, which is harmless.
        np.negative(a, out=out)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += 1.0
        return np.reciprocal(out, out=out)

    def backprop(self, a, h, grad_h, out=None):
        out = np.subtract(1.0, h, out=out)
        out *= h
        out *= grad_h
        return out


class Tanh(Activation):
    """tanh(a), tanh' = 1 − tanh² (Table 1 of 000)."""

    name = "tanh"
    bounds = (-1.0, 1.0)

    def value(self, a):
        return np.tanh(a)

    def value_into(self, a, out):
        return np.tanh(a, out=out)

    def derivative(self, a, h):
        return 1.0 - h * h

    def backprop(self, a, h, grad_h, out=None):
        out = np.multiply(h, h, out=out)
        np.subtract(1.0, out, out=out)
        out *= grad_h
        return out


class ScaledTanh(Activation):
    """LeCun's odd sigmoid 1.7159 · tanh(2a/3), which gives φ(±1) = ±1 (002 §4).

    φ'(a) = 1.7159 · (2/3) · (1 − tanh²(2a/3)) = (2/3) · (1.7159 − h²/1.7159).
    """

    name = "scaled_tanh"
    A = 1.7159
    S = 2.0 / 3.0
    bounds = (-1.7159, 1.7159)

    def value(self, a):
        return self.A * np.tanh(self.S * a)

    def derivative(self, a, h):
        return self.S * (self.A - h * h / self.A)


class ReLU(Activation):
    """φ(a) = max(0, a), with φ'(0) = 0 as 000 §9.3.2 prescribes."""

    name = "relu"
    bounds = (0.0, np.inf)

    def value(self, a):
        return np.maximum(a, 0.0, dtype=a.dtype)

    def value_into(self, a, out):
        return np.maximum(a, 0.0, out=out, dtype=a.dtype)

    def derivative(self, a, h):
        return (a > 0).astype(a.dtype)

    def backprop(self, a, h, grad_h, out=None):
        # φ'(a) = [a > 0] = sign(h) from the stored output h ≥ 0: two float passes, no mask
        out = np.sign(h, out=out)
        out *= grad_h
        return out


class LeakyReLU(Activation):
    """φ(a) = max(βa, a) with 0 < β < 1; φ'(a) = β for a ≤ 0, 1 for a > 0 (Table 1 of 000)."""

    name = "leaky_relu"

    def __init__(self, beta: float = 0.01):
        beta = float(beta)
        if not 0.0 < beta < 1.0:
            raise InputError(f"leaky_relu needs 0 < beta < 1 (Table 1 of 000), got beta={beta}")
        self.beta = beta

    def value(self, a):
        return np.where(a > 0, a, self.beta * a).astype(a.dtype, copy=False)

    def derivative(self, a, h):
        return np.where(a > 0, 1.0, self.beta).astype(a.dtype, copy=False)

    def config(self):
        return {"name": self.name, "beta": self.beta}


class ELU(Activation):
    """φ(a) = β(e^a − 1) for a ≤ 0, a for a > 0; φ'(a) = φ(a) + β for a ≤ 0 (Table 1 of 000)."""

    name = "elu"

    def __init__(self, beta: float = 1.0):
        beta = float(beta)
        if not beta > 0.0:
            raise InputError(f"elu needs beta > 0, got beta={beta}")
        self.beta = beta

    @property
    def bounds(self):  # type: ignore[override]
        return (-self.beta, np.inf)

    def value(self, a):
        # expm1 of min(a, 0): exact near 0 and never overflows for large positive a.
        return np.where(a > 0, a, self.beta * np.expm1(np.minimum(a, 0.0))).astype(
            a.dtype, copy=False
        )

    def derivative(self, a, h):
        return np.where(a > 0, 1.0, h + self.beta).astype(a.dtype, copy=False)

    def config(self):
        return {"name": self.name, "beta": self.beta}


class Softmax(Activation):
    """φ_i(a) = e^{a_i} / Σ_j e^{a_j} (000 Eq. 5), computed as e^{a_i − max a} (log-sum-exp).

    Its derivative is a full Jacobian, ∂φ_i/∂a_j = φ_i (δ_ij − φ_j) (Table 1 of 000):
    :meth:`derivative` returns it as an (N, k, k) array, and :meth:`backprop` applies its
    transpose to ∂L/∂h without forming it: δ = h ⊙ (g − Σ_j g_j h_j).
    """

    name = "softmax"
    bounds = (0.0, 1.0)

    def value(self, a):
        return self.value_into(a, np.empty_like(a))

    def value_into(self, a, out):
        np.subtract(a, a.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def derivative(self, a, h):
        jac = -h[:, :, None] * h[:, None, :]
        idx = np.arange(h.shape[1])
        jac[:, idx, idx] += h
        return jac

    def backprop(self, a, h, grad_h, out=None):
        inner = np.einsum("nk,nk->n", grad_h, h)[:, None]
        out = np.subtract(grad_h, inner, out=out)
        out *= h
        return out


class Maxout(Activation):
    """φ(a)_j = max_k a_{j,k} over the ``pieces`` pre-activations of unit j (000 Table 1;
    Goodfellow et al. 2013): a has ``pieces`` columns per unit, unit j's are columns
    j·pieces … (j+1)·pieces − 1, and h has one column per unit.

    ∂φ_j/∂a_{j,k} = 1 for the winning piece k and 0 for the others (000 Table 1: δ_ik), so
    :meth:`backprop` routes each unit's error to its winner; ties go to the first piece.
    """

    name = "maxout"

    def __init__(self, pieces: int = 2):
        if isinstance(pieces, bool) or not isinstance(pieces, int | np.integer) or pieces < 1:
            raise InputError(f"maxout pieces must be an integer >= 1, got {pieces!r}")
        self.pieces = int(pieces)

    def _split(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(len(a), -1, self.pieces)

    def value(self, a):
        return self._split(a).max(axis=2)

    def value_into(self, a, out):
        return np.max(self._split(a), axis=2, out=out)

    def winners(self, a: np.ndarray) -> np.ndarray:
        """Index of each unit's winning piece, shape (N, units)."""
        return self._split(a).argmax(axis=2)

    def derivative(self, a, h):
        """The 0/1 mask of winning pieces, shaped like ``a``."""
        mask = np.zeros(self._split(a).shape, dtype=a.dtype)
        np.put_along_axis(mask, self.winners(a)[:, :, None], 1, axis=2)
        return mask.reshape(a.shape)

    def backprop(self, a, h, grad_h, out=None):
        delta = np.zeros(a.shape, dtype=grad_h.dtype) if out is None else out
        delta.fill(0)
        np.put_along_axis(self._split(delta), self.winners(a)[:, :, None], grad_h[:, :, None],
                          axis=2)
        return delta

    def config(self):
        return {"name": self.name, "pieces": self.pieces}


_REGISTRY: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (Identity, Step, Sign, Logistic, Tanh, ScaledTanh, ReLU, LeakyReLU, ELU, Softmax,
                Maxout)
}
_BUILTIN = frozenset(_REGISTRY)
_ALIASES = {"linear": "identity", "sigmoid": "logistic", "lrelu": "leaky_relu"}
#: How the errors for an unregistered name say what to do.
HOW_TO_REGISTER = ("a custom activation must be registered before it is used or loaded: "
                   "deltaprop.register_activation(YourClass)")


def register(cls: type[Activation]) -> type[Activation]:
    """Register a user-defined :class:`Activation` subclass under its ``name``; returns the
    class, so it also works as a decorator (``@deltaprop.register_activation``).

    The name is what :func:`get` accepts and what model files store (``config()``); a file
    that names an activation loads only where its class is registered (deltaprop never loads
    code from a file). ``config()`` must return ``{"name": name, **constructor keywords}``.

    Examples
    --------
    >>> import numpy as np
    >>> @register
    ... class Softplus(Activation):
    ...     name = "softplus"
    ...     def value(self, a): return np.logaddexp(0.0, a)
    ...     def derivative(self, a, h): return 1.0 / (1.0 + np.exp(-a))
    >>> get("softplus")
    Softplus()
    """
    return register_subclass(_REGISTRY, cls, Activation, "activation", _BUILTIN)


def names() -> list[str]:
    """Names of every registered activation."""
    return list(_REGISTRY)


def get(spec: str | dict | Activation, **params) -> Activation:
    """Return the activation for a name (``"relu"``), a config dict or an instance.

    Parameters
    ----------
    spec : str, dict or Activation
        ``"leaky_relu"``, ``{"name": "elu", "beta": 0.5}`` or an :class:`Activation`.
    **params
        Parameters of a parametrized activation (``beta`` for leaky_relu and elu).

    Raises
    ------
    InputError
        For an unknown name or parameters the activation does not take.
    """
    if isinstance(spec, Activation):
        if params:
            raise InputError("parameters cannot be given together with an Activation instance")
        return spec
    return build_registered(_REGISTRY, _ALIASES, spec, params, "activation",
                            "a name, a dict or an Activation", HOW_TO_REGISTER)
