"""The one training loop runs every option with its compiled step mode and gives the readable
engine's results on the same seed (to float tolerance); each compiled kernel agrees with the
definition it stands for.

- Trainer(fast=True) (compiled forward/backward, fused optimizer updates, the online kernel) vs
  Trainer(fast=False) (Network.forward/backward, the optimizers' ufunc rules), for every option
  of the step: dropout, max-norm, value/norm clipping, L1/L2, sample weights, per-layer rates,
  Nesterov, augmentation, hard-example sampling, Maxout;
- the kernels' activations, derivatives and output pairs vs the activation and loss registries;
- the fused optimizer updates vs the optimizers' own rules (bit-identical);
- a tiny smoke run of the benchmark harness (deltaprop and scikit-learn parts, no torch).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.engine import activations, losses
from deltaprop.errors import DivergenceError
from deltaprop.training import Trainer
from deltaprop.training.compiled import HIDDEN_CODES, OUTPUT_CODES, compiled_support
from deltaprop.training.optimizers import Adam, GradientDescent, Momentum

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
numba_only = pytest.mark.skipif(compiled_support(dp.mlp([2, 2])) is not None,
                                reason="the compiled mode needs numba (pip install .[fast])")


def _data(n=120, d=12, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    return X, np.eye(k)[rng.integers(0, k, n)]


def _trainer_kwargs(kind: str) -> dict:
    if kind == "sgd":
        return {"optimizer": "sgd"}
    if kind == "adam":
        return {"optimizer": "adam"}
    return {"optimizer": "momentum", "momentum": 0.9, "nesterov": kind == "nesterov"}


def _run(net, X, Y, bs, kind, fast, epochs=2, seed=3, lr=None, **options):
    lr = lr if lr is not None else (0.05 if kind != "adam" else 0.01)
    tr = Trainer(net, learning_rate=lr, batch_size=bs, verbose=0, seed=seed,
                 **_trainer_kwargs(kind), **options)
    tr.fast = fast
    logs = [tr.partial_fit(X, Y).epochs[-1] for _ in range(epochs)]
    return logs, tr


def _max_diff(a, b):
    return max(float(np.abs(p - q).max()) for p, q in zip(a, b, strict=True))


def test_flat_update_matches_per_array_update():
    X, Y = _data()
    net = dp.mlp([12, 10, 3], seed=0, dtype="float64")
    params = [p.copy() for p in net.parameters()]  # separate arrays: the per-array path
    net.forward(X, training=True)
    net.backward(Y)
    grads = [g.copy() for g in net.gradients()]
    flat_opt, plain_opt = Momentum(0.1, 0.9), Momentum(0.1, 0.9)
    for _ in range(3):
        flat_opt.step(net.parameters(), net.gradients())
        plain_opt.step(params, grads)
    assert flat_opt.flat_arrays() is not None and plain_opt.flat_arrays() is None
    assert _max_diff(net.parameters(), params) < 1e-15
    cfg, arrays = flat_opt.get_state()
    assert sorted(arrays) == sorted(plain_opt.get_state()[1])
    restored = Momentum.from_state(cfg, arrays)  # checkpoint resume into flat mode
    restored.step(net.parameters(), net.gradients())
    plain_opt.step(params, grads)
    assert restored.flat_arrays() is not None
    assert _max_diff(net.parameters(), params) < 1e-15


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make", [
    lambda: GradientDescent(0.1), lambda: Momentum(0.1, 0.9),
    lambda: Momentum(0.1, 0.9, nesterov=True), lambda: Adam(0.01),
], ids=["sgd", "momentum", "nesterov", "adam"])
def test_fused_update_kernel_is_bit_identical_to_the_optimizer(dtype, make):
    pytest.importorskip("numba", reason="the fused update needs numba (pip install .[fast])")
    X, Y = _data()
    fused, plain = dp.mlp([12, 10, 3], seed=0, dtype=dtype), None
    plain = fused.copy()
    opt_fused, opt_plain = make(), make()
    opt_plain.fused = False  # the rule's NumPy ufuncs
    for _ in range(4):  # fresh gradients each step, so the moments see different values
        for net in (fused, plain):
            net.forward(X.astype(dtype), training=True)
            net.backward(Y.astype(dtype))
        assert opt_fused.is_flat(fused.parameters(), fused.gradients())
        opt_fused.step(fused.parameters(), fused.gradients())
        opt_plain.step(plain.parameters(), plain.gradients())
    assert opt_fused.t == opt_plain.t == 4
    for p, q in zip(fused.parameters(), plain.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    for (_, a), (_, b) in zip(sorted(opt_fused.get_state()[1].items()),
                              sorted(opt_plain.get_state()[1].items()), strict=True):
        np.testing.assert_array_equal(a, b)


def test_compiled_step_leaves_the_layers_as_the_engine_does():
    """After an epoch the layers hold the last batch's h_in, a, h (and δ/N, see
    deltaprop.training.compiled), like the reference engine, also when an evaluation ran in
    between."""
    pytest.importorskip("numba", reason="the compiled step needs numba (pip install .[fast])")
    X, Y = _data(n=50)
    nets = []
    for fast in (True, False):
        net = dp.mlp([12, 10, 6, 3], seed=0, dtype="float64")
        tr = Trainer(net, optimizer="momentum", momentum=0.9, learning_rate=0.05,
                     batch_size=16, shuffle=False, verbose=0, seed=0)  # last batch: X[48:]
        tr.fast = fast
        for _ in range(2):
            tr.partial_fit(X, Y)
            net.predict(X[:7])  # rebinds the layers' a and h to evaluation buffers
        tr.partial_fit(X, Y)
        assert tr.compiled_mode == fast
        nets.append(net)
    fast, ref = nets
    assert fast._batch == ref._batch == 2
    np.testing.assert_array_equal(fast.layers[0].h_in, X[48:])
    for lf, lr in zip(fast.layers, ref.layers, strict=True):
        for name in ("h_in", "a", "h"):
            np.testing.assert_allclose(getattr(lf, name), getattr(lr, name), rtol=1e-9,
                                       err_msg=name)
        np.testing.assert_allclose(lf.delta * 2, lr.delta, rtol=1e-9, atol=1e-15)


# -- the one loop, fast and reference ---------------------------------------------------------
@numba_only
@pytest.mark.parametrize("bs", [1, 7, 32, "full"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("kind", ["momentum", "nesterov", "sgd", "adam"])
def test_compiled_steps_match_the_engine(bs, activation, kind):
    X, Y = _data()
    ref = dp.mlp([12, 10, 6, 3], activation=activation, seed=1, dtype="float64")
    fast = ref.copy()
    lr = 0.005 if activation == "identity" else None  # a linear net diverges sooner
    rlogs, rtr = _run(ref, X, Y, bs, kind, fast=False, lr=lr)
    flogs, ftr = _run(fast, X, Y, bs, kind, fast=True, lr=lr)
    assert ftr.compiled_mode and not rtr.compiled_mode
    assert _max_diff(ref.parameters(), fast.parameters()) < 1e-9
    assert _max_diff(ref.gradients(), fast.gradients()) < 1e-9  # the last step's gradients
    for a, b in zip(flogs, rlogs, strict=True):
        for key in a:
            if key != "time":
                np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12, err_msg=key)


@numba_only
@pytest.mark.parametrize("bs", [16, 64, 65])
@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_wide_layers_in_small_batches_match_the_engine(bs, activation):
    """Layers of at least COLUMN_UNITS units in batches of at most COLUMN_ROWS rows compute
    a^T = W h^T on both paths; the compiled one fuses the transposed bias add into φ."""
    X, Y = _data(n=200, d=70)
    ref = dp.mlp([70, 80, 66, 3], activation=activation, seed=2, dtype="float64")
    fast = ref.copy()
    rlogs, rtr = _run(ref, X, Y, bs, "momentum", fast=False)
    flogs, ftr = _run(fast, X, Y, bs, "momentum", fast=True)
    assert ftr.compiled_mode and not rtr.compiled_mode
    assert _max_diff(ref.parameters(), fast.parameters()) < 1e-9
    np.testing.assert_allclose(flogs[-1]["loss"], rlogs[-1]["loss"], rtol=1e-9)


@numba_only
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-9), ("float32", 2e-4)])
@pytest.mark.parametrize("sizes,activation,out", [
    ([12, 10, 6, 3], "relu", None),
    ([12, 8, 1], "relu", "logistic"),   # logistic + binary cross-entropy
    ([12, 8, 2], "tanh", "identity"),   # identity + squared error
])
@pytest.mark.parametrize("bs", [1, 16])
def test_every_output_pair_and_dtype(dtype, tol, sizes, activation, out, bs):
    X, Y = _data(k=3)
    if out == "logistic":
        Y = Y[:, :1]
    elif out == "identity":
        Y = Y[:, :2] * 0.5 - 0.1
    ref = dp.mlp(sizes, activation=activation, output_activation=out, seed=2, dtype=dtype)
    fast = ref.copy()
    rlogs, _ = _run(ref, X, Y, bs, "momentum", fast=False)
    flogs, ftr = _run(fast, X, Y, bs, "momentum", fast=True)
    assert ftr.compiled_mode
    scale = max(float(np.abs(p).max()) for p in ref.parameters())
    assert _max_diff(ref.parameters(), fast.parameters()) < tol * scale
    assert flogs[-1]["loss"] == pytest.approx(rlogs[-1]["loss"], rel=tol * 10)


def _augment(Xb, rng):
    return Xb + 0.01 * rng.standard_normal(Xb.shape)


# Every option of the step: each runs in the same loop with and without the compiled mode.
OPTIONS = {
    "dropout": ({"dropout": 0.3}, {}),
    "maxout": ({"activation": "maxout:pieces=2"}, {}),
    "leaky_relu": ({"activation": "leaky_relu"}, {}),
    "elu": ({"activation": "elu"}, {}),
    "scaled_tanh": ({"activation": "scaled_tanh"}, {}),
    "max_norm": ({}, {"max_norm": 0.5}),
    "clip_value": ({}, {"clip_value": 0.01}),
    "clip_norm": ({}, {"clip_norm": 0.05}),
    "l1_l2": ({}, {"l1": 1e-3, "l2": 1e-2}),
    "layer_rates": ({}, {"layer_learning_rates": "fan_in"}),
    "augment": ({}, {"augment": _augment}),
    "hard_sampling": ({}, {"sampling": "hard"}),
    "gaussian_noise": ({"input_noise": 0.1, "hidden_noise": 0.05}, {}),
    "batch_norm": ({"batch_norm": True}, {}),
    "label_smoothing": ({"loss": "categorical_cross_entropy:label_smoothing=0.1"}, {}),
    "weight_average": ({}, {"callbacks": "average"}),
}


@numba_only
@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("bs", [1, 16])
@pytest.mark.parametrize("kind", ["momentum", "nesterov", "adam"])
def test_every_option_gives_the_same_run_fast_or_not(option, bs, kind):
    net_kw, tr_kw = OPTIONS[option]
    if tr_kw.get("callbacks") == "average":  # a fresh callback for each run
        tr_kw = {"callbacks": [dp.WeightAverage(decay=0.9)]}
    X, Y = _data()
    ref = dp.mlp([12, 10, 6, 3], seed=4, dtype="float64", **net_kw)
    fast = ref.copy()
    rlogs, _ = _run(ref, X, Y, bs, kind, fast=False, lr=0.01, **tr_kw)
    if "callbacks" in tr_kw:
        tr_kw = {"callbacks": [dp.WeightAverage(decay=0.9)]}
    flogs, _ = _run(fast, X, Y, bs, kind, fast=True, lr=0.01, **tr_kw)
    assert _max_diff(ref.parameters(), fast.parameters()) < 1e-9
    assert flogs[-1]["loss"] == pytest.approx(rlogs[-1]["loss"], rel=1e-9)


@numba_only
@pytest.mark.parametrize("bs", [1, 16])
def test_sample_weights_give_the_same_run_fast_or_not(bs):
    X, Y = _data()
    sw = np.random.default_rng(5).random(len(X)) + 0.1
    nets = []
    for fast in (True, False):
        net = dp.mlp([12, 10, 3], seed=4, dtype="float64")
        tr = Trainer(net, optimizer="momentum", learning_rate=0.05, batch_size=bs, seed=3,
                     verbose=0)
        tr.fast = fast
        tr.fit(X, Y, epochs=2, sample_weight=sw)
        nets.append(net)
    assert _max_diff(nets[0].parameters(), nets[1].parameters()) < 1e-9


@numba_only
def test_the_compiled_mode_covers_what_it_claims():
    assert compiled_support(dp.mlp([4, 3, 2])) is None
    assert "Dense" in compiled_support(dp.mlp([4, 3, 2], dropout=0.5))
    assert "canonical" in compiled_support(dp.mlp([4, 3, 2], loss="mse"))
    assert "hidden" in compiled_support(dp.mlp([4, 3, 2], activation="elu"))
    X, Y = _data(n=40, d=4, k=2)
    for options in ({"clip_norm": 1.0}, {"max_norm": 2.0}, {"l2": 1e-3},
                    {"layer_learning_rates": "fan_in"}, {"augment": _augment}):
        tr = Trainer(dp.mlp([4, 3, 2], seed=0), batch_size=8, seed=0, verbose=0, **options)
        tr.fit(X, Y, epochs=1)
        assert tr.compiled_mode, options


@numba_only
@pytest.mark.parametrize("name", sorted(HIDDEN_CODES))
def test_kernel_activations_agree_with_the_registry(name):
    from deltaprop.training import kernels

    rng = np.random.default_rng(0)
    phi = activations.get(name)
    for dtype in (np.float64, np.float32):
        a = rng.normal(size=(5, 7)).astype(dtype) * 3
        b = rng.normal(size=7).astype(dtype)
        h = np.empty_like(a)
        if HIDDEN_CODES[name] < 2:  # identity, ReLU: bias + φ fused
            A = np.empty_like(a)
            kernels.bias_activate(a, b, A, h, HIDDEN_CODES[name])
            np.testing.assert_array_equal(A, a + b)
            h_cols, A_cols = np.empty_like(h), np.empty_like(a)  # a^T from a small-batch GEMM
            kernels.bias_activate(np.ascontiguousarray(a.T).T, b, A_cols, h_cols,
                                  HIDDEN_CODES[name])
            np.testing.assert_array_equal(h_cols, h)
        else:  # logistic, tanh: NumPy's SIMD φ (the registry's own value_into)
            phi.value_into(a + b, h)
        tol = 1e-12 if dtype == np.float64 else 1e-6
        np.testing.assert_allclose(h, phi.value(a + b), rtol=tol, atol=tol)
        g = rng.normal(size=h.shape).astype(dtype)
        got = g.copy()
        kernels.derivative_inplace(got, h, HIDDEN_CODES[name])
        np.testing.assert_allclose(got, phi.derivative(a + b, h) * g, rtol=tol, atol=tol)


@numba_only
@pytest.mark.parametrize("pair", sorted(OUTPUT_CODES))
def test_kernel_output_pairs_agree_with_the_loss_registry(pair):
    from deltaprop.training import kernels

    out_name, loss_name = pair
    rng = np.random.default_rng(1)
    phi, loss = activations.get(out_name), losses.get(loss_name)
    k = 1 if out_name == "logistic" else 4
    a = rng.normal(size=(6, k)) * 4
    b = rng.normal(size=k)
    Y = (np.eye(k)[rng.integers(0, k, 6)] if out_name == "softmax"
         else rng.integers(0, 2, (6, k)).astype(float) if out_name == "logistic"
         else rng.normal(size=(6, k)))
    out, delta = np.empty_like(a), np.empty_like(a)
    total, _ = kernels.output_batch(a.copy(), b, Y, out, delta, OUTPUT_CODES[pair], 1.0,
                                    out_name == "softmax", 0.5, np.zeros(k))
    logits = a + b
    np.testing.assert_allclose(out, phi.value(logits), rtol=1e-12)
    np.testing.assert_allclose(total, loss.per_sample_from_logits(logits, Y).sum(), rtol=1e-10)
    # the fused δ = ŷ − y equals the general φ'(a) ⊙ ∇L (000 Eq. 8a)
    general = phi.backprop(logits, out, loss.gradient(out, Y))
    np.testing.assert_allclose(delta, general, rtol=1e-8, atol=1e-12)


@numba_only
def test_divergence_is_reported_on_both_modes():
    X, Y = _data()
    X, Y = X * 100, Y[:, :2] * 100
    for fast, bs in ((True, 1), (True, 8), (False, 8)):
        net = dp.mlp([12, 10, 2], activation="tanh", output_activation="identity", seed=0)
        tr = Trainer(net, optimizer="momentum", learning_rate=10.0, batch_size=bs, seed=0,
                     verbose=0)
        tr.fast = fast
        with pytest.raises(DivergenceError, match="diverged at epoch"), np.errstate(all="ignore"):
            tr.fit(X, Y, epochs=20)
        assert all(np.isfinite(p).all() for p in net.parameters())


def test_training_buffers_are_reused_and_predictions_are_fresh():
    X, _ = _data()
    net = dp.mlp([12, 10, 3], seed=0)
    first = net.forward(X, training=True)
    assert net.forward(X, training=True) is first  # one buffer per batch shape
    p1 = net.predict_proba(X[:5])
    p2 = net.predict_proba(X[5:10])
    assert p1 is not p2 and not np.shares_memory(p1, p2)
    assert np.allclose(p1, net.predict_proba(X[:5]))


def test_benchmark_harness_smoke(tmp_path):
    """Tiny run of benchmarks/run.py with the deltaprop and scikit-learn parts (no torch)."""
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--smoke",
           "--data", "synthetic", "--frameworks", "deltaprop,sklearn", "--archs", "784-100-10",
           "--batch-sizes", "1,32", "--epochs", "1", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "smoke.json").read_text())
    fws = res["throughput"]["784-100-10"]
    assert set(fws) == {"deltaprop", "sklearn"}
    for fw in fws.values():
        assert all(b["samples_per_s"] > 0 for b in fw["batch"].values())
        assert fw["inference_samples_per_s"] > 0 and fw["peak_rss_mb"] > 0
    assert res["roofline"]["archs"]["784-100-10"]["roofline_flops_s"] > 0
    assert any("sklearn" in t["target"] for t in res["targets"])
    assert "| batch |" in (tmp_path / "smoke.md").read_text()
