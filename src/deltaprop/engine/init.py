"""Weight initializers (000 Table 2, 000 §9.3, 002 §4 "Weight initialization").

Each initializer draws a weight matrix W of shape (n_out, n_in) (000 Eq. 4: row i holds the
weights into unit i). ``fan_in = n_in`` and ``fan_out = n_out`` (000 §9.3.1). Biases start at
zero. :func:`default_for` picks Table 2's scheme for a layer's activation.

Examples
--------
>>> import numpy as np
>>> from deltaprop import init
>>> W = init.get("he_normal")(784, 256, np.random.default_rng(0))
>>> W.shape
(256, 784)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deltaprop.checks import register_name, split_spec
from deltaprop.errors import InputError

__all__ = [
    "Initializer",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "uniform",
    "normal",
    "zeros",
    "constant",
    "default_for",
    "get",
    "names",
    "register",
]

Initializer = Callable[[int, int, np.random.Generator], np.ndarray]


def xavier_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """U[−r, r] with r = sqrt(6 / (n_in + n_out)) (000 Table 2, Glorot & Bengio 2010)."""
    r = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-r, r, size=(n_out, n_in))


def xavier_normal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, σ²) with σ = sqrt(2 / (n_in + n_out)) (000 Table 2)."""
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))


def he_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """U[−r, r] with r = sqrt(6 / n_in), for ReLU units (000 Table 2, He et al. 2015)."""
    r = np.sqrt(6.0 / n_in)
    return rng.uniform(-r, r, size=(n_out, n_in))


def he_normal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, σ²) with σ = sqrt(2 / n_in), for ReLU units (000 Table 2)."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))


def lecun_normal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, σ²) with σ² = 1 / fan-in, so that E[v²] = mσ² = 1 (002 §4 "Weight initialization")."""
    return rng.normal(0.0, np.sqrt(1.0 / n_in), size=(n_out, n_in))


def uniform(low: float = -0.05, high: float = 0.05) -> Initializer:
    """U[low, high]; 001 "Saturation" suggests small ranges such as [0, 1] or smaller."""
    if not low < high:
        raise InputError(f"uniform init needs low < high, got low={low}, high={high}")

    def draw(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(low, high, size=(n_out, n_in))

    draw.__name__ = "uniform"
    draw.config = {"name": "uniform", "low": float(low), "high": float(high)}  # type: ignore[attr-defined]
    return draw


def normal(std: float = 1.0) -> Initializer:
    """N(0, std²). With std = 1 this is the init 000 §9.3 blames for vanishing gradients."""
    if not std > 0:
        raise InputError(f"normal init needs std > 0, got std={std}")

    def draw(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(0.0, std, size=(n_out, n_in))

    draw.__name__ = "normal"
    draw.config = {"name": "normal", "std": float(std)}  # type: ignore[attr-defined]
    return draw


def zeros(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """All zeros: with tanh the hidden weights then never move (002 §4 "Weight initialization")."""
    return np.zeros((n_out, n_in))


def constant(W: np.ndarray) -> Initializer:
    """An explicit weight matrix of shape (n_out, n_in)."""
    W = np.array(W, dtype=np.float64)

    def draw(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
        if W.shape != (n_out, n_in):
            raise InputError(
                f"explicit initial weights have shape {W.shape}, expected (n_out, n_in) = "
                f"({n_out}, {n_in})"
            )
        return W.copy()

    draw.__name__ = "constant"
    return draw


_NAMED: dict[str, Initializer] = {
    f.__name__: f
    for f in (xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_normal, zeros)
}
_FACTORIES = {"uniform": uniform, "normal": normal}
_BUILTIN = frozenset([*_NAMED, *_FACTORIES])
HOW_TO_REGISTER = ("a custom initializer must be registered before it is used by name: "
                   "deltaprop.register_initializer(your_function)")

# 000 Table 2: Xavier for tanh and logistic, He for ReLU; 002 §4 σ² = 1/m for the scaled tanh.
_DEFAULTS = {
    "relu": "he_normal",
    "leaky_relu": "he_normal",
    "elu": "he_normal",
    "maxout": "he_normal",
    "scaled_tanh": "lecun_normal",
}


def names() -> list[str]:
    """Names of every initializer (``uniform`` and ``normal`` take parameters)."""
    return [*_NAMED, *_FACTORIES]


def register(fn: Initializer, name: str | None = None) -> Initializer:
    """Register a user-defined initializer ``fn(n_in, n_out, rng) -> W (n_out, n_in)`` under
    ``name`` (default its ``__name__``), so :func:`get` and ``--init`` accept the name;
    returns ``fn``, so it works as a decorator (``@deltaprop.register_initializer``)."""
    if not callable(fn):
        raise InputError(f"register_initializer needs a function fn(n_in, n_out, rng), "
                         f"got {fn!r}")
    key = getattr(fn, "__name__", None) if name is None else name
    register_name(_NAMED, key.lower() if isinstance(key, str) else key, fn, "initializer",
                  _BUILTIN)
    return fn


def default_for(activation_name: str) -> str:
    """Table 2 of 000: He for rectifiers, LeCun for the scaled tanh, Xavier otherwise."""
    return _DEFAULTS.get(activation_name, "xavier_uniform")


def get(spec: str | dict | np.ndarray | Initializer, **params) -> Initializer:
    """Return an initializer from a name, ``{"name": "normal", "std": 1.0}``, an array or callable.

    Raises
    ------
    InputError
        For an unknown name or wrong parameters.
    """
    if isinstance(spec, np.ndarray | list):
        return constant(np.asarray(spec))
    if callable(spec):
        return spec
    spec, params = split_spec(spec, params, "init", "a name, a dict, an array or a callable")
    key = spec.lower()
    if key in _FACTORIES:
        try:
            return _FACTORIES[key](**params)
        except TypeError as exc:
            raise InputError(f"init {key!r} does not take parameters {params}") from exc
    if key in _NAMED:
        if params:
            raise InputError(f"init {key!r} takes no parameters, got {params}")
        return _NAMED[key]
    raise InputError(f"unknown init {spec!r}; choose one of {', '.join(names())} "
                     f"({HOW_TO_REGISTER})")


def config_of(initializer: Initializer) -> dict | None:
    """JSON-able description of an initializer, or None for explicit arrays and custom callables."""
    if getattr(initializer, "config", None) is not None:
        return dict(initializer.config)  # type: ignore[attr-defined]
    name = getattr(initializer, "__name__", None)
    if name is not None and _NAMED.get(name.lower()) is initializer:
        return {"name": name.lower()}
    return None
