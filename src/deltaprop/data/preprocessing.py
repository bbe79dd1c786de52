"""Input and target preprocessing (lecture notes 002 §4, one-hot encoding 000 Eq. 2).

Every transformer is fitted on the *training* data only and then applied unchanged to
validation, test and deployment data. Fitted objects offer ``get_state()`` /
``from_state(config, arrays)`` (JSON-able config plus NumPy arrays, no pickle) so they can be
stored inside a model file (docs/contract.md).

The decorrelating :class:`PCAWhitener` lives in :mod:`deltaprop.data.whitening` and the
:class:`TargetScaler` in :mod:`deltaprop.data.target_scaling` and the image
:class:`Deskewer` in :mod:`deltaprop.data.deskew`; all are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.checks import State, check_array
from deltaprop.checks import require_fitted as _require_fitted
from deltaprop.data.deskew import Deskewer
from deltaprop.data.features import FeatureMap
from deltaprop.data.moments import RunningMoments
from deltaprop.data.target_scaling import TargetScaler
from deltaprop.data.whitening import PCAWhitener
from deltaprop.errors import InputError

__all__ = [
    "check_array",
    "one_hot",
    "OneHotEncoder",
    "Standardizer",
    "PCAWhitener",
    "TargetScaler",
    "Deskewer",
    "Preprocessor",
    "transformer_from_state",
]


def one_hot(labels: Any, n_classes: int | None = None, *, dtype: Any = np.float64) -> np.ndarray:
    """One-hot encode integer class labels 0..K-1 (000 Eq. 2).

    Parameters
    ----------
    labels : array-like of shape (N,)
        Integer class indices (floats are accepted only if they are whole numbers).
    n_classes : int, optional
        Number of classes K; defaults to ``max(labels) + 1``.

    Returns
    -------
    ndarray of shape (N, K) with a single 1 per row.

    Examples
    --------
    >>> one_hot([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise InputError(f"labels must be 1-D, got shape {y.shape}")
    if y.dtype == bool or not np.issubdtype(y.dtype, np.number):
        raise InputError(f"labels must be integers 0..K-1, got dtype {y.dtype}; "
                         "use OneHotEncoder for arbitrary labels")
    if not np.issubdtype(y.dtype, np.integer):
        frac = ~np.isfinite(y) | (y != np.round(y))
        if frac.any():
            i = int(np.argmax(frac))
            raise InputError(f"labels must be whole numbers, got {y[i]} at index {i}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        i = int(np.argmin(y))
        raise InputError(f"labels must be >= 0, got {y[i]} at index {i}")
    k = int(y.max()) + 1 if (n_classes is None and y.size) else (n_classes or 0)
    if n_classes is not None and (int(n_classes) != n_classes or n_classes < 1):
        raise InputError(f"n_classes must be a positive integer, got {n_classes!r}")
    if y.size and y.max() >= k:
        i = int(np.argmax(y))
        raise InputError(f"label {y[i]} at index {i} is out of range for n_classes={k}")
    out = np.zeros((y.size, k), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out


class OneHotEncoder:
    """Map arbitrary sortable labels (ints, strings) to one-hot rows and back.

    ``classes_`` holds the sorted distinct training labels; column j of the encoding is
    class ``classes_[j]`` (000 Eq. 2).

    Examples
    --------
    >>> enc = OneHotEncoder().fit(["cat", "dog", "cat"])
    >>> enc.transform(["dog"]).tolist()
    [[0.0, 1.0]]
    >>> enc.inverse_transform([[0.2, 0.8]]).tolist()
    ['dog']
    """

    def __init__(self) -> None:
        self.classes_: np.ndarray | None = None

    def fit(self, labels: Any) -> OneHotEncoder:
        y = np.asarray(labels)
        if y.ndim != 1 or y.size == 0:
            raise InputError(f"labels must be a non-empty 1-D array, got shape {y.shape}")
        if y.dtype == object:
            y = y.astype(str)
        if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
            raise InputError(f"labels contain NaN/inf at index {int(np.argmin(np.isfinite(y)))}")
        self.classes_ = np.unique(y)
        return self

    def transform(self, labels: Any) -> np.ndarray:
        _require_fitted(self, "classes_")
        y = np.asarray(labels)
        if y.ndim != 1:
            raise InputError(f"labels must be 1-D, got shape {y.shape}")
        if y.dtype == object:
            y = y.astype(str)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unseen = self.classes_[idx] != y
        if np.any(unseen):
            i = int(np.argmax(unseen))
            raise InputError(f"label {y[i].item()!r} at index {i} was not seen during fit; "
                             f"known classes: {self.classes_.tolist()}")
        return one_hot(idx, len(self.classes_))

    def fit_transform(self, labels: Any) -> np.ndarray:
        return self.fit(labels).transform(labels)

    def inverse_transform(self, Y: Any) -> np.ndarray:
        """Return the class of the largest entry in each row (works on probabilities too)."""
        _require_fitted(self, "classes_")
        Y = check_array(Y, name="Y", n_features=len(self.classes_))
        return self.classes_[np.argmax(Y, axis=1)]

    def get_state(self) -> State:
        _require_fitted(self, "classes_")
        return {"type": "OneHotEncoder"}, {"classes_": self.classes_}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> OneHotEncoder:
        obj = cls()
        obj.classes_ = np.asarray(arrays["classes_"])
        return obj


#: Above this magnitude a square overflows float64 (sqrt of its largest value, with margin).
_SQUARE_SAFE = 1e150


class Standardizer:
    """Shift each input column to zero mean and scale it to unit variance (002 §4).

    Zero mean keeps first-layer weights from being forced to move together; equal variances
    let all neurons learn at about the same speed. A column that is constant in the training
    data has scale 1, so it becomes all zeros instead of dividing by zero.

    Examples
    --------
    >>> s = Standardizer().fit([[1.0, 5.0], [3.0, 5.0]])
    >>> s.transform([[2.0, 5.0]]).tolist()
    [[0.0, 0.0]]
    """

    def __init__(self, *, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self._moments: RunningMoments | None = None  # partial_fit's running statistics

    def fit(self, X: Any) -> Standardizer:
        X = check_array(X)
        if X.shape[0] == 0:
            raise InputError("X has no rows; cannot fit a Standardizer")
        self._moments = None
        # Columns holding values beyond ~1e150 are divided by their largest magnitude first:
        # their sums and squares would overflow to inf (and the column silently become 0).
        top = np.abs(X).max(axis=0).astype(np.float64)
        big = top > _SQUARE_SAFE
        div = np.where(big, top, 1.0)
        Xs = X / div if big.any() else X
        self._set(Xs.mean(axis=0) * div, Xs.std(axis=0) * div)
        return self

    def partial_fit(self, X: Any) -> Standardizer:
        """Update the mean and scale with one more block of rows (one pass over data bigger
        than memory, :class:`~deltaprop.data.moments.RunningMoments`); after the last block
        they equal :meth:`fit` on all the rows, to float rounding.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)

        Returns
        -------
        Standardizer

        Examples
        --------
        >>> X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
        >>> s = Standardizer().partial_fit(X[:1]).partial_fit(X[1:])
        >>> s.mean_.tolist(), np.allclose(s.scale_, Standardizer().fit(X).scale_)
        ([3.0, 5.0], True)
        """
        X = check_array(X)
        moments = getattr(self, "_moments", None)  # None after fit(): partial_fit starts over
        if moments is None:
            moments = self._moments = RunningMoments()
        moments.update(X)
        self._set(moments.mean, moments.std)
        return self

    def _set(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean_ = mean if self.with_mean else np.zeros(mean.shape[0])
        std = std if self.with_std else np.ones(mean.shape[0])
        # constant columns: scale 1 -> they map to 0 instead of inf/NaN
        self.scale_ = np.where(std > 1e-12 * np.maximum(1.0, np.abs(self.mean_)), std, 1.0)

    def transform(self, X: Any) -> np.ndarray:
        _require_fitted(self, "mean_")
        X = check_array(X, n_features=self.mean_.size)
        with np.errstate(over="ignore", invalid="ignore"):
            Z = (X - self.mean_) / self.scale_
            if not np.isfinite(Z).all():  # X - mean overflowed: divide first
                Z = X / self.scale_ - self.mean_ / self.scale_
        if not np.isfinite(Z).all():
            col = int(np.argwhere(~np.isfinite(Z))[0][1])
            raise InputError(f"X column {col} (0-based): values up to "
                             f"{float(np.abs(X[:, col]).max()):g} are too large to standardize "
                             "in float64")
        return Z.astype(X.dtype, copy=False)

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        _require_fitted(self, "mean_")
        X = check_array(X, n_features=self.mean_.size)
        return (X * self.scale_ + self.mean_).astype(X.dtype, copy=False)

    def get_state(self) -> State:
        _require_fitted(self, "mean_")
        cfg = {"type": "Standardizer", "with_mean": self.with_mean, "with_std": self.with_std}
        return cfg, {"mean_": self.mean_, "scale_": self.scale_}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Standardizer:
        obj = cls(with_mean=config["with_mean"], with_std=config["with_std"])
        obj.mean_, obj.scale_ = np.asarray(arrays["mean_"]), np.asarray(arrays["scale_"])
        return obj


class Preprocessor:
    """Chain input transformers: ``fit`` fits each step on the output of the previous one.

    Examples
    --------
    >>> pre = Preprocessor([Standardizer(), PCAWhitener(n_components=1)])
    >>> pre.fit_transform([[1.0, 2.0], [2.0, 4.1], [3.0, 5.9]]).shape
    (3, 1)
    """

    def __init__(self, steps: Sequence[Any]) -> None:
        steps = list(steps)
        for i, step in enumerate(steps):
            if not (hasattr(step, "fit") and hasattr(step, "transform")):
                raise InputError(f"steps[{i}] ({type(step).__name__}) has no fit/transform")
        self.steps = steps

    def fit(self, X: Any) -> Preprocessor:
        for step in self.steps:
            X = step.fit(X).transform(X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        for step in self.steps:
            X = step.transform(X)
        return np.asarray(X)

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        for step in reversed(self.steps):
            X = step.inverse_transform(X)
        return np.asarray(X)

    def get_state(self) -> State:
        configs, arrays = [], {}
        for i, step in enumerate(self.steps):
            cfg, arrs = step.get_state()
            configs.append(cfg)
            arrays.update({f"{i}.{k}": v for k, v in arrs.items()})
        return {"type": "Preprocessor", "steps": configs}, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Preprocessor:
        steps = []
        for i, cfg in enumerate(config["steps"]):
            prefix = f"{i}."
            sub = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            steps.append(transformer_from_state(cfg, sub))
        return cls(steps)


_TYPES: dict[str, Any] = {c.__name__: c for c in (OneHotEncoder, Standardizer, PCAWhitener,
                                                   TargetScaler, Preprocessor, FeatureMap,
                                                   Deskewer)}


def transformer_from_state(config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild any preprocessing object from ``get_state()`` output (dispatch on ``type``)."""
    kind = config.get("type")
    if kind not in _TYPES:
        raise InputError(f"unknown preprocessing type {kind!r}; known: {sorted(_TYPES)}")
    return _TYPES[kind].from_state(config, arrays)

