"""Decorrelating the inputs by principal component analysis, optionally whitening (002 §4).

Re-exported by :mod:`deltaprop.data.preprocessing`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.checks import State, check_array
from deltaprop.checks import require_fitted as _require_fitted
from deltaprop.errors import InputError

__all__ = ["PCAWhitener"]


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
