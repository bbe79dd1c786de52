"""Training never computes on subnormal numbers (deltaprop.training.denormals)."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training import denormals
from deltaprop.training.denormals import DenormalGuard, flush_subnormals


def _border_images(n: int = 256, seed: int = 0, border: bool = False):
    """MNIST-like data: 8x8 images whose border pixels are 0 (or, with ``border``, faint noise,
    as the rare MNIST digit that touches the border): once the border is dark, the weights from
    those pixels get zero gradients and their velocities and moments only decay."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 8, 8), np.float32)
    if border:
        X[:] = 0.05 * rng.random((n, 8, 8), dtype=np.float32)
    X[:, 2:6, 2:6] = rng.random((n, 4, 4), dtype=np.float32)
    y = (X[:, 2:6, 2:4].sum(axis=(1, 2)) > X[:, 2:6, 4:6].sum(axis=(1, 2))).astype(int)
    return X.reshape(n, -1), np.eye(2, dtype=np.float32)[y]


def _subnormal_count(arrays) -> int:
    return sum(int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))
               for a in arrays)


def _train(mode: str, optimizer: str, fast: bool, epochs: int = 16):
    Xb, Y = _border_images(border=True)
    X, _ = _border_images()
    net = dp.mlp([64, 16, 2], activation="relu", seed=0)
    tr = dp.Trainer(net, optimizer=optimizer, learning_rate=0.05 if optimizer == "sgd" else 0.01,
                    momentum=0.9 if optimizer == "sgd" else 0.0, batch_size=4, seed=0,
                    verbose=0)
    tr.fast, tr.denormals = fast, mode
    tr.partial_fit(Xb, Y)  # one epoch that touches the border weights
    for _ in range(epochs):  # then ~1,000 steps in which their velocity/moment only decays
        tr.partial_fit(X, Y)
    return net, tr


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_decaying_state_really_goes_subnormal_without_a_guard(optimizer, fast):
    # the premise of the module: with subnormals allowed, this run produces them
    net, tr = _train("off", optimizer, fast)
    assert _subnormal_count(net.parameters() + tr.optimizer.state_arrays()) > 0


@pytest.mark.parametrize("mode", ["ftz", "flush", "auto"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_no_parameter_velocity_or_moment_is_subnormal(mode, optimizer, fast):
    if mode == "ftz" and not denormals.ftz_available():
        pytest.skip("flush-to-zero flags need llvmlite on an x86-64 CPU")
    net, tr = _train(mode, optimizer, fast)
    assert _subnormal_count(net.parameters() + tr.optimizer.state_arrays()) == 0


@pytest.mark.skipif(not denormals.ftz_available(), reason="needs llvmlite on x86-64")
def test_flags_are_set_during_training_and_restored_after():
    before = denormals.mxcsr()
    seen = []

    class Probe(dp.training.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(denormals.mxcsr())

    X, Y = _border_images(64)
    net = dp.mlp([64, 4, 2], seed=0)
    dp.Trainer(net, callbacks=[Probe()], verbose=0, seed=0).fit(X, Y, epochs=2)
    assert all(v & 0x8040 == 0x8040 for v in seen)
    assert denormals.mxcsr() == before and before & 0x8040 == 0
    # a subnormal product is kept outside training: user code is unchanged
    assert np.float32(1e-38) * np.float32(0.5) != 0


@pytest.mark.skipif(not denormals.ftz_available(), reason="needs llvmlite on x86-64")
def test_flags_are_restored_when_training_fails():
    before = denormals.mxcsr()
    with pytest.raises(RuntimeError), DenormalGuard("ftz"):
        assert denormals.mxcsr() & 0x8040 == 0x8040
        raise RuntimeError("boom")
    assert denormals.mxcsr() == before


def test_flush_subnormals_zeroes_only_subnormals():
    a = np.array([1e-39, -1e-45, 1.2e-38, 0.0, 3.0], np.float32)
    b = np.array([1e-310, 1e-300], np.float64)
    flush_subnormals([a, b, np.arange(3)])
    assert a.tolist() == [0.0, 0.0, np.float32(1.2e-38), 0.0, 3.0]
    assert b.tolist() == [0.0, 1e-300]


def test_bad_mode_is_refused():
    with pytest.raises(ValueError, match="denormals must be"):
        DenormalGuard("sometimes")
