"""The compiled mode of the Trainer's step (performance; numba, ``pip install deltaprop[fast]``).

The Trainer has one loop (:meth:`deltaprop.training.trainer.Trainer._steps`) and one step:
forward -> loss -> backward -> penalties, clipping -> optimizer step -> max-norm. This module
computes two parts of it faster, for the networks it can (:func:`compiled_support`): plain
:class:`~deltaprop.engine.layers.Dense` layers with biases, hidden activations identity, ReLU,
logistic or tanh, and a canonical output pair (004 table) so the output error is ŷ − y.

- :meth:`CompiledSteps.forward_backward` replaces ``Network.forward`` + ``Network.backward`` for a
  mini-batch: the same GEMMs on the same per-layer buffers (``Dense.workspace``), with the
  elementwise work fused by numba — bias + φ in one pass, the output layer (softmax, the loss
  from the logits, δ^m = ŷ − y, the correct count) in one pass, φ'(a) ⊙ W^T δ in place. It
  scales δ^m by 1/N once, so the batch-mean ∂W = δ^T h and ∂b = Σ δ come out of the GEMM and the
  sum directly: after a compiled step ``layer.delta`` holds δ/N; ∂W and ∂b are the engine's.
  Everything after the backward pass (penalties, clipping, the optimizer, max-norm, dropout-free
  bookkeeping) is the Trainer's own code, unchanged.
- :meth:`CompiledSteps.online_epoch` runs a whole epoch of online SGD (batch size 1, 000
  Algorithm 9.1) in one call, where Python's per-step overhead would dominate: for each pair,
  forward, the fused output delta, and for each layer one pass over W that accumulates the next
  W^T δ (000 Eq. 6e) from the old weights and applies the gradient-descent or momentum update
  (002 §6). It runs only when the step has nothing else to do (no penalty, clipping, max-norm,
  augmentation, sample weight, per-layer rate or per-batch callback).

The readable engine stays the reference: tests/test_compiled.py trains the same seeds both ways
and compares weights and histories; each compiled activation and output pair is checked against
the registry's definition (tests/test_kernels.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop.engine.layers import Dense
from deltaprop.training.optimizers import GradientDescent, Momentum, Optimizer

try:  # optional: the compiled kernels
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

__all__ = ["CompiledSteps", "compiled_support", "HAVE_NUMBA", "HIDDEN_CODES", "OUTPUT_CODES"]

HAVE_NUMBA = numba is not None

#: Kernel codes of the hidden activations the kernels implement (deltaprop.training.kernels).
HIDDEN_CODES = {"identity": 0, "relu": 1, "logistic": 2, "tanh": 3}
#: Kernel codes of the output activation + loss pairs (the canonical pairs of 004).
OUTPUT_CODES = {("identity", "squared_error"): 0, ("logistic", "binary_cross_entropy"): 1,
                ("softmax", "categorical_cross_entropy"): 2}


def compiled_support(network) -> str | None:
    """None when the compiled forward/backward can run ``network``, else why not."""
    if not HAVE_NUMBA:
        return "numba is not installed (pip install deltaprop[fast])"
    layers = network.layers
    if not all(type(layer) is Dense for layer in layers):
        return "only Dense layers (no Dropout, Maxout or other layer types)"
    if not all(layer.b is not None for layer in layers):
        return "only layers with biases"
    if not all(layer.activation.name in HIDDEN_CODES for layer in layers[:-1]):
        return f"only {', '.join(HIDDEN_CODES)} hidden units"
    key = (network.output_activation.name, network.loss.name)
    if not network.fused or key not in OUTPUT_CODES:
        return "only a canonical output activation + loss pair (004 table)"
    if network.loss.config() != {"name": network.loss.name}:
        return "only losses without parameters (label smoothing runs on the engine)"
    return None


class CompiledSteps:
    """The compiled parts of one network's training step (see the module doc).

    Parameters
    ----------
    network : Network
        A network :func:`compiled_support` accepts.
    """

    def __init__(self, network):
        from deltaprop.training import kernels

        self.network, self._kernels = network, kernels
        self._codes = [HIDDEN_CODES[lay.activation.name] for lay in network.layers[:-1]]
        self._out_code = OUTPUT_CODES[(network.output_activation.name, network.loss.name)]
        self._plans: dict[tuple, _StepPlan] = {}
        self._online_state = None

    # -- a mini-batch ----------------------------------------------------------------------
    def forward_backward(self, Xb: np.ndarray, Yb: np.ndarray, softmax_like: bool,
                         threshold: float, sse: np.ndarray) -> tuple[float, int]:
        """Forward pass, loss and backward pass of one batch: fills ∂W, ∂b of every layer
        (batch means) and returns (summed loss over the rows, correct count); ``sse`` gets the
        squared errors per output added (regression)."""
        plan = self._plan(len(Xb), Xb.dtype)
        kernels = self._kernels
        plan.first.h_in = h = Xb
        for layer, b, a, aT, h_out, code, act in plan.hidden:  # 000 Eq. 3-4
            Wh = layer.linear(h, a, aT)  # for small batches (W h^T)^T, see Dense.linear
            if code >= 2:
                # NumPy's exp and tanh are SIMD-vectorized, numba's math.exp/tanh loops are not:
                # σ over 1024 × 100 takes 140 µs in NumPy's four passes, 530 µs fused.
                np.add(Wh, b, out=a)
                act.value_into(a, h_out)
            else:
                kernels.bias_activate(Wh, b, a, h_out, code)
            h = h_out
        WT, b, a, out, delta = plan.top
        np.matmul(h, WT, out=a)
        # δ^m / N (scale = 1/N): the batch mean comes out of the ∂W GEMMs below
        loss, hits = kernels.output_batch(a, b, Yb, out, delta, self._out_code, plan.scale,
                                          softmax_like, threshold, sse)
        if not math.isfinite(loss):
            return float(loss), int(hits)
        for deltaT, delta, h_in, dW, db, below in plan.backward:  # 000 Eq. 6a-6f, top down
            np.matmul(deltaT, Xb if h_in is None else h_in, out=dW)
            np.add.reduce(delta, axis=0, out=db)
            if below is not None:
                W, g, h_below, code = below
                np.matmul(delta, W, out=g)  # W^T δ, before the update
                kernels.derivative_inplace(g, h_below, code)
        return float(loss), int(hits)

    def _plan(self, n: int, dtype) -> _StepPlan:
        """The step plan for batches of ``n`` rows, rebuilt if a layer's arrays were replaced."""
        key = (n, np.dtype(dtype))
        plan = self._plans.get(key)
        if plan is None or not plan.current():
            if len(self._plans) >= 2:  # a full batch and a last, partial one
                self._plans.clear()
            plan = self._plans[key] = _StepPlan(self.network, self._codes, n, dtype)
        plan.activate()
        return plan

    # -- a whole online epoch --------------------------------------------------------------
    @staticmethod
    def online_optimizer(optimizer: Optimizer) -> bool:
        """True when the online kernel implements ``optimizer``'s rule (gradient descent or
        momentum, Nesterov's included, one learning rate)."""
        return type(optimizer) in (GradientDescent, Momentum) and optimizer.multipliers is None

    def online_epoch(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray,
                     optimizer: Optimizer, softmax_like: bool, threshold: float,
                     sse: np.ndarray) -> tuple[float, int, np.ndarray, int]:
        """One online-SGD epoch over the pairs ``order`` in one compiled call.

        Returns (summed loss, correct count, summed per-layer gradient norms, index of the
        first step whose loss or gradient was not finite, or -1).
        """
        kernels, net = self._kernels, self.network
        layers = net.trainable_layers
        if self._online_state is None:
            self._online_state = kernels.KernelState(net, self._codes)
        state = self._online_state
        params = net.parameters()
        velocity = None
        if isinstance(optimizer, Momentum):
            optimizer.prepare(params, net.gradients())
            velocity = [optimizer.slot("velocity", i) for i in range(len(params))]
        state.sync_velocity(velocity)
        mu = optimizer.mu if isinstance(optimizer, Momentum) else 0.0
        nesterov = isinstance(optimizer, Momentum) and optimizer.nesterov
        loss_sum, hits, bad = kernels.online_epoch(
            state.Ws, state.Bs, state.VWs, state.VBs, state.hs, state.ds, state.gs, state.acts,
            self._out_code, softmax_like, threshold, np.ascontiguousarray(X),
            np.ascontiguousarray(Y), order, net.dtype.type(optimizer.learning_rate),
            net.dtype.type(mu), nesterov, state.norms, sse)
        optimizer.t += len(order) if bad < 0 else int(bad)
        for i, layer in enumerate(layers):  # leave the last step's gradients, as backward does
            np.multiply(state.ds[i][:, None], state.hs[i][None, :], out=layer.dW)
            layer.db[...] = state.ds[i]
        return float(loss_sum), int(hits), state.norms.copy(), int(bad)


