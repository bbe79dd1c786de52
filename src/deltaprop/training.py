"""The training loop: batching, regularization, clipping, stopping, checkpoints (000 §9.2, 002).

One update step is::

    forward (dropout masks from the trainer's generator) -> loss -> backward
    g <- g + lambda_2 w + lambda_1 sgn(w)          (weights only, 002 §6)
    clip g to [-c, c] (000 §9.3.3) and/or rescale it to global norm <= c
    optimizer.step(w, g)                           (in place, deltaprop.optimizers)
    rescale each neuron's incoming weights to norm <= max_norm

Batching (000 §9.2.2, 002 §4, 004 "full batch, stochastic and online"): ``batch_size=1`` is
online SGD that draws a random pair for every step (000 Algorithm 9.1, N steps per epoch);
an integer ``B`` is mini-batch SGD over a fresh permutation each epoch; ``"full"`` is batch
gradient descent, one update per epoch with every pair computed with the same parameters.

Every random draw of an epoch (permutation, online picks, hard-example sampling, dropout,
augmentation) comes from one ``numpy.random.Generator`` whose state is checkpointed at epoch
boundaries, so a resumed run ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from deltaprop.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormStopping,
    History,
    LearningRateScheduler,
    LossChangeStopping,
    ProgressBar,
)
from deltaprop.errors import DivergenceError, InputError
from deltaprop.fastpath import FastLoop, supports
from deltaprop.network import check_array
from deltaprop.optimizers import (
    Adam,
    GradientDescent,
    Momentum,
    Optimizer,
    get_optimizer,
    learning_rate_multipliers,
)
from deltaprop.regularization import (
    add_penalty_gradients,
    apply_max_norm,
    clip_by_norm,
    clip_by_value,
    penalty,
)
from deltaprop.schedules import get_schedule

__all__ = ["Trainer", "train", "History"]

_OPTIMIZER_NAMES = ("sgd", "gd", "gradient_descent", "momentum", "nesterov", "adam")
_HARD_MIX = 0.5  # hard sampling: p_n = 0.5 * l_n / sum(l) + 0.5 / N (every pair stays drawable)


def _opt_float(name: str, value: Any, *, positive: bool = True) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or None, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise InputError(f"{name} must be a finite number {'>' if positive else '>='} 0, "
                         f"got {value!r}")
    return v


class Trainer:
    """Trains a :class:`~deltaprop.network.Network` by backpropagation.

    Parameters
    ----------
    network : Network
    optimizer : {"sgd", "momentum", "nesterov", "adam"} or Optimizer
        "sgd" with ``momentum > 0`` is the momentum method (002 §6). An Optimizer instance is
        used as is (its own learning rate is the initial rate).
    learning_rate : float
        eta (initial value when a schedule is given).
    momentum : float
        mu of the momentum method (default 0.9 for "momentum"/"nesterov").
    nesterov : bool
    batch_size : int or "full"
        1: online SGD with a random pair per step; B: mini-batches of a reshuffled epoch
        (clamped to N); "full": one full-batch gradient step per epoch.
    schedule : None, str or Schedule
        See :mod:`deltaprop.schedules` ("step", "exponential", "inverse", "plateau").
    clip_value : float, optional
        Clip every gradient component to [-clip_value, clip_value] (000 §9.3.3).
    clip_norm : float, optional
        Rescale the whole gradient vector to Euclidean norm <= clip_norm.
    l1, l2 : float
        Weight penalties lambda ||w||_1 and lambda/2 ||w||^2 (002 §6), biases excluded.
        They are added to the gradient, and to the reported ``loss``.
    max_norm : float, optional
        After each step, rescale every neuron's incoming weight vector to norm <= max_norm.
    layer_learning_rates : None, "fan_in" or list of float
        Per-layer learning-rate factors; "fan_in" is eta_l = eta / sqrt(fan_in) (002 §4).
    sampling : {"uniform", "hard"}
        "hard" draws the pairs of each epoch with probability increasing with their current
        loss, 0.5 l_n / sum(l) + 0.5 / N ("maximizing information content", 002 §4).
    augment : callable, optional
        ``augment(X_batch, rng) -> X_batch`` applied to every training batch.
    callbacks : sequence of Callback
    verbose : int
        0: silent; 1: a progress bar on a terminal, otherwise (CI logs, redirected output) one
        line per epoch on stderr, at most every ``max(1, epochs // 20)`` epochs plus the last;
        2: a line after every epoch, also on a terminal (:class:`~deltaprop.callbacks.ProgressBar`).
    seed : int, optional
        Seeds every random draw of the loop: two runs with one seed are bit-identical.
    checkpoint_every : int, optional
        Write a checkpoint every this many epochs (and when training ends).
    checkpoint_path : str or Path, optional

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); Y = np.array([[0], [1], [1], [0]])
    >>> net = dp.mlp([2, 8, 1], activation="tanh", seed=0)
    >>> hist = Trainer(net, optimizer="adam", learning_rate=0.05, batch_size="full", seed=0,
    ...                verbose=0).fit(X, Y, epochs=300)
    >>> hist.epochs[-1]["accuracy"]
    1.0
    """

    def __init__(self, network: Any, *, optimizer: str | Optimizer = "sgd",
                 learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 batch_size: int | str = 32, schedule: Any = None,
                 clip_value: float | None = None, clip_norm: float | None = None,
                 l1: float = 0.0, l2: float = 0.0, max_norm: float | None = None,
                 layer_learning_rates: None | str | Sequence[float] = None,
                 sampling: str = "uniform", augment: Callable | None = None,
                 callbacks: Sequence[Callback] = (), verbose: int = 1, seed: int | None = None,
                 checkpoint_every: int | None = None, checkpoint_path: Any = None):
        self.network = network
        if not isinstance(optimizer, Optimizer | str):
            raise InputError(f"optimizer must be a name or an Optimizer, got {optimizer!r}")
        self.optimizer_spec = optimizer
        if isinstance(optimizer, str) and optimizer.lower() not in _OPTIMIZER_NAMES:
            get_optimizer(optimizer)  # raises InputError naming the known optimizers
        self.learning_rate = (optimizer.learning_rate if isinstance(optimizer, Optimizer)
                              else _opt_float("learning_rate", learning_rate, positive=False))
        self.momentum = _opt_float("momentum", momentum, positive=False)
        if self.momentum >= 1:
            raise InputError(f"momentum must be in [0, 1), got {momentum!r}")
        self.nesterov = bool(nesterov)
        if batch_size != "full" and (isinstance(batch_size, bool)
                                     or not isinstance(batch_size, int | np.integer)
                                     or batch_size < 1):
            raise InputError(f"batch_size must be an integer >= 1 or 'full', got {batch_size!r}")
        self.batch_size = batch_size
        self.schedule = get_schedule(schedule)
        self.clip_value = _opt_float("clip_value", clip_value)
        self.clip_norm = _opt_float("clip_norm", clip_norm)
        self.l1 = _opt_float("l1", l1, positive=False)
        self.l2 = _opt_float("l2", l2, positive=False)
        self.max_norm = _opt_float("max_norm", max_norm)
        self.multipliers = learning_rate_multipliers(network.parameter_info(),
                                                     layer_learning_rates)
        if sampling not in ("uniform", "hard"):
            raise InputError(f"sampling must be 'uniform' or 'hard', got {sampling!r}")
        if sampling == "hard" and batch_size == "full":
            raise InputError("sampling='hard' needs batch_size=1 or mini-batches: a full batch "
                             "always uses every pair once")
        self.sampling = sampling
        if augment is not None and not callable(augment):
            raise InputError(f"augment must be callable augment(X_batch, rng), got {augment!r}")
        self.augment = augment
        self.user_callbacks = list(callbacks)
        for cb in self.user_callbacks:
            if not isinstance(cb, Callback):
                raise InputError(f"callbacks must be Callback instances, got {cb!r}")
        self.verbose = int(verbose)
        self.seed = seed
        if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or not isinstance(
                checkpoint_every, int | np.integer) or checkpoint_every < 1):
            raise InputError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
        if checkpoint_every is not None and checkpoint_path is None:
            raise InputError("checkpoint_every needs a checkpoint_path")
        self.checkpoint_every, self.checkpoint_path = checkpoint_every, checkpoint_path
        self.history = History()
        self.optimizer: Optimizer | None = None
        self.rng: np.random.Generator | None = None
        self.epoch, self.epochs = 0, 0
        self.stop_training, self.stop_reason, self.resumed = False, None, False
        self.callbacks: list[Callback] = []
        self.val_indices: np.ndarray | None = None
        self._fast = None  # the FastLoop of the fast path (see _fast_loop)
        self._allow_fast = True  # private switch: False forces the reference loop (tests)
        self._gather_bufs: dict = {}

    # -- setup ---------------------------------------------------------------------------
    def _make_optimizer(self) -> Optimizer:
        spec = self.optimizer_spec
        if isinstance(spec, Optimizer):
            if self.multipliers is not None:
                spec.multipliers = self.multipliers
            spec.reset()
            return spec
        name = spec.lower()
        if name in ("sgd", "gd", "gradient_descent") and self.momentum == 0 and not self.nesterov:
            return GradientDescent(self.learning_rate, self.multipliers)
        if name in ("sgd", "gd", "gradient_descent", "momentum", "nesterov"):
            mu = self.momentum or 0.9
            return Momentum(self.learning_rate, mu, self.nesterov or name == "nesterov",
                            self.multipliers)
        return Adam(self.learning_rate, multipliers=self.multipliers)

    def _build_callbacks(self, early_stopping: Any, patience: int, tol: Any, grad_tol: Any,
                         has_validation: bool) -> list[Callback]:
        cbs: list[Callback] = [LearningRateScheduler(self.schedule)]
        if early_stopping:
            monitor = early_stopping if isinstance(early_stopping, str) else "val_loss"
            if monitor.startswith("val_") and not has_validation:
                raise InputError("early_stopping needs validation data: pass validation_data="
                                 "(X_val, Y_val) or validation_split=0.2 (002 §5 hold-out)")
            cbs.append(EarlyStopping(monitor=monitor, patience=patience))
        if tol is not None:
            cbs.append(LossChangeStopping(tol))
        if grad_tol is not None:
            cbs.append(GradientNormStopping(grad_tol))
        cbs.append(ProgressBar(self.verbose))
        cbs.extend(self.user_callbacks)
        if self.checkpoint_path is not None:
            from deltaprop.checkpoint import ModelCheckpoint

            cbs.append(ModelCheckpoint(self.checkpoint_path, self.checkpoint_every))
        return cbs

    def _check_data(self, X: Any, Y: Any, sample_weight: Any, name: str = "") -> tuple:
        net = self.network
        X = check_array(X, f"X{name}", net.n_inputs, net.dtype)
        if np.ndim(Y) == 1:
            raise InputError(
                f"Y{name} is 1-D with shape {np.shape(Y)}, but the network wants targets of "
                f"shape (N, {net.n_outputs}): one-hot class labels with "
                "deltaprop.preprocessing.one_hot(y), or use y.reshape(-1, 1) for one output")
        Y = check_array(Y, f"Y{name}", net.n_outputs, net.dtype, what="outputs")
        if len(X) != len(Y):
            raise InputError(f"X{name} has {len(X)} rows but Y{name} has {len(Y)}")
        lo, hi = net.output_activation.bounds
        bad = np.argwhere((Y < lo) | (Y > hi))
        if bad.size:
            r, c = (int(i) for i in bad[0])
            raise InputError(f"Y{name}[{r}, {c}] = {Y[r, c]:g} lies outside [{lo:g}, {hi:g}], the "
                             f"range of the output activation (002 §4 'Target values')")
        net.loss.validate_targets(Y)
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=net.dtype)
            if sw.shape != (len(X),):
                raise InputError(f"sample_weight has shape {sw.shape}, expected ({len(X)},)")
            if not np.isfinite(sw).all() or (sw < 0).any() or sw.sum() <= 0:
                raise InputError("sample_weight must be finite, non-negative, not all zero")
            sample_weight = sw
        return X, Y, sample_weight

    def _start(self, X: np.ndarray) -> None:
        """Fresh state for a new run: generator, optimizer, history, buffers."""
        self.rng = np.random.default_rng(self.seed)
        self.optimizer = self._make_optimizer()
        self.history = History()
        self.epoch, self.stop_training, self.stop_reason, self.resumed = 0, False, None, False

    def _prepare_loop(self, n: int) -> None:
        net = self.network
        self._params, self._grads = net.parameters(), net.gradients()
        info = net.parameter_info()
        layers = sorted({i.layer_index for i in info})
        self._layer_pos = [layers.index(i.layer_index) for i in info]
        self._n_layers = len(layers)
        self._is_weight = [i.kind == "W" for i in info]
        self._reg_buf = [np.empty_like(p) if w else None
                         for p, w in zip(self._params, self._is_weight, strict=True)]
        self._snapshot = [p.copy() for p in self._params]
        bounds = net.output_activation.bounds
        self._threshold = (0.5 if not all(map(math.isfinite, bounds)) else sum(bounds) / 2)
        self._softmax_like = net.output_activation.name != "logistic" and net.n_outputs > 1
        self._batch_cbs = [cb for cb in self.callbacks
                           if type(cb).on_batch_end is not Callback.on_batch_end]

    # -- public API ----------------------------------------------------------------------
    def fit(self, X: Any, Y: Any, *, epochs: int = 100, validation_data: tuple | None = None,
            validation_split: float = 0.0, early_stopping: bool | str = False, patience: int = 10,
            tol: float | None = None, grad_tol: float | None = None, sample_weight: Any = None,
            resume: bool = False) -> History:
        """Train for up to ``epochs`` epochs and return the :class:`History`.

        Parameters
        ----------
        X, Y : array-like, shapes (N, n_in) and (N, n_out)
        epochs : int
            Maximum number of epochs (counted from the start of the run, also when resuming).
        validation_data : (X_val, Y_val), optional
        validation_split : float
            Fraction of (X, Y), drawn at random with the trainer's generator, held out as
            validation data (002 §5 hold-out method).
        early_stopping : bool or str
            Stop when the monitored key ("val_loss" if True, or e.g. "val_accuracy") has not
            improved for ``patience`` epochs; the best epoch's weights are restored (002 §5).
        patience : int
        tol : float, optional
            Stop when |loss_t - loss_{t-1}| < tol (002 §3).
        grad_tol : float, optional
            Stop when the gradient's Euclidean norm is < grad_tol (002 §3).
        sample_weight : array-like (N,), optional
        resume : bool
            Continue from ``checkpoint_path`` if that file exists (else start afresh).

        Returns
        -------
        History
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
            raise InputError(f"epochs must be an integer >= 0, got {epochs!r}")
        X, Y, sw = self._check_data(X, Y, sample_weight)
        split = _opt_float("validation_split", validation_split, positive=False)
        if split >= 1:
            raise InputError(f"validation_split must be in [0, 1), got {validation_split!r}")
        if split and validation_data is not None:
            raise InputError("give validation_data or validation_split, not both")
        state = None
        if resume:
            if self.checkpoint_path is None:
                raise InputError("resume=True needs a checkpoint_path")
            from deltaprop.checkpoint import read_checkpoint

            state = read_checkpoint(self.checkpoint_path)
        self._start(X)
        if split:
            n_val = max(1, int(round(split * len(X))))
            if n_val >= len(X):
                raise InputError(f"validation_split={split} leaves no training rows")
            perm = self.rng.permutation(len(X))
            self.val_indices = np.sort(perm[:n_val])
        if state is not None and state[0].get("val_indices") is True:
            self.val_indices = state[1].get("val_indices")
        if self.val_indices is not None and split:
            mask = np.ones(len(X), bool)
            mask[self.val_indices] = False
            validation_data = (X[self.val_indices], Y[self.val_indices])
            X, Y, sw = X[mask], Y[mask], None if sw is None else sw[mask]
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise InputError("validation_data must be a tuple (X_val, Y_val)")
            validation_data = self._check_data(*validation_data, None, name="_val")[:2]
        self.epochs = int(epochs)
        self.callbacks = self._build_callbacks(early_stopping, patience, tol, grad_tol,
                                               validation_data is not None)
        if state is not None:
            from deltaprop.checkpoint import restore_checkpoint

            restore_checkpoint(self, *state)
        self._prepare_loop(len(X))
        for cb in self.callbacks:
            cb.on_train_begin(self)
        try:
            # Overflow shows up as a non-finite loss or gradient, which _diverge reports with
            # the epoch and batch; numpy's own warnings would only repeat it less helpfully.
            with np.errstate(over="ignore", invalid="ignore"):
                while self.epoch < self.epochs and not self.stop_training:
                    self._epoch(X, Y, sw, validation_data)
        except BaseException:
            for cb in self.callbacks:
                if isinstance(cb, ProgressBar):
                    cb.on_train_end(self)
            raise
        if self.stop_reason is None:
            self.stop_reason = "max_epochs"
        self.history.stop_reason = self.stop_reason
        # Without early stopping the best epoch is recomputed over the whole history, so that a
        # resumed run does not keep the best epoch of the part before the interruption.
        early = any(isinstance(cb, EarlyStopping) for cb in self.callbacks)
        if self.history.epochs and (self.history.best_epoch is None or not early):
            key = "val_loss" if validation_data is not None else "loss"
            values = self.history[key]
            self.history.best_epoch = int(np.argmin(values)) + 1
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def partial_fit(self, X: Any, Y: Any, sample_weight: Any = None) -> History:
        """Run one more epoch on (X, Y), keeping the optimizer state and the generator."""
        X, Y, sw = self._check_data(X, Y, sample_weight)
        if self.optimizer is None:
            self._start(X)
            self.callbacks = self._build_callbacks(False, 0, None, None, False)
            self._prepare_loop(len(X))
            for cb in self.callbacks:
                cb.on_train_begin(self)
        self.epochs = self.epoch + 1
        self.stop_training = False
        with np.errstate(over="ignore", invalid="ignore"):
            self._epoch(X, Y, sw, None)
        return self.history

    # -- one epoch -----------------------------------------------------------------------
    def _epoch(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None,
               validation: tuple | None) -> None:
        t0 = time.perf_counter()
        epoch, n, net = self.epoch + 1, len(X), self.network
        for cb in self.callbacks:
            cb.on_epoch_begin(self, epoch)
        for s, p in zip(self._snapshot, self._params, strict=True):
            np.copyto(s, p)  # last finite weights, in case the epoch diverges
        order, size = self._epoch_order(X, Y, sw)
        fast = self._fast_loop(sw)
        if fast is not None:
            res = fast.run(X, Y, order, size, on_diverge=lambda b, what: self._diverge(epoch, b,
                                                                                       what))
            loss_sum, weight_sum, n_steps = res["loss_sum"], float(n), res["steps"]
            hits, norms, sse = res["hits"], res["norms"], res["sse"]
        else:
            loss_sum, weight_sum, hits, sse, norms, n_steps = self._reference_steps(
                epoch, X, Y, sw, order, size)
        if not net.is_classifier and order is not None:
            Y = Y[order]  # R² over the pairs the epoch visited (online picks repeat some)
        reg = penalty(self._params, self._is_weight, self.l1, self.l2)
        logs: dict[str, Any] = {"epoch": epoch, "loss": loss_sum / weight_sum + reg}
        if net.is_classifier:
            logs["accuracy"] = hits / n
        else:
            logs["r2"] = _r2(sse, Y)
        if validation is not None:
            logs.update(self._evaluate(*validation))
        logs["learning_rate"] = self.optimizer.learning_rate
        grad_norms = norms / n_steps
        logs["grad_norm"] = float(np.sqrt(np.sum(grad_norms**2)))
        logs["grad_norms"] = [float(v) for v in grad_norms]
        logs["time"] = time.perf_counter() - t0
        self.epoch = epoch
        self.history.epochs.append(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)

    def _epoch_order(self, X, Y, sw) -> tuple[np.ndarray | None, int]:
        """The epoch's sample order (None: the data's order) and batch size."""
        n, rng = len(X), self.rng
        if self.batch_size == "full":
            return None, n
        size = min(int(self.batch_size), n)
        if self.sampling == "hard":
            return rng.choice(n, size=n, p=self._hard_probabilities(X, Y, sw)), size
        if size == 1:
            return rng.integers(0, n, size=n), size  # 000 Algorithm 9.1: a random pair a step
        return rng.permutation(n), size

    def _fast_loop(self, sw):
        """The FastLoop that runs this epoch, or None when an option it lacks is active."""
        if (not self._allow_fast or sw is not None or self._batch_cbs or self.l1 or self.l2
                or self.clip_value is not None or self.clip_norm is not None
                or self.max_norm is not None or self.augment is not None
                or supports(self.network, self.optimizer) is not None):
            return None
        loop = self._fast
        if loop is None or loop.optimizer is not self.optimizer:
            loop = self._fast = FastLoop(self.network, self.optimizer, seed=self.rng)
        loop.rng = self.rng
        return loop

    def _gather(self, X, Y, sw, idx):
        """Copy the rows ``idx`` into buffers reused for every batch of that size."""
        key = len(idx)
        bufs = self._gather_bufs.get(key)
        if bufs is None:
            if len(self._gather_bufs) >= 2:
                self._gather_bufs.clear()
            bufs = self._gather_bufs[key] = (
                np.empty((key, X.shape[1]), X.dtype), np.empty((key, Y.shape[1]), Y.dtype),
                None if sw is None else np.empty(key, sw.dtype))
        np.take(X, idx, axis=0, out=bufs[0], mode="clip")  # indices are valid; "raise" buffers
        np.take(Y, idx, axis=0, out=bufs[1], mode="clip")
        if sw is None:
            return bufs[0], bufs[1], None
        swb = bufs[2] if bufs[2] is not None else np.empty(key, sw.dtype)
        np.take(sw, idx, out=swb, mode="clip")
        return bufs[0], bufs[1], swb

    def _reference_steps(self, epoch, X, Y, sw, order, size) -> tuple:
        """The general loop: every option, the readable engine (Network.forward/backward)."""
        net, rng, n = self.network, self.rng, len(X)
        loss_sum, weight_sum, hits = 0.0, 0.0, 0
        sse = np.zeros(net.n_outputs)
        norms = np.zeros(self._n_layers)
        n_steps = 0
        for b, start in enumerate(range(0, n, size)):
            if order is None:
                Xb, Yb = X[start:start + size], Y[start:start + size]
                swb = None if sw is None else sw[start:start + size]
            else:
                Xb, Yb, swb = self._gather(X, Y, sw, order[start:start + size])
            if self.augment is not None:
                Xb = np.asarray(self.augment(Xb, rng), dtype=net.dtype)
            out = net.forward(Xb, training=True, rng=rng, check=False)
            loss = net.loss_value(Yb, swb, check=False)
            if not math.isfinite(loss):
                self._diverge(epoch, b, f"the loss is {loss}")
            net.backward(Yb, swb, check=False)
            layer_sq = self._regularize_and_clip(epoch, b)
            self.optimizer.step(self._params, self._grads)
            if self.max_norm is not None:
                apply_max_norm(self._params, self._is_weight, self.max_norm)
            w = len(Xb) if swb is None else float(swb.sum())
            loss_sum, weight_sum, n_steps = loss_sum + loss * w, weight_sum + w, n_steps + 1
            norms += np.sqrt(layer_sq)
            if net.is_classifier:
                hits += self._n_correct(out, Yb)
            else:
                sse += ((out - Yb) ** 2).sum(axis=0)
            for cb in self._batch_cbs:
                cb.on_batch_end(self, b, {"batch": b, "size": len(Xb), "loss": loss})
        return loss_sum, weight_sum, hits, sse, norms, n_steps

    def _regularize_and_clip(self, epoch: int, batch: int) -> np.ndarray:
        """Penalty gradients (002 §6), divergence check, clipping (000 §9.3.3); returns the
        per-layer squared norms of the gradient of E' before clipping."""
        add_penalty_gradients(self._params, self._grads, self._is_weight, self.l1, self.l2,
                              self._reg_buf)
        layer_sq = np.zeros(self._n_layers)
        for pos, g in zip(self._layer_pos, self._grads, strict=True):
            flat = g.reshape(-1)
            layer_sq[pos] += float(np.dot(flat, flat))
        total = float(np.sqrt(layer_sq.sum()))
        if not math.isfinite(total):
            self._diverge(epoch, batch, "the gradient is not finite")
        if self.clip_value is not None:
            clip_by_value(self._grads, self.clip_value)
        if self.clip_norm is not None:
            clip_by_norm(self._grads, self.clip_norm, total)
        return layer_sq

    def _diverge(self, epoch: int, batch: int, what: str) -> None:
        if not all(np.isfinite(p).all() for p in self._params):
            for p, s in zip(self._params, self._snapshot, strict=True):
                np.copyto(p, s)
        raise DivergenceError(
            f"training diverged at epoch {epoch}, batch {batch}: {what}. Try a lower learning "
            f"rate (now {self.optimizer.learning_rate:g}) or gradient clipping (clip_value= or "
            "clip_norm=); the network keeps its last finite weights")

    def _n_correct(self, out: np.ndarray, Y: np.ndarray) -> int:
        if self._softmax_like:
            return int(np.count_nonzero(out.argmax(axis=1) == Y.argmax(axis=1)))
        same = (out > self._threshold) == (Y > self._threshold)
        return int(np.count_nonzero(same.all(axis=1)))

    def _hard_probabilities(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None):
        """002 §4 "maximizing information content": favour the pairs with the largest loss."""
        net = self.network
        net.forward(X, check=False)
        last = net.layers[-1]
        if net.fused:
            losses = net.loss.per_sample_from_logits(last.a, Y)
        else:
            losses = net.loss.per_sample(last.h, Y)
        losses = np.maximum(np.asarray(losses, dtype=np.float64), 0.0)
        if sw is not None:
            losses = losses * sw
        total = losses.sum()
        p = np.full(len(X), 1.0 / len(X))
        if total > 0 and math.isfinite(total):
            p = _HARD_MIX * losses / total + (1.0 - _HARD_MIX) * p
        return p / p.sum()

    def _evaluate(self, Xv: np.ndarray, Yv: np.ndarray) -> dict[str, float]:
        """Validation loss (data term only, what early stopping watches) and accuracy/R²."""
        net = self.network
        out = net.forward(Xv, check=False)
        logs = {"val_loss": net.loss_value(Yv, check=False)}
        if net.is_classifier:
            logs["val_accuracy"] = self._n_correct(out, Yv) / len(Xv)
        else:
            logs["val_r2"] = _r2(((out - Yv) ** 2).sum(axis=0), Yv)
        return logs


