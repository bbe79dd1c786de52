"""A lean training loop for the common case, with a compiled online-SGD path (performance).

:class:`FastLoop` runs the epochs that :class:`deltaprop.training.trainer.Trainer` runs for a plain
network — Dense layers, a canonical output pair (004 table), gradient descent, momentum or Adam,
L1/L2 penalties, no clipping, dropout, augmentation or per-batch callbacks — drawing the same
sample order from a generator seeded the same way, so on the same seed it ends with the same
weights (to float tolerance). It differs in how the work is done, not in what is computed:

- mini-batches are gathered with ``np.take(..., out=)`` into buffers reused every step, instead of
  copying the whole shuffled data set once per epoch (188 MB for MNIST, and its page faults);
- a mini-batch step runs the GEMMs of the buffered engine (same buffers as
  ``Network.forward(training=True)``) but, with numba, fuses the elementwise work: bias + φ in
  one pass, the output layer (softmax, loss from the logits, δ^m = ŷ − y, correct count) in one
  pass, φ'(a) ⊙ W^T δ in place; and it scales δ^m by 1/N once (N × k numbers) so the batch-mean
  ∂W = δ^T h and ∂b = Σ δ come out of the GEMM and the sum directly, instead of dividing every
  ∂W and ∂b afterwards. So after a fast step ``layer.delta`` holds δ/N, not the per-sample δ of
  the reference engine (whose ``backward`` is untouched); ∂W, ∂b are the same batch means.
  Then one flat in-place optimizer update (:func:`deltaprop.training.optimizers.flat_view`), fused
  into
  one numba pass when numba is installed (bit-identical to the optimizer's ufuncs). The arrays
  a step touches are looked up once per epoch and batch size (:class:`_StepPlan`);
- for batch size 1 (online SGD, 000 Algorithm 9.1), where Python overhead dominates a step, the
  whole epoch runs in one compiled call when numba is installed (``pip install deltaprop[fast]``):
  forward, fused output delta, and for each layer a single pass over W that both accumulates the
  next delta W^T δ (000 Eq. 6e, 6f) from the old weights and applies the update.

The plain NumPy engine in :mod:`deltaprop.engine.network` stays the readable reference; the tests
check
that both paths here agree with it on the same seed (tests/test_fastpath.py).
"""

from __future__ import annotations

import math

import numpy as np

from deltaprop.checks import as_generator
from deltaprop.engine.layers import Dense
from deltaprop.errors import DivergenceError, InputError
from deltaprop.training.batching import BatchGather
from deltaprop.training.metrics import classification_rule, n_correct
from deltaprop.training.optimizers import Adam, GradientDescent, Momentum, Optimizer
from deltaprop.training.regularization import (
    add_penalty_gradients,
    layer_gradient_slices,
    layer_squared_norms,
)

try:  # optional: the compiled online path
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

__all__ = ["FastLoop", "supports", "HAVE_NUMBA"]

HAVE_NUMBA = numba is not None

# Codes the compiled kernel switches on (hidden activations; output activation + loss pairs).
_HIDDEN = {"identity": 0, "relu": 1, "logistic": 2, "tanh": 3}
_OUTPUT = {("identity", "squared_error"): 0, ("logistic", "binary_cross_entropy"): 1,
           ("softmax", "categorical_cross_entropy"): 2}


def supports(network, optimizer: Optimizer) -> str | None:
    """None when :class:`FastLoop` can train ``network`` with ``optimizer``, else why not."""
    if not all(type(layer) is Dense for layer in network.layers):
        return "only Dense layers (no Dropout or Maxout)"
    if not network.fused:
        return "only a canonical output activation + loss pair (004 table)"
    if (type(optimizer) not in (GradientDescent, Momentum, Adam)
            or optimizer.multipliers is not None):
        return "only gradient descent, momentum or Adam with one learning rate"
    return None


