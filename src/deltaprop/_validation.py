"""Input checks shared by the preprocessing transformers (:mod:`deltaprop.preprocessing`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop._training_data import all_finite
from deltaprop.errors import InputError

__all__ = ["State", "check_array", "require_fitted"]

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
    if not all_finite(arr):
        bad = ~np.isfinite(arr)
        where = np.argwhere(bad)[0]
        value = arr[tuple(where)]
        loc = f"row {where[0]}" + (f", column {where[1]}" if arr.ndim == 2 else "")
        raise InputError(f"{name} contains {value} at {loc} (0-based); "
                         "remove or impute missing values first")
    return arr


def require_fitted(obj: Any, attr: str) -> None:
    if getattr(obj, attr, None) is None:
        raise InputError(f"{type(obj).__name__} is not fitted yet; call fit() first")

