"""Learning-rate schedules: eta as a function of the epoch (and, for plateaus, of the loss).

The notes observe that stochastic learning "keep[s] bouncing around a local minima unless
learning rate is reduced" (002 §4 "Stochastic vs batch update"); a schedule does that reduction.

Protocol: ``schedule.start(eta_0)`` fixes the initial rate; ``schedule.rate(t)`` gives the rate
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

from deltaprop.checks import check_number, register_name
from deltaprop.errors import InputError

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "InverseScaling",
    "ReduceOnPlateau",
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


_BY_NAME: dict[str, type[Schedule]] = {
    "constant": Schedule,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "inverse": InverseScaling,
    "plateau": ReduceOnPlateau,
}
_ALIASES = {"step_decay": "step", "exp": "exponential", "invscaling": "inverse",
            "inverse_scaling": "inverse", "reduce_on_plateau": "plateau"}
_BUILTIN = frozenset([*_BY_NAME, *_ALIASES])
HOW_TO_REGISTER = ("a custom schedule must be registered before it is used by name or "
                   "resumed from a checkpoint: deltaprop.register_schedule(YourClass)")


def register(cls: type[Schedule]) -> type[Schedule]:
    """Register a user-defined :class:`Schedule` subclass under its ``name``, so that
    :func:`get_schedule`, ``--schedule NAME:key=value`` and checkpoint resumption find it;
    returns the class, so it works as a decorator (``@deltaprop.register_schedule``).
    ``cls(**_params())`` must rebuild it; checkpoints never carry code."""
    if not (isinstance(cls, type) and issubclass(cls, Schedule)):
        raise InputError(f"register_schedule needs a Schedule subclass, got {cls!r}")
    if "name" not in vars(cls):
        raise InputError(f"{cls.__name__} needs its own class attribute name = '...' to be "
                         "registered")
    register_name(_BY_NAME, cls.name.lower(), cls, "schedule", _BUILTIN)
    return cls


def get_schedule(spec: None | str | Schedule, **kwargs: Any) -> Schedule:
    """Build a schedule from a name ("constant", "step", "exponential", "inverse", "plateau",
    or the aliases "step_decay", "exp", "invscaling", "inverse_scaling", "reduce_on_plateau").

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
