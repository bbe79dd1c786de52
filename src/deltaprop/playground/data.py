"""The playground's data: 2-D datasets (mostly from :mod:`deltaprop.data.datasets`) split into a
training and a test part.

Classification sets come from :mod:`deltaprop.data.datasets` (circles, XOR clouds of 004 §4.5, the
two spirals, the three blobs of 003, the three-armed spiral); two Gaussian clouds and the two
regression surfaces are drawn here. ``noise`` (0..1) is passed to each generator in its own
unit, documented in docs/playground.md. The split is stratified for classes (002 §5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deltaprop.checks import as_generator
from deltaprop.data import datasets
from deltaprop.data.splits import split_indices
from deltaprop.errors import InputError
from deltaprop.playground.state import PlaygroundState

__all__ = ["PlaygroundData", "make_data"]


@dataclass
class PlaygroundData:
    """Raw 2-D inputs and targets, split into training and test rows.

    ``y_*`` hold class indices (classification) or float targets (regression). ``domain`` is
    the rectangle of the input plane the page draws: (x1 min, x1 max, x2 min, x2 max).
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] | None
    target_name: str
    domain: tuple[float, float, float, float]

    @property
    def n_classes(self) -> int:
        return 0 if self.class_names is None else len(self.class_names)


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    centers = np.array([[-1.0, -1.0], [1.0, 1.0]])
    return centers[y] + rng.normal(0.0, 0.3 + 2.0 * noise, (n, 2)), y


def _plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, (n, 2))
    return X, X[:, 0] - 0.5 * X[:, 1] + rng.normal(0.0, noise, n)


def _bumps(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, (n, 2))
    centers = np.array([[-0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [0.5, -0.5]])
    signs = np.array([1.0, 1.0, -1.0, -1.0])
    d2 = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    return X, (signs * np.exp(-d2 / 0.08)).sum(axis=1) + rng.normal(0.0, noise, n)


def _raw(state: PlaygroundState) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    n, noise, seed = state.samples, state.noise, state.seed
    rng = as_generator(seed)
    name = state.dataset
    if name == "circle":
        d = datasets.circles(n, noise=noise, factor=0.5, seed=seed)
    elif name == "xor":
        d = datasets.xor(max(1, n // 4), noise=0.05 + noise, seed=seed)
    elif name == "spiral":
        d = datasets.two_spirals(n, noise=0.2 * noise, seed=seed)
    elif name == "blobs":
        d = datasets.blobs(n, std=0.5 + noise, seed=seed)
    elif name == "spiral3":
        d = datasets.spiral(max(2, n // 3), 3, noise=2.0 * noise, seed=seed)
    elif name == "gauss":
        X, y = _gauss(n, noise, rng)
        return X, y, ["0", "1"]
    elif name == "plane":
        return *_plane(n, noise, rng), None
    elif name == "bumps":
        return *_bumps(n, noise, rng), None
    else:
        raise InputError(f"dataset {name!r} is an upload: send its CSV file first")
    return np.asarray(d.X, np.float64), np.asarray(d.y), list(d.target_names)


def _domain(X: np.ndarray) -> tuple[float, float, float, float]:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-6) + 1e-3
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0]),
            float(lo[1] - pad[1]), float(hi[1] + pad[1]))


def split(name: str, X: np.ndarray, y: np.ndarray, class_names: list[str] | None,
          train_ratio: float, seed: int, target_name: str = "y") -> PlaygroundData:
    """Split raw (X, y) into training and test rows (stratified for classes, 002 §5)."""
    task = "regression" if class_names is None else "classification"
    if task == "classification":
        y = y.astype(np.int64)
    else:
        y = y.astype(np.float64)
    if len(X) < 4:
        raise InputError(f"{name}: {len(X)} rows are too few (the playground needs at least 4)")
    ratio = (round(train_ratio * 100), round((1 - train_ratio) * 100))
    strat = y if task == "classification" and np.bincount(y).min() >= 2 else None
    train, test = split_indices(len(X), ratio, stratify_labels=strat, seed=seed)
    return PlaygroundData(name, task, X[train], y[train], X[test], y[test], class_names,
                          target_name, _domain(X))


def make_data(state: PlaygroundState) -> PlaygroundData:
    """The dataset ``state`` names, split with ``state.train_ratio`` and ``state.seed``."""
    X, y, names = _raw(state)
    return split(state.dataset, X, y, names, state.train_ratio, state.seed)
