"""Callbacks: hooks into the training loop, and the History of a run.

The stopping criteria of the notes (002 §3 end, 002 §5), learning-rate schedules and
checkpoints are all callbacks, so a user callback has exactly the same powers.

Protocol (every hook is a no-op by default; override the ones you need)::

    on_train_begin(trainer)                 before the first epoch (also when resuming)
    on_epoch_begin(trainer, epoch)          epoch counts from 1
    on_batch_end(trainer, batch, logs)      logs: {"batch", "size", "loss"}; batch counts from 0
    on_epoch_end(trainer, epoch, logs)      logs: the epoch's History entry; may add keys
    on_train_end(trainer)                   after the last epoch, also after an early stop

Setting ``trainer.stop_training = True`` (and ``trainer.stop_reason``) stops training after the
current epoch. A callback whose state must survive a checkpoint (patience counters, best
weights) implements ``get_state() -> (dict, arrays)`` and ``set_state(dict, arrays)``.
The trainer exposes ``network``, ``optimizer``, ``history``, ``learning_rate`` (the initial
rate), ``epoch`` (completed epochs), ``epochs`` (the target) and ``resumed``.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.training.schedules import Schedule

__all__ = [
    "Callback",
    "History",
    "EarlyStopping",
    "GradientNormStopping",
    "LossChangeStopping",
    "LearningRateScheduler",
    "ProgressBar",
]


class Callback:
    """Base class of training callbacks; see the module docstring for the protocol."""

    def on_train_begin(self, trainer: Any) -> None:
        """Called once before the first epoch of ``fit`` (and of a resumed fit)."""

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        """Called before epoch ``epoch`` (1-based)."""

    def on_batch_end(self, trainer: Any, batch: int, logs: dict[str, Any]) -> None:
        """Called after each weight update (only if overridden, to keep the loop lean)."""

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        """Called after epoch ``epoch`` with its History entry ``logs``."""

    def on_train_end(self, trainer: Any) -> None:
        """Called once after training stops."""

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """State to keep in a checkpoint (nothing by default)."""
        return {}, {}

    def set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned."""


