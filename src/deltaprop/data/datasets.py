"""Datasets: the notes' toy problems, scikit-learn's bundled sets, MNIST and CSV files.

Every loader returns a :class:`Dataset`. Random generators take a ``seed`` and return the
same data for the same seed. MNIST lives in :mod:`deltaprop.data.mnist` (IDX files downloaded on
first use and verified by SHA-256) and CSV files in :mod:`deltaprop.data.tabular` (:func:`load_csv`,
whose :class:`CsvSchema` re-encodes new files the same way, :func:`encode_csv`); both are
re-exported here, so ``deltaprop.data.datasets`` is the one place to load data from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.checks import as_generator, check_number
from deltaprop.data.dataset import Dataset
from deltaprop.data.mnist import (
    MNIST_FILES,
    MNIST_MIRRORS,
    DownloadError,
    download_file,
    load_mnist,
    mnist_dir,
    read_idx,
)
from deltaprop.data.tabular import CsvSchema, encode_csv, load_csv
from deltaprop.errors import InputError

__all__ = [
    "Dataset", "DownloadError", "xor", "blobs", "circles", "two_spirals", "spiral", "free_fall",
    "noisy_sine", "digits", "iris", "wine", "breast_cancer", "diabetes", "load_mnist",
    "read_idx", "download_file", "mnist_dir", "MNIST_MIRRORS", "MNIST_FILES", "load_dataset",
    "dataset_names", "load_csv", "encode_csv", "CsvSchema",
]


def _xy_names(d: int) -> list[str]:
    return ["x", "y"] if d == 2 else [f"x{i + 1}" for i in range(d)]


def _classes(X: np.ndarray, y: np.ndarray, name: str, k: int, desc: str) -> Dataset:
    return Dataset(X, y.astype(np.int64), _xy_names(X.shape[1]),
                   [str(i) for i in range(k)], "classification", name, description=desc)


# ------------------------------------------------------------------------- toy problems
def xor(n_per_corner: int = 1, *, noise: float = 0.0, seed: int | None = None) -> Dataset:
    """The XOR problem (004 §4.5, 000 §9.1): corners (0,0),(1,0),(0,1),(1,1) -> 0,1,1,0.

    With ``n_per_corner > 1`` and ``noise > 0`` each corner becomes a Gaussian cloud.

    Examples
    --------
    >>> d = xor()
    >>> d.X.tolist(), d.y.tolist()
    ([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    n = check_number("n_per_corner", n_per_corner, low=1, integer=True)
    noise = check_number("noise", noise, low=0, convert=False)
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    X = np.repeat(corners, n, axis=0)
    if noise:
        X = X + as_generator(seed).normal(0.0, noise, X.shape)
    y = np.repeat([0, 1, 1, 0], n)
    return _classes(X, y, "xor", 2, "XOR of two binary inputs")


def blobs(n_samples: int = 300, *, std: float = 0.6, seed: int | None = 0) -> Dataset:
    """Three Gaussian classes in 2-D, like the notes' "Example data (three classes)" (003).

    The clusters are separable by straight lines, so a single-layer network solves it.
    """
    n = check_number("n_samples", n_samples, low=3, integer=True)
    std = check_number("std", std, low=0, convert=False)
    rng = as_generator(seed)
    centers = np.array([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]])
    y = np.arange(n) % 3
    X = centers[y] + rng.normal(0.0, std, (n, 2))
    return _classes(X, y, "blobs", 3, "three Gaussian blobs in 2-D (003)")


def circles(n_samples: int = 400, *, noise: float = 0.08, factor: float = 0.5,
            seed: int | None = 0) -> Dataset:
    """Two concentric circles (class 0 outer, class 1 inner of radius ``factor``)."""
    n = check_number("n_samples", n_samples, low=2, integer=True)
    noise = check_number("noise", noise, low=0, convert=False)
    if not 0 < factor < 1:
        raise InputError(f"factor must be in (0, 1), got {factor!r}")
    rng = as_generator(seed)
    y = np.arange(n) % 2
    angle = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(y == 0, 1.0, factor)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)] + rng.normal(0, noise, (n, 2))
    return _classes(X, y, "circles", 2, "two concentric circles")


def spiral(n_per_class: int = 100, n_classes: int = 3, *, noise: float = 0.2,
           seed: int | None = 0) -> Dataset:
    """The classic K-armed spiral: arm k has radius 0..1 and angle ``4k..4(k+1)`` + noise.

    ``noise`` is the standard deviation of the angle in radians; at the default 0.2 the
    arms stay separable, so a 64-64 network can fit the training set almost perfectly.
    """
    n = check_number("n_per_class", n_per_class, low=2, integer=True)
    k = check_number("n_classes", n_classes, low=2, integer=True)
    noise = check_number("noise", noise, low=0, convert=False)
    rng = as_generator(seed)
    r = np.tile(np.linspace(0.0, 1.0, n), k)
    y = np.repeat(np.arange(k), n)
    t = (np.tile(np.linspace(0.0, 4.0, n), k) + 4.0 * y) * (3.0 / k)
    t = t + rng.normal(0.0, noise, n * k)
    X = np.c_[r * np.sin(t), r * np.cos(t)]
    return _classes(X, y, "spiral", k, f"{k}-armed spiral")


