"""Scorers for :mod:`deltaprop.search`: ``scorer(fitted_estimator, X, y) -> float``.

Built in: "accuracy" (exact match of whole rows, so it also scores multilabel predictions), "r2"
(mean over outputs; a constant target counts 1 if predicted exactly, else 0) and
"neg_mean_squared_error"; any other name is looked up in ``sklearn.metrics`` on demand, so
importing this module does not import scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["builtin_scorer", "default_score", "resolve_scorer"]


def builtin_scorer(name: str) -> Callable | None:
    """The built-in scorer called ``name``, or None if there is none."""

    def accuracy(est, X, y):
        return float(np.mean(np.all(np.asarray(est.predict(X)).reshape(len(X), -1)
                                    == np.asarray(y).reshape(len(X), -1), axis=1)))

    def neg_mean_squared_error(est, X, y):
        pred = np.asarray(est.predict(X), dtype=float)
        return -float(np.mean((pred - np.asarray(y, dtype=float).reshape(pred.shape)) ** 2))

    def r2(est, X, y):
        pred = np.asarray(est.predict(X), dtype=float).reshape(len(X), -1)
        t = np.asarray(y, dtype=float).reshape(pred.shape)
        sst = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
        sse = ((t - pred) ** 2).sum(axis=0)
        ok = sst > 0
        return float(np.mean(np.where(ok, 1 - sse / np.where(ok, sst, 1), sse == 0)))

    return {"accuracy": accuracy, "r2": r2,
            "neg_mean_squared_error": neg_mean_squared_error}.get(name)


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
        found = builtin_scorer(scoring)
        if found is not None:
            return found
        try:
            from sklearn.metrics import get_scorer
        except ImportError:
            raise InputError(f"unknown scoring {scoring!r}; built in: accuracy, r2, "
                             "neg_mean_squared_error") from None
        return get_scorer(scoring)
    raise InputError(f"scoring must be None, a name or a callable(est, X, y), got {scoring!r}")