class FastLoop:
    """Train ``network`` epoch by epoch like ``Trainer(network, ..., seed=seed).partial_fit``.

    :class:`deltaprop.training.trainer.Trainer` uses it by itself (``Trainer.run_epoch`` hands it
    the
    epoch's sample order) whenever :func:`supports` passes and no option the fast path lacks is
    active; it is public for code that wants the loop without the Trainer's bookkeeping.

    Parameters
    ----------
    network : Network
    optimizer : GradientDescent or Momentum
    seed : int or Generator, optional
        Seeds the sample order exactly as the Trainer's ``seed`` does.
    compiled : bool, default True
        Use the numba kernels (online epoch, fused mini-batch elementwise work) when numba is
        installed.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> from deltaprop.training.optimizers import Momentum
    >>> X = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    >>> Y = np.eye(2, dtype=np.float32)[(X[:, 0] > 0.5).astype(int)]
    >>> loop = FastLoop(dp.mlp([4, 8, 2], seed=0), Momentum(0.1, 0.9), seed=0)
    >>> stats = loop.epoch(X, Y, batch_size=8)
    >>> sorted(stats)
    ['accuracy', 'loss', 'time']
    """

    def __init__(self, network, optimizer: Optimizer, seed=None, compiled: bool = True):
        why = supports(network, optimizer)
        if why is not None:
            raise InputError(f"FastLoop cannot train this network/optimizer: {why}")
        self.network, self.optimizer = network, optimizer
        self.rng = as_generator(seed)
        layers = network.trainable_layers
        # The fused optimizer update needs only numba; the step kernels need supported layers.
        self.fused_update = bool(compiled) and HAVE_NUMBA
        self._kernels = None  # deltaprop.training.kernels, imported only with numba
        if self.fused_update:
            from deltaprop.training import kernels as _kernels

            self._kernels = _kernels
        self.compiled = (self.fused_update and all(lay.b is not None for lay in layers)
                         and all(lay.activation.name in _HIDDEN for lay in layers[:-1]))
        self._codes = hidden_codes(network) if self.compiled else None
        self._params, self._grads = network.parameters(), network.gradients()
        info = network.parameter_info()
        index = sorted({i.layer_index for i in info})
        self._layer_pos = [index.index(i.layer_index) for i in info]
        # Weight penalties (002 §6), set by the Trainer: added to the gradients before the step.
        self.l1 = self.l2 = 0.0
        self._is_weight = [i.kind == "W" for i in info]
        self._reg_buf = [np.empty_like(p) if w else None
                         for p, w in zip(self._params, self._is_weight, strict=True)]
        self._grad_slices = layer_gradient_slices(self._grads, self._layer_pos)
        self._gather = BatchGather()
        self._kernel_state = None
        self._plans: dict[tuple, _StepPlan] = {}
        self._softmax_like, self._threshold = classification_rule(network)

    # -- one epoch ---------------------------------------------------------------------------
    def epoch(self, X: np.ndarray, Y: np.ndarray, batch_size: int | str = 32) -> dict:
        """One pass over (X, Y) (already float arrays of the network's dtype, validated).

        Returns ``{"loss": mean loss, "accuracy": fraction correct (classifiers), "time": s}``.
        """
        import time

        t0 = time.perf_counter()
        net = self.network
        X = np.ascontiguousarray(X, dtype=net.dtype)
        Y = np.ascontiguousarray(Y, dtype=net.dtype)
        n = len(X)
        size = n if batch_size == "full" else min(int(batch_size), n)
        order = None
        if batch_size != "full":  # the Trainer's draws (training.Trainer._epoch_order)
            order = self.rng.integers(0, n, size=n) if size == 1 else self.rng.permutation(n)
        res = self.run(X, Y, order, size)
        stats = {"loss": res["loss_sum"] / n, "time": time.perf_counter() - t0}
        if net.is_classifier:
            stats["accuracy"] = res["hits"] / n
        return stats

    def run(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray | None, size: int,
            on_diverge=None) -> dict:
        """The steps of one epoch over ``order`` (None: the data's order) in batches of ``size``.

        Returns ``{"loss_sum", "hits", "sse" (per output, float64), "norms" (per trainable
        layer, the sum over steps of ‖(∂W, ∂b)‖ before the update), "steps"}``.
        ``on_diverge(batch, what)`` is called (it should raise) when a loss or gradient is not
        finite; by default a DivergenceError is raised.
        """
        if on_diverge is None:
            on_diverge = _raise_divergence
        k = self.network.n_outputs
        sse = np.zeros(k)
        n = len(X) if order is None else len(order)
        # The compiled online kernel applies plain or momentum updates without penalties itself.
        online_kernel = (type(self.optimizer) is not Adam and not (self.l1 or self.l2))
        if size == 1 and self.compiled and order is not None and online_kernel:
            loss_sum, hits, norms = self._online_compiled(X, Y, order, sse, on_diverge)
            steps = n
        else:
            loss_sum, hits, norms, steps = self._minibatches(X, Y, order, size, sse, on_diverge)
        return {"loss_sum": loss_sum, "hits": hits, "sse": sse, "norms": norms, "steps": steps}

    def _minibatches(self, X, Y, order, size, sse, on_diverge) -> tuple:
        kernels = self._kernels if self.fused_update else None
        net, opt = self.network, self.optimizer
        plan = fused = None
        loss_sum, hits, steps = 0.0, 0, 0
        n_layers = len(net.trainable_layers)
        norms = np.zeros(n_layers)
        layer_sq = np.zeros(n_layers)
        n = len(X) if order is None else len(order)
        for b, start in enumerate(range(0, n, size)):
            if order is None:
                Xb, Yb = X[start:start + size], Y[start:start + size]
            else:
                Xb, Yb, _ = self._gather(X, Y, None, order[start:start + size])
            if self.compiled:
                if plan is None or plan.n != len(Xb):
                    plan = self._plan(len(Xb), Xb.dtype)
                loss, correct = self._step_compiled(plan, Xb, Yb, sse)
                if not math.isfinite(loss):
                    on_diverge(b, f"the loss is {loss / len(Xb)}")
            else:
                out = net.forward(Xb, training=True, check=False)
                loss = net.loss_value(Yb, check=False)
                if not math.isfinite(loss):
                    on_diverge(b, f"the loss is {loss}")
                loss *= len(Xb)
                net.backward(Yb, check=False)
                if net.is_classifier:
                    correct = n_correct(out, Yb, self._softmax_like, self._threshold)
                else:
                    correct = 0
                    sse += ((out - Yb) ** 2).sum(axis=0)
            if self.l1 or self.l2:
                add_penalty_gradients(self._params, self._grads, self._is_weight, self.l1,
                                      self.l2, self._reg_buf)
            layer_squared_norms(self._grads, self._layer_pos, layer_sq,  # ‖∂E'/∂θ‖² per layer
                                self._grad_slices)
            if not math.isfinite(float(layer_sq.sum())):
                on_diverge(b, "the gradient is not finite")
            if fused is None:  # decided once per epoch: the optimizer's state is set up now
                fused = kernels is not None and kernels.flat_ready(opt, self._params,
                                                                   self._grads)
            if fused:
                kernels.flat_step(opt)
            else:
                opt.step(self._params, self._grads)
            norms += np.sqrt(layer_sq)
            loss_sum += loss
            hits += correct
            steps += 1
        return loss_sum, hits, norms, steps

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

    def _step_compiled(self, plan: _StepPlan, Xb, Yb, sse) -> tuple[float, int]:
        """Forward, loss, backward of one batch with the fused kernels (see the module doc)."""
        _kernels = self._kernels
        plan.first.h_in = h = Xb
        for WT, b, a, h_out, code, act in plan.hidden:  # 000 Eq. 3-4
            np.matmul(h, WT, out=a)
            if code >= 2:
                # NumPy's exp and tanh are SIMD-vectorized, numba's math.exp/tanh loops are not:
                # σ over 1024 × 100 takes 140 µs in NumPy's four passes, 530 µs fused.
                a += b
                act.value_into(a, h_out)
            else:
                _kernels.bias_activate(a, b, h_out, code)
            h = h_out
        WT, b, a, out, delta = plan.top
        np.matmul(h, WT, out=a)
        # δ^m / N (scale = 1/N): the batch mean comes out of the ∂W GEMMs below
        loss, hits = _kernels.output_batch(a, b, Yb, out, delta, plan.out_code, plan.scale,
                                           self._softmax_like, self._threshold, sse)
        if not math.isfinite(loss):
            return loss, hits
        for deltaT, delta, h_in, dW, db, below in plan.backward:  # 000 Eq. 6a-6f, top down
            np.matmul(deltaT, Xb if h_in is None else h_in, out=dW)
            np.add.reduce(delta, axis=0, out=db)
            if below is not None:
                W, g, h_below, code = below
                np.matmul(delta, W, out=g)  # W^T δ, before the update
                _kernels.derivative_inplace(g, h_below, code)
        return float(loss), int(hits)

    # -- compiled online SGD -----------------------------------------------------------------
    def _online_compiled(self, X, Y, order, sse, on_diverge) -> tuple[float, int, np.ndarray]:
        _kernels = self._kernels

        net, opt = self.network, self.optimizer
        layers = net.trainable_layers
        if self._kernel_state is None:
            self._kernel_state = _kernels.KernelState(net, self._codes)
        state = self._kernel_state
        state.sync_velocity(opt, self._params)
        mu = opt.mu if isinstance(opt, Momentum) else 0.0
        nesterov = isinstance(opt, Momentum) and opt.nesterov
        code = _OUTPUT[(net.output_activation.name, net.loss.name)]
        X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
        res = _kernels.online_epoch(
            state.Ws, state.Bs, state.VWs, state.VBs, state.hs, state.ds, state.gs, state.acts,
            code, self._softmax_like, self._threshold, X, Y, order,
            net.dtype.type(opt.learning_rate), net.dtype.type(mu), nesterov, state.norms, sse)
        loss_sum, hits, bad = res
        opt.t += len(order) if bad < 0 else int(bad)
        if bad >= 0:
            on_diverge(int(bad), "the loss or gradient is not finite")
        for i, layer in enumerate(layers):  # leave the last step's gradients, as backward does
            np.multiply(state.ds[i][:, None], state.hs[i][None, :], out=layer.dW)
            if layer.db is not None:
                layer.db[...] = state.ds[i]
        return float(loss_sum), int(hits), state.norms.copy()


