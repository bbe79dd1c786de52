"""Backpropagation against central finite differences in float64 (000 Eq. 6a-6f, 8a-8d).

Every differentiable hidden activation (and maxout) × every loss with each output activation it
is defined for (the canonical, fused pair and the general path) × 1-4 trainable layers, with and
without a fixed dropout mask.
"""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import activations, losses

HIDDEN = [n for n in activations.names() if activations.get(n).differentiable] + ["maxout"]
OUTPUTS = {
    "squared_error": ["identity", "logistic", "tanh", "softmax", "relu", "elu"],
    "mean_squared_error": ["identity", "logistic", "scaled_tanh", "softmax", "leaky_relu"],
    "binary_cross_entropy": ["logistic", "softmax"],
    "categorical_cross_entropy": ["softmax", "logistic"],
}
assert set(OUTPUTS) == set(losses.names())
TOL = 1e-6
N_IN, WIDTH, N_OUT, BATCH = 3, 4, 3, 5


def _targets(loss, out, rng):
    if loss == "categorical_cross_entropy":
        return np.eye(N_OUT)[rng.integers(0, N_OUT, BATCH)]
    if loss == "binary_cross_entropy" or out in ("logistic", "softmax"):
        return rng.uniform(0.05, 0.95, (BATCH, N_OUT))
    if out in ("tanh", "scaled_tanh"):
        return rng.uniform(-0.9, 0.9, (BATCH, N_OUT))
    if out in ("relu", "elu"):
        return rng.uniform(0.0, 1.0, (BATCH, N_OUT))
    return rng.normal(size=(BATCH, N_OUT))


def _network(hidden, out, loss, depth, dropout, seed):
    rng = np.random.default_rng(seed)
    built = []
    n_in = N_IN
    for _ in range(depth - 1):
        if hidden == "maxout":
            built.append(dp.Maxout(n_in, WIDTH, pieces=2, rng=rng))
        else:
            built.append(dp.Dense(n_in, WIDTH, activation=hidden, init="xavier_normal", rng=rng))
        if dropout:
            built.append(dp.Dropout(0.3))
        n_in = WIDTH
    built.append(dp.Dense(n_in, N_OUT, activation=out, init="xavier_normal", rng=rng))
    for layer in built:
        if layer.trainable:  # nonzero biases, so bias bugs show and no unit sits on a kink at 0
            layer.b[...] = rng.normal(0.0, 0.5, layer.b.shape)
    return dp.Network(built, loss=loss, dtype="float64")


CASES = [
    (h, out, loss, depth)
    for loss, outs in OUTPUTS.items()
    for out in outs
    for depth in (1, 2, 3, 4)
    for h in (HIDDEN if depth > 1 else ["-"])
]


@pytest.mark.parametrize("hidden, out, loss, depth", CASES)
def test_gradcheck(hidden, out, loss, depth):
    rng = np.random.default_rng(depth)
    X = rng.normal(size=(BATCH, N_IN))
    Y = _targets(loss, out, rng)
    net = _network(hidden, out, loss, depth, dropout=False, seed=depth)
    errors = dp.gradcheck(net, X, Y)
    assert max(errors) < TOL, errors


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss, out", [("categorical_cross_entropy", "softmax"),
                                       ("squared_error", "tanh")])
def test_gradcheck_with_fixed_dropout_mask(hidden, loss, out):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(BATCH, N_IN))
    Y = _targets(loss, out, rng)
    net = _network(hidden, out, loss, depth=3, dropout=True, seed=1)
    errors = dp.gradcheck(net, X, Y, seed=3)
    assert max(errors) < TOL, errors


def test_gradcheck_with_sample_weight():
    rng = np.random.default_rng(0)
    net = _network("tanh", "softmax", "categorical_cross_entropy", 3, False, 0)
    X, Y = rng.normal(size=(BATCH, N_IN)), np.eye(N_OUT)[rng.integers(0, N_OUT, BATCH)]
    errors = dp.gradcheck(net, X, Y, sample_weight=rng.uniform(0.1, 2.0, BATCH))
    assert max(errors) < TOL


