"""Shared pieces of the benchmark: architectures, data, FLOP counts, initial weights.

Every framework trains the same architectures from the same initial weights (deltaprop's He /
Glorot initializers, seed 0, copied into torch; scikit-learn has no initializer hook and keeps
its own Glorot-uniform init) with SGD + momentum 0.9, the same learning rate and batch size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

LEARNING_RATE = 0.05
MOMENTUM = 0.9


@dataclass(frozen=True)
class Arch:
    """An MLP [n_in, hidden..., n_out] with one hidden activation and softmax + cross-entropy."""

    name: str
    sizes: tuple[int, ...]
    activation: str  # "relu" or "logistic"

    @property
    def weights(self) -> list[tuple[int, int]]:
        """(n_out, n_in) of every layer's W."""
        return [(o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True)]

    @property
    def flops_per_sample(self) -> int:
        """2W forward + 2W weight gradients + 2(W − W₁) deltas (the input delta is not needed)."""
        w = [o * i for o, i in self.weights]
        return 2 * sum(w) + 2 * sum(w) + 2 * (sum(w) - w[0])


ARCHS = {
    "784-256-128-10": Arch("784-256-128-10", (784, 256, 128, 10), "relu"),
    "784-256-256-10": Arch("784-256-256-10", (784, 256, 256, 10), "relu"),
    "784-100-10": Arch("784-100-10", (784, 100, 10), "logistic"),
}

# Training samples per throughput epoch (a slice of MNIST), per batch size: enough for a
# stable median, small enough that the slowest framework finishes in seconds.
SLICES = {1: 2000, 32: 10000, 128: 20000, 1024: 30720}
QUICK_SLICES = {1: 500, 32: 3200, 128: 6400, 1024: 10240}
SMOKE_SLICES = {1: 40, 32: 128, 128: 256, 1024: 1024}


def load_data(source: str, n_features: int = 784, seed: int = 0):
    """(X, y, X_test, y_test) float32 in [0, 1] and int64 labels.

    ``source`` is "mnist" (via ``deltaprop.data.datasets.load_mnist``, from ``DELTAPROP_DATA``) or
    "synthetic" (random MNIST-shaped data, for the smoke test where MNIST may be absent).
    """
    if source == "synthetic":
        rng = np.random.default_rng(seed)
        X = rng.random((2048, n_features), dtype=np.float32)
        y = (X[:, :10].argmax(axis=1)).astype(np.int64)
        return X[:1536], y[:1536], X[1536:], y[1536:]
    from deltaprop.data.datasets import load_mnist

    data_dir = os.environ.get("DELTAPROP_DATA")
    d = load_mnist(data_dir=None if data_dir is None else os.path.join(data_dir, "mnist"),
                   download=False, progress=False)
    return (np.ascontiguousarray(d.X, dtype=np.float32), d.y.astype(np.int64),
            np.ascontiguousarray(d.X_test, dtype=np.float32), d.y_test.astype(np.int64))


def initial_network(arch: Arch, seed: int = 0):
    """The deltaprop network every framework starts from (default init for the activation)."""
    import deltaprop as dp

    return dp.mlp(list(arch.sizes), activation=arch.activation, seed=seed, dtype="float32")


def initial_weights(arch: Arch, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W, b), ...] with W of shape (n_out, n_in), as torch.nn.Linear stores it."""
    net = initial_network(arch, seed)
    return [(lay.W.copy(), lay.b.copy()) for lay in net.trainable_layers]


def one_hot(y: np.ndarray, k: int = 10) -> np.ndarray:
    out = np.zeros((len(y), k), dtype=np.float32)
    out[np.arange(len(y)), y] = 1.0
    return out


def cpu_info() -> dict:
    """The CPU's model name and vendor (from /proc/cpuinfo where it exists) and whether
    deltaprop trains with the flush-to-zero flags set (deltaprop.training.denormals)."""
    info = {"model": None, "vendor": None}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and info["model"] is None:
                    info["model"] = value.strip()
                elif key == "vendor_id" and info["vendor"] is None:
                    info["vendor"] = value.strip()
    except OSError:
        pass
    try:
        from deltaprop.training.denormals import DenormalGuard

        info["deltaprop_denormals"] = DenormalGuard("auto").mode
    except ImportError:
        info["deltaprop_denormals"] = None
    return info


#: The regularised recipe of Srivastava et al. 2014 as `deltaprop train --recipe mnist-mlp` runs
#: it: dropout 0.2 on the input and 0.5 on the hidden layers, max-norm 3 on every unit's
#: incoming weights, SGD with momentum 0.9, the rate cosine-decayed over ``epochs``, deskewed
#: images (both frameworks get the same deskewed arrays).
RECIPE = {"sizes": (784, 1024, 1024, 10), "input_dropout": 0.2, "hidden_dropout": 0.5,
          "max_norm": 3.0, "batch_size": 128, "learning_rate": 0.05, "momentum": 0.9,
          "epochs": 90, "schedule": "cosine", "preprocess": "deskew"}


def recipe_data(source: str):
    """(X, y, X_test, y_test) as the recipe trains on them: every image deskewed."""
    from deltaprop.data.deskew import Deskewer

    X, y, Xt, yt = load_data(source)
    deskew = Deskewer((28, 28))
    return deskew.transform(X), y, deskew.transform(Xt), yt


def recipe_network(seed: int = 0):
    """The recipe's deltaprop network: Dropout(0.2), then Dense + ReLU + Dropout(0.5) per hidden
    layer, softmax output."""
    import deltaprop as dp

    sizes = RECIPE["sizes"]
    layers = [dp.Dropout(RECIPE["input_dropout"])]
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = k == len(sizes) - 2
        layers.append(dp.Dense(i, o, activation="softmax" if last else "relu", rng=seed + k))
        if not last:
            layers.append(dp.Dropout(RECIPE["hidden_dropout"]))
    return dp.Network(layers, dtype="float32", seed=seed)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
