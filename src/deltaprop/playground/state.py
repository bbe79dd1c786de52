"""The playground's run description: dataset, features, architecture, hyperparameters, seed.

A :class:`PlaygroundState` is everything needed to reproduce a run, and nothing else. It travels
in the page's URL as a query string (:meth:`PlaygroundState.to_query` /
:meth:`PlaygroundState.from_query`), so a link reproduces a run. Every value is validated
here, against deltaprop's own registries (:func:`deltaprop.engine.activations.names`,
:func:`deltaprop.engine.losses.names`, :func:`deltaprop.engine.init.names`, the optimizers and
schedules),
and a bad value raises :class:`~deltaprop.errors.InputError` with a message the page shows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from deltaprop.data.features import FEATURES
from deltaprop.engine import activations, init, losses
from deltaprop.errors import InputError

__all__ = ["PlaygroundState", "DATASETS", "OPTIMIZERS", "SCHEDULES", "choices",
           "MAX_LAYERS", "MAX_UNITS", "MAX_PARAMETERS"]

#: dataset name -> (task, description). "csv" is an uploaded file (its rows are not in the URL).
DATASETS: dict[str, tuple[str, str]] = {
    "circle": ("classification", "two concentric circles"),
    "xor": ("classification", "XOR corners as Gaussian clouds (004 §4.5)"),
    "gauss": ("classification", "two Gaussian clouds"),
    "spiral": ("classification", "two interlocking spirals"),
    "blobs": ("classification", "three Gaussian blobs (003, three classes)"),
    "spiral3": ("classification", "three-armed spiral (three classes)"),
    "plane": ("regression", "a tilted plane y = x1 - x2 / 2"),
    "bumps": ("regression", "a sum of Gaussian bumps"),
    "csv": ("upload", "an uploaded CSV file: x1, x2, target"),
}
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
SCHEDULES = ("constant", "step", "exponential", "inverse", "plateau")
#: Hidden activations: every registered activation plus maxout units (a layer type).
HIDDEN_EXTRA = ("maxout",)

#: Limits that keep a run interactive (a frame must be computed in a few milliseconds).
MAX_LAYERS = 32
MAX_UNITS = 512
MAX_PARAMETERS = 250_000
MAX_SAMPLES = 5000
MAX_EPOCHS_PER_FRAME = 100


def choices() -> dict[str, list[str]]:
    """The values the page offers in its menus, read from deltaprop's registries."""
    return {
        "dataset": list(DATASETS),
        "features": list(FEATURES),
        "activation": [*activations.names(), *HIDDEN_EXTRA],
        "output": ["auto", *activations.names()],
        "loss": ["auto", *losses.names()],
        "init": ["auto", *init.names()],
        "optimizer": list(OPTIMIZERS),
        "schedule": list(SCHEDULES),
    }


