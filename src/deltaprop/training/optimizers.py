"""Learning rules: how a gradient becomes a weight update.

Each optimizer updates a list of parameter arrays *in place* from an aligned list of gradient
arrays (the engine's ``network.parameters()`` / ``network.gradients()``), so the network keeps
working on the same live arrays. The rules are the ones in the notes:

- :class:`GradientDescent`: w <- w - eta grad E (000 Algorithm 9.1, 002 §1).
- :class:`Momentum`: v <- mu v - eta grad E; w <- w + v (002 §6 "Momentum method"), optionally
  with Nesterov's look-ahead.
- :class:`Adam`: adaptive moments (Kingma & Ba 2015; not in the notes, offered because it is the
  usual default for deep networks).

Per-parameter learning-rate multipliers implement per-layer learning rates, including the notes'
heuristic eta_l proportional to 1/sqrt(fan-in) (002 §4 "Learning rates"); see
:func:`learning_rate_multipliers`.

Every optimizer offers ``get_state() -> (config, arrays)`` and ``from_state(config, arrays)`` so
that its state (velocities, moments, step count) travels in checkpoints without pickle.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.checks import check_number, register_subclass
from deltaprop.engine.flat import flat_state
from deltaprop.errors import InputError

__all__ = ["Optimizer", "GradientDescent", "Momentum", "Adam", "get_optimizer",
           "learning_rate_multipliers", "build_optimizer", "register"]


@functools.lru_cache(maxsize=1)
def _kernels() -> Any:
    """deltaprop.training.kernels where numba is installed, else None (imported once)."""
    try:
        from deltaprop.training import kernels
    except ImportError:
        return None
    return kernels


def learning_rate_multipliers(
    param_info: Sequence[Any], layer_learning_rates: None | str | Sequence[float]
) -> list[float] | None:
    """Per-parameter learning-rate factors from a per-layer specification (002 §4).

    Parameters
    ----------
    param_info : sequence of ParamInfo
        ``network.parameter_info()``: one entry (``layer_index``, ``kind``, ``fan_in``) per
        parameter array.
    layer_learning_rates : None, "fan_in" or sequence of float
        ``None``: every layer uses the global rate (returns ``None``). ``"fan_in"``: the notes'
        heuristic "the learning rate should be inversely proportional to the square root of
        synaptic connections made to that neuron", eta_l = eta / sqrt(fan_in_l). A sequence:
        one factor per *trainable* layer, multiplying the global (possibly scheduled) rate.
        A layer's weights and bias share its factor.

    Returns
    -------
    list of float or None
        One factor per parameter array.

    Examples
    --------
    >>> from collections import namedtuple
    >>> P = namedtuple("P", "layer_index kind fan_in")
    >>> learning_rate_multipliers([P(0, "W", 4), P(0, "b", 4)], "fan_in")
    [0.5, 0.5]
    """
    if layer_learning_rates is None:
        return None
    if isinstance(layer_learning_rates, str):
        if layer_learning_rates != "fan_in":
            raise InputError(
                "layer_learning_rates must be None, 'fan_in' or a list of per-layer factors, "
                f"got {layer_learning_rates!r}"
            )
        return [1.0 / math.sqrt(info.fan_in) for info in param_info]
    factors = list(layer_learning_rates)
    layers = sorted({info.layer_index for info in param_info})
    if len(factors) != len(layers):
        raise InputError(
            f"layer_learning_rates has {len(factors)} entries but the network has "
            f"{len(layers)} trainable layers (layers {layers})"
        )
    for i, f in enumerate(factors):
        check_number(f"layer_learning_rates[{i}]", f, low=0)
    by_layer = {layer: float(f) for layer, f in zip(layers, factors, strict=True)}
    return [by_layer[info.layer_index] for info in param_info]


class Optimizer(ABC):
    """Base class of the learning rules.

    Parameters
    ----------
    learning_rate : float
        The step size eta. A schedule may change ``optimizer.learning_rate`` between epochs.
    multipliers : list of float, optional
        One learning-rate factor per parameter array (see :func:`learning_rate_multipliers`).

    Notes
    -----
    Subclasses implement :meth:`_update`, the rule in NumPy ufuncs. State arrays and scratch
    buffers are allocated on the first :meth:`step`, once, so the hot path allocates nothing.
    Where the parameters tile one flat buffer and numba is installed, a step runs the rule's
    compiled form, :meth:`_fused`, written beside :meth:`_update` and bit-identical to it
    (tests/test_optimizers.py); ``fused = False`` keeps the ufuncs.
    """

    name = "base"

    def __init__(self, learning_rate: float = 0.01, multipliers: Sequence[float] | None = None):
        self.learning_rate = check_number("learning_rate", learning_rate, low=0)
        self.multipliers = None if multipliers is None else [float(m) for m in multipliers]
        self.t = 0  # number of steps taken (Adam's bias correction needs it)
        self._slots: dict[str, list[np.ndarray]] = {}
        self._buf: list[np.ndarray] | None = None
        # Flat mode (performance): when params and grads each tile one buffer and all arrays
        # share one rate, the state lives in flat arrays too (the per-array slots are views of
        # them, so get_state is unchanged) and a step is a few ufunc calls over everything.
        self._flat: tuple[np.ndarray, np.ndarray] | None = None
        self._flat_slots: dict[str, np.ndarray] = {}
        self._flat_buf: np.ndarray | None = None
        #: Run the compiled form of the rule over the flat buffer where available.
        self.fused = True

    # -- hot path -----------------------------------------------------------------------
    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (the gradients of E, not of -E).

        Parameters
        ----------
        params, grads : sequence of ndarray
            Aligned lists of parameter arrays and their gradients. ``grads`` is not modified.
        """
        self.t += 1
        if self.is_flat(params, grads):
            p, g = self._flat
            kernels = _kernels() if self.fused else None
            if kernels is not None:
                self._fused(kernels, p, g, p.dtype.type)
            else:
                self._update(None, p, g, self.learning_rate)
            return
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            lr = self.learning_rate if self.multipliers is None else (
                self.learning_rate * self.multipliers[i])
            self._update(i, p, g, lr)

    def is_flat(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> bool:
        """True when ``params`` and ``grads`` are views of one flat buffer each (one update over
        all parameters, one learning rate). Allocates the state on first use (:meth:`prepare`)."""
        self.prepare(params, grads)
        flat = self._flat
        return (flat is not None and len(params) == len(self._buf)
                and all(p.base is flat[0] for p in params)
                and all(g.base is flat[1] for g in grads))

    def flat_arrays(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(flat parameters, flat gradients) the state was laid out over, or None."""
        return self._flat

    def state_arrays(self) -> list[np.ndarray]:
        """Every array of the optimizer's state (velocities, moments): one flat buffer per
        slot where the state is flat, else one array per parameter and slot."""
        if self._flat_slots:
            return list(self._flat_slots.values())
        return [a for slot in self._slots.values() for a in slot]

    def _fused(self, kernels: Any, p: np.ndarray, g: np.ndarray, dt: type) -> None:
        """The compiled form of :meth:`_update` over the flat buffers (``dt``: their dtype's
        scalar type). A rule without one is applied by :meth:`_update`."""
        self._update(None, p, g, self.learning_rate)

    @abstractmethod
    def _update(self, i: int | None, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        """Apply the rule to parameter array ``i`` (``None``: all of them, as one flat array)."""

    def slot(self, name: str, i: int | None = None) -> np.ndarray:
        """State array ``name`` (e.g. "velocity", "m") of parameter ``i`` (None: the flat one)."""
        return self._flat_slots[name] if i is None else self._slots[name][i]

    def _scratch(self, i: int | None) -> np.ndarray:
        return self._flat_buf if i is None else self._buf[i]

    def _slot_names(self) -> tuple[str, ...]:
        return ()

    def prepare(self, params: Sequence[np.ndarray],
                grads: Sequence[np.ndarray] | None = None) -> None:
        """Allocate the state for ``params`` (zeros) unless it is there already; flat over one
        buffer when ``params``/``grads`` are views of one (:mod:`deltaprop.engine.flat`)."""
        if self._buf is not None:
            return
        if self.multipliers is not None and len(self.multipliers) != len(params):
            raise InputError(
                f"{len(self.multipliers)} learning-rate multipliers for {len(params)} parameters"
            )
        flat = flat_state(params, grads, self._slot_names(), self._slots)
        if flat is not None and self.multipliers is None:
            self._flat, self._flat_slots, views = flat
            self._flat_buf = np.empty_like(self._flat[0])
            self._slots.update(views)
        for name in self._slot_names():
            if name not in self._slots:
                self._slots[name] = [np.zeros_like(p) for p in params]
        self._buf = [np.empty_like(p) for p in params]

    def reset(self) -> None:
        """Forget the state (velocities, moments, step count)."""
        self.t = 0
        self._slots = {}
        self._buf = None
        self._flat, self._flat_slots, self._flat_buf = None, {}, None

    # -- state --------------------------------------------------------------------------
    def _hyper(self) -> dict[str, Any]:
        return {}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Return ``(config, arrays)``: JSON-able hyperparameters and step count, state arrays.

        Examples
        --------
        >>> opt = Momentum(learning_rate=0.1, mu=0.9)
        >>> config, arrays = opt.get_state()
        >>> config["name"], config["mu"], arrays
        ('momentum', 0.9, {})
        """
        config = {
            "name": self.name,
            "learning_rate": self.learning_rate,
            "multipliers": self.multipliers,
            "t": self.t,
            **self._hyper(),
        }
        arrays = {
            f"{name}_{i}": a for name, slot in self._slots.items() for i, a in enumerate(slot)
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Optimizer:
        """Rebuild an optimizer (any subclass, chosen by ``config["name"]``) from get_state."""
        config = dict(config)
        name = config.pop("name")
        t = int(config.pop("t"))
        klass = _BY_NAME.get(name)
        if klass is None:
            raise InputError(f"optimizer state is for unknown optimizer {name!r}; "
                             f"{HOW_TO_REGISTER}")
        if cls is not Optimizer and klass is not cls:
            raise InputError(f"optimizer state is for {name!r}, cannot load it into {cls.name!r}")
        opt = klass(**config)
        opt.t = t
        for slot in opt._slot_names():
            keys = sorted((k for k in arrays if k.startswith(slot + "_")),
                          key=lambda k: int(k.rsplit("_", 1)[1]))
            if keys:
                opt._slots[slot] = [np.array(arrays[k]) for k in keys]
        return opt


class GradientDescent(Optimizer):
    """Plain (stochastic) gradient descent, w <- w - eta grad E (000 Algorithm 9.1 step 6).

    Examples
    --------
    >>> w = np.array([1.0, -2.0]); opt = GradientDescent(learning_rate=0.5)
    >>> opt.step([w], [np.array([2.0, 2.0])]); w
    array([ 0., -3.])
    """

    name = "sgd"

    def _update(self, i: int | None, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        buf = self._scratch(i)
        np.multiply(g, lr, out=buf)
        np.subtract(p, buf, out=p)

    def _fused(self, kernels, p, g, dt):
        kernels.sgd_update(p, g, dt(self.learning_rate))


class Momentum(GradientDescent):
    """Momentum method: v <- mu v - eta grad E; w <- w + v (002 §6, velocity starts at 0).

    Parameters
    ----------
    learning_rate : float
    mu : float
        Momentum coefficient in [0, 1); (1 - mu) is the "friction" of the notes.
    nesterov : bool
        Nesterov's accelerated gradient in the usual reformulation where the stored weights are
        the look-ahead point: v <- mu v - eta g; w <- w + mu v - eta g (Sutskever et al. 2013).
    multipliers : list of float, optional

    Examples
    --------
    >>> w = np.array([1.0]); opt = Momentum(learning_rate=0.1, mu=0.5)
    >>> opt.step([w], [np.array([1.0])]); opt.step([w], [np.array([1.0])]); w
    array([0.75])
    """

    name = "momentum"

    def __init__(self, learning_rate: float = 0.01, mu: float = 0.9, nesterov: bool = False,
                 multipliers: Sequence[float] | None = None):
        super().__init__(learning_rate, multipliers)
        mu = check_number("momentum", mu, low=0)
        if mu >= 1:
            raise InputError(f"momentum mu must be in [0, 1), got {mu!r}")
        self.mu = mu
        self.nesterov = bool(nesterov)

    def _slot_names(self) -> tuple[str, ...]:
        return ("velocity",)

    def _hyper(self) -> dict[str, Any]:
        return {"mu": self.mu, "nesterov": self.nesterov}

    def _update(self, i: int | None, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        v, buf = self.slot("velocity", i), self._scratch(i)
        np.multiply(g, lr, out=buf)           # buf = eta g
        np.multiply(v, self.mu, out=v)
        np.subtract(v, buf, out=v)            # v = mu v - eta g
        if self.nesterov:
            np.subtract(p, buf, out=p)        # w = w - eta g + mu v
            np.multiply(v, self.mu, out=buf)
            np.add(p, buf, out=p)
        else:
            np.add(p, v, out=p)               # w = w + v

    def _fused(self, kernels, p, g, dt):
        kernels.momentum_update(p, g, self.slot("velocity"), dt(self.learning_rate),
                                dt(self.mu), self.nesterov)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): bias-corrected running moments of the gradient.

    m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
    w <- w - eta_t m / (sqrt(s) + eps_t), with eta_t = eta sqrt(1 - b2^t) / (1 - b1^t) and
    eps_t = eps sqrt(1 - b2^t) (the paper's efficient form of the bias correction).

    Parameters
    ----------
    learning_rate : float
    beta_1, beta_2 : float
        Decay rates of the first and second moment, in [0, 1).
    epsilon : float
        Keeps the division finite.
    multipliers : list of float, optional

    Examples
    --------
    >>> w = np.array([1.0]); Adam(learning_rate=0.1).step([w], [np.array([3.0])]); w
    array([0.9])
    """

    name = "adam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, multipliers: Sequence[float] | None = None):
        super().__init__(learning_rate, multipliers)
        for nm, b in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= check_number(nm, b, low=0) < 1:
                raise InputError(f"{nm} must be in [0, 1), got {b!r}")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = check_number("epsilon", epsilon, low=0, low_open=True)

    def _slot_names(self) -> tuple[str, ...]:
        return ("m", "s")

    def _hyper(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _update(self, i: int | None, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        m, s, buf = self.slot("m", i), self.slot("s", i), self._scratch(i)
        b1, b2 = self.beta_1, self.beta_2
        corr2 = math.sqrt(1.0 - b2**self.t)
        lr_t = lr * corr2 / (1.0 - b1**self.t)
        np.multiply(m, b1, out=m)
        np.multiply(g, 1.0 - b1, out=buf)
        np.add(m, buf, out=m)
        np.multiply(s, b2, out=s)
        np.multiply(g, g, out=buf)
        np.multiply(buf, 1.0 - b2, out=buf)
        np.add(s, buf, out=s)
        np.sqrt(s, out=buf)
        np.add(buf, self.epsilon * corr2, out=buf)
        np.divide(m, buf, out=buf)
        np.multiply(buf, lr_t, out=buf)
        np.subtract(p, buf, out=p)

    def _fused(self, kernels, p, g, dt):
        b1, b2 = self.beta_1, self.beta_2
        corr2 = math.sqrt(1.0 - b2**self.t)
        lr_t = self.learning_rate * corr2 / (1.0 - b1**self.t)
        kernels.adam_update(p, g, self.slot("m"), self.slot("s"), dt(b1), dt(1.0 - b1), dt(b2),
                            dt(1.0 - b2), dt(self.epsilon * corr2), dt(lr_t))


_BY_NAME: dict[str, type[Optimizer]] = {
    "sgd": GradientDescent,
    "momentum": Momentum,
    "adam": Adam,
}
_ALIASES = {"gd": "sgd", "gradient_descent": "sgd", "nesterov": "momentum"}
_BUILTIN = frozenset([*_BY_NAME, *_ALIASES])
HOW_TO_REGISTER = ("a custom optimizer must be registered before it is used by name or "
                   "resumed from a checkpoint: deltaprop.register_optimizer(YourClass)")


def register(cls: type[Optimizer]) -> type[Optimizer]:
    """Register a user-defined :class:`Optimizer` subclass under its ``name``, so that
    :func:`get_optimizer`, ``Trainer(optimizer=name)`` and checkpoint resumption find it;
    returns the class, so it works as a decorator (``@deltaprop.register_optimizer``).

    Its state travels as ``get_state()`` describes: ``cls(learning_rate=..., multipliers=...,
    **_hyper())`` must rebuild it. Checkpoints never carry code.
    """
    return register_subclass(_BY_NAME, cls, Optimizer, "optimizer", _BUILTIN, own_name=True)


def build_optimizer(spec: str | Optimizer, *, learning_rate: float, momentum: float = 0.0,
                    nesterov: bool = False, beta_1: float = 0.9, beta_2: float = 0.999,
                    epsilon: float = 1e-8, multipliers: list[float] | None = None) -> Optimizer:
    """The optimizer that training options name, with fresh state: the one place where
    options become an optimizer (the Trainer, the estimators and the CLI all come here).

    "sgd" is plain gradient descent, or the momentum method (002 §6) when ``momentum > 0`` or
    ``nesterov``; "momentum"/"nesterov" default to mu = 0.9; "adam" is Adam. An Optimizer
    instance is reset and used as is (its own learning rate is the initial rate).

    Examples
    --------
    >>> type(build_optimizer("sgd", learning_rate=0.1, momentum=0.9)).__name__
    'Momentum'
    """
    if isinstance(spec, Optimizer):
        if multipliers is not None:
            spec.multipliers = multipliers
        spec.reset()
        return spec
    name = spec.lower()
    name = _ALIASES.get(name, name) if name != "nesterov" else name
    if name == "sgd" and momentum == 0 and not nesterov:
        return GradientDescent(learning_rate, multipliers)
    if name in ("sgd", "momentum", "nesterov"):
        return Momentum(learning_rate, momentum or 0.9, nesterov or name == "nesterov",
                        multipliers)
    if name == "adam":
        return Adam(learning_rate, beta_1, beta_2, epsilon, multipliers=multipliers)
    return get_optimizer(spec, learning_rate=learning_rate)


def get_optimizer(name: str | Optimizer, **kwargs: Any) -> Optimizer:
    """Build an optimizer by name: "sgd" (alias "gd", "gradient_descent"), "momentum",
    "nesterov" (momentum with ``nesterov=True``) or "adam".

    Parameters
    ----------
    name : str or Optimizer
        An Optimizer instance is returned unchanged (``kwargs`` must then be empty).
    **kwargs
        Passed to the class (``learning_rate``, ``mu``, ``beta_1``, ...).

    Examples
    --------
    >>> get_optimizer("nesterov", learning_rate=0.1, mu=0.9).nesterov
    True
    """
    if isinstance(name, Optimizer):
        if kwargs:
            raise InputError(f"got an Optimizer instance and extra options {sorted(kwargs)}")
        return name
    if not isinstance(name, str):
        raise InputError(f"optimizer must be a name or an Optimizer, got {type(name).__name__}")
    key = name.lower()
    if key == "nesterov":
        kwargs.setdefault("nesterov", True)
    key = _ALIASES.get(key, key)
    if key not in _BY_NAME:
        known = sorted([*_BY_NAME, *_ALIASES])
        raise InputError(f"unknown optimizer {name!r}; known: {', '.join(known)} "
                         f"({HOW_TO_REGISTER})")
    try:
        return _BY_NAME[key](**kwargs)
    except TypeError as exc:
        raise InputError(f"bad options for optimizer {name!r}: {exc}") from None
