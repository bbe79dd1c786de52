"""scikit-learn's stopping rule and its 'adaptive' learning rate as deltaprop training-loop
pieces (a :class:`~deltaprop.training.schedules.Schedule` and a
:class:`~deltaprop.training.callbacks.Callback`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop.training.callbacks import Callback
from deltaprop.training.schedules import Schedule


class _AdaptiveRate(Schedule):
    """Constant rate that :class:`_SklearnStopping` divides by 5 ('adaptive', sgd only)."""

    name = "constant"

    def start(self, learning_rate: float) -> None:
        super().start(learning_rate)
        self.current = float(learning_rate)

    def rate(self, t: int) -> float:
        return self.current


class _SklearnStopping(Callback):
    """scikit-learn's stopping rule: more than ``n_iter_no_change`` epochs in a row without an
    improvement of ``tol`` in the training loss (or in the validation score when
    ``val_key`` is given) stop training, or, with an :class:`_AdaptiveRate`, divide the rate
    by 5 until it falls below 1e-6."""

    def __init__(self, tol: float, n_iter_no_change: int, val_key: str | None,
                 adaptive: _AdaptiveRate | None, verbose: bool, best_loss: float = math.inf):
        self.tol, self.n_iter_no_change, self.val_key = tol, n_iter_no_change, val_key
        self.adaptive, self.verbose = adaptive, verbose
        self.best_loss, self.best_score, self.count = best_loss, -math.inf, 0
        self.scores: list[float] = []
        self.best_params: list[np.ndarray] | None = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        loss = logs["loss"]
        if self.verbose:
            print(f"Iteration {epoch}, loss = {loss:.8f}")
        if self.val_key is not None:
            score = float(logs[self.val_key])
            self.scores.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            self.count = self.count + 1 if score < self.best_score + self.tol else 0
            if score > self.best_score:
                self.best_score = score
                self.best_params = [p.copy() for p in trainer.network.parameters()]
        else:
            self.count = self.count + 1 if loss > self.best_loss - self.tol else 0
            self.best_loss = min(self.best_loss, loss)
        if self.count <= self.n_iter_no_change:
            return
        what = "Validation score" if self.val_key else "Training loss"
        if self.adaptive is not None and self.adaptive.current > 1e-6:
            self.adaptive.current /= 5.0
            self.count = 0
            if self.verbose:
                print(f"{what} did not improve more than tol={self.tol} for "
                      f"{self.n_iter_no_change} consecutive epochs. Setting learning rate to "
                      f"{self.adaptive.current:f}")
            return
        if self.verbose:
            print(f"{what} did not improve more than tol={self.tol} for "
                  f"{self.n_iter_no_change} consecutive epochs. Stopping.")
        trainer.stop_training, trainer.stop_reason = True, "no_improvement"

