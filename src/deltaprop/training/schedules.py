"""Learning-rate schedules: eta as a function of the epoch (and, for plateaus, of the loss).

The notes observe that stochastic learning "keep[s] bouncing around a local minima unless
learning rate is reduced" (002 §4 "Stochastic vs batch update"); a schedule does that reduction.

Beyond the notes, :class:`CosineDecay` (Loshchilov & Hutter 2017) and :class:`LinearDecay` anneal
the rate to a final value over the run, after an optional linear warm-up (Goyal et al. 2017).

Protocol: ``schedule.start(eta_0)`` fixes the initial rate and ``schedule.horizon(epochs)``
gives the run's length; ``schedule.rate(t)`` gives the rate
for the epoch with ``t`` completed epochs before it (``t = 0`` for the first epoch);
``schedule.observe(t, logs)`` is called after every epoch with its logs (only
:class:`ReduceOnPlateau` uses it). The trainer drives a schedule through the
:class:`deltaprop.training.callbacks.LearningRateScheduler` callback. ``get_state()`` /
``from_state()``
save and restore a schedule in checkpoints.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop.checks import check_number, register_subclass
from deltaprop.errors import InputError

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "InverseScaling",
    "ReduceOnPlateau",
    "CosineDecay",
    "LinearDecay",
    "get_schedule",
    "register",
]


class Schedule:
    """Base class: a constant rate. Subclasses override :meth:`rate`."""

    name = "constant"

    def __init__(self) -> None:
        self.initial: float | None = None

    def start(self, learning_rate: float) -> None:
        """Fix eta_0, the rate of the first epoch (the trainer's ``learning_rate``)."""
        self.initial = float(learning_rate)

    def rate(self, t: int) -> float:
        """Learning rate for the epoch after ``t`` completed epochs."""
        if self.initial is None:
            raise InputError(f"{type(self).__name__}.start(learning_rate) was not called")
        return self.initial

    def observe(self, t: int, logs: dict[str, Any]) -> None:
        """Called after each epoch with its logs; a no-op except for plateau detection."""

    def horizon(self, epochs: int) -> None:
        """Told the run's number of epochs before it starts (a no-op except for the decays
        to a final rate, :class:`CosineDecay` and :class:`LinearDecay`, without ``total``)."""

    def _params(self) -> dict[str, Any]:
        return {}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Return ``(config, {})``: the schedule's name, parameters and running state."""
        return {"name": self.name, "initial": self.initial, **self._params()}, {}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Schedule:
        """Rebuild a schedule (the subclass named in ``config``) from :meth:`get_state`."""
        config = dict(config)
        name, initial = config.pop("name"), config.pop("initial")
        if name not in _BY_NAME:
            raise InputError(f"unknown schedule {name!r} in saved state; {HOW_TO_REGISTER}")
        sched = _BY_NAME[name]._restore(config)
        sched.initial = initial
        return sched

    @classmethod
    def _restore(cls, config: dict[str, Any]) -> Schedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"


Constant = Schedule


class StepDecay(Schedule):
    """Step decay: eta_t = eta_0 * drop ** floor(t / every).

    Parameters
    ----------
    drop : float
        Factor in (0, 1] applied every ``every`` epochs.
    every : int
        Number of epochs between drops.

    Examples
    --------
    >>> s = StepDecay(drop=0.5, every=10); s.start(0.1); [s.rate(t) for t in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    """

    name = "step"

    def __init__(self, drop: float = 0.5, every: int = 10):
        super().__init__()
        self.drop = check_number("drop", drop, low=0.0, high=1.0, low_open=True)
        if isinstance(every, bool) or not isinstance(every, int | np.integer) or every < 1:
            raise InputError(f"every must be an integer >= 1, got {every!r}")
        self.every = int(every)

    def rate(self, t: int) -> float:
        return super().rate(t) * self.drop ** (t // self.every)

    def _params(self) -> dict[str, Any]:
        return {"drop": self.drop, "every": self.every}


class ExponentialDecay(Schedule):
    """Exponential decay: eta_t = eta_0 * gamma ** t.

    Examples
    --------
    >>> s = ExponentialDecay(gamma=0.5); s.start(1.0); s.rate(3)
    0.125
    """

    name = "exponential"

    def __init__(self, gamma: float = 0.95):
        super().__init__()
        self.gamma = check_number("gamma", gamma, low=0.0, high=1.0, low_open=True)

    def rate(self, t: int) -> float:
        return super().rate(t) * self.gamma**t

    def _params(self) -> dict[str, Any]:
        return {"gamma": self.gamma}


class InverseScaling(Schedule):
    """Inverse scaling: eta_t = eta_0 / (1 + decay * t) ** power (power 1: the classic 1/t
    decay that satisfies the Robbins-Monro conditions for stochastic gradient descent).

    Examples
    --------
    >>> s = InverseScaling(decay=1.0, power=1.0); s.start(1.0); s.rate(3)
    0.25
    """

    name = "inverse"

    def __init__(self, decay: float = 1.0, power: float = 0.5):
        super().__init__()
        self.decay = check_number("decay", decay, low=0.0)
        self.power = check_number("power", power, low=0.0)

    def rate(self, t: int) -> float:
        return super().rate(t) / (1.0 + self.decay * t) ** self.power

    def _params(self) -> dict[str, Any]:
        return {"decay": self.decay, "power": self.power}


class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        Key of the epoch logs to watch; if it is missing (no validation data for "val_loss"),
        "loss" is used.
    factor : float
        In (0, 1).
    patience : int
        Epochs without an improvement larger than ``min_delta`` before reducing.
    min_delta : float
        Smallest decrease that counts as an improvement.
    min_lr : float
        The rate is never reduced below this.

    Examples
    --------
    >>> s = ReduceOnPlateau(patience=1, factor=0.5, monitor="loss"); s.start(1.0)
    >>> for t, loss in enumerate([3.0, 2.0, 2.0, 2.0]): s.observe(t, {"loss": loss})
    >>> s.rate(4)
    0.25
    """

    name = "plateau"

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 5,
                 min_delta: float = 1e-4, min_lr: float = 0.0):
        super().__init__()
        self.monitor = str(monitor)
        self.factor = check_number("factor", factor, low=0.0, high=1.0, low_open=True,
                                   high_open=True)
        if isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 0:
            raise InputError(f"patience must be an integer >= 0, got {patience!r}")
        self.patience = int(patience)
        self.min_delta = check_number("min_delta", min_delta, low=0.0)
        self.min_lr = check_number("min_lr", min_lr, low=0.0)
        self.current: float | None = None
        self.best = math.inf
        self.wait = 0

    def start(self, learning_rate: float) -> None:
        super().start(learning_rate)
        self.current, self.best, self.wait = float(learning_rate), math.inf, 0

    def rate(self, t: int) -> float:
        super().rate(t)
        return self.current

    def observe(self, t: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            value = logs.get("loss")
        if value is None or not math.isfinite(value):
            return
        if value < self.best - self.min_delta:
            self.best, self.wait = float(value), 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.current = max(self.current * self.factor, self.min_lr)
            self.wait = 0

    def _params(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "factor": self.factor, "patience": self.patience,
                "min_delta": self.min_delta, "min_lr": self.min_lr}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config, arrays = super().get_state()
        # JSON has no infinity: an unset best is stored as None.
        best = None if math.isinf(self.best) else self.best
        config["running"] = {"current": self.current, "best": best, "wait": self.wait}
        return config, arrays

    @classmethod
    def _restore(cls, config: dict[str, Any]) -> Schedule:
        running = config.pop("running", None)
        sched = cls(**config)
        if running is not None:
            sched.current = running["current"]
            sched.best = math.inf if running["best"] is None else running["best"]
            sched.wait = running["wait"]
        return sched


class _WarmupDecay(Schedule):
    """Linear warm-up over ``warmup`` epochs, then a decay from eta_0 to ``min_rate`` over the
    remaining ``total - warmup`` epochs; subclasses give the decay's shape f(s), s in [0, 1]."""

    def __init__(self, total: int | None = None, warmup: int = 0, min_rate: float = 0.0):
        super().__init__()
        self.total = check_number("total", total, low=1, integer=True, allow_none=True)
        self.warmup = check_number("warmup", warmup, low=0, integer=True)
        if self.total is not None and self.warmup >= self.total:
            raise InputError(f"warmup ({warmup}) must be shorter than total ({total}) epochs")
        self.min_rate = check_number("min_rate", min_rate, low=0.0)

    def horizon(self, epochs: int) -> None:
        if self.total is None and epochs > self.warmup:
            self.total = int(epochs)

    def _shape(self, s: float) -> float:
        raise NotImplementedError

    def rate(self, t: int) -> float:
        eta = super().rate(t)
        if t < self.warmup:  # Goyal et al. 2017: ramp up linearly, reaching eta_0 after warm-up
            return eta * (t + 1) / (self.warmup + 1)
        if self.total is None:
            raise InputError(f"{type(self).__name__} needs total= (the epochs of the run) when "
                             "it is not driven by Trainer.fit")
        s = min(1.0, (t - self.warmup) / (self.total - self.warmup))
        return self.min_rate + (eta - self.min_rate) * self._shape(s)

    def _params(self) -> dict[str, Any]:
        return {"total": self.total, "warmup": self.warmup, "min_rate": self.min_rate}


class CosineDecay(_WarmupDecay):
    """Cosine annealing (Loshchilov & Hutter 2017, SGDR Eq. 5, one cycle) after a linear
    warm-up (Goyal et al. 2017, §2.2 "gradual warmup"):

    eta_t = eta_0 (t + 1) / (warmup + 1) for t < warmup, then
    eta_t = min_rate + (eta_0 − min_rate) · ½ (1 + cos(π (t − warmup) / (total − warmup))),
    and min_rate from epoch ``total`` on.

    Parameters
    ----------
    total : int, optional
        Epochs from the start to the end of the decay (warm-up included); default: the
        ``epochs`` of :meth:`Trainer.fit`.
    warmup : int, default 0
        Epochs of linear warm-up.
    min_rate : float, default 0
        The final rate.

    Examples
    --------
    >>> s = CosineDecay(total=6, warmup=2); s.start(0.3)
    >>> [round(s.rate(t), 3) for t in range(7)]
    [0.1, 0.2, 0.3, 0.256, 0.15, 0.044, 0.0]
    """

    name = "cosine"

    def _shape(self, s: float) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * s))


