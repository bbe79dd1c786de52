"""Argument and data checks shared by every layer of deltaprop (imports only NumPy).

One definition each: the array check (:func:`check_array`), the sample-weight check, the
number check behind every numeric option (:func:`check_number`), the seed -> generator rule
(:func:`as_generator`), the ``"name:key=value"`` / ``{"name": ...}`` option specs of the
registries (:func:`split_spec`, :func:`parse_spec`) and the fitted-state check.
Every failure raises :class:`~deltaprop.errors.InputError` saying what was wrong and where.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["State", "all_finite", "as_generator", "check_array", "check_number",
           "check_sample_weight", "parse_spec", "plain", "register_name", "require_fitted",
           "seed_int", "split_spec"]

#: ``get_state()`` of everything saved in a model file: (JSON-able config, named arrays).
State = tuple[dict[str, Any], dict[str, np.ndarray]]


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars (and tuples/lists of them) as Python numbers, for messages
    (``5.0`` rather than ``np.float64(5.0)``)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return type(value)(plain(v) for v in value)
    return value


def all_finite(arr: np.ndarray) -> bool:
    """True when a float array holds no NaN or inf.

    The sum is NaN or inf whenever an element is, so one pass without a temporary decides the
    common case; only a non-finite sum (a bad element, or finite values whose sum overflows)
    pays for the element-wise test. A real array's rows are summed by the BLAS (a matrix-vector
    product with ones, on all its threads): 0.8 ms for 20,000 MNIST rows against 2.8 ms for
    NumPy's own sum, which matters where every ``partial_fit`` call checks its data.
    """
    if arr.dtype.kind not in "fc":
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if arr.dtype.kind == "f" and arr.size >= 4096:
            rows = arr.reshape(-1, arr.shape[-1])
            total = np.add.reduce(rows @ np.ones(rows.shape[1], arr.dtype))
        else:
            total = np.add.reduce(arr, axis=None)
        if np.isfinite(total):  # complex: finite when both parts are
            return True
    return bool(np.isfinite(arr).all())


def check_array(X: Any, *, name: str = "X", n_features: int | None = None, dtype: Any = None,
                what: str = "features", allow_1d: bool = False,
                hint: str = "") -> np.ndarray:
    """``X`` as a finite numeric array of shape (n_samples, n_features).

    Parameters
    ----------
    X : array-like
    name : str
        The argument's name in messages.
    n_features : int, optional
        The number of columns expected.
    dtype : dtype, optional
        Cast to this dtype (default: keep floats, integers and bools become float64).
    what : str
        What the columns are, in messages ("features", "outputs").
    allow_1d : bool
        Accept a 1-D array (one feature per sample).
    hint : str
        Appended to the message about a non-finite entry (how to fix it).

    Raises
    ------
    InputError
        Naming the argument, expected vs actual shape, or the first row and column holding
        NaN or inf.
    """
    if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be a numeric array: {exc}") from None
        if arr.dtype.kind not in "fiub":
            raise InputError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if not (arr.ndim == 2 or (allow_1d and arr.ndim == 1)):
        raise InputError(
            f"{name} must be 2-D (samples × {what}), got shape {arr.shape}"
            + ("; reshape a single sample with X.reshape(1, -1)" if arr.ndim == 1 else ""))
    got = 1 if arr.ndim == 1 else arr.shape[1]
    if n_features is not None and got != n_features:
        raise InputError(f"{name} has {got} {what} (columns), expected {n_features}")
    if arr.shape[0] == 0:
        raise InputError(f"{name} has no rows")
    if not all_finite(arr):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        loc = f"row {where[0]}" + (f", column {where[1]}" if arr.ndim == 2 else "")
        raise InputError(f"{name} contains {arr[where]} at {loc} (0-based){hint}")
    if dtype is not None:
        return np.asarray(arr, dtype=dtype)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def check_sample_weight(sample_weight: Any, n: int, dtype: Any = np.float64) -> np.ndarray | None:
    """None, or ``sample_weight`` as a finite, non-negative (n,) array that does not sum to 0."""
    if sample_weight is None:
        return None
    try:
        sw = np.asarray(sample_weight, dtype=dtype)
    except (TypeError, ValueError):
        raise InputError("sample_weight must be numeric") from None
    if sw.shape != (n,):
        raise InputError(f"sample_weight has shape {sw.shape}, expected ({n},)")
    if not np.isfinite(sw).all() or (sw < 0).any():
        raise InputError("sample_weight must be finite and non-negative")
    if sw.sum() <= 0:
        raise InputError("sample_weight sums to zero")
    return sw


def check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, integer: bool = False,
                 allow_none: bool = False, convert: bool = True) -> Any:
    """``value`` as a finite ``float`` (or ``int`` with ``integer=True``) within the bounds.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``. ``convert=False`` accepts
    only real numbers (not strings such as ``"0.1"``). ``None`` passes through with
    ``allow_none``.

    Examples
    --------
    >>> check_number("learning_rate", 0.1, low=0, low_open=True)
    0.1
    """
    if value is None and allow_none:
        return None
    kind = "an integer" if integer else "a number"
    bounds = _bounds(low, high, low_open, high_open)
    expected = f"{name} must be {kind}{bounds}, got {plain(value)!r}"
    if isinstance(value, bool):
        raise InputError(expected)
    if integer:
        if not isinstance(value, numbers.Integral):
            raise InputError(expected)
        v: Any = int(value)
    else:
        if not convert and not isinstance(value, numbers.Real):
            raise InputError(expected)
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(expected) from None
        if not math.isfinite(v):
            raise InputError(expected)
    if low is not None and (v < low or (low_open and v == low)):
        raise InputError(expected)
    if high is not None and (v > high or (high_open and v == high)):
        raise InputError(expected)
    return v


def _bounds(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f" {'<' if high_open else '<='} {high:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def seed_int(seed: Any) -> int | None:
    """A seed argument checked: None or a non-negative integer."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    return check_number("seed", seed, low=0, integer=True)