class History:
    """Per-epoch record of a training run.

    Attributes
    ----------
    epochs : list of dict
        One dict per epoch: ``epoch`` (1-based), ``loss`` (training objective E' including the
        L1/L2 penalty), ``accuracy`` or ``r2`` (training), ``val_loss``/``val_accuracy``/
        ``val_r2`` (None without validation data), ``learning_rate``, ``time`` (wall seconds),
        ``grad_norm`` and ``grad_norms`` (Euclidean norm of the gradient, overall and per
        layer with parameters, BatchNorm included, averaged over the epoch's updates), plus
        keys callbacks add.
    best_epoch : int or None
        Epoch with the best monitored value (early stopping), else with the lowest val_loss
        (or loss).
    stop_reason : str or None
        Why training stopped ("max_epochs", "early_stopping", ...).

    Examples
    --------
    >>> h = History([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}])
    >>> h["loss"], History.from_dict(h.to_dict())["epoch"]
    ([0.5, 0.25], [1, 2])
    """

    def __init__(self, epochs: list[dict[str, Any]] | None = None,
                 best_epoch: int | None = None, stop_reason: str | None = None):
        self.epochs: list[dict[str, Any]] = list(epochs) if epochs else []
        self.best_epoch = best_epoch
        self.stop_reason = stop_reason

    def __getitem__(self, key: str) -> list[Any]:
        """The values of ``key`` over the epochs (None where an epoch lacks it)."""
        if not any(key in e for e in self.epochs):
            raise KeyError(f"no epoch has {key!r}; keys: {sorted(self.keys())}")
        return [e.get(key) for e in self.epochs]

    def keys(self) -> list[str]:
        """All keys present in at least one epoch, in first-seen order."""
        seen: dict[str, None] = {}
        for e in self.epochs:
            seen.update(dict.fromkeys(e))
        return list(seen)

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        return (f"History({len(self.epochs)} epochs, best_epoch={self.best_epoch}, "
                f"stop_reason={self.stop_reason!r})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict ``{"epochs": [...], "best_epoch": ..., "stop_reason": ...}``."""
        return {"epochs": [_jsonable(e) for e in self.epochs],
                "best_epoch": self.best_epoch, "stop_reason": self.stop_reason}

    def to_json(self, path: str | None = None, **kwargs: Any) -> str:
        """Serialize :meth:`to_dict` as JSON; also write it to ``path`` if given."""
        text = json.dumps(self.to_dict(), allow_nan=False, **kwargs)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls([dict(e) for e in d["epochs"]], d.get("best_epoch"), d.get("stop_reason"))
        except (KeyError, TypeError) as exc:
            raise InputError(f"not a History dict: {exc}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


class LearningRateScheduler(Callback):
    """Set ``trainer.optimizer.learning_rate`` from a
    :class:`~deltaprop.training.schedules.Schedule`
    before every epoch, and feed it the epoch logs afterwards (for ReduceOnPlateau)."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule

    def on_train_begin(self, trainer: Any) -> None:
        if not trainer.resumed or self.schedule.initial is None:
            self.schedule.start(trainer.learning_rate)
            self.schedule.horizon(trainer.epochs)

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        trainer.optimizer.learning_rate = self.schedule.rate(epoch - 1)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self.schedule.observe(epoch - 1, logs)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.schedule.get_state()

    def set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.schedule = Schedule.from_state(config, arrays)


class EarlyStopping(Callback):
    """Stop when the validation score has not improved for ``patience`` epochs, and restore
    the weights of the best epoch (002 §5 "early stopping": stop "once the classification
    accuracy on the validation data has saturated"; keep the weights that did best).

    Parameters
    ----------
    monitor : str
        Log key to watch, e.g. "val_loss" (default) or "val_accuracy".
    patience : int
        Epochs without improvement before stopping ("continue training a little more to be
        confident that the accuracy has in fact saturated", 002 §5).
    min_delta : float
        Smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        "auto" maximizes keys containing "acc" or "r2" and minimizes the rest.
    restore_best : bool
        Copy the best epoch's weights (and BatchNorm's running statistics) back into the
        network when training ends.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 0:
            raise InputError(f"patience must be an integer >= 0, got {patience!r}")
        if mode not in ("auto", "min", "max"):
            raise InputError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "r2" in monitor) else "min"
        self.sign = 1.0 if mode == "min" else -1.0
        self.restore_best = bool(restore_best)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, trainer: Any) -> None:
        if not trainer.resumed:
            self._reset()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            raise InputError(f"early stopping monitors {self.monitor!r} but the epoch logs "
                             f"have only {sorted(k for k, v in logs.items() if v is not None)}")
        if self.best is None or self.sign * (value - self.best) < -self.min_delta:
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            params = [*trainer.network.parameters(), *trainer.network.buffers()]
            if self.best_weights is None:
                self.best_weights = [p.copy() for p in params]
            else:
                for b, p in zip(self.best_weights, params, strict=True):
                    np.copyto(b, p)
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True
                trainer.stop_reason = "early_stopping"
        trainer.history.best_epoch = self.best_epoch

    def on_train_end(self, trainer: Any) -> None:
        if self.restore_best and self.best_weights is not None:
            net = trainer.network  # the running statistics of BatchNorm belong to the weights
            for p, b in zip([*net.parameters(), *net.buffers()], self.best_weights, strict=True):
                np.copyto(p, b)
        if self.best_epoch is not None:
            trainer.history.best_epoch = self.best_epoch

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}
        arrays = {f"w{i}": w for i, w in enumerate(self.best_weights or [])}
        return config, arrays

    def set_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.best, self.best_epoch, self.wait = config["best"], config["best_epoch"], config["wait"]
        n = len(arrays)
        self.best_weights = [np.array(arrays[f"w{i}"]) for i in range(n)] if n else None


class GradientNormStopping(Callback):
    """Stop when the Euclidean norm of the gradient falls below ``threshold`` (002 §3: "when
    the Euclidean norm of the gradient vector reaches a sufficiently small gradient
    threshold"). Uses the epoch's ``grad_norm`` (exact for full-batch training; with
    mini-batches it is the mean per-batch norm, which stays above the noise floor)."""

    def __init__(self, threshold: float):
        if not threshold > 0:
            raise InputError(f"grad_tol must be > 0, got {threshold!r}")
        self.threshold = float(threshold)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if logs["grad_norm"] < self.threshold:
            trainer.stop_training = True
            trainer.stop_reason = "grad_tol"


class LossChangeStopping(Callback):
    """Stop when the average training loss changes by less than ``tol`` between two epochs
    (002 §3: "when the absolute rate of change in the average squared error per epoch is
    sufficiently small")."""

    def __init__(self, tol: float):
        if not tol > 0:
            raise InputError(f"tol must be > 0, got {tol!r}")
        self.tol = float(tol)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        epochs = trainer.history.epochs
        if len(epochs) >= 2 and abs(epochs[-1]["loss"] - epochs[-2]["loss"]) < self.tol:
            trainer.stop_training = True
            trainer.stop_reason = "tol"


