"""numba kernels of the Trainer's compiled steps (:mod:`deltaprop.training.compiled`) and the
compiled forms of the optimizers' rules (``Optimizer._fused``).

Imported only when numba is installed. :func:`online_epoch` runs one epoch of online SGD in one
call; :func:`bias_activate`, :func:`output_batch` and :func:`derivative_inplace` fuse the
elementwise work of a mini-batch step (one pass over each buffer, no temporaries), around the
GEMMs that NumPy's BLAS does. One online step for the pair (x, y) (000 Algorithm 9.1):

1. forward, a = W h + b and h = φ(a) layer by layer (000 Eq. 3-4); the output is computed with
   the loss from the logits (log-sum-exp), and the fused output delta δ^m = ŷ − y (004 table);
2. for each layer from the top, one pass over the rows of W: accumulate g = W^T δ (000 Eq. 6e)
   from the old weights, and update the row, v ← μ v − η δ_i h, W_i ← W_i + v (002 §6);
   then δ of the layer below is φ'(h) ⊙ g from the stored h (σ' = σ(1 − σ), tanh' = 1 − tanh²,
   ReLU' = [h > 0]; 000 Eq. 6f).

Gradient norms of each layer come for free: ‖δ hᵀ‖² = ‖δ‖² ‖h‖² for one sample.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.typed import List

# Reassociation (vectorized sums) and fused multiply-add, but no "no NaN / no inf" assumption:
# the divergence check below must see a non-finite loss.
_FASTMATH = {"reassoc", "contract", "nsz"}
# NumPy's error model, as the engine these kernels are tested against: a division by zero gives
# inf or NaN instead of raising, so no division carries a ZeroDivisionError branch.
_JIT = {"cache": True, "fastmath": _FASTMATH, "error_model": "numpy"}
# The per-row helpers of the output layer run once per sample on rows of ~10 numbers: inlined
# (a call passes each row view with reference counting), they and the NumPy error model take a
# 1024 × 10 softmax batch from 145 to 71 µs.
_ROW = {**_JIT, "inline": "always"}


class KernelState:
    """Typed lists of the live arrays and the per-sample buffers the kernel works in."""

    def __init__(self, network, hidden_codes: list[int]):
        layers = network.trainable_layers
        dtype = network.dtype
        self.layers = layers
        self.acts = np.array(list(hidden_codes) + [0], dtype=np.int64)
        self.hs = List([np.zeros(layers[0].n_in, dtype)] + [np.zeros(lay.n_out, dtype)
                                                            for lay in layers])
        self.ds = List([np.zeros(lay.n_out, dtype) for lay in layers])
        self.gs = List([np.zeros(lay.n_in, dtype) for lay in layers])
        self.norms = np.zeros(len(layers))
        self._zeros = [(np.zeros_like(lay.W), np.zeros_like(lay.b)) for lay in layers]

    def sync_velocity(self, velocity: list[np.ndarray] | None) -> None:
        """Point the kernel at the live weights and at the optimizer's velocity arrays
        ([W1, b1, W2, b2, ...]; None for plain gradient descent)."""
        layers = self.layers
        self.Ws = List([lay.W for lay in layers])
        self.Bs = List([lay.b for lay in layers])
        if velocity is not None:
            self.VWs, self.VBs = List(velocity[0::2]), List(velocity[1::2])
        else:  # plain gradient descent is momentum with μ = 0 and a velocity it never reuses
            self.VWs = List([z[0] for z in self._zeros])
            self.VBs = List([z[1] for z in self._zeros])
        self.norms[:] = 0.0


@numba.njit(**_JIT)
def _activate(h, code):
    if code == 1:
        for j in range(h.shape[0]):
            if h[j] < 0:
                h[j] = 0
    elif code == 2:
        for j in range(h.shape[0]):
            h[j] = 1.0 / (1.0 + math.exp(-h[j]))
    elif code == 3:
        for j in range(h.shape[0]):
            h[j] = math.tanh(h[j])


@numba.njit(**_JIT)
def _derivative_times(h, g, code, out):
    """out = φ'(a) ⊙ g, with φ' from the stored output h (000 Table 1)."""
    for j in range(h.shape[0]):
        if code == 0:
            out[j] = g[j]
        elif code == 1:
            out[j] = g[j] if h[j] > 0 else 0
        elif code == 2:
            out[j] = g[j] * h[j] * (1 - h[j])
        else:
            out[j] = g[j] * (1 - h[j] * h[j])


@numba.njit(**_ROW)
def _output(a, y, code, delta):
    """Turn the logits a into ŷ in place, write δ = ŷ − y, return the loss from the logits."""
    k = a.shape[0]
    loss = 0.0
    if code == 2:  # softmax + categorical cross-entropy: logsumexp(a) Σy − Σ y a
        m = a[0]
        for i in range(1, k):
            m = max(m, a[i])
        s = 0.0
        ysum = 0.0
        for i in range(k):
            loss -= y[i] * a[i]
            ysum += y[i]
            a[i] = math.exp(a[i] - m)
            s += a[i]
        loss += (m + math.log(s)) * ysum
        for i in range(k):
            a[i] /= s
    elif code == 1:  # logistic + binary cross-entropy: max(a, 0) − a y + log(1 + e^{−|a|})
        for i in range(k):
            loss += max(a[i], 0.0) - a[i] * y[i] + math.log1p(math.exp(-abs(a[i])))
            a[i] = 1.0 / (1.0 + math.exp(-a[i]))
    else:  # identity + squared error
        for i in range(k):
            r = a[i] - y[i]
            loss += 0.5 * r * r
    for i in range(k):
        delta[i] = a[i] - y[i]
    return loss


@numba.njit(**_ROW)
def _argmax(x):
    """The first index of the largest entry, as np.argmax (a loop: np.argmax on a row view costs
    ~20 ns a call here)."""
    best = 0
    for i in range(1, x.shape[0]):
        if x[i] > x[best]:
            best = i
    return best


@numba.njit(**_ROW)
def _row_stats(out, y, code, softmax_like, threshold, sse):
    """One sample's contribution to the epoch metrics: squared errors (regression) into sse,
    and 1 if it is classified correctly (argmax, or every output on the right side of the
    threshold), else 0."""
    if code == 0:
        for i in range(out.shape[0]):
            r = out[i] - y[i]
            sse[i] += r * r
    if softmax_like:
        return int(_argmax(out) == _argmax(y))
    for i in range(out.shape[0]):
        if (out[i] > threshold) != (y[i] > threshold):
            return 0
    return 1


@numba.njit(**_JIT)
def online_epoch(Ws, Bs, VWs, VBs, hs, ds, gs, acts, out_code, softmax_like, threshold,
                 X, Y, order, lr, mu, nesterov, norms, sse):
    """Online SGD over ``order``; returns (loss sum, correct count, index of a bad step or −1).

    ``sse`` (per output) accumulates the squared errors for identity outputs (R²)."""
    L = len(Ws)
    loss_sum = 0.0
    hits = 0
    for t in range(order.shape[0]):
        r = order[t]
        h0 = hs[0]
        for j in range(h0.shape[0]):
            h0[j] = X[r, j]
        for l in range(L):  # forward, 000 Eq. 3-4
            W, b, hin, h = Ws[l], Bs[l], hs[l], hs[l + 1]
            for i in range(W.shape[0]):
                s = b[i]
                for j in range(W.shape[1]):
                    s += W[i, j] * hin[j]
                h[i] = s
            if l < L - 1:
                _activate(h, acts[l])
        out = hs[L]
        y = Y[r]
        loss = _output(out, y, out_code, ds[L - 1])
        if not math.isfinite(loss):
            return loss_sum, hits, t
        loss_sum += loss
        hits += _row_stats(out, y, out_code, softmax_like, threshold, sse)
        for l in range(L - 1, -1, -1):  # backward and update, one pass over each W
            W, VW, b, VB = Ws[l], VWs[l], Bs[l], VBs[l]
            d, hin, g = ds[l], hs[l], gs[l]
            need_g = l > 0
            if need_g:
                g[:] = 0
            dd = 0.0
            hh = 1.0
            for j in range(hin.shape[0]):
                hh += hin[j] * hin[j]
            for i in range(d.shape[0]):
                dd += d[i] * d[i]
            if not math.isfinite(dd * hh):  # the gradient of this layer is not finite
                return loss_sum, hits, t
            for i in range(W.shape[0]):
                c = d[i]
                if need_g:
                    for j in range(W.shape[1]):
                        g[j] += W[i, j] * c
                for j in range(W.shape[1]):
                    v = mu * VW[i, j] - lr * (c * hin[j])
                    VW[i, j] = v
                    if nesterov:
                        W[i, j] += mu * v - lr * (c * hin[j])
                    else:
                        W[i, j] += v
                v = mu * VB[i] - lr * c
                VB[i] = v
                if nesterov:
                    b[i] += mu * v - lr * c
                else:
                    b[i] += v
            norms[l] += math.sqrt(dd * hh)
            if need_g:
                _derivative_times(hin, g, acts[l - 1], ds[l - 1])
    return loss_sum, hits, -1


@numba.njit(**_JIT)
def bias_activate(Wh, b, A, H, code):
    """a = Wh + b and h = φ(a) for every row, in one pass (000 Eq. 3-4); ``Wh`` is ``A`` itself
    or a transposed view of the small-batch GEMM's a^T."""
    for n in range(A.shape[0]):
        wh, a, h = Wh[n], A[n], H[n]
        for j in range(A.shape[1]):
            v = wh[j] + b[j]
            a[j] = v
            if code == 1:
                h[j] = v if v > 0 else 0
            elif code == 2:
                h[j] = 1.0 / (1.0 + math.exp(-v))
            elif code == 3:
                h[j] = math.tanh(v)
            else:
                h[j] = v