def as_generator(seed: Any) -> np.random.Generator:
    """The one seed -> generator rule: a Generator is used as is (shared state), an int or
    None seeds a new ``numpy.random.default_rng``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed_int(seed))


def require_fitted(obj: Any, attr: str) -> None:
    """Raise unless ``obj.attr`` is set (``fit`` has run)."""
    if getattr(obj, attr, None) is None:
        raise InputError(f"{type(obj).__name__} is not fitted yet; call fit() first")


def split_spec(spec: Any, params: dict, what: str, accepted: str) -> tuple[str, dict]:
    """``("elu", {"beta": 0.5})`` from ``"elu"`` + params, ``"elu:beta=0.5"`` or
    ``{"name": "elu", "beta": 0.5}``.

    ``what`` names the argument and ``accepted`` the types it takes, for the error message.
    """
    if isinstance(spec, dict):
        params = {**{k: v for k, v in spec.items() if k != "name"}, **params}
        spec = spec.get("name", "")
    if not isinstance(spec, str):
        raise InputError(f"{what} must be {accepted}, got {type(spec).__name__}")
    if ":" in spec:
        spec, parsed = parse_spec(spec, what)
        params = {**parsed, **params}
    return spec, params


def parse_spec(text: str, what: str = "option") -> tuple[str, dict[str, Any]]:
    """``"NAME:key=value,key=value"`` -> ``("NAME", {key: value})``: the one syntax of every
    registry option on the command line (``leaky_relu:beta=0.2``, ``normal:std=0.1``,
    ``exponential:gamma=0.8``). Values are numbers where they parse as numbers.

    Examples
    --------
    >>> parse_spec("step:drop=0.5,every=10")
    ('step', {'drop': 0.5, 'every': 10})
    """
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise InputError(f"{what} {text!r}: expected NAME or NAME:key=value,...")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise InputError(f"{what} {text!r}: expected key=value, got {item!r}")
        params[key.strip()] = _value(raw.strip())
    return name, params


def _value(raw: str) -> Any:
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(raw.lower(), raw)


def register_name(registry: dict[str, Any], name: Any, obj: Any, what: str,
                  builtin: Any = ()) -> None:
    """Add ``obj`` to a registry (activations, losses, initializers, layers, optimizers,
    schedules) under ``name``: the one rule of every ``register`` function.

    The name is what model files and checkpoints store, so it must be a plain word: a
    non-empty string without ``:``, ``,`` or ``=`` (the ``NAME:key=value`` syntax). A built-in
    name cannot be taken over; registering a name again replaces the earlier custom entry.
    """
    if not isinstance(name, str) or not name.strip() or any(c in name for c in ":,= "):
        raise InputError(f"a registered {what} needs a name without spaces, ':', ',' or '=', "
                         f"got {plain(name)!r}")
    if name in builtin and registry.get(name) is not obj:
        raise InputError(f"cannot register {getattr(obj, '__name__', obj)!s} as {what} "
                         f"{name!r}: that name is built in; choose another name")
    registry[name] = obj


def register_subclass(registry: dict[str, Any], cls: Any, base: type, what: str,
                      builtin: Any = (), *, own_name: bool = False) -> Any:
    """:func:`register_name` for a class registered under its ``name`` attribute (activations,
    losses, optimizers, schedules): ``cls`` must subclass ``base`` and name itself — with
    ``own_name``, in its own body; otherwise any name but ``base``'s placeholder. Returns
    ``cls`` (``register`` functions work as decorators)."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        article = "an" if base.__name__[0] in "AEIOU" else "a"
        raise InputError(f"register_{what} needs {article} {base.__name__} subclass, "
                         f"got {cls!r}")
    if "name" not in vars(cls) and (own_name or cls.name == base.name):
        raise InputError(f"{cls.__name__} needs {'its own' if own_name else 'a'} class "
                         "attribute name = '...' to be registered")
    register_name(registry, cls.name.lower(), cls, what, builtin)
    return cls


def build_registered(registry: dict[str, Any], aliases: dict[str, str], spec: Any,
                     params: dict, what: str, accepted: str, how_to_register: str) -> Any:
    """The entry of a registry named by ``spec`` (``"name"``, ``"name:key=value"`` or
    ``{"name": ...}``, see :func:`split_spec`), built with its parameters: the one lookup of
    :func:`deltaprop.engine.activations.get` and :func:`deltaprop.engine.losses.get`."""
    spec, params = split_spec(spec, params, what, accepted)
    key = aliases.get(spec.lower(), spec.lower())
    if key not in registry:
        raise InputError(f"unknown {what} {spec!r}; choose one of {', '.join(registry)} "
                         f"({how_to_register})")
    try:
        return registry[key](**params)
    except TypeError:
        raise InputError(f"{what} {key!r} does not take parameters {params}") from None
