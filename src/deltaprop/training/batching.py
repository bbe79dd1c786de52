"""Which samples each step sees: the epoch's order (online picks, reshuffled mini-batches,
full batch, hard-example sampling) and the gathering of a batch's rows (000 §9.2, 002 §4).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BatchGather", "epoch_order", "hard_probabilities", "HARD_MIX"]

HARD_MIX = 0.5  # hard sampling: p_n = 0.5 * l_n / sum(l) + 0.5 / N (every pair stays drawable)


def epoch_order(n: int, batch_size, rng: np.random.Generator, *, shuffle: bool = True,
                probabilities: np.ndarray | None = None) -> tuple[np.ndarray | None, int]:
    """The epoch's sample order (None: the data's order) and batch size (000 §9.2.2, 002 §4).

    ``batch_size=1`` draws a random pair per step (000 Algorithm 9.1), an integer ``B`` walks
    a fresh permutation, ``"full"`` takes every pair at once; ``probabilities`` (hard-example
    sampling) draws the epoch's N samples with those probabilities.
    """
    if batch_size == "full":
        return None, n
    size = min(int(batch_size), n)
    if probabilities is not None:
        return rng.choice(n, size=n, p=probabilities), size
    if not shuffle:  # the data's order every epoch (online: the pairs in turn)
        return (np.arange(n) if size == 1 else None), size
    if size == 1:
        return rng.integers(0, n, size=n), size  # 000 Algorithm 9.1: a random pair a step
    return rng.permutation(n), size


def hard_probabilities(net, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None):
    """002 §4 "maximizing information content": favour the pairs with the largest loss."""
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
        p = HARD_MIX * losses / total + (1.0 - HARD_MIX) * p
    return p / p.sum()


class BatchGather:
    """Copies the rows of a batch into buffers reused for every batch of that size, instead of a
    shuffled copy of the whole data set per epoch (``np.take(..., out=)``)."""

    def __init__(self):
        self._bufs: dict[tuple, list] = {}

    def __call__(self, X, Y, sw, idx):
        key = (len(idx), X.shape[1], Y.shape[1], X.dtype)
        bufs = self._bufs.get(key)
        if bufs is None:
            if len(self._bufs) >= 2:  # a full batch and a last, partial one
                self._bufs.clear()
            bufs = self._bufs[key] = [np.empty((len(idx), X.shape[1]), X.dtype),
                                      np.empty((len(idx), Y.shape[1]), Y.dtype), None]
        # mode="clip": the indices are valid, and mode="raise" would buffer the whole copy
        X.take(idx, axis=0, out=bufs[0], mode="clip")
        Y.take(idx, axis=0, out=bufs[1], mode="clip")
        if sw is None:
            return bufs[0], bufs[1], None
        if bufs[2] is None or bufs[2].dtype != sw.dtype:
            bufs[2] = np.empty(len(idx), sw.dtype)
        np.take(sw, idx, out=bufs[2], mode="clip")
        return bufs[0], bufs[1], bufs[2]