def two_spirals(n_samples: int = 400, *, noise: float = 0.02, turns: float = 1.5,
                seed: int | None = 0) -> Dataset:
    """The two interlocking spirals benchmark (Lang & Witbrock): class 1 is class 0 rotated
    by 180 degrees; ``noise`` is added to the coordinates."""
    n = check_number("n_samples", n_samples, low=2, integer=True)
    noise = check_number("noise", noise, low=0, convert=False)
    rng = as_generator(seed)
    half = (n + 1) // 2
    t = np.linspace(0.0, 1.0, half)
    theta = 2 * np.pi * turns * t + np.pi / 2
    arm = np.c_[t * np.cos(theta), t * np.sin(theta)]
    X = np.r_[arm, -arm][:n] + rng.normal(0.0, noise, (n, 2))
    y = np.r_[np.zeros(half), np.ones(half)][:n]
    return _classes(X, y, "two_spirals", 2, "two interlocking spirals")


def free_fall(n_samples: int = 200, *, t_max: float = 2.0, g: float = 9.81,
              noise: float = 0.0, seed: int | None = 0) -> Dataset:
    """Regression of the fall height h = g t^2 / 2 on the time t (the quiz in 001).

    One input neuron (t), one output neuron (h): X is (N, 1), y is (N,).
    """
    n = check_number("n_samples", n_samples, low=1, integer=True)
    noise = check_number("noise", noise, low=0, convert=False)
    if not t_max > 0:
        raise InputError(f"t_max must be > 0, got {t_max!r}")
    rng = as_generator(seed)
    t = np.sort(rng.uniform(0.0, t_max, n))
    h = 0.5 * g * t**2 + (rng.normal(0.0, noise, n) if noise else 0.0)
    return Dataset(t[:, None], h, ["t"], ["h"], "regression", "free_fall",
                   description="h = g t^2 / 2 (001 quiz)")


def noisy_sine(n_samples: int = 100, *, noise: float = 0.1, x_range: tuple = (0.0, 2 * np.pi),
               seed: int | None = 0) -> Dataset:
    """Regression of y = sin(x) + Gaussian noise, x uniform in ``x_range``."""
    n = check_number("n_samples", n_samples, low=1, integer=True)
    noise = check_number("noise", noise, low=0, convert=False)
    lo, hi = (float(v) for v in x_range)
    if not lo < hi:
        raise InputError(f"x_range must have lo < hi, got {x_range!r}")
    rng = as_generator(seed)
    x = np.sort(rng.uniform(lo, hi, n))
    y = np.sin(x) + rng.normal(0.0, noise, n)
    return Dataset(x[:, None], y, ["x"], ["y"], "regression", "noisy_sine",
                   description="y = sin(x) + noise")


# ------------------------------------------------------------ scikit-learn bundled sets
def _sklearn(loader: str, name: str, task: str) -> Dataset:
    from sklearn import datasets as skd  # bundled files, no network

    b = getattr(skd, loader)()
    X = np.asarray(b.data, dtype=np.float64)
    if task == "classification":
        y, targets = np.asarray(b.target, dtype=np.int64), [str(t) for t in b.target_names]
    else:
        y, targets = np.asarray(b.target, dtype=np.float64), ["target"]
    names = [str(f) for f in getattr(b, "feature_names", [f"x{i}" for i in range(X.shape[1])])]
    return Dataset(X, y, names, targets, task, name, description=b.DESCR.split("\n")[0])


def digits() -> Dataset:
    """8x8 handwritten digits (1797 samples, pixel values 0..16), scikit-learn's copy."""
    data = _sklearn("load_digits", "digits", "classification")
    data.image_shape = (8, 8)
    return data


def iris() -> Dataset:
    """Fisher's iris flowers: 150 samples, 4 features, 3 classes."""
    return _sklearn("load_iris", "iris", "classification")


def wine() -> Dataset:
    """Wine recognition: 178 samples, 13 features, 3 classes."""
    return _sklearn("load_wine", "wine", "classification")


def breast_cancer() -> Dataset:
    """Breast cancer Wisconsin (diagnostic): 569 samples, 30 features, 2 classes."""
    return _sklearn("load_breast_cancer", "breast_cancer", "classification")


def diabetes() -> Dataset:
    """Diabetes progression regression: 442 samples, 10 (scaled) features."""
    return _sklearn("load_diabetes", "diabetes", "regression")


# ------------------------------------------------------------------------- by name
_LOADERS = {
    "xor": xor, "blobs": blobs, "circles": circles, "spiral": spiral,
    "two_spirals": two_spirals, "free_fall": free_fall, "noisy_sine": noisy_sine,
    "digits": digits, "iris": iris, "wine": wine, "breast_cancer": breast_cancer,
    "diabetes": diabetes, "mnist": load_mnist,
}


def dataset_names() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return sorted(_LOADERS)


def load_dataset(name: str, **kwargs: Any) -> Dataset:
    """Load a built-in dataset by name (``"-"`` and ``"_"`` are interchangeable).

    Examples
    --------
    >>> load_dataset("two-spirals", seed=1).X.shape
    (400, 2)
    """
    key = str(name).strip().lower().replace("-", "_")
    if key not in _LOADERS:
        raise InputError(f"unknown dataset {name!r}; valid names: {', '.join(dataset_names())}")
    try:
        return _LOADERS[key](**kwargs)
    except TypeError as exc:  # wrong keyword for this loader
        raise InputError(f"load_dataset({name!r}): {exc}") from None