class LinearDecay(_WarmupDecay):
    """Linear decay to ``min_rate`` after a linear warm-up (Goyal et al. 2017):

    eta_t = eta_0 (t + 1) / (warmup + 1) for t < warmup, then
    eta_t = min_rate + (eta_0 − min_rate) · (1 − (t − warmup) / (total − warmup)).

    Parameters are those of :class:`CosineDecay`.

    Examples
    --------
    >>> s = LinearDecay(total=5, warmup=1, min_rate=0.1); s.start(0.5)
    >>> [round(s.rate(t), 3) for t in range(6)]
    [0.25, 0.5, 0.4, 0.3, 0.2, 0.1]
    """

    name = "linear"

    def _shape(self, s: float) -> float:
        return 1.0 - s


_BY_NAME: dict[str, type[Schedule]] = {
    "constant": Schedule,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "inverse": InverseScaling,
    "plateau": ReduceOnPlateau,
    "cosine": CosineDecay,
    "linear": LinearDecay,
}
_ALIASES = {"step_decay": "step", "exp": "exponential", "invscaling": "inverse",
            "inverse_scaling": "inverse", "reduce_on_plateau": "plateau",
            "cosine_decay": "cosine", "linear_decay": "linear"}
_BUILTIN = frozenset([*_BY_NAME, *_ALIASES])
HOW_TO_REGISTER = ("a custom schedule must be registered before it is used by name or "
                   "resumed from a checkpoint: deltaprop.register_schedule(YourClass)")


