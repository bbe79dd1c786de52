"""Monitor callbacks: write per-layer diagnostics into every epoch of the History.

001 "Saturation of a neuron": "If your NN doesn't update fast enough ..., monitor whether your
run into saturation". These callbacks compute the numbers of :mod:`deltaprop.inspection.diagnostics`
after every epoch (on a fixed probe batch, in inference mode) and add them to the epoch's
logs, so they are stored in the :class:`~deltaprop.training.callbacks.History`, saved with it and
can
be plotted with :func:`deltaprop.viz.figures.plot_layer_curves`.

Log keys (``i`` is the layer's index in ``network.layers``)::

    grad_norm/layer{i}     ‖∂L/∂W‖ (GradientNormMonitor)            000 §9.3
    saturation/layer{i}    fraction of activations near a limit      001 "Saturation of a neuron"
    dead_relu/layer{i}     fraction of units with φ' = 0 on the batch  000 §9.3.2
    inactive/layer{i}      fraction of units with a ≤ 0 on the batch   000 §9.3.2
    weight_norm/layer{i}   ‖W‖ (WeightNormMonitor)                   002 §6

Each monitor also records the values before training in ``monitor.initial`` (epoch 0).

Examples
--------
>>> import numpy as np, deltaprop as dp
>>> from deltaprop.inspection.monitors import SaturationMonitor, WeightNormMonitor
>>> from deltaprop.training.trainer import train
>>> X = np.random.default_rng(0).normal(size=(40, 3)); Y = (X[:, :1] > 0).astype(float)
>>> net = dp.mlp([3, 8, 1], activation="tanh", seed=0)
>>> h = train(net, X, Y, epochs=2, callbacks=[SaturationMonitor(X), WeightNormMonitor()],
...           verbose=0)
>>> [k for k in h.keys() if "/" in k]
['saturation/layer0', 'weight_norm/layer0', 'weight_norm/layer1']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from deltaprop.checks import as_generator
from deltaprop.errors import InputError
from deltaprop.inspection import diagnostics
from deltaprop.training.callbacks import Callback

__all__ = [
    "Monitor",
    "GradientNormMonitor",
    "SaturationMonitor",
    "DeadReLUMonitor",
    "WeightNormMonitor",
    "monitor_keys",
    "layer_series",
]


def monitor_keys(prefix: str, values: dict[int, float]) -> dict[str, float]:
    """``{layer index: value}`` → ``{"prefix/layer{i}": value}``."""
    return {f"{prefix}/layer{i}": float(v) for i, v in values.items()}


def layer_series(history: Any, prefix: str) -> dict[int, list[float | None]]:
    """``{layer index: [value per epoch]}`` for the keys ``prefix/layer{i}`` of a History."""
    epochs = history.epochs if hasattr(history, "epochs") else list(history)
    out: dict[int, list[float | None]] = {}
    for key in dict.fromkeys(k for e in epochs for k in e):
        head, _, tail = key.partition("/layer")
        if head == prefix and tail.isdigit():
            out[int(tail)] = [e.get(key) for e in epochs]
    return dict(sorted(out.items()))


def _subsample(X: Any, Y: Any, max_samples: int | None, seed: int) -> tuple[Any, Any]:
    if X is None:
        return None, None
    X = np.asarray(X)
    if X.ndim != 2:
        raise InputError(f"monitor data X must be 2-D (samples × features), got {X.shape}")
    if Y is not None:
        Y = np.asarray(Y)
        if Y.ndim != 2 or len(Y) != len(X):
            raise InputError(f"monitor targets Y must be 2-D with {len(X)} rows, got {Y.shape}; "
                             "one-hot class labels with deltaprop.data.preprocessing.one_hot")
    if max_samples is not None and len(X) > max_samples:
        idx = np.sort(as_generator(seed).choice(len(X), max_samples, replace=False))
        X = X[idx]
        Y = None if Y is None else Y[idx]
    return X, Y


class Monitor(Callback, ABC):
    """Base class: computes ``measure(network) -> {key: value}`` at train begin and after
    every ``every``-th epoch, adding the values to the epoch logs.

    Parameters
    ----------
    X, Y : array-like, optional
        Probe batch; a fixed random subset of ``max_samples`` rows is used (so the numbers
        of different epochs are comparable and cheap).
    every : int
        Measure every ``every`` epochs (the other epochs get no keys).
    max_samples : int or None
    seed : int
        Seed of the subset.
    """

    def __init__(self, X: Any = None, Y: Any = None, *, every: int = 1,
                 max_samples: int | None = 512, seed: int = 0):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InputError(f"every must be a positive integer, got {every!r}")
        self.X, self.Y = _subsample(X, Y, max_samples, seed)
        self.every = every
        self.initial: dict[str, float] = {}

    @abstractmethod
    def measure(self, network: Any) -> dict[str, float]:
        """The values to log, keyed like ``grad_norm/layer0``."""

    def _probe(self, network: Any) -> Any:
        return None if self.X is None else np.asarray(self.X, dtype=network.dtype)

    def on_train_begin(self, trainer: Any) -> None:
        self.initial = self.measure(trainer.network)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if epoch % self.every == 0:
            logs.update(self.measure(trainer.network))


class GradientNormMonitor(Monitor):
    """``grad_norm/layer{i}`` = ‖∂L/∂W^l‖ per trainable layer (000 §9.3).

    With probe data (X, Y) the gradient is recomputed on it after the epoch's updates; without,
    the trainer's own ``grad_norms`` (mean per-update norm over the epoch, weights and biases,
    after clipping) is copied per layer.
    """

    def __init__(self, X: Any = None, Y: Any = None, **kwargs: Any):
        if (X is None) != (Y is None):
            raise InputError("GradientNormMonitor needs both X and Y, or neither")
        super().__init__(X, Y, **kwargs)

    def measure(self, network: Any) -> dict[str, float]:
        if self.X is None:
            return {}
        Y = np.asarray(self.Y, dtype=network.dtype)
        return monitor_keys("grad_norm", diagnostics.gradient_norms(network, self._probe(network),
                                                                    Y))

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if epoch % self.every:
            return
        if self.X is None:
            # grad_norms has one entry per layer with parameters (BatchNorm's γ, β included)
            layers = sorted({i.layer_index for i in trainer.network.parameter_info()})
            norms = logs.get("grad_norms") or []
            logs.update({f"grad_norm/layer{index}": float(v)
                         for index, v in zip(layers, norms, strict=False)})
        else:
            logs.update(self.measure(trainer.network))


class SaturationMonitor(Monitor):
    """``saturation/layer{i}``: fraction of hidden activations within ``eps`` of their limits
    (001 "Saturation of a neuron"); NaN for unbounded activations (stored as null in JSON)."""

    def __init__(self, X: Any, *, eps: float = diagnostics.DEFAULT_EPS, **kwargs: Any):
        if X is None:
            raise InputError("SaturationMonitor needs a probe batch X")
        super().__init__(X, None, **kwargs)
        self.eps = eps

    def measure(self, network: Any) -> dict[str, float]:
        return monitor_keys("saturation",
                            diagnostics.saturation_fractions(network, self._probe(network),
                                                             eps=self.eps))


class DeadReLUMonitor(Monitor):
    """``dead_relu/layer{i}`` (φ' = 0 on every probe sample) and ``inactive/layer{i}``
    (a ≤ 0 on every probe sample) for hidden ReLU, leaky-ReLU and ELU layers (000 §9.3.2)."""

    def __init__(self, X: Any, **kwargs: Any):
        if X is None:
            raise InputError("DeadReLUMonitor needs a probe batch X")
        super().__init__(X, None, **kwargs)

    def measure(self, network: Any) -> dict[str, float]:
        X = self._probe(network)
        return {**monitor_keys("dead_relu", diagnostics.dead_unit_fractions(network, X)),
                **monitor_keys("inactive", diagnostics.inactive_unit_fractions(network, X))}


class WeightNormMonitor(Monitor):
    """``weight_norm/layer{i}`` = ‖W^l‖ per trainable layer (needs no data)."""

    def __init__(self, **kwargs: Any):
        super().__init__(None, None, **kwargs)

    def measure(self, network: Any) -> dict[str, float]:
        return monitor_keys("weight_norm", diagnostics.weight_norms(network))
