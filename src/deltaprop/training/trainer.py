"""The training loop: batching, regularization, clipping, stopping, checkpoints (000 §9.2, 002).

One update step is::

    forward (dropout masks from the trainer's generator) -> loss -> backward
    g <- g + lambda_2 w + lambda_1 sgn(w)          (weights only, 002 §6)
    clip g to [-c, c] (000 §9.3.3) and/or rescale it to global norm <= c
    optimizer.step(w, g)                           (in place, deltaprop.training.optimizers)
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
from contextlib import ExitStack
from typing import Any

import numpy as np

from deltaprop.checks import as_generator, check_number, check_sample_weight
from deltaprop.checks import check_array as _check_array
from deltaprop.data.chunks import ChunkedData, as_chunked, is_chunked
from deltaprop.data.moments import RunningMoments
from deltaprop.errors import DivergenceError, InputError
from deltaprop.training.averaging import WeightAverage
from deltaprop.training.batching import BatchGather, epoch_order, hard_probabilities
from deltaprop.training.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormStopping,
    History,
    LearningRateScheduler,
    LossChangeStopping,
    ProgressBar,
)
from deltaprop.training.checkpoint import ModelCheckpoint, read_checkpoint, restore_checkpoint
from deltaprop.training.compiled import CompiledSteps, compiled_support
from deltaprop.training.denormals import FLUSH_EVERY, DenormalGuard, flush_subnormals
from deltaprop.training.metrics import (
    classification_rule,
    evaluate,
    evaluate_chunks,
    n_correct,
    r2_from_moments,
    r2_score,
    target_moments,
)
from deltaprop.training.optimizers import (
    Adam,
    Optimizer,
    build_optimizer,
    get_optimizer,
    learning_rate_multipliers,
)
from deltaprop.training.regularization import (
    add_penalty_gradients,
    apply_max_norm,
    clip_by_norm,
    clip_by_value,
    layer_gradient_slices,
    layer_squared_norms,
    penalty,
)
from deltaprop.training.schedules import get_schedule

__all__ = ["Trainer", "train", "History"]



class Trainer:
    """Trains a :class:`~deltaprop.engine.network.Network` by backpropagation.

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
        See :mod:`deltaprop.training.schedules` ("step", "exponential", "inverse", "plateau",
        "cosine", "linear").
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
        2: a line after every epoch, also on a terminal
        (:class:`~deltaprop.training.callbacks.ProgressBar`).
    seed : int, optional
        Seeds every random draw of the loop: two runs with one seed are bit-identical.
    checkpoint_every : int, optional
        Write a checkpoint every this many epochs (and when training ends).
    checkpoint_path : str or Path, optional
    checkpoint_info : dict, optional
        JSON-able description of the run (the command line's options, a fingerprint of the
        data) stored in every checkpoint under ``"run"``, so a resumed run can check that it
        continues the same run (:func:`~deltaprop.training.checkpoint.read_checkpoint`).

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
                 checkpoint_every: int | None = None, checkpoint_path: Any = None,
                 checkpoint_info: dict[str, Any] | None = None):
        self.network = network
        if not isinstance(optimizer, Optimizer | str):
            raise InputError(f"optimizer must be a name or an Optimizer, got {optimizer!r}")
        self.optimizer_spec = optimizer
        if isinstance(optimizer, str):
            get_optimizer(optimizer)  # the registry's check: InputError naming the known ones
        self.learning_rate = (optimizer.learning_rate if isinstance(optimizer, Optimizer)
                              else check_number("learning_rate", learning_rate, low=0))
        self.momentum = check_number("momentum", momentum, low=0, high=1, high_open=True)
        self.nesterov = bool(nesterov)
        if batch_size != "full":
            try:
                check_number("batch_size", batch_size, low=1, integer=True)
            except InputError:
                raise InputError(f"batch_size must be an integer >= 1 or 'full', "
                                 f"got {batch_size!r}") from None
        self.batch_size = batch_size
        self.schedule = get_schedule(schedule)
        self.clip_value = check_number("clip_value", clip_value, low=0, low_open=True,
                                       allow_none=True)
        self.clip_norm = check_number("clip_norm", clip_norm, low=0, low_open=True,
                                      allow_none=True)
        self.l1 = check_number("l1", l1, low=0)
        self.l2 = check_number("l2", l2, low=0)
        self.max_norm = check_number("max_norm", max_norm, low=0, low_open=True,
                                     allow_none=True)
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
        if not isinstance(seed, np.random.Generator):
            as_generator(seed)  # checks it: None or an integer >= 0
        self.seed = seed
        check_number("checkpoint_every", checkpoint_every, low=1, integer=True, allow_none=True)
        if checkpoint_every is not None and checkpoint_path is None:
            raise InputError("checkpoint_every needs a checkpoint_path")
        self.checkpoint_every, self.checkpoint_path = checkpoint_every, checkpoint_path
        if checkpoint_info is not None and not isinstance(checkpoint_info, dict):
            raise InputError(f"checkpoint_info must be a dict, got "
                             f"{type(checkpoint_info).__name__}")
        self.checkpoint_info = checkpoint_info
        self.history = History()
        self.optimizer: Optimizer | None = None
        self.rng: np.random.Generator | None = None
        self.epoch, self.epochs = 0, 0
        self.stop_training, self.stop_reason, self.resumed = False, None, False
        self.callbacks: list[Callback] = []
        self.val_indices: np.ndarray | None = None
        self._compiled: CompiledSteps | None = None  # the step's compiled mode, when it applies
        #: False runs every epoch on the reference steps (the readable engine), which the fast
        #: steps are tested against.
        self.fast = True
        #: How subnormal numbers are kept out of training (:mod:`deltaprop.training.denormals`):
        #: "auto" (flush-to-zero flags where available, else flushing the state), "ftz",
        #: "flush" or "off".
        self.denormals = "auto"
        self._guard: DenormalGuard | None = None
        self._gather = BatchGather()  # the reference loop's reused batch buffers

    @property
    def compiled_mode(self) -> bool:
        """True when the run's steps use their compiled form (:mod:`deltaprop.training.compiled`:
        numba installed, ``fast`` on, and a network it supports)."""
        return self._compiled is not None

    # -- data --------------------------------------------------------------------------------
    def _check_data(self, X: Any, Y: Any, sample_weight: Any, name: str = "") -> tuple:
        """(X, Y, sample_weight) validated for the network: shapes, finiteness, target ranges
        (002 §4)."""
        net = self.network
        X = _check_array(X, name=f"X{name}", n_features=net.n_inputs, dtype=net.dtype)
        if np.ndim(Y) == 1:
            raise InputError(
                f"Y{name} is 1-D with shape {np.shape(Y)}, but the network wants targets of "
                f"shape (N, {net.n_outputs}): one-hot class labels with "
                "deltaprop.preprocessing.one_hot(y), or use y.reshape(-1, 1) for one output")
        Y = net.check_targets(Y, f"Y{name}")
        if len(X) != len(Y):
            raise InputError(f"X{name} has {len(X)} rows but Y{name} has {len(Y)}")
        return X, Y, check_sample_weight(sample_weight, len(X), net.dtype)

    def _split_validation(self, X, Y, sw, val_indices, validation_data) -> tuple:
        """Hold out the rows ``val_indices`` (002 §5 hold-out) or check ``validation_data``;
        returns (X, Y, sample_weight, validation data or None)."""
        if val_indices is not None:
            mask = np.ones(len(X), bool)
            mask[val_indices] = False
            validation_data = (X[val_indices], Y[val_indices])
            X, Y, sw = X[mask], Y[mask], None if sw is None else sw[mask]
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise InputError("validation_data must be a tuple (X_val, Y_val)")
            if is_chunked(validation_data[0]):
                if not isinstance(X, ChunkedData):
                    raise InputError("validation_data is chunked (a dask array or memmap) but "
                                     "X is in memory: pass both chunked or both in memory")
                return X, Y, sw, (self._chunks(*validation_data, None, name="_val")[0], None)
            validation_data = self._check_data(*validation_data, None, name="_val")[:2]
        return X, Y, sw, validation_data

    def _chunks(self, X: Any, Y: Any, sample_weight: Any, name: str = "") -> tuple:
        """(ChunkedData, None, None) for chunked input, after the checks that need no data
        (columns, rows); the values are checked chunk by chunk as they are read."""
        data = as_chunked(X, Y, sample_weight)
        if data.Y is None:
            raise InputError(f"Y{name} is missing: chunked X{name} needs its targets")
        if data.transform_x is None and data.n_features != self.network.n_inputs:
            raise InputError(f"X{name} has {data.n_features} features (columns), expected "
                             f"{self.network.n_inputs}")
        if self.batch_size == "full":
            raise InputError("batch_size='full' needs every row in memory at once; chunked "
                             "input trains with mini-batches (batch_size=B) or online "
                             "(batch_size=1)")
        return data, None, None

    # -- setup ---------------------------------------------------------------------------
    def _start(self, X: np.ndarray) -> None:
        """Fresh state for a new run: generator, optimizer, history, buffers."""
        self.rng = as_generator(self.seed)
        self.optimizer = build_optimizer(
            self.optimizer_spec, learning_rate=self.learning_rate, momentum=self.momentum,
            nesterov=self.nesterov, beta_1=self.beta_1, beta_2=self.beta_2,
            epsilon=self.epsilon, multipliers=self.multipliers)
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
        self._grad_slices = layer_gradient_slices(self._grads, self._layer_pos)
        self.optimizer.fused = self.fast
        compiled = self._compiled
        if not self.fast or compiled_support(net) is not None:
            self._compiled = None
        elif compiled is None or compiled.network is not net:
            self._compiled = CompiledSteps(net)

    # -- public API ----------------------------------------------------------------------
    def fit(self, X: Any, Y: Any, *, epochs: int = 100, validation_data: tuple | None = None,
            validation_split: float = 0.0, early_stopping: bool | str = False, patience: int = 10,
            tol: float | None = None, grad_tol: float | None = None, sample_weight: Any = None,
            resume: bool = False) -> History:
        """Train for up to ``epochs`` epochs and return the :class:`History`.

        Parameters
        ----------
        X, Y : array-like, shapes (N, n_in) and (N, n_out)
            Or data bigger than memory, trained chunk by chunk (docs/big-data.md): a dask
            array or a NumPy memmap (``Y`` and ``sample_weight`` in memory, memmaps or dask
            arrays too), or a :class:`~deltaprop.data.chunks.ChunkedData` with ``Y=None``.
        epochs : int
            Maximum number of epochs (counted from the start of the run, also when resuming).
        validation_data : (X_val, Y_val), optional
            Chunked like ``X`` if ``X`` is (or ``(ChunkedData, None)``).
        validation_split : float
            Fraction of (X, Y), drawn at random with the trainer's generator, held out as
            validation data (002 §5 hold-out method). Not with chunked ``X``: pass its
            validation rows as ``validation_data``.
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
        check_number("epochs", epochs, low=0, integer=True)
        chunked = is_chunked(X)
        X, Y, sw = (self._chunks if chunked else self._check_data)(X, Y, sample_weight)
        split = check_number("validation_split", validation_split, low=0, high=1,
                             high_open=True)
        if split and validation_data is not None:
            raise InputError("give validation_data or validation_split, not both")
        if split and chunked:
            raise InputError("validation_split needs the rows in memory; with chunked X pass "
                             "validation_data=(X_val, Y_val) instead (it may be chunked too, "
                             "e.g. the last rows: X[-n:], with X[:-n] to train on)")
        state = None
        if resume:
            if self.checkpoint_path is None:
                raise InputError("resume=True needs a checkpoint_path")
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
        X, Y, sw, validation_data = self._split_validation(
            X, Y, sw, self.val_indices if split else None, validation_data)
        self.epochs = int(epochs)
        self.callbacks = self._build_callbacks(early_stopping, patience, tol, grad_tol,
                                         validation_data is not None)
        if state is not None:
            restore_checkpoint(self, *state)
        self._prepare_loop(len(X))
        for cb in self.callbacks:
            cb.on_train_begin(self)
        try:
            # Overflow shows up as a non-finite loss or gradient, which _diverge reports with
            # the epoch and batch; numpy's own warnings would only repeat it less helpfully.
            with np.errstate(over="ignore", invalid="ignore"), self._denormal_guard():
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
        """Run one more epoch on (X, Y), keeping the optimizer state and the generator.

        ``X`` may be chunked (a dask array, a memmap, a ChunkedData), as in :meth:`fit`."""
        chunked = is_chunked(X)
        X, Y, sw = (self._chunks if chunked else self._check_data)(X, Y, sample_weight)
        if self.optimizer is None:
            self._start(X)
            self.callbacks = self._build_callbacks(False, 0, None, None, False)
            self._prepare_loop(len(X))
            for cb in self.callbacks:
                cb.on_train_begin(self)
        self.epochs = self.epoch + 1
        self.stop_training = False
        with np.errstate(over="ignore", invalid="ignore"), self._denormal_guard():
            self._epoch(X, Y, sw, None)
        return self.history

    # -- one epoch -----------------------------------------------------------------------
    def _epoch(self, X: np.ndarray | ChunkedData, Y: np.ndarray | None,
               sw: np.ndarray | None, validation: tuple | None) -> None:
        """One epoch: the sample order (000 §9.2.2, 002 §4), the steps, the epoch's logs.

        Chunked data (docs/big-data.md) is one part per chunk, in an order drawn from the
        generator, each read, checked and shuffled on its own and run through the same steps;
        in-memory data is one part, so one chunk of all rows is bit-identical to it.
        """
        t0 = time.perf_counter()
        epoch, net = self.epoch + 1, self.network
        for cb in self.callbacks:
            cb.on_epoch_begin(self, epoch)
        for s, p in zip(self._snapshot, self._params, strict=True):
            np.copyto(s, p)  # last finite weights, in case the epoch diverges
        chunked = isinstance(X, ChunkedData)
        loss_sum, weight_sum, hits, n_steps = 0.0, 0.0, 0, 0
        sse, norms, n = np.zeros(net.n_outputs), np.zeros(self._n_layers), 0
        seen = RunningMoments()  # the targets the epoch visited, for R² over chunks
        for Xp, Yp, swp in (self._chunk_parts(X) if chunked else [(X, Y, sw)]):
            probabilities = None
            if self.sampling == "hard" and self.batch_size != "full":
                probabilities = hard_probabilities(net, Xp, Yp, swp)
            order, size = epoch_order(len(Xp), self.batch_size, self.rng, shuffle=self.shuffle,
                                      probabilities=probabilities)
            part = self._steps(epoch, Xp, Yp, swp, order, size)
            loss_sum, weight_sum, hits = loss_sum + part[0], weight_sum + part[1], hits + part[2]
            sse, norms, n_steps = sse + part[3], norms + part[4], n_steps + part[5]
            n += len(Xp)
            if not net.is_classifier:
                # R² over the pairs the epoch visited (online picks repeat some)
                visited = Yp if order is None else Yp[order]
                if chunked:
                    target_moments(visited, seen)
                else:
                    Y = visited
            Xp = Yp = swp = part = None  # release the chunk before the next one is read
        if self._guard.flushes:
            self._flush_state()
        reg = penalty(self._params, self._is_weight, self.l1, self.l2)
        logs: dict[str, Any] = {"epoch": epoch, "loss": loss_sum / weight_sum + reg}
        if net.is_classifier:
            logs["accuracy"] = hits / n
        else:
            logs["r2"] = r2_from_moments(sse, seen) if chunked else r2_score(sse, Y)
        if validation is not None:
            with ExitStack() as stack:  # validation with averaged weights (WeightAverage)
                for cb in self.callbacks:
                    if isinstance(cb, WeightAverage) and cb.swap_validation:
                        stack.enter_context(cb.swapped(net))
                logs.update(self._evaluate(validation))
        logs["learning_rate"] = self.optimizer.learning_rate
        grad_norms = norms / n_steps
        logs["grad_norm"] = float(np.sqrt(np.sum(grad_norms**2)))
        logs["grad_norms"] = [float(v) for v in grad_norms]
        logs["time"] = time.perf_counter() - t0
        self.epoch = epoch
        self.history.epochs.append(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)

    def _chunk_parts(self, data: ChunkedData):
        """The epoch's chunks, each checked on its own: a bad chunk undoes the epoch's
        updates (the weights go back to the epoch's start) and raises."""
        for k, Xc, Yc, swc in data.chunks(data.epoch_order(self.rng, self.shuffle),
                                          self.network.dtype):
            try:
                part = self._check_data(Xc, Yc, swc, name=data.label(k))
            except InputError:
                for p, s in zip(self._params, self._snapshot, strict=True):
                    np.copyto(p, s)
                raise
            del Xc, Yc, swc  # one chunk in memory at a time (plus the one being prefetched)
            yield part
            del part

    def _evaluate(self, validation: tuple) -> dict[str, float]:
        """Validation loss and accuracy/R² on in-memory or chunked validation data."""
        net, val = self.network, validation[0]
        if isinstance(val, ChunkedData):
            return evaluate_chunks(net, (
                self._check_data(Xv, Yv, None, name=f"_val{val.label(k)}")[:2]
                for k, Xv, Yv, _ in val.chunks(dtype=net.dtype)))
        return evaluate(net, *validation)

    def _steps(self, epoch: int, X, Y, sw, order, size) -> tuple:
        """The epoch's steps, every option on: the one training loop (000 §9.2, 002 §4-6).

        A step: gather the batch -> augment -> forward (dropout from the trainer's generator)
        -> loss -> backward (:meth:`~deltaprop.engine.network.Network.backward`, or its compiled
        form :meth:`~deltaprop.training.compiled.CompiledSteps.forward_backward`) -> penalties,
        divergence check, clipping -> optimizer step -> max-norm. Returns (loss sum, weight
        sum, correct count, sse per output, summed per-layer gradient norms, number of steps).
        """
        net, rng, n = self.network, self.rng, len(X)
        compiled = self._compiled if sw is None else None
        if compiled is not None and self._online_kernel_applies(order, size):
            return self._online_epoch(epoch, X, Y, order)
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
            if compiled is not None:
                batch_loss, correct = compiled.forward_backward(
                    Xb, Yb, self._softmax_like, self._threshold, sse)
                loss = batch_loss / len(Xb)
                if not math.isfinite(loss):
                    self._diverge(epoch, b, f"the loss is {loss}")
            else:
                out = net.forward(Xb, training=True, rng=rng, check=False)
                loss = net.loss_value(Yb, swb, check=False)
                if not math.isfinite(loss):
                    self._diverge(epoch, b, f"the loss is {loss}")
                net.backward(Yb, swb, check=False)
                if net.is_classifier:
                    correct = n_correct(out, Yb, self._softmax_like, self._threshold)
                else:
                    correct = 0
                    sse += ((out - Yb) ** 2).sum(axis=0)
            layer_sq = self._regularize_and_clip(epoch, b)
            self.optimizer.step(self._params, self._grads)
            if self.max_norm is not None:
                apply_max_norm(self._params, self._is_weight, self.max_norm)
            if self._guard.flushes and (b + 1) % FLUSH_EVERY == 0:
                self._flush_state()
            w = len(Xb) if swb is None else float(swb.sum())
            loss_sum, weight_sum, n_steps = loss_sum + loss * w, weight_sum + w, n_steps + 1
            norms += np.sqrt(layer_sq)
            hits += correct
            for cb in self._batch_cbs:
                cb.on_batch_end(self, b, {"batch": b, "size": len(Xb), "loss": loss})
        return loss_sum, weight_sum, hits, sse, norms, n_steps

    def _online_kernel_applies(self, order, size) -> bool:
        """Online SGD whose steps have nothing beyond the plain update: the whole epoch can run
        in one compiled call (:meth:`CompiledSteps.online_epoch`)."""
        return (size == 1 and order is not None
                and CompiledSteps.online_optimizer(self.optimizer)
                and not (self.l1 or self.l2) and self.clip_value is None
                and self.clip_norm is None and self.max_norm is None and self.augment is None
                and not self._batch_cbs)

    def _online_epoch(self, epoch: int, X, Y, order) -> tuple:
        sse = np.zeros(self.network.n_outputs)
        loss_sum, hits, norms, bad = self._compiled.online_epoch(
            X, Y, order, self.optimizer, self._softmax_like, self._threshold, sse)
        if bad >= 0:
            self._diverge(epoch, bad, "the loss or gradient is not finite")
        return loss_sum, float(len(order)), hits, sse, norms, len(order)

    def _regularize_and_clip(self, epoch: int, batch: int) -> np.ndarray:
        """Penalty gradients (002 §6), divergence check, clipping (000 §9.3.3); returns the
        per-layer squared norms of the gradient of E' before clipping."""
        add_penalty_gradients(self._params, self._grads, self._is_weight, self.l1, self.l2,
                              self._reg_buf)
        layer_sq = layer_squared_norms(self._grads, self._layer_pos, np.zeros(self._n_layers),
                                       self._grad_slices)
        total = float(np.sqrt(layer_sq.sum()))
        if not math.isfinite(total):
            self._diverge(epoch, batch, "the gradient is not finite")
        if self.clip_value is not None:
            clip_by_value(self._grads, self.clip_value)
        if self.clip_norm is not None:
            clip_by_norm(self._grads, self.clip_norm, total)
        return layer_sq

    def _build_callbacks(self, early_stopping: Any, patience: int, tol: Any, grad_tol: Any,
                         has_validation: bool) -> list[Callback]:
        """The run's callbacks: schedule, stopping rules, progress, the user's, checkpoints."""
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
            cbs.append(ModelCheckpoint(self.checkpoint_path, self.checkpoint_every))
        return cbs

    def _denormal_guard(self) -> DenormalGuard:
        self._guard = DenormalGuard(self.denormals)
        return self._guard

    def _flush_state(self) -> None:
        """Zero the subnormal entries of the parameters and the optimizer state (where the
        flush-to-zero flags are not available, :mod:`deltaprop.training.denormals`)."""
        flush_subnormals(self._params)
        flush_subnormals(self.optimizer.state_arrays())

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