#: A terminal narrower than this (some report 0 columns) gets lines instead of a bar.
MIN_BAR_COLUMNS = 40


def _too_narrow(stream: Any) -> bool:
    """True when ``stream``'s terminal reports fewer than :data:`MIN_BAR_COLUMNS` columns: a
    bar would be cut to nothing there."""
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns < MIN_BAR_COLUMNS
    except (AttributeError, OSError, ValueError):
        return False  # no size to go by: tqdm finds its own


class ProgressBar(Callback):
    """Report the epochs on standard error (or ``stream``): a tqdm bar or one line per epoch.

    Parameters
    ----------
    verbose : int, default 1
        0: silent. 1: on a terminal, a tqdm bar over the epochs with the live loss and
        accuracy (or R²); otherwise (CI logs, output redirected to a file, a terminal that
        reports fewer than ``MIN_BAR_COLUMNS`` columns, as some report 0) one line per
        epoch, at most every ``max(1, epochs // 20)`` epochs plus the last one, so that long
        runs do not flood the log. 2: a line after every epoch, also on a terminal (no bar).
    stream : file-like, optional
        Where to write; default ``sys.stderr`` (looked up when training starts).

    Examples
    --------
    >>> import io, numpy as np, deltaprop as dp
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); Y = np.array([[0], [1], [1], [0]])
    >>> log = io.StringIO()  # not a terminal: lines, thinned to every 40 // 20 = 2 epochs
    >>> h = dp.train(dp.mlp([2, 4, 1], seed=0), X, Y, epochs=40, seed=0, verbose=0,
    ...              callbacks=[ProgressBar(stream=log)])
    >>> lines = log.getvalue().splitlines()
    >>> len(lines), [line.split()[1] for line in lines[:2]], lines[-1].split()[:3]
    (20, ['2/40', '4/40'], ['epoch', '40/40', 'loss'])
    """

    # Keys shown on the bar and in the lines (in this order), when an epoch has them.
    _KEYS = ("loss", "accuracy", "r2", "val_loss", "val_accuracy", "val_r2")

    def __init__(self, verbose: int = 1, stream: Any = None):
        self.verbose = verbose
        self.stream = stream
        self.bar = None
        self._out: Any = None  # the stream the lines go to, None when not writing lines
        self._pending: tuple[int, int, dict[str, Any]] | None = None

    def on_train_begin(self, trainer: Any) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        self.bar, self._out, self._pending = None, None, None
        if self.verbose == 0:
            return
        isatty = getattr(stream, "isatty", None)
        if self.verbose >= 2 or isatty is None or not isatty() or _too_narrow(stream):
            self._out = stream
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.epochs, initial=trainer.epoch, unit="epoch",
                        file=stream, dynamic_ncols=True, leave=True)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if self._out is not None:
            # trainer.epochs is read here, not at on_train_begin: partial_fit moves it on.
            total = trainer.epochs
            every = 1 if self.verbose >= 2 else max(1, total // 20)
            if epoch % every == 0 or epoch >= total:
                self._write(epoch, total, logs)
            else:  # printed at on_train_end if this turns out to be the last epoch
                self._pending = (epoch, total, logs)
            return
        if self.bar is None:
            return
        post = {k: f"{logs[k]:.4g}" for k in self._KEYS if logs.get(k) is not None}
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(1)

    def on_train_end(self, trainer: Any) -> None:
        # A run that stops early (or fails) ends on an epoch the thinning skipped: show it.
        if self._out is not None and self._pending is not None:
            self._write(*self._pending)
        self._pending = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _write(self, epoch: int, total: int, logs: dict[str, Any]) -> None:
        self._pending = None
        self._out.write(self._line(epoch, total, logs) + "\n")
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()  # CI runners show the log live only if it is flushed

    def _line(self, epoch: int, total: int, logs: dict[str, Any]) -> str:
        """``epoch  3/10  loss 0.2314  accuracy 0.9313  val_loss ...  lr 0.01  1.2s``."""
        parts = [f"epoch {epoch:>{len(str(total))}}/{total}"]
        for key in self._KEYS:
            value = logs.get(key)
            if value is not None:
                # losses have no fixed scale (4 significant digits, trailing zeros kept so the
                # columns line up); scores are ~[0, 1]
                parts.append(f"{key} {value:#.4g}" if "loss" in key else f"{key} {value:.4f}")
        if logs.get("learning_rate") is not None:
            parts.append(f"lr {logs['learning_rate']:.4g}")
        seconds = logs.get("time")
        if seconds is not None:
            parts.append(f"{seconds:.1f}s" if seconds >= 1 else f"{seconds * 1e3:.3g}ms")
        return "  ".join(parts)