def test_gradcheck_detects_a_wrong_gradient():
    """The check can fail: a derivative that is off by a factor shows up as a large error."""

    class BrokenTanh(activations.Tanh):
        def derivative(self, a, h):
            return 1.1 * (1.0 - h * h)

        def backprop(self, a, h, grad_h, out=None):
            return np.multiply(self.derivative(a, h), grad_h, out=out)

    net = dp.Network([dp.Dense(3, 4, BrokenTanh(), rng=0), dp.Dense(4, 2, "softmax", rng=1)],
                     dtype="float64")
    rng = np.random.default_rng(0)
    errors = dp.gradcheck(net, rng.normal(size=(4, 3)), np.eye(2)[[0, 1, 0, 1]])
    assert errors[0] > 1e-2
    assert errors[2] < TOL  # the output layer's gradient does not involve the broken derivative


def _normalised_network(hidden, seed, noise=0.0):
    """Dense → BatchNorm (→ GaussianNoise) per hidden layer, BatchNorm on the inputs too."""
    rng = np.random.default_rng(seed)
    built = [dp.BatchNorm(N_IN)]
    n_in = N_IN
    for _ in range(2):
        if hidden == "maxout":
            built.append(dp.Maxout(n_in, WIDTH, pieces=2, rng=rng))
        else:
            built.append(dp.Dense(n_in, WIDTH, activation=hidden, init="xavier_normal", rng=rng))
        built.append(dp.BatchNorm(WIDTH, momentum=0.5))
        if noise:
            built.append(dp.GaussianNoise(noise))
        n_in = WIDTH
    built.append(dp.Dense(n_in, N_OUT, activation="softmax", init="xavier_normal", rng=rng))
    net = dp.Network(built, dtype="float64")
    for layer in built:  # γ, β away from 1, 0 so that bugs in their gradients show
        if isinstance(layer, dp.BatchNorm):
            layer.gamma[...] = rng.uniform(0.5, 1.5, layer.gamma.shape)
            layer.beta[...] = rng.normal(0.0, 0.5, layer.beta.shape)
    return net


@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradcheck_through_batch_norm_with_batch_statistics(hidden):
    """Training mode: the gradient flows through the batch mean and variance (Ioffe & Szegedy
    2015, §3), for γ, β and every layer below."""
    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 3.0, size=(BATCH, N_IN))
    Y = np.eye(N_OUT)[rng.integers(0, N_OUT, BATCH)]
    net = _normalised_network(hidden, seed=1)
    errors = dp.gradcheck(net, X, Y)
    assert max(errors) < TOL, errors
    weights = rng.uniform(0.1, 2.0, BATCH)
    assert max(dp.gradcheck(net, X, Y, sample_weight=weights)) < TOL


@pytest.mark.parametrize("hidden", ["tanh", "relu", "maxout"])
def test_gradcheck_with_fixed_gaussian_noise(hidden):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(BATCH, N_IN))
    Y = np.eye(N_OUT)[rng.integers(0, N_OUT, BATCH)]
    net = _normalised_network(hidden, seed=3, noise=0.3)
    net = dp.Network([dp.GaussianNoise(0.5), *net.layers], dtype="float64")
    errors = dp.gradcheck(net, X, Y, seed=4)
    assert max(errors) < TOL, errors


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("out", ["softmax", "logistic"])
def test_gradcheck_with_label_smoothing(smoothing, out):
    """Fused (softmax: δ = ŷ − ỹ) and general path (logistic outputs) with smoothed targets."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(BATCH, N_IN))
    Y = np.eye(N_OUT)[rng.integers(0, N_OUT, BATCH)]
    net = _network("tanh", out, f"categorical_cross_entropy:label_smoothing={smoothing}", 3,
                   False, 6)
    assert net.loss.label_smoothing == smoothing
    assert net.fused == (out == "softmax")
    errors = dp.gradcheck(net, X, Y)
    assert max(errors) < TOL, errors
