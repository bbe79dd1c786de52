"""Input and target preprocessing (lecture notes 002 §4, one-hot encoding 000 Eq. 2).

Every transformer is fitted on the *training* data only and then applied unchanged to
validation, test and deployment data. Fitted objects offer ``get_state()`` /
``from_state(config, arrays)`` (JSON-able config plus NumPy arrays, no pickle) so they can be
stored inside a model file (docs/contract.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = [
    "check_array",
    "one_hot",
    "OneHotEncoder",
    "Standardizer",
    "PCAWhitener",
    "TargetScaler",
    "Preprocessor",
    "transformer_from_state",
]

State = tuple[dict[str, Any], dict[str, np.ndarray]]


def check_array(X: Any, *, name: str = "X", n_features: int | None = None,
                allow_1d: bool = False) -> np.ndarray:
    """Return ``X`` as a finite floating array of shape (n_samples, n_features).

    Raises :class:`~deltaprop.errors.InputError` naming the argument, the expected vs actual
    number of columns, or the first row/column holding NaN or inf.
    """
    arr = np.asarray(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if arr.ndim == 1 and allow_1d:
        pass
    elif arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if n_features is not None:
        got = 1 if arr.ndim == 1 else arr.shape[1]
        if got != n_features:
            raise InputError(f"{name}: expected {n_features} features, got {got}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        value = arr[tuple(where)]
        loc = f"row {where[0]}" + (f", column {where[1]}" if arr.ndim == 2 else "")
        raise InputError(f"{name} contains {value} at {loc} (0-based); "
                         "remove or impute missing values first")
    return arr


def _require_fitted(obj: Any, attr: str) -> None:
    if getattr(obj, attr, None) is None:
        raise InputError(f"{type(obj).__name__} is not fitted yet; call fit() first")


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

    def fit(self, X: Any) -> Standardizer:
        X = check_array(X)
        if X.shape[0] == 0:
            raise InputError("X has no rows; cannot fit a Standardizer")
        self.mean_ = X.mean(axis=0) if self.with_mean else np.zeros(X.shape[1])
        std = X.std(axis=0) if self.with_std else np.ones(X.shape[1])
        # constant columns: scale 1 -> they map to 0 instead of inf/NaN
        self.scale_ = np.where(std > 1e-12 * np.maximum(1.0, np.abs(self.mean_)), std, 1.0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        _require_fitted(self, "mean_")
        X = check_array(X, n_features=self.mean_.size)
        return ((X - self.mean_) / self.scale_).astype(X.dtype, copy=False)

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


class PCAWhitener:
    """Decorrelate inputs by principal component analysis, optionally whitening (002 §4).

    ``transform`` projects centred inputs on the principal axes (largest variance first);
    with ``whiten=True`` each component is divided by ``sqrt(variance + epsilon)`` so all
    components have (about) unit variance. ``epsilon`` keeps near-zero-variance directions
    from being blown up.

    Parameters
    ----------
    whiten : bool
        Scale components to unit variance (True) or only rotate/decorrelate (False).
    n_components : int, optional
        Keep only the leading components (dimensionality reduction); default all.
    epsilon : float
        Regulariser added to the variances before whitening.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)) @ [[2.0, 1.0], [0.0, 0.5]]
    >>> Z = PCAWhitener().fit_transform(X)
    >>> bool(np.allclose(np.cov(Z.T), np.eye(2), atol=1e-2))
    True
    """

    def __init__(self, whiten: bool = True, n_components: int | None = None,
                 epsilon: float = 1e-5) -> None:
        if n_components is not None and (int(n_components) != n_components or n_components < 1):
            raise InputError(f"n_components must be a positive integer, got {n_components!r}")
        if not epsilon >= 0:
            raise InputError(f"epsilon must be >= 0, got {epsilon!r}")
        self.whiten, self.n_components, self.epsilon = bool(whiten), n_components, float(epsilon)
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self.explained_variance_: np.ndarray | None = None

    def fit(self, X: Any) -> PCAWhitener:
        X = check_array(X)
        n, d = X.shape
        if n < 2:
            raise InputError(f"PCAWhitener needs at least 2 rows to estimate variances, got {n}")
        k = d if self.n_components is None else int(self.n_components)
        if k > min(n, d):
            raise InputError(f"n_components={k} exceeds min(n_samples, n_features)={min(n, d)}")
        self.mean_ = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        # fix the sign ambiguity of the SVD so a seed/data pair gives one answer
        signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
        vt *= np.where(signs == 0, 1.0, signs)[:, None]
        var = s**2 / (n - 1)
        self.components_ = vt[:k]
        self.explained_variance_ = var[:k]
        return self

    def transform(self, X: Any) -> np.ndarray:
        _require_fitted(self, "components_")
        X = check_array(X, n_features=self.mean_.size)
        Z = (X - self.mean_) @ self.components_.T
        if self.whiten:
            Z /= np.sqrt(self.explained_variance_ + self.epsilon)
        return Z.astype(X.dtype, copy=False)

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        _require_fitted(self, "components_")
        Z = check_array(Z, name="Z", n_features=self.components_.shape[0])
        if self.whiten:
            Z = Z * np.sqrt(self.explained_variance_ + self.epsilon)
        return (Z @ self.components_ + self.mean_).astype(Z.dtype, copy=False)

    def get_state(self) -> State:
        _require_fitted(self, "components_")
        cfg = {"type": "PCAWhitener", "whiten": self.whiten, "n_components": self.n_components,
               "epsilon": self.epsilon}
        return cfg, {"mean_": self.mean_, "components_": self.components_,
                     "explained_variance_": self.explained_variance_}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> PCAWhitener:
        obj = cls(config["whiten"], config["n_components"], config["epsilon"])
        obj.mean_ = np.asarray(arrays["mean_"])
        obj.components_ = np.asarray(arrays["components_"])
        obj.explained_variance_ = np.asarray(arrays["explained_variance_"])
        return obj


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
        const = span <= 0
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


_TYPES: dict[str, Any] = {}


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


_TYPES.update({c.__name__: c for c in (OneHotEncoder, Standardizer, PCAWhitener,
                                       TargetScaler, Preprocessor)})


def transformer_from_state(config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild any preprocessing object from ``get_state()`` output (dispatch on ``type``)."""
    kind = config.get("type")
    if kind not in _TYPES:
        raise InputError(f"unknown preprocessing type {kind!r}; known: {sorted(_TYPES)}")
    return _TYPES[kind].from_state(config, arrays)
