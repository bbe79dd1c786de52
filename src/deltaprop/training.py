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

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from deltaprop._training_data import (
    BatchGather,
    check_training_data,
    classification_rule,
    evaluate,
    r2_score,
    split_validation,
)
from deltaprop._training_data import opt_float as _opt_float
from deltaprop._training_steps import (
    build_callbacks,
    epoch_order,
    fast_loop,
    make_optimizer,
    reference_steps,
)
from deltaprop.callbacks import Callback, EarlyStopping, History, ProgressBar
from deltaprop.errors import DivergenceError, InputError
from deltaprop.optimizers import Adam, Optimizer, get_optimizer, learning_rate_multipliers
from deltaprop.regularization import penalty
from deltaprop.schedules import get_schedule

__all__ = ["Trainer", "train", "History"]



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
    shuffle : bool, default True
        False: the mini-batches follow the data's order every epoch (as scikit-learn's
        ``shuffle=False``), and online SGD (``batch_size=1``) visits the pairs in turn instead
        of drawing a random one per step. Not with ``sampling="hard"``.
    beta_1, beta_2, epsilon : float
        Adam's moment decay rates and its epsilon (used with ``optimizer="adam"``).
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
                 sampling: str = "uniform", shuffle: bool = True,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 augment: Callable | None = None,
                 callbacks: Sequence[Callback] = (), verbose: int = 1, seed: int | None = None,
                 checkpoint_every: int | None = None, checkpoint_path: Any = None):
        self.network = network
        if not isinstance(optimizer, Optimizer | str):
            raise InputError(f"optimizer must be a name or an Optimizer, got {optimizer!r}")
        self.optimizer_spec = optimizer
        if isinstance(optimizer, str):
            get_optimizer(optimizer)  # the registry's check: InputError naming the known ones
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
        self.shuffle = bool(shuffle)
        if sampling == "hard" and not self.shuffle:
            raise InputError("sampling='hard' draws the pairs at random: it needs shuffle=True")
        Adam(1.0, beta_1, beta_2, epsilon)  # raises InputError for a bad beta or epsilon
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
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
        self._gather = BatchGather()  # the reference loop's reused batch buffers

    # -- setup ---------------------------------------------------------------------------
    def _start(self, X: np.ndarray) -> None:
        """Fresh state for a new run: generator, optimizer, history, buffers."""
        self.rng = np.random.default_rng(self.seed)
        self.optimizer = make_optimizer(self)
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
        self._softmax_like, self._threshold = classification_rule(net)
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
        X, Y, sw = check_training_data(self.network, X, Y, sample_weight)
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
        X, Y, sw, validation_data = split_validation(
            self.network, X, Y, sw, self.val_indices if split else None, validation_data)
        self.epochs = int(epochs)
        self.callbacks = build_callbacks(self, early_stopping, patience, tol, grad_tol,
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
        X, Y, sw = check_training_data(self.network, X, Y, sample_weight)
        if self.optimizer is None:
            self._start(X)
            self.callbacks = build_callbacks(self, False, 0, None, None, False)
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
        order, size = epoch_order(self, X, Y, sw)
        fast = fast_loop(self, sw)
        if fast is not None:
            res = fast.run(X, Y, order, size, on_diverge=lambda b, what: self._diverge(epoch, b,
                                                                                       what))
            loss_sum, weight_sum, n_steps = res["loss_sum"], float(n), res["steps"]
            hits, norms, sse = res["hits"], res["norms"], res["sse"]
        else:
            loss_sum, weight_sum, hits, sse, norms, n_steps = reference_steps(
                self, epoch, X, Y, sw, order, size)
        if not net.is_classifier and order is not None:
            Y = Y[order]  # R² over the pairs the epoch visited (online picks repeat some)
        reg = penalty(self._params, self._is_weight, self.l1, self.l2)
        logs: dict[str, Any] = {"epoch": epoch, "loss": loss_sum / weight_sum + reg}
        if net.is_classifier:
            logs["accuracy"] = hits / n
        else:
            logs["r2"] = r2_score(sse, Y)
        if validation is not None:
            logs.update(evaluate(net, *validation))
        logs["learning_rate"] = self.optimizer.learning_rate
        grad_norms = norms / n_steps
        logs["grad_norm"] = float(np.sqrt(np.sum(grad_norms**2)))
        logs["grad_norms"] = [float(v) for v in grad_norms]
        logs["time"] = time.perf_counter() - t0
        self.epoch = epoch
        self.history.epochs.append(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)

    def _diverge(self, epoch: int, batch: int, what: str) -> None:
        if not all(np.isfinite(p).all() for p in self._params):
            for p, s in zip(self._params, self._snapshot, strict=True):
                np.copyto(p, s)
        raise DivergenceError(
            f"training diverged at epoch {epoch}, batch {batch}: {what}. Try a lower learning "
            f"rate (now {self.optimizer.learning_rate:g}) or gradient clipping (clip_value= or "
            "clip_norm=); the network keeps its last finite weights")

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
