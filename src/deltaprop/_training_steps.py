"""The Trainer's epoch plumbing: sample order, fast-path choice, callbacks, and the reference
loop over one epoch's batches (000 §9.2, 002 §6), every option on.

One step: forward (dropout from the trainer's generator) -> loss -> backward (the readable
engine, :meth:`deltaprop.network.Network.backward`) -> penalty gradients -> divergence check ->
clipping -> optimizer step -> max-norm. The fast path (:mod:`deltaprop.fastpath`) runs the same
epochs when none of the options it lacks is active.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop._training_data import hard_probabilities, n_correct
from deltaprop.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormStopping,
    LearningRateScheduler,
    LossChangeStopping,
    ProgressBar,
)
from deltaprop.errors import InputError
from deltaprop.fastpath import FastLoop, supports
from deltaprop.optimizers import Adam, GradientDescent, Momentum, Optimizer
from deltaprop.regularization import (
    add_penalty_gradients,
    apply_max_norm,
    clip_by_norm,
    clip_by_value,
    layer_squared_norms,
)


def reference_steps(tr, epoch: int, X, Y, sw, order, size) -> tuple:
    """Returns (loss sum, weight sum, correct count, sse per output, summed per-layer gradient
    norms, number of steps)."""
    net, rng, n = tr.network, tr.rng, len(X)
    loss_sum, weight_sum, hits = 0.0, 0.0, 0
    sse = np.zeros(net.n_outputs)
    norms = np.zeros(tr._n_layers)
    n_steps = 0
    for b, start in enumerate(range(0, n, size)):
        if order is None:
            Xb, Yb = X[start:start + size], Y[start:start + size]
            swb = None if sw is None else sw[start:start + size]
        else:
            Xb, Yb, swb = tr._gather(X, Y, sw, order[start:start + size])
        if tr.augment is not None:
            Xb = np.asarray(tr.augment(Xb, rng), dtype=net.dtype)
        out = net.forward(Xb, training=True, rng=rng, check=False)
        loss = net.loss_value(Yb, swb, check=False)
        if not math.isfinite(loss):
            tr._diverge(epoch, b, f"the loss is {loss}")
        net.backward(Yb, swb, check=False)
        layer_sq = regularize_and_clip(tr, epoch, b)
        tr.optimizer.step(tr._params, tr._grads)
        if tr.max_norm is not None:
            apply_max_norm(tr._params, tr._is_weight, tr.max_norm)
        w = len(Xb) if swb is None else float(swb.sum())
        loss_sum, weight_sum, n_steps = loss_sum + loss * w, weight_sum + w, n_steps + 1
        norms += np.sqrt(layer_sq)
        if net.is_classifier:
            hits += n_correct(out, Yb, tr._softmax_like, tr._threshold)
        else:
            sse += ((out - Yb) ** 2).sum(axis=0)
        for cb in tr._batch_cbs:
            cb.on_batch_end(tr, b, {"batch": b, "size": len(Xb), "loss": loss})
    return loss_sum, weight_sum, hits, sse, norms, n_steps


def regularize_and_clip(tr, epoch: int, batch: int) -> np.ndarray:
    """Penalty gradients (002 §6), divergence check, clipping (000 §9.3.3); returns the
    per-layer squared norms of the gradient of E' before clipping."""
    add_penalty_gradients(tr._params, tr._grads, tr._is_weight, tr.l1, tr.l2, tr._reg_buf)
    layer_sq = layer_squared_norms(tr._grads, tr._layer_pos, np.zeros(tr._n_layers))
    total = float(np.sqrt(layer_sq.sum()))
    if not math.isfinite(total):
        tr._diverge(epoch, batch, "the gradient is not finite")
    if tr.clip_value is not None:
        clip_by_value(tr._grads, tr.clip_value)
    if tr.clip_norm is not None:
        clip_by_norm(tr._grads, tr.clip_norm, total)
    return layer_sq


def epoch_order(tr, X, Y, sw) -> tuple[np.ndarray | None, int]:
    """The epoch's sample order (None: the data's order) and batch size (000 §9.2.2, 002 §4)."""
    n, rng = len(X), tr.rng
    if tr.batch_size == "full":
        return None, n
    size = min(int(tr.batch_size), n)
    if tr.sampling == "hard":
        return rng.choice(n, size=n, p=hard_probabilities(tr.network, X, Y, sw)), size
    if not tr.shuffle:  # the data's order every epoch (online: the pairs in turn)
        return (np.arange(n) if size == 1 else None), size
    if size == 1:
        return rng.integers(0, n, size=n), size  # 000 Algorithm 9.1: a random pair a step
    return rng.permutation(n), size


def fast_loop(tr, sw):
    """The FastLoop that runs this epoch, or None when an option it lacks is active."""
    if (not tr._allow_fast or sw is not None or tr._batch_cbs
            or tr.clip_value is not None or tr.clip_norm is not None
            or tr.max_norm is not None or tr.augment is not None
            or supports(tr.network, tr.optimizer) is not None):
        return None
    loop = tr._fast
    if loop is None or loop.optimizer is not tr.optimizer:
        loop = tr._fast = FastLoop(tr.network, tr.optimizer, seed=tr.rng)
    loop.rng = tr.rng
    loop.l1, loop.l2 = tr.l1, tr.l2
    return loop


def make_optimizer(tr) -> Optimizer:
    """The optimizer the Trainer's options name (002 §6 momentum; Adam), fresh state."""
    spec = tr.optimizer_spec
    if isinstance(spec, Optimizer):
        if tr.multipliers is not None:
            spec.multipliers = tr.multipliers
        spec.reset()
        return spec
    name = spec.lower()
    if name in ("sgd", "gd", "gradient_descent") and tr.momentum == 0 and not tr.nesterov:
        return GradientDescent(tr.learning_rate, tr.multipliers)
    if name in ("sgd", "gd", "gradient_descent", "momentum", "nesterov"):
        mu = tr.momentum or 0.9
        return Momentum(tr.learning_rate, mu, tr.nesterov or name == "nesterov",
                        tr.multipliers)
    return Adam(tr.learning_rate, tr.beta_1, tr.beta_2, tr.epsilon,
                multipliers=tr.multipliers)


def build_callbacks(tr, early_stopping: Any, patience: int, tol: Any, grad_tol: Any,
                    has_validation: bool) -> list[Callback]:
    """The run's callbacks: schedule, stopping rules, progress, the user's, checkpoints."""
    cbs: list[Callback] = [LearningRateScheduler(tr.schedule)]
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
    cbs.append(ProgressBar(tr.verbose))
    cbs.extend(tr.user_callbacks)
    if tr.checkpoint_path is not None:
        from deltaprop.checkpoint import ModelCheckpoint

        cbs.append(ModelCheckpoint(tr.checkpoint_path, tr.checkpoint_every))
    return cbs