class _StepPlan:
    """The arrays one compiled mini-batch step of ``n`` rows touches, looked up once instead of
    every step: per-layer buffers (``Layer.workspace``), transposed views, kernel codes. At
    batch 32 the per-step lookups were ~20 % of a step of 784-100-10 (performance)."""

    def __init__(self, network, codes, n: int, dtype):
        layers = network.trainable_layers
        self.network, self.layers, self.n = network, layers, n
        self.arrays = [(lay.W, lay.b, lay.dW, lay.db) for lay in layers]
        self.ws = ws = [lay.workspace(n, dtype) for lay in layers]
        self.first = layers[0]
        self.hidden = [(lay.W.T, lay.b, w.a, w.h, code, lay.activation)
                       for lay, w, code in zip(layers[:-1], ws[:-1], codes, strict=True)]
        top = layers[-1]
        self.top = (top.W.T, top.b, ws[-1].a, ws[-1].h, ws[-1].delta)
        self.out_code = _OUTPUT[(network.output_activation.name, network.loss.name)]
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
        ``backward`` leave them (after a fast step ``delta`` holds δ/N, see the module doc)."""
        for i, (lay, w) in enumerate(zip(self.layers, self.ws, strict=True)):
            lay.adopt_workspace(w, None if i == 0 else self.ws[i - 1].h)
        self.network.adopt_batch(self.n)


def _raise_divergence(batch: int, what: str) -> None:
    raise DivergenceError(f"training diverged at step {batch}: {what}")


def hidden_codes(network) -> list[int]:
    """Kernel codes of the hidden activations (raises InputError for unsupported ones)."""
    codes = []
    for layer in network.trainable_layers[:-1]:
        if layer.activation.name not in _HIDDEN:
            raise InputError(f"the compiled path has no {layer.activation.name!r} activation")
        codes.append(_HIDDEN[layer.activation.name])
    return codes
