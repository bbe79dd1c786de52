"""Column means and variances in one pass over blocks of rows (for data bigger than memory).

:class:`RunningMoments` keeps, per column, the count ``n``, the mean and ``M2`` (the sum of
squared deviations from the mean) and merges a new block's ``(n_b, mean_b, M2_b)`` with the
pairwise update of Chan, Golub and LeVeque (1979)::

    delta = mean_b - mean_a
    n     = n_a + n_b
    mean  = mean_a + delta * n_b / n
    M2    = M2_a + M2_b + delta**2 * n_a * n_b / n

Each block's own mean and ``M2`` are computed in float64 from its rows (two passes over a block
in memory), so the result equals the in-memory ``X.mean(axis=0)`` / ``X.var(axis=0)`` to float
rounding, without the cancellation of the textbook ``E[x²] - E[x]²``. It backs
:meth:`deltaprop.data.preprocessing.Standardizer.partial_fit` (002 §4 standardization of a CSV
file streamed in blocks) and the R² of an epoch trained chunk by chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["RunningMoments"]


class RunningMoments:
    """Per-column count, mean and variance of rows seen block by block.

    Examples
    --------
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> m = RunningMoments().update(X[:2]).update(X[2:])
    >>> m.mean.tolist(), np.allclose(m.var, X.var(axis=0))
    ([5.0, 6.0], True)
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None

    def update(self, X: Any) -> RunningMoments:
        """Merge the rows of the 2-D block ``X`` (float64 arithmetic); returns ``self``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_columns)

        Returns
        -------
        RunningMoments
        """
        X = np.asarray(X)
        if X.ndim != 2:
            raise InputError(f"RunningMoments.update needs a 2-D block, got shape {X.shape}")
        if len(X) == 0:
            return self
        mean = X.mean(axis=0, dtype=np.float64)
        m2 = ((X - mean) ** 2).sum(axis=0, dtype=np.float64)
        return self.add(len(X), mean, m2)

    def add(self, count: int, mean: Any, m2: Any) -> RunningMoments:
        """Merge a block given by its row count, column means and ``M2`` (Chan et al.).

        The first block is taken as given (same values, converted to float64), so one block
        reproduces its own statistics exactly.

        Parameters
        ----------
        count : int
        mean, m2 : array-like of shape (n_columns,)

        Returns
        -------
        RunningMoments
        """
        count = int(count)
        if count == 0:
            return self
        mean = np.asarray(mean, dtype=np.float64)
        m2 = np.asarray(m2, dtype=np.float64)
        if self.count == 0:
            self.count, self.mean, self.m2 = count, mean.copy(), m2.copy()
            return self
        if mean.shape != self.mean.shape:
            raise InputError(f"block has {mean.shape} columns, earlier blocks "
                             f"{self.mean.shape}")
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * count / total)
        self.count = total
        return self

    @property
    def var(self) -> np.ndarray:
        """Population variance (ddof=0) of every column."""
        if self.count == 0:
            raise InputError("RunningMoments has seen no rows")
        return self.m2 / self.count

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation of every column."""
        return np.sqrt(self.var)
