"""Averaged weights for evaluation: Polyak averaging and its exponential moving average.

Polyak & Juditsky (1992, "Acceleration of stochastic approximation by averaging") show that the
average of the iterates of stochastic gradient descent, w̄_t = (1/(t + 1)) Σ_{i≤t} w_i, converges
faster than the last iterate w_t, which keeps "bouncing around" the minimum with the gradient
noise (002 §4 "Stochastic vs batch update"). Its exponential moving average
w̄_t = d_t w̄_{t−1} + (1 − d_t) w_t weights recent iterates more; with
d_t = min(d, (1 + t) / (10 + t)) (as TensorFlow's ``ExponentialMovingAverage`` with a step
count) the average follows the weights closely in the first steps instead of remembering the
initial ones.

:class:`WeightAverage` keeps w̄ after every update (of the parameters and of BatchNorm's running
statistics), evaluates the validation data with w̄, and leaves w̄ in the network when training
ends. Its state (w̄, the step count, and the live weights once they have been swapped out) is
checkpointed, so a resumed run ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from deltaprop.checks import check_number
from deltaprop.training.callbacks import Callback

__all__ = ["WeightAverage"]


def _state_arrays(network: Any) -> list[np.ndarray]:
    """The arrays that are averaged: the parameters, then the buffers (running statistics)."""
    return [*network.parameters(), *network.buffers()]


class WeightAverage(Callback):
    """Polyak / exponential-moving average of the weights, used for validation and at the end.

    Parameters
    ----------
    decay : float or None, default 0.999
        d in [0, 1) of the exponential moving average w̄ ← d_t w̄ + (1 − d_t) w with
        d_t = min(d, (1 + t) / (10 + t)) after t updates; ``None`` is Polyak & Juditsky's
        arithmetic mean of all iterates, w̄ ← w̄ + (w − w̄) / (t + 1).
    start : int, default 0
        Completed epochs before the averaging starts (until then w̄ is the current w); useful
        with ``decay=None``, whose mean should skip the first, far-off iterates.
    swap_validation : bool, default True
        Compute the epoch's validation metrics (``val_loss``, ...) with w̄.

    Attributes
    ----------
    averaged : list of ndarray or None
        w̄, aligned with ``network.parameters() + network.buffers()``.
    steps : int
        Updates averaged so far.

    Notes
    -----
    The average is updated after each weight update (``on_batch_end``), so the trainer runs its
    reference steps instead of the compiled fast path. With ``EarlyStopping(restore_best=True)``
    the averaged weights replace the restored ones at the end; use one of the two.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); Y = np.eye(2)[(X[:, 0] > 0) * 1]
    >>> net = dp.mlp([2, 8, 2], seed=0)
    >>> avg = WeightAverage(decay=0.99)
    >>> h = dp.train(net, X, Y, epochs=3, seed=0, verbose=0, callbacks=[avg])
    >>> avg.steps, all(np.array_equal(p, a) for p, a in zip(net.parameters(), avg.averaged))
    (6, True)
    """

    def __init__(self, decay: float | None = 0.999, start: int = 0,
                 swap_validation: bool = True):
        self.decay = check_number("decay", decay, low=0.0, high=1.0, high_open=True,
                                  allow_none=True)
        self.start = check_number("start", start, low=0, integer=True)
        self.swap_validation = bool(swap_validation)
        self.averaged: list[np.ndarray] | None = None
        self.steps = 0
        self.network: Any = None
        self._live: list[np.ndarray] | None = None  # the trained weights, while w̄ is swapped in

    # -- the average -------------------------------------------------------------------------
    def on_train_begin(self, trainer: Any) -> None:
        self.network = trainer.network
        arrays = _state_arrays(self.network)
        if self._live is not None and trainer.resumed:
            # the checkpoint was written after on_train_end swapped w̄ in: go on from w
            for p, w in zip(arrays, self._live, strict=True):
                np.copyto(p, w)
        self._live = None
        if not trainer.resumed or self.averaged is None:
            self.averaged, self.steps = [p.copy() for p in arrays], 0

    def on_batch_end(self, trainer: Any, batch: int, logs: dict[str, Any]) -> None:
        arrays = _state_arrays(trainer.network)
        if trainer.epoch < self.start:
            for a, p in zip(self.averaged, arrays, strict=True):
                np.copyto(a, p)
            return
        t = self.steps
        if self.decay is None:
            rate = 1.0 / (t + 2)  # mean of w_0 (the average so far) ... w_{t+1}
        else:
            rate = 1.0 - min(self.decay, (1.0 + t) / (10.0 + t))
        for a, p in zip(self.averaged, arrays, strict=True):
            a += a.dtype.type(rate) * (p - a)
        self.steps = t + 1

    def on_train_end(self, trainer: Any) -> None:
        if self.averaged is None or self._live is not None:
            return
        arrays = _state_arrays(trainer.network)
        self._live = [p.copy() for p in arrays]
        for p, a in zip(arrays, self.averaged, strict=True):
            np.copyto(p, a)

    @contextmanager
    def swapped(self, network: Any) -> Iterator[None]:
        """Run the ``with`` block with w̄ in ``network`` and put the live weights back after it.

        Examples
        --------
        >>> import deltaprop as dp
        >>> avg = WeightAverage()
        >>> with avg.swapped(dp.mlp([2, 2], seed=0)):  # no average yet: nothing changes
        ...     pass
        """
        if self.averaged is None or self._live is not None:
            yield
            return
        arrays = _state_arrays(network)
        live = [p.copy() for p in arrays]
        try:
            for p, a in zip(arrays, self.averaged, strict=True):
                np.copyto(p, a)
            yield
        finally:
            for p, w in zip(arrays, live, strict=True):
                np.copyto(p, w)

    def averaged_network(self) -> Any:
        """A copy of the trained network holding the averaged weights w̄.

        Returns
        -------
        Network
        """
        if self.averaged is None or self.network is None:
            raise RuntimeError("WeightAverage has no average yet: train with it first")
        clone = self.network.copy()
        for p, a in zip(_state_arrays(clone), self.averaged, strict=True):
            np.copyto(p, a)
        return clone

    # -- checkpoints -------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {f"avg.{i}": a for i, a in enumerate(self.averaged or [])}
        arrays.update({f"live.{i}": w for i, w in enumerate(self._live or [])})
        config = {"decay": self.decay, "start": self.start, "steps": self.steps,
                  "swapped": self._live is not None}
        return config, arrays

    def set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n = sum(1 for k in arrays if k.startswith("avg."))
        self.averaged = [np.array(arrays[f"avg.{i}"]) for i in range(n)] if n else None
        self.steps = int(config["steps"])
        self._live = ([np.array(arrays[f"live.{i}"]) for i in range(n)]
                      if config.get("swapped") else None)

    def __repr__(self) -> str:
        return f"WeightAverage(decay={self.decay!r}, start={self.start})"