@numba.njit(**_JIT)
def derivative_inplace(G, H, code):
    """g ← φ'(a) ⊙ g in place, with φ' from the stored output h (000 Eq. 6f, Table 1)."""
    if code == 0:
        return
    for n in range(G.shape[0]):
        g, h = G[n], H[n]
        for j in range(G.shape[1]):
            if code == 1:
                if not h[j] > 0:
                    g[j] = 0
            elif code == 2:
                g[j] *= h[j] * (1 - h[j])
            else:
                g[j] *= 1 - h[j] * h[j]


@numba.njit(**_JIT)
def output_batch(A, b, Y, H, D, code, scale, softmax_like, threshold, sse):
    """The output layer of a batch in one pass per row: a ← a + b, ŷ = φ(a) into H, the loss from
    the logits, δ^m = (ŷ − y) · scale into D (scale = 1/N: the batch mean, 004 table), correct
    predictions, and squared errors into ``sse`` for identity outputs.

    Returns (loss sum, correct count); the loss sum is not finite when the batch diverged.
    """
    loss_sum = 0.0
    hits = 0
    for n in range(A.shape[0]):
        a, h, y, d = A[n], H[n], Y[n], D[n]
        for i in range(a.shape[0]):
            a[i] += b[i]
            h[i] = a[i]
        loss_sum += _output(h, y, code, d)  # h becomes ŷ, d = ŷ − y
        for i in range(d.shape[0]):
            d[i] *= scale
        hits += _row_stats(h, y, code, softmax_like, threshold, sse)
    return loss_sum, hits