def _int(name: str, value: Any, low: int, high: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an integer, got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise InputError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return int(number)


def _float(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < low or number > high or (low_open and
                                                                         number == low):
        bracket = "(" if low_open else "["
        raise InputError(f"{name} must be a number in {bracket}{low:g}, {high:g}], "
                         f"got {value!r}")
    return number


def _choice(name: str, value: Any, options: list[str] | tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in options:
        raise InputError(f"unknown {name} {value!r}; choose one of {', '.join(options)}")
    return text


def _layers(value: Any) -> tuple[int, ...]:
    if isinstance(value, list | tuple):
        items = list(value)
    else:
        text = str(value).strip()
        items = [] if text in ("", "none") else text.split(",")
    if len(items) > MAX_LAYERS:
        raise InputError(f"at most {MAX_LAYERS} hidden layers stay interactive, got "
                         f"{len(items)}")
    return tuple(_int("a hidden layer size", v, 1, MAX_UNITS) for v in items)


def _features(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    chosen = {str(v).strip().lower() for v in items if str(v).strip()}
    unknown = sorted(chosen - set(FEATURES))
    if unknown:
        raise InputError(f"unknown input feature {unknown[0]!r}; choose from "
                         f"{', '.join(FEATURES)}")
    if not chosen:
        raise InputError("choose at least one input feature")
    return tuple(f for f in FEATURES if f in chosen)  # a fixed order, so URLs compare equal


def _batch(value: Any) -> str:
    text = str(value).strip().lower()
    if text == "full":
        return text
    return str(_int("batch size", text, 1, MAX_SAMPLES))


def _schedule(value: Any) -> str:
    """``NAME`` or ``NAME:key=value,...`` (the format of ``deltaprop train --schedule``)."""
    text = str(value).strip()
    name, _, params = text.partition(":")
    name = _choice("schedule", name or "constant", SCHEDULES)
    schedule_kwargs(f"{name}:{params}" if params else name)  # validates the parameters
    return f"{name}:{params}" if params else name


def schedule_kwargs(spec: str) -> tuple[str, dict[str, Any]]:
    """Split a schedule spec into its name and keyword arguments, checked by deltaprop."""
    from deltaprop.training.schedules import get_schedule

    name, _, params = spec.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"schedule {spec!r}: expected key=value after ':', got {item!r}")
        raw = raw.strip()
        try:
            kwargs[key.strip()] = int(raw) if raw.isdigit() else float(raw)
        except ValueError:
            kwargs[key.strip()] = raw
    get_schedule(name, **kwargs)  # InputError for unknown keys or bad values
    return name, kwargs


@dataclass(frozen=True)
class PlaygroundState:
    """One run of the playground, as the URL stores it.

    The field names are the query keys. ``layers`` are the hidden layer sizes (the input size
    follows from ``features``, the output size from the data); ``output``, ``loss`` and
    ``init`` are ``"auto"`` for deltaprop's defaults (softmax + cross-entropy for classes,
    identity + squared error for regression, 000 Table 2 initializers).
    """

    dataset: str = "circle"
    noise: float = 0.1
    samples: int = 400
    train_ratio: float = 0.5
    features: tuple[str, ...] = ("x1", "x2")
    layers: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    output: str = "auto"
    loss: str = "auto"
    init: str = "auto"
    optimizer: str = "sgd"
    learning_rate: float = 0.03
    momentum: float = 0.9
    schedule: str = "constant"
    batch: str = "10"
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    max_norm: float = 0.0
    seed: int = 0
    speed: int = 1

    def __post_init__(self) -> None:
        check = object.__setattr__
        check(self, "dataset", _choice("dataset", self.dataset, tuple(DATASETS)))
        check(self, "noise", _float("noise", self.noise, 0.0, 1.0))
        check(self, "samples", _int("samples", self.samples, 20, MAX_SAMPLES))
        check(self, "train_ratio", _float("train_ratio", self.train_ratio, 0.1, 0.9))
        check(self, "features", _features(self.features))
        check(self, "layers", _layers(self.layers))
        check(self, "activation", _choice("activation", self.activation,
                                          choices()["activation"]))
        for key in ("output", "loss", "init"):
            check(self, key, _choice(key, getattr(self, key), choices()[key]))
        check(self, "optimizer", _choice("optimizer", self.optimizer, OPTIMIZERS))
        check(self, "learning_rate", _float("learning_rate", self.learning_rate, 0.0, 10.0,
                                            low_open=True))
        check(self, "momentum", _float("momentum", self.momentum, 0.0, 0.999))
        check(self, "schedule", _schedule(self.schedule))
        check(self, "batch", _batch(self.batch))
        check(self, "l1", _float("l1", self.l1, 0.0, 10.0))
        check(self, "l2", _float("l2", self.l2, 0.0, 10.0))
        check(self, "dropout", _float("dropout", self.dropout, 0.0, 0.95))
        check(self, "max_norm", _float("max_norm", self.max_norm, 0.0, 1000.0))
        check(self, "seed", _int("seed", self.seed, 0, 2**31 - 1))
        check(self, "speed", _int("speed", self.speed, 1, MAX_EPOCHS_PER_FRAME))

    # -- conversions -----------------------------------------------------------------------
    @classmethod
    def from_query(cls, query: dict[str, Any]) -> PlaygroundState:
        """Build from URL query values (strings or lists); unknown keys are an error, missing
        keys take their defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(query) - known)
        if unknown:
            raise InputError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values = {}
        for key, value in query.items():
            if isinstance(value, list):  # parse_qs lists; "a,b" or ["a", "b"] for lists
                if key in ("features", "layers"):
                    value = ",".join(str(v) for v in value)
                else:
                    value = value[-1] if value else ""
            values[key] = value
        return cls(**values)

    def to_query(self) -> dict[str, str]:
        """The state as URL query values (every key, so a link pins every setting)."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            if key in ("features", "layers"):
                out[key] = ",".join(str(v) for v in value)
            elif isinstance(value, float):
                out[key] = f"{value:g}"
            else:
                out[key] = str(value)
        return out

    def updated(self, **changes: Any) -> PlaygroundState:
        """A copy with ``changes`` applied (validated like the constructor)."""
        return replace(self, **changes)

    # -- derived values --------------------------------------------------------------------
    @property
    def batch_size(self) -> int | str:
        """The Trainer's ``batch_size``: 1 is online, B mini-batch, "full" full batch."""
        return self.batch if self.batch == "full" else int(self.batch)
