"""Scaling regression targets into the output activation's range (002 §4 "Target values").

Re-exported by :mod:`deltaprop.data.preprocessing`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.checks import State, check_array
from deltaprop.checks import require_fitted as _require_fitted
from deltaprop.errors import InputError

__all__ = ["TargetScaler"]

_ACTIVATION_RANGES = {"sigmoid": (0.0, 1.0), "logistic": (0.0, 1.0), "tanh": (-1.0, 1.0)}


class TargetScaler:
    """Scale regression targets into the output activation's range, with a guard interval.

    002 §4 "Target values": targets on the asymptotes of a sigmoid drive the output weights
    to infinity and saturate the units, so the training range ``[min, max]`` of each target
    column is mapped linearly onto ``[lo + g, hi - g]`` with ``g = guard * (hi - lo)``.
    For a logistic output and ``guard=0.1`` that is [0.1, 0.9]. A constant target column is
    mapped to the middle of the interval. ``inverse_transform`` maps network outputs back.

    Parameters
    ----------
    activation_range : (lo, hi) or "sigmoid" / "logistic" / "tanh"
    guard : float in [0, 0.5)
        Fraction of the interval width kept free at each end.

    Examples
    --------
    >>> ts = TargetScaler((0.0, 1.0), guard=0.1).fit([0.0, 5.0, 10.0])
    >>> ts.transform([0.0, 10.0]).round(6).tolist()
    [0.1, 0.9]
    >>> ts.inverse_transform([0.5]).round(6).tolist()
    [5.0]
    """

    def __init__(self, activation_range: tuple[float, float] | str = (0.0, 1.0),
                 guard: float = 0.1) -> None:
        if isinstance(activation_range, str):
            if activation_range not in _ACTIVATION_RANGES:
                raise InputError(f"unknown activation_range {activation_range!r}; use a (lo, hi) "
                                 f"tuple or one of {sorted(_ACTIVATION_RANGES)}")
            activation_range = _ACTIVATION_RANGES[activation_range]
        lo, hi = (float(v) for v in activation_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InputError(f"activation_range must be finite with lo < hi, got {(lo, hi)}")
        if not 0.0 <= guard < 0.5:
            raise InputError(f"guard must be in [0, 0.5), got {guard!r}")
        self.activation_range, self.guard = (lo, hi), float(guard)
        self.data_min_: np.ndarray | None = None
        self.data_max_: np.ndarray | None = None

    def _interval(self) -> tuple[float, float]:
        lo, hi = self.activation_range
        g = self.guard * (hi - lo)
        return lo + g, hi - g

    def fit(self, y: Any) -> TargetScaler:
        y = check_array(y, name="y", allow_1d=True)
        if y.shape[0] == 0:
            raise InputError("y has no rows; cannot fit a TargetScaler")
        self.data_min_, self.data_max_ = y.min(axis=0), y.max(axis=0)
        return self

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = self._interval()
        span = self.data_max_ - self.data_min_
        # A span below the data's float resolution is a constant column (and 1/span would
        # overflow for subnormal spans).
        magnitude = np.maximum(1.0, np.maximum(np.abs(self.data_max_), np.abs(self.data_min_)))
        const = span <= np.finfo(np.float64).eps * magnitude
        scale = np.where(const, 1.0, (b - a) / np.where(const, 1.0, span))
        offset = np.where(const, (a + b) / 2 - self.data_min_, a - self.data_min_ * scale)
        return np.atleast_1d(scale), np.atleast_1d(offset)

    def _check(self, y: Any, name: str) -> np.ndarray:
        _require_fitted(self, "data_min_")
        k = np.size(self.data_min_)
        y = check_array(y, name=name, allow_1d=True)
        if (y.ndim == 1) != (np.ndim(self.data_min_) == 0) or (y.ndim == 2 and y.shape[1] != k):
            raise InputError(f"{name}: expected {k} target column(s) shaped like the fit data "
                             f"({'1-D' if np.ndim(self.data_min_) == 0 else '2-D'}), "
                             f"got shape {y.shape}")
        return y

    def transform(self, y: Any) -> np.ndarray:
        y = self._check(y, "y")
        scale, offset = self._affine()
        return (y * scale.reshape(np.shape(self.data_min_)) +
                offset.reshape(np.shape(self.data_min_))).astype(y.dtype, copy=False)

    def fit_transform(self, y: Any) -> np.ndarray:
        return self.fit(y).transform(y)

    def inverse_transform(self, y: Any) -> np.ndarray:
        y = self._check(y, "y_scaled")
        scale, offset = self._affine()
        shape = np.shape(self.data_min_)
        return ((y - offset.reshape(shape)) / scale.reshape(shape)).astype(y.dtype, copy=False)

    def get_state(self) -> State:
        _require_fitted(self, "data_min_")
        cfg = {"type": "TargetScaler", "activation_range": list(self.activation_range),
               "guard": self.guard}
        return cfg, {"data_min_": np.asarray(self.data_min_),
                     "data_max_": np.asarray(self.data_max_)}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> TargetScaler:
        obj = cls(tuple(config["activation_range"]), config["guard"])
        obj.data_min_, obj.data_max_ = arrays["data_min_"], arrays["data_max_"]
        return obj
