"""The fast paths give the reference engine's results on the same seed (to float tolerance).

- FastLoop's mini-batch loop (buffered engine, per-batch gathers, flat momentum) vs Trainer;
- FastLoop's compiled online-SGD kernel (numba) vs Trainer with batch_size=1;
- the flat optimizer update vs the per-array one, and the engine's training buffers;
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
from deltaprop.errors import DivergenceError, InputError
from deltaprop.training import Trainer
from deltaprop.training.fastpath import FastLoop, supports
from deltaprop.training.optimizers import Adam, GradientDescent, Momentum

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data(n=120, d=12, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    return X, np.eye(k)[rng.integers(0, k, n)]


def _optimizer(kind: str, lr: float = 0.05):
    if kind == "sgd":
        return GradientDescent(lr)
    return Momentum(lr, 0.9, nesterov=kind == "nesterov")


def _trainer_kwargs(kind: str) -> dict:
    if kind == "sgd":
        return {"optimizer": "sgd"}
    return {"optimizer": "momentum", "momentum": 0.9, "nesterov": kind == "nesterov"}


def _reference(net, X, Y, bs, kind, epochs=2, seed=3):
    tr = Trainer(net, learning_rate=0.05, batch_size=bs, verbose=0, seed=seed,
                 **_trainer_kwargs(kind))
    tr.fast = False  # the reference loop (Network.forward/backward), not FastLoop
    logs = [tr.partial_fit(X, Y).epochs[-1] for _ in range(epochs)]
    return logs


def _fast(net, X, Y, bs, kind, compiled, epochs=2, seed=3):
    loop = FastLoop(net, _optimizer(kind), seed=seed, compiled=compiled)
    return [loop.epoch(X, Y, bs) for _ in range(epochs)], loop


def _max_diff(a, b):
    return max(float(np.abs(p - q).max()) for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("bs", [7, 32, "full"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_minibatch_loop_matches_trainer(bs, activation):
    X, Y = _data()
    ref = dp.mlp([12, 10, 6, 3], activation=activation, seed=1, dtype="float64")
    fast = ref.copy()
    logs = _reference(ref, X, Y, bs, "momentum")
    stats, _ = _fast(fast, X, Y, bs, "momentum", compiled=False)
    assert _max_diff(ref.parameters(), fast.parameters()) < 1e-12
    assert _max_diff(ref.gradients(), fast.gradients()) < 1e-12
    assert stats[-1]["loss"] == pytest.approx(logs[-1]["loss"], rel=1e-12)
    assert stats[-1]["accuracy"] == logs[-1]["accuracy"]


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-9), ("float32", 2e-4)])
@pytest.mark.parametrize("sizes,activation,out", [
    ([12, 10, 6, 3], "relu", None),
    ([12, 9, 3], "tanh", None),
    ([12, 8, 5, 3], "logistic", None),
    ([12, 8, 1], "relu", "logistic"),   # logistic + binary cross-entropy
    ([12, 8, 2], "tanh", "identity"),   # identity + squared error
])
@pytest.mark.parametrize("kind", ["momentum", "nesterov", "sgd"])
def test_compiled_online_matches_reference(dtype, tol, sizes, activation, out, kind):
    pytest.importorskip("numba", reason="the compiled path needs numba (pip install .[fast])")
    X, Y = _data(k=3)
    if out == "logistic":
        Y = Y[:, :1]
    elif out == "identity":
        Y = Y[:, :2] * 0.5 - 0.1
    ref = dp.mlp(sizes, activation=activation, output_activation=out, seed=2, dtype=dtype)
    fast = ref.copy()
    logs = _reference(ref, X.astype(dtype), Y.astype(dtype), 1, kind)
    stats, loop = _fast(fast, X, Y, 1, kind, compiled=True)
    assert loop.compiled
    scale = max(float(np.abs(p).max()) for p in ref.parameters())
    assert _max_diff(ref.parameters(), fast.parameters()) < tol * scale
    assert _max_diff(ref.gradients(), fast.gradients()) < tol * scale  # last step's gradients
    assert stats[-1]["loss"] == pytest.approx(logs[-1]["loss"], rel=tol * 10)
    if "accuracy" in logs[-1]:
        assert stats[-1]["accuracy"] == pytest.approx(logs[-1]["accuracy"], abs=2 / len(X))
    else:
        assert "accuracy" not in stats


def test_compiled_online_is_faster_path_of_same_epoch():
    pytest.importorskip("numba", reason="the compiled path needs numba (pip install .[fast])")
    X, Y = _data(n=60)
    a = dp.mlp([12, 10, 3], seed=0, dtype="float64")
    b = a.copy()
    _fast(a, X, Y, 1, "momentum", compiled=True, epochs=1)
    _fast(b, X, Y, 1, "momentum", compiled=False, epochs=1)
    assert _max_diff(a.parameters(), b.parameters()) < 1e-9


def test_divergence_is_reported():
    X, Y = _data()
    X, Y = X * 100, Y[:, :2] * 100
    for compiled in (True, False):
        net = dp.mlp([12, 10, 2], activation="tanh", output_activation="identity", seed=0)
        loop = FastLoop(net, Momentum(10.0, 0.9), seed=0, compiled=compiled)
        with pytest.raises(DivergenceError), np.errstate(all="ignore"):
            for _ in range(20):
                loop.epoch(X, Y, 1 if compiled else 8)


def test_supports_names_what_it_cannot_do():
    assert supports(dp.mlp([4, 3, 2]), Momentum(0.1)) is None
    assert "Dense" in supports(dp.mlp([4, 3, 2], dropout=0.5), Momentum(0.1))
    assert "canonical" in supports(dp.mlp([4, 3, 2], loss="mse"), Momentum(0.1))
    assert supports(dp.mlp([4, 3, 2]), Adam()) is None
    net = dp.mlp([4, 3, 2])
    per_layer = Momentum(0.1, multipliers=[1.0] * len(net.parameters()))
    assert "one learning rate" in supports(net, per_layer)
    with pytest.raises(InputError, match="cannot train"):
        FastLoop(net, per_layer)


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
    from deltaprop.training import kernels as _kernels

    X, Y = _data()
    fused, plain = dp.mlp([12, 10, 3], seed=0, dtype=dtype), None
    plain = fused.copy()
    opt_fused, opt_plain = make(), make()
    for _ in range(4):  # fresh gradients each step, so the moments see different values
        for net in (fused, plain):
            net.forward(X.astype(dtype), training=True)
            net.backward(Y.astype(dtype))
        assert _kernels.flat_ready(opt_fused, fused.parameters(), fused.gradients())
        _kernels.flat_step(opt_fused)
        opt_plain.step(plain.parameters(), plain.gradients())
    assert opt_fused.t == opt_plain.t == 4
    for p, q in zip(fused.parameters(), plain.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    for (_, a), (_, b) in zip(sorted(opt_fused.get_state()[1].items()),
                              sorted(opt_plain.get_state()[1].items()), strict=True):
        np.testing.assert_array_equal(a, b)


def test_layer_norms_over_flat_slices_match_the_reference_norms():
    from deltaprop.training.regularization import layer_gradient_slices, layer_squared_norms

    X, Y = _data()
    net = dp.mlp([12, 10, 6, 3], seed=0, dtype="float64")
    net.forward(X, training=True)
    net.backward(Y)
    loop = FastLoop(net, Momentum(0.1, 0.9))
    assert [len(g) for g in loop._grad_slices] == [130, 66, 21]  # (W, b) of each layer
    got = layer_squared_norms(net.gradients(), loop._layer_pos, np.zeros(3), loop._grad_slices)
    want = layer_squared_norms(net.gradients(), loop._layer_pos, np.zeros(3))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert min(got) > 0
    copies = [g.copy() for g in net.gradients()]  # separate arrays: no flat slices
    assert layer_gradient_slices(copies, loop._layer_pos) is None


def test_fused_update_kernel_declines_what_it_cannot_do():
    pytest.importorskip("numba", reason="the fused update needs numba (pip install .[fast])")
    from deltaprop.training import kernels as _kernels

    net = dp.mlp([4, 3, 2], seed=0)
    params = [p.copy() for p in net.parameters()]  # separate arrays: no flat state
    opt = Momentum(0.1, 0.9)
    assert not _kernels.flat_ready(opt, params, net.gradients())
    assert opt.t == 0


def test_compiled_step_leaves_the_layers_as_the_engine_does():
    """After an epoch the layers hold the last batch's h_in, a, h (and δ/N, see fastpath's
    docstring), like the reference engine, also when an evaluation ran in between."""
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
        assert (tr._fast is not None and tr._fast.compiled) == fast
        nets.append(net)
    fast, ref = nets
    assert fast._batch == ref._batch == 2
    np.testing.assert_array_equal(fast.layers[0].h_in, X[48:])
    for lf, lr in zip(fast.layers, ref.layers, strict=True):
        for name in ("h_in", "a", "h"):
            np.testing.assert_allclose(getattr(lf, name), getattr(lr, name), rtol=1e-9,
                                       err_msg=name)
        np.testing.assert_allclose(lf.delta * 2, lr.delta, rtol=1e-9, atol=1e-15)


def test_step_plan_follows_replaced_arrays():
    pytest.importorskip("numba", reason="the compiled step needs numba (pip install .[fast])")
    X, Y = _data(n=32)
    net = dp.mlp([12, 10, 3], seed=0, dtype="float64")
    loop = FastLoop(net, GradientDescent(0.1), seed=0)
    loop.epoch(X, Y, batch_size=32)
    (plan,) = loop._plans.values()
    assert plan.current()
    net.layers[0].W = net.layers[0].W.copy()  # no longer the array the plan (or flat state) saw
    assert not plan.current()
    assert loop._plan(32, X.dtype) is not plan


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
