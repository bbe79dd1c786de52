"""Scorers for :mod:`deltaprop.model_selection`: ``scorer(fitted_estimator, X, y) -> float``.

``scoring=None`` is the estimator's own ``score``; a name is scikit-learn's scorer of that
name (``"accuracy"``, ``"r2"``, ``"neg_mean_squared_error"``, ...); a callable is used as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.metrics import get_scorer

from deltaprop.errors import InputError

__all__ = ["default_score", "resolve_scorer"]


def default_score(est: Any, X: Any, y: Any) -> float:
    """The estimator's own ``score`` (what ``scoring=None`` means)."""
    return float(est.score(X, y))


def resolve_scorer(scoring: Any) -> Callable:
    """``scoring`` (None, a name or a callable) as a callable ``(est, X, y) -> float``."""
    if scoring is None:
        return default_score
    if callable(scoring):
        return scoring
    if isinstance(scoring, str):
        try:
            return get_scorer(scoring)
        except ValueError:
            raise InputError(f"unknown scoring {scoring!r}: use a scikit-learn scorer name "
                             "such as 'accuracy', 'r2' or 'neg_mean_squared_error'") from None
    raise InputError(f"scoring must be None, a name or a callable(est, X, y), got {scoring!r}")