def _r2(sse: np.ndarray, Y: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (a constant column counts as 1
    if predicted exactly, else 0, as in scikit-learn)."""
    sst = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0).astype(np.float64)
    ok = sst > 0
    r2 = np.where(ok, 1.0 - sse / np.where(ok, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return float(r2.mean())


def train(network: Any, X: Any, Y: Any, **kwargs: Any) -> History:
    """``Trainer(network, **trainer_options).fit(X, Y, **fit_options)`` in one call.

    Keyword arguments are routed to :class:`Trainer` or :meth:`Trainer.fit` by name.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> X = np.linspace(-1, 1, 40)[:, None]; Y = 2 * X
    >>> net = dp.mlp([1, 1], output_activation="identity", seed=0)
    >>> h = train(net, X, Y, learning_rate=0.5, batch_size="full", epochs=200, verbose=0)
    >>> round(h.epochs[-1]["r2"], 4)
    1.0
    """
    fit_keys = {"epochs", "validation_data", "validation_split", "early_stopping", "patience",
                "tol", "grad_tol", "sample_weight", "resume"}
    fit_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in fit_keys}
    try:
        trainer = Trainer(network, **kwargs)
    except TypeError as exc:
        raise InputError(f"train(): {exc}") from None
    return trainer.fit(X, Y, **fit_kwargs)