# -- optimizer updates over the flat parameter buffer -----------------------------------------
# No fastmath here: each line is the same IEEE operation, in the same order, as the ufunc calls
# of deltaprop.training.optimizers, so a fused pass gives bit-identical weights in one sweep over
# memory
# instead of four (momentum) to twelve (Adam).
@numba.njit(cache=True, error_model="numpy")
def sgd_update(p, g, lr):
    """w ← w − η ∇E (000 Algorithm 9.1 step 6), as ``GradientDescent._update``."""
    for i in range(p.shape[0]):
        p[i] = p[i] - g[i] * lr


@numba.njit(cache=True, error_model="numpy")
def momentum_update(p, g, v, lr, mu, nesterov):
    """v ← μv − η∇E; w ← w + v (002 §6), or Nesterov's form, as ``Momentum._update``."""
    for i in range(p.shape[0]):
        step = g[i] * lr
        vi = v[i] * mu - step
        v[i] = vi
        if nesterov:
            p[i] = (p[i] - step) + vi * mu
        else:
            p[i] = p[i] + vi


@numba.njit(cache=True, error_model="numpy")
def adam_update(p, g, m, s, b1, one_minus_b1, b2, one_minus_b2, eps_t, lr_t):
    """Adam's moments and step, as ``Adam._update`` (the scalars already in the array dtype)."""
    for i in range(p.shape[0]):
        gi = g[i]
        mi = m[i] * b1 + gi * one_minus_b1
        si = s[i] * b2 + (gi * gi) * one_minus_b2
        m[i] = mi
        s[i] = si
        p[i] = p[i] - (mi / (math.sqrt(si) + eps_t)) * lr_t
