"""Cross-validation indices (002 §5): K-fold ("multifold") and leave-one-out.

Thin wrappers over scikit-learn's splitters that speak deltaprop's argument names (``n``,
``seed``, ``stratify_labels``) and its error messages; the 5:1:1 hold-out split of the notes
is :func:`deltaprop.data.splits.split_indices`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, LeaveOneOut, StratifiedKFold

from deltaprop.checks import seed_int
from deltaprop.data.splits import check_n_samples
from deltaprop.errors import InputError

__all__ = ["kfold", "leave_one_out"]


def kfold(n: int, k: int = 5, *, shuffle: bool = True, seed: int | None = None,
          stratify_labels: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Multifold cross-validation indices (002 §5): yields ``(train_idx, val_idx)`` k times.

    Each sample is in exactly one validation fold; fold sizes differ by at most one. With
    ``stratify_labels`` each fold keeps (nearly) the class proportions of the whole set
    (scikit-learn's ``StratifiedKFold``; ``KFold`` otherwise).

    Examples
    --------
    >>> [len(val) for _, val in kfold(10, 3, seed=0)]
    [4, 3, 3]
    """
    n = check_n_samples(n)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
        raise InputError(f"k must be an integer with 2 <= k <= n={n}, got {k!r}")
    state = seed_int(seed) if shuffle else None
    X = np.zeros((n, 1))
    if stratify_labels is not None:
        labels = np.asarray(stratify_labels)
        if labels.shape != (n,):
            raise InputError(f"stratify_labels must have shape ({n},), got {labels.shape}")
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= k:
            splitter = StratifiedKFold(int(k), shuffle=shuffle, random_state=state)
            return (pair for pair in splitter.split(X, labels))
    splitter = KFold(int(k), shuffle=shuffle, random_state=state)
    return (pair for pair in splitter.split(X))


def leave_one_out(n: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-out (002 §5): for each i, train on the other n-1 samples, validate on i.

    Examples
    --------
    >>> [val.tolist() for _, val in leave_one_out(3)]
    [[0], [1], [2]]
    """
    n = check_n_samples(n)
    if n < 2:
        raise InputError(f"leave_one_out needs n >= 2 samples, got {n}")
    return (pair for pair in LeaveOneOut().split(np.zeros((n, 1))))
