"""Weight penalties, gradient clipping and the max-norm constraint, on lists of arrays.

The training loop (:mod:`deltaprop.training.trainer`) applies these around every optimizer step; all
of them work in place on the engine's live parameter and gradient arrays, so a step allocates
nothing. ``is_weight[i]`` says whether array ``i`` is a weight matrix W (penalized and
constrained) or a bias b (never penalized: 002 §6 regularizes the weights).

Examples
--------
>>> import numpy as np
>>> W, b = np.array([[1.0, -2.0]]), np.array([3.0])
>>> gW, gb = np.zeros((1, 2)), np.zeros(1)
>>> add_penalty_gradients([W, b], [gW, gb], [True, False], l1=0.0, l2=0.5)
>>> gW, gb
(array([[ 0.5, -1. ]]), array([0.]))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deltaprop.engine.flat import flat_view

__all__ = ["add_penalty_gradients", "penalty", "clip_by_value", "clip_by_norm", "apply_max_norm",
           "layer_squared_norms", "layer_gradient_slices"]


def add_penalty_gradients(params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
                          is_weight: Sequence[bool], l1: float, l2: float,
                          buffers: Sequence[np.ndarray | None] | None = None) -> None:
    """Add the gradients of the weight penalties to ``grads`` in place (002 §6).

    L2, E' = E + lambda/2 ||w||^2: g += lambda w, so plain gradient descent gives exactly
    w <- (1 - eta lambda) w - eta grad E, the notes' weight-decay form.

    L1, E' = E + lambda ||w||_1: g += lambda sgn(w), i.e. w <- w - eta lambda sgn(w) - eta grad E.
    The notes write the L1 step as w - lambda sgn(w) - eta grad E, without eta on the penalty;
    we scale it by eta like every other gradient term, so that lambda means the same thing under
    every optimizer, learning rate and schedule (and the update is the gradient of E').

    Parameters
    ----------
    params, grads : sequence of ndarray
        Aligned parameter and gradient arrays; ``grads`` is updated.
    is_weight : sequence of bool
        True for weight matrices, False for biases (which are left alone).
    l1, l2 : float
        Penalty strengths lambda_1, lambda_2 >= 0.
    buffers : sequence of ndarray or None, optional
        Scratch arrays shaped like the weights (None for biases), to avoid allocating.
    """
    if not (l1 or l2):
        return
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if not is_weight[i]:
            continue
        buf = np.empty_like(p) if buffers is None or buffers[i] is None else buffers[i]
        if l2:
            np.multiply(p, l2, out=buf)
            np.add(g, buf, out=g)
        if l1:
            np.sign(p, out=buf)
            np.multiply(buf, l1, out=buf)
            np.add(g, buf, out=g)


def penalty(params: Sequence[np.ndarray], is_weight: Sequence[bool], l1: float,
            l2: float) -> float:
    """The penalty term lambda_2/2 ||w||^2 + lambda_1 ||w||_1 of E' over the weights."""
    total = 0.0
    if not (l1 or l2):
        return total
    for p, w in zip(params, is_weight, strict=True):
        if w:
            flat = p.reshape(-1)
            total += 0.5 * l2 * float(np.dot(flat, flat)) + l1 * float(np.abs(flat).sum())
    return total


def clip_by_value(grads: Sequence[np.ndarray], g: float) -> None:
    """Clip every gradient component into [-g, g] in place (000 §9.3.3 gradient clipping)."""
    for a in grads:
        np.clip(a, -g, g, out=a)


def clip_by_norm(grads: Sequence[np.ndarray], max_norm: float, norm: float) -> None:
    """Rescale all gradients together so their global Euclidean ``norm`` is <= ``max_norm``.

    Unlike clipping by value this keeps the direction of the gradient vector.
    """
    if norm > max_norm:
        scale = max_norm / norm
        for a in grads:
            np.multiply(a, scale, out=a)


def apply_max_norm(params: Sequence[np.ndarray], is_weight: Sequence[bool],
                   max_norm: float) -> None:
    """Max-norm constraint: rescale each neuron's incoming weight vector (a row of W, which is
    (n_out, n_in)) to Euclidean norm <= ``max_norm``, in place. Biases are not constrained."""
    for p, w in zip(params, is_weight, strict=True):
        if not w:
            continue
        norms = np.sqrt(np.einsum("ij,ij->i", p, p))
        too_big = norms > max_norm
        if too_big.any():
            p[too_big] *= (max_norm / norms[too_big])[:, None].astype(p.dtype)


def layer_squared_norms(grads: Sequence[np.ndarray], layer_pos: Sequence[int],
                        out: np.ndarray, slices: Sequence[np.ndarray] | None = None
                        ) -> np.ndarray:
    """``out[l]`` = squared Euclidean norm of trainable layer l's gradients (W and b together),
    the per-layer gradient norm the history logs and ``clip_norm`` sums (000 §9.3).

    ``slices`` (from :func:`layer_gradient_slices`, performance): one dot product per layer
    over its slice of the flat gradient buffer instead of one per array."""
    if slices is not None:
        for pos, g in enumerate(slices):
            out[pos] = np.dot(g, g)
        return out
    out[:] = 0.0
    for pos, g in zip(layer_pos, grads, strict=True):
        flat = g.reshape(-1)
        out[pos] += float(np.dot(flat, flat))
    return out


def layer_gradient_slices(grads: Sequence[np.ndarray],
                          layer_pos: Sequence[int]) -> list[np.ndarray] | None:
    """Each trainable layer's gradients as one 1-D slice of the buffer they tile, when they tile
    one buffer in layer order (the network's flat layout); else None."""
    flat = flat_view(grads)
    if flat is None or list(layer_pos) != sorted(layer_pos):
        return None
    ends = np.cumsum(np.bincount(layer_pos, [g.size for g in grads])).astype(int)
    return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
