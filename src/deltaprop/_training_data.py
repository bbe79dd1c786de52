"""Data handling of the Trainer: validation of X, Y and weights, batch gathering, metrics.

Split out of :mod:`deltaprop.training` so the loop reads on its own; nothing here is public API
(``check_array`` is re-exported by :mod:`deltaprop.network`, where the contract documents it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop.errors import InputError

HARD_MIX = 0.5  # hard sampling: p_n = 0.5 * l_n / sum(l) + 0.5 / N (every pair stays drawable)


def opt_float(name: str, value: Any, *, positive: bool = True) -> float | None:
    """``value`` as a finite float >= 0 (> 0 if ``positive``), None stays None."""
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


def all_finite(arr: np.ndarray) -> bool:
    """True when a float array holds no NaN or inf.

    The sum is NaN or inf whenever an element is, so one vectorized pass without a temporary
    decides the common case; only a non-finite sum (a bad element, or finite values whose sum
    overflows) pays for the element-wise test.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.add.reduce(arr, axis=None))):
            return True
    return bool(np.isfinite(arr).all())


def check_array(X, name: str, n_columns: int | None, dtype, what: str = "features") -> np.ndarray:
    """Return ``X`` as a finite 2-D array of ``dtype``; raise InputError saying what is wrong."""
    if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be a numeric array: {exc}") from None
        if arr.dtype.kind not in "fiub":
            raise InputError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InputError(
            f"{name} must be 2-D (samples × {what}), got shape {arr.shape}"
            + ("; reshape a single sample with X.reshape(1, -1)" if arr.ndim == 1 else "")
        )
    if n_columns is not None and arr.shape[1] != n_columns:
        raise InputError(f"{name} has {arr.shape[1]} {what} (columns), expected {n_columns}")
    if arr.shape[0] == 0:
        raise InputError(f"{name} has no rows")
    if arr.dtype.kind == "f" and not all_finite(arr):
        r, c = (int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InputError(f"{name} contains {arr[r, c]} at row {r}, column {c}")
    return np.asarray(arr, dtype=dtype)


def check_sample_weight(sample_weight, n: int, dtype) -> np.ndarray | None:
    """None, or ``sample_weight`` as a finite, non-negative (n,) array that does not sum to 0."""
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight, dtype=dtype)
    if sw.shape != (n,):
        raise InputError(f"sample_weight has shape {sw.shape}, expected ({n},)")
    if not np.isfinite(sw).all() or (sw < 0).any():
        raise InputError("sample_weight must be finite and non-negative")
    if sw.sum() <= 0:
        raise InputError("sample_weight sums to zero")
    return sw


def check_training_data(net, X: Any, Y: Any, sample_weight: Any, name: str = "") -> tuple:
    """(X, Y, sample_weight) validated for ``net``: shapes, finiteness, target ranges (002 §4)."""
    X = check_array(X, f"X{name}", net.n_inputs, net.dtype)
    if np.ndim(Y) == 1:
        raise InputError(
            f"Y{name} is 1-D with shape {np.shape(Y)}, but the network wants targets of "
            f"shape (N, {net.n_outputs}): one-hot class labels with "
            "deltaprop.preprocessing.one_hot(y), or use y.reshape(-1, 1) for one output")
    Y = net.check_targets(Y, f"Y{name}")
    if len(X) != len(Y):
        raise InputError(f"X{name} has {len(X)} rows but Y{name} has {len(Y)}")
    return X, Y, check_sample_weight(sample_weight, len(X), net.dtype)


def split_validation(net, X, Y, sw, val_indices, validation_data) -> tuple:
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
        validation_data = check_training_data(net, *validation_data, None, name="_val")[:2]
    return X, Y, sw, validation_data


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


def classification_rule(net) -> tuple[bool, float]:
    """(argmax rule?, threshold) with which predictions count as correct."""
    bounds = net.output_activation.bounds
    threshold = 0.5 if not all(map(math.isfinite, bounds)) else sum(bounds) / 2
    return net.output_activation.name != "logistic" and net.n_outputs > 1, threshold


def n_correct(out: np.ndarray, Y: np.ndarray, softmax_like: bool, threshold: float) -> int:
    """Rows whose argmax (softmax-like outputs) or thresholded outputs all match the target."""
    if softmax_like:
        return int(np.count_nonzero(out.argmax(axis=1) == Y.argmax(axis=1)))
    same = (out > threshold) == (Y > threshold)
    return int(np.count_nonzero(same.all(axis=1)))


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


def evaluate(net, Xv: np.ndarray, Yv: np.ndarray) -> dict[str, float]:
    """Validation loss (data term only, what early stopping watches) and accuracy/R²."""
    out = net.forward(Xv, check=False)
    logs = {"val_loss": net.loss_value(Yv, check=False)}
    if net.is_classifier:
        logs["val_accuracy"] = n_correct(out, Yv, *classification_rule(net)) / len(Xv)
    else:
        logs["val_r2"] = r2_score(((out - Yv) ** 2).sum(axis=0), Yv)
    return logs


def r2_score(sse: np.ndarray, Y: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (a constant column counts as 1
    if predicted exactly, else 0, as in scikit-learn)."""
    sst = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0).astype(np.float64)
    ok = sst > 0
    r2 = np.where(ok, 1.0 - sse / np.where(ok, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return float(r2.mean())
