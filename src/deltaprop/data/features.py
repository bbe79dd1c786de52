"""Engineered input features of two coordinates: x1, x2, x1², x2², x1·x2, sin x1, sin x2 (the
playground's inputs, as in TensorFlow Playground).

:class:`FeatureMap` turns the two raw coordinates into the chosen feature columns. It is a
preprocessing step like :class:`deltaprop.data.preprocessing.Standardizer` (``fit`` / ``transform``
/ ``get_state`` / ``from_state``), so a model file downloaded from the playground stores it in
its preprocessing chain and ``deltaprop predict`` / ``deltaprop evaluate`` take the two raw
coordinates (docs/playground.md, "Download model").

Examples
--------
>>> import numpy as np
>>> FeatureMap(["x1", "x1sq", "sinx2"]).transform(np.array([[2.0, 0.0]])).tolist()
[[2.0, 4.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["FEATURES", "FEATURE_LABELS", "FeatureMap"]

_MAPS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1sq": lambda a, b: a * a,
    "x2sq": lambda a, b: b * b,
    "x1x2": lambda a, b: a * b,
    "sinx1": lambda a, b: np.sin(a),
    "sinx2": lambda a, b: np.sin(b),
}
#: Feature keys in their fixed order (the URL and the model file use these keys).
FEATURES: tuple[str, ...] = tuple(_MAPS)
#: How the page labels them.
FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1sq": "x₁²", "x2sq": "x₂²", "x1x2": "x₁x₂",
                  "sinx1": "sin x₁", "sinx2": "sin x₂"}


class FeatureMap:
    """Map raw (x1, x2) rows to the chosen feature columns, in the order given.

    Parameters
    ----------
    features : sequence of str
        Keys from :data:`FEATURES`.
    """

    def __init__(self, features: Sequence[str]) -> None:
        features = [str(f) for f in features]
        unknown = [f for f in features if f not in _MAPS]
        if unknown or not features:
            raise InputError(f"unknown or no input features {unknown}; choose from "
                             f"{', '.join(FEATURES)}")
        self.features = features

    def fit(self, X: Any) -> FeatureMap:
        """Nothing to learn; checks the shape."""
        self._check(X)
        return self

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 2:
            raise InputError(f"the playground's models take 2 raw inputs (x1, x2), got an "
                             f"array of shape {X.shape}")
        return X

    def transform(self, X: Any) -> np.ndarray:
        """The feature columns for the rows of ``X`` (shape (N, 2))."""
        X = self._check(X)
        a, b = X[:, 0], X[:, 1]
        return np.column_stack([_MAPS[f](a, b) for f in self.features])

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """x1 and x2 back from the features, where both are among them."""
        X = np.asarray(X, dtype=np.float64)
        if "x1" not in self.features or "x2" not in self.features:
            raise InputError("the raw inputs can be recovered only when x1 and x2 are features")
        return X[:, [self.features.index("x1"), self.features.index("x2")]]

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"type": "FeatureMap", "features": list(self.features)}, {}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> FeatureMap:
        return cls(config["features"])

    def __repr__(self) -> str:
        return f"FeatureMap({self.features!r})"
