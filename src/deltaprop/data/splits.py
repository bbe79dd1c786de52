"""Data splits of 002 §5 "Overfitting": training/validation/test 5:1:1, stratified by class.

K-fold and leave-one-out indices for cross-validation live in
:mod:`deltaprop.model_selection.splits` (scikit-learn's splitters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.checks import as_generator, plain
from deltaprop.errors import InputError

__all__ = ["split_indices", "train_val_test_split", "train_test_split", "is_class_labels",
           "check_n_samples"]


def is_class_labels(y: np.ndarray) -> bool:
    """Labels (ints, bools, strings) are stratified by default; float targets are not."""
    return y.ndim == 1 and (y.dtype.kind in "iubUSO")


def _allocate(n: int, ratios: Sequence[float]) -> np.ndarray:
    """Split ``n`` into integer counts proportional to ``ratios`` (largest remainder)."""
    r = np.asarray(ratios, dtype=float)
    exact = n * r / r.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def _check_ratios(ratios: Sequence[float], n_parts: int) -> np.ndarray:
    try:
        r = np.asarray(ratios, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"ratios must be {n_parts} positive numbers, got "
                         f"{plain(ratios)!r}") from None
    if r.shape != (n_parts,) or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise InputError(f"ratios must be {n_parts} positive numbers, got "
                         f"{plain(r.tolist())!r}")
    return r


def _grouped_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices shuffled, then grouped by class (random order inside each class)."""
    perm = rng.permutation(labels.size)
    _, codes = np.unique(labels[perm], return_inverse=True)
    return perm[np.argsort(codes.ravel(), kind="stable")]


def split_indices(n: int, ratios: Sequence[float] = (5, 1, 1), *, stratify_labels: Any = None,
                  seed: int | None = None) -> list[np.ndarray]:
    """Random disjoint index sets covering ``range(n)`` with sizes in proportion to ``ratios``.

    The total sizes follow ``ratios`` exactly (largest-remainder rounding). With
    ``stratify_labels`` every class is spread over the parts in (nearly) the same proportions:
    within each class the parts differ from the exact share by less than two samples.

    Examples
    --------
    >>> [len(p) for p in split_indices(70, (5, 1, 1), seed=0)]
    [50, 10, 10]
    """
    n = check_n_samples(n)
    r = _check_ratios(ratios, max(1, np.size(ratios)))
    counts = _allocate(n, r)
    if np.any(counts == 0):
        raise InputError(f"n={n} samples is too few for ratios {':'.join(f'{v:g}' for v in r)}: "
                         f"part sizes would be {counts.tolist()} (every part needs >= 1)")
    rng = as_generator(seed)
    if stratify_labels is None:
        order = rng.permutation(n)
        return [np.sort(p) for p in np.split(order, np.cumsum(counts)[:-1])]
    labels = np.asarray(stratify_labels)
    if labels.shape != (n,):
        raise InputError(f"stratify_labels must have shape ({n},), got {labels.shape}")
    order = _grouped_order(labels, rng)
    # walk the class-grouped order and give each position to the part that lags most behind
    # its quota: totals come out exact and every class block is split proportionally
    share = (counts / n).tolist()
    room, assigned = counts.tolist(), [0] * len(share)
    part = np.empty(n, dtype=np.int64)
    for i in range(n):  # plain Python floats: ~10x faster than tiny NumPy ops per step
        best, best_deficit = 0, -np.inf
        for j, s in enumerate(share):
            d = (i + 1) * s - assigned[j]
            if assigned[j] < room[j] and d > best_deficit:
                best, best_deficit = j, d
        part[i] = best
        assigned[best] += 1
    return [np.sort(order[part == j]) for j in range(len(counts))]


def check_n_samples(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer (number of samples), got {n!r}")
    return int(n)


def _prepare(X: Any, y: Any, stratify: bool | None) -> tuple[np.ndarray, Any, Any]:
    X = np.asarray(X)
    if X.ndim == 0:
        raise InputError("X must be an array of samples, got a scalar")
    if y is None:
        if stratify:
            raise InputError("stratify=True needs class labels y")
        return X, None, None
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise InputError(f"X and y have different numbers of samples: {X.shape[0]} vs "
                         f"{y.shape[0] if y.ndim else 'scalar'}")
    if stratify is None:
        stratify = is_class_labels(y)
    elif stratify and y.ndim != 1:
        raise InputError(f"stratify=True needs 1-D class labels, got y of shape {y.shape}")
    return X, y, (y if stratify else None)


def train_val_test_split(X: Any, y: Any = None, *, ratios: Sequence[float] = (5, 1, 1),
                         stratify: bool | None = None, seed: int | None = None) -> tuple:
    """Split into training, validation and test sets, 5:1:1 by default (002 §5).

    Parameters
    ----------
    X : array-like (N, ...)
    y : array-like (N,) or (N, k), optional
    ratios : three positive numbers
        Relative sizes of the training, validation and test parts.
    stratify : bool, optional
        Keep class proportions in each part. Default: True when ``y`` holds class labels
        (1-D integers, bools or strings), False for float targets.
    seed : int, optional
        The same seed gives the same split.

    Returns
    -------
    ``(X_train, X_val, X_test, y_train, y_val, y_test)``, or the three X parts if ``y`` is None.

    Examples
    --------
    >>> X, y = np.arange(140).reshape(70, 2), np.arange(70) % 2
    >>> parts = train_val_test_split(X, y, seed=0)
    >>> [len(p) for p in parts]
    [50, 10, 10, 50, 10, 10]
    """
    X, y, strat = _prepare(X, y, stratify)
    idx = split_indices(X.shape[0], _check_ratios(ratios, 3), stratify_labels=strat, seed=seed)
    xs = tuple(X[i] for i in idx)
    return xs if y is None else xs + tuple(y[i] for i in idx)


def train_test_split(X: Any, y: Any = None, *, test_size: float | int = 0.2,
                     stratify: bool | None = None, seed: int | None = None) -> tuple:
    """Split into a training and a test set (the notes' 2-set approach, 002 §5).

    ``test_size`` is a fraction in (0, 1) or a number of samples. Returns
    ``(X_train, X_test, y_train, y_test)`` or ``(X_train, X_test)`` without ``y``.

    Examples
    --------
    >>> X_tr, X_te = train_test_split(np.zeros((10, 3)), test_size=0.3, seed=1)
    >>> X_tr.shape, X_te.shape
    ((7, 3), (3, 3))
    """
    X, y, strat = _prepare(X, y, stratify)
    n = X.shape[0]
    if isinstance(test_size, bool):
        raise InputError(f"test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        if not 1 <= test_size < n:
            raise InputError(f"test_size={test_size} must be between 1 and n-1={n - 1}")
        ratios = (n - int(test_size), int(test_size))
    elif isinstance(test_size, (float, np.floating)) and 0 < test_size < 1:
        ratios = (1 - float(test_size), float(test_size))
    else:
        raise InputError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    idx = split_indices(n, ratios, stratify_labels=strat, seed=seed)
    xs = tuple(X[i] for i in idx)
    return xs if y is None else xs + tuple(y[i] for i in idx)