def register(cls: type[Schedule]) -> type[Schedule]:
    """Register a user-defined :class:`Schedule` subclass under its ``name``, so that
    :func:`get_schedule`, ``--schedule NAME:key=value`` and checkpoint resumption find it;
    returns the class, so it works as a decorator (``@deltaprop.register_schedule``).
    ``cls(**_params())`` must rebuild it; checkpoints never carry code."""
    return register_subclass(_BY_NAME, cls, Schedule, "schedule", _BUILTIN, own_name=True)


def get_schedule(spec: None | str | Schedule, **kwargs: Any) -> Schedule:
    """Build a schedule from a name ("constant", "step", "exponential", "inverse", "plateau",
    "cosine", "linear", or the aliases "step_decay", "exp", "invscaling", "inverse_scaling",
    "reduce_on_plateau", "cosine_decay", "linear_decay").

    Parameters
    ----------
    spec : None, str or Schedule
        ``None`` gives a constant rate; a Schedule instance is returned unchanged.
    **kwargs
        Parameters of the schedule class.

    Examples
    --------
    >>> get_schedule("step", drop=0.1, every=5)
    StepDecay(drop=0.1, every=5)
    """
    if isinstance(spec, Schedule):
        if kwargs:
            raise InputError(f"got a Schedule instance and extra options {sorted(kwargs)}")
        return spec
    if spec is None:
        spec = "constant"
    if not isinstance(spec, str):
        raise InputError(f"schedule must be None, a name or a Schedule, got {spec!r}")
    key = _ALIASES.get(spec.lower(), spec.lower())
    if key not in _BY_NAME:
        known = ", ".join(sorted([*_BY_NAME, *_ALIASES]))
        raise InputError(f"unknown schedule {spec!r}; known: {known} ({HOW_TO_REGISTER})")
    try:
        return _BY_NAME[key](**kwargs)
    except TypeError as exc:
        raise InputError(f"bad options for schedule {spec!r}: {exc}") from None