class _StepPlan:
    """The arrays one compiled mini-batch step of ``n`` rows touches, looked up once instead of
    every step: per-layer buffers (``Dense.workspace``), transposed views, kernel codes. At
    batch 32 the per-step lookups were ~20 % of a step of 784-100-10 (performance)."""

    def __init__(self, network, codes: list[int], n: int, dtype: Any):
        layers = network.trainable_layers
        self.network, self.layers, self.n = network, layers, n
        self.arrays = [(lay.W, lay.b, lay.dW, lay.db) for lay in layers]
        self.ws = ws = [lay.workspace(n, dtype) for lay in layers]
        self.first = layers[0]
        self.hidden = [(lay, lay.b, w.a, w.aT, w.h, code, lay.activation)
                       for lay, w, code in zip(layers[:-1], ws[:-1], codes, strict=True)]
        top = layers[-1]
        self.top = (top.W.T, top.b, ws[-1].a, ws[-1].h, ws[-1].delta)
        self.scale = np.dtype(dtype).type(1.0 / n)
        # layer i's δ lives in its own workspace; W^T δ goes into the δ buffer of layer i − 1.
        self.backward = []
        for i in range(len(layers) - 1, -1, -1):
            lay, delta = layers[i], ws[i].delta
            below = None if i == 0 else (lay.W, ws[i - 1].delta, ws[i - 1].h, codes[i - 1])
            self.backward.append((delta.T, delta, None if i == 0 else ws[i - 1].h, lay.dW,
                                  lay.db, below))

    def current(self) -> bool:
        """False when the network's layers or any of their W, b, ∂W, ∂b arrays were replaced."""
        layers = self.network.trainable_layers
        return len(layers) == len(self.layers) and all(
            lay is old and all(x is y for x, y in zip((lay.W, lay.b, lay.dW, lay.db), arrays,
                                                       strict=True))
            for lay, old, arrays in zip(layers, self.layers, self.arrays, strict=True))

    def activate(self) -> None:
        """Point the layers at this plan's buffers, as ``Network.forward(training=True)`` and
        ``backward`` leave them (after a compiled step ``delta`` holds δ/N, see the module doc)."""
        for i, (lay, w) in enumerate(zip(self.layers, self.ws, strict=True)):
            lay.adopt_workspace(w, None if i == 0 else self.ws[i - 1].h)
        self.network.adopt_batch(self.n)
