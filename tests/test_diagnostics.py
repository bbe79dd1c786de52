"""The diagnostics reproduce the notes' claims where they hold (000 §9.3, 001 saturation)."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.data.preprocessing import one_hot
from deltaprop.errors import InputError
from deltaprop.inspection.diagnostics import (
    dead_unit_fractions,
    gradient_norms,
    inactive_unit_fractions,
    saturation_fractions,
    weight_norms,
)

SIZES = [100] + [100] * 10 + [10]  # 10 hidden layers of width 100 (000 §9.3)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(128, 100)), one_hot(rng.integers(0, 10, 128), 10)


def _deep(init, activation="logistic", seed=0):
    return dp.mlp(SIZES, activation=activation, init=init, seed=seed, dtype="float64")


def test_logistic_with_standard_normal_init_saturates_and_xavier_does_not(batch):
    # 000 §9.3: logistic units + N(0, 1) weights drive a^l into the flat tails of σ.
    # Measured (eps 0.05, 2 seeds): N(0,1) 0.60-0.77 per layer, mean 0.67; Xavier <= 0.008.
    X, _ = batch
    for seed in (0, 1):
        bad = saturation_fractions(_deep({"name": "normal", "std": 1.0}, seed=seed), X)
        good = saturation_fractions(_deep("xavier_normal", seed=seed), X)
        assert sorted(bad) == list(range(10))  # hidden layers only
        assert np.mean(list(bad.values())) > 0.5 and min(bad.values()) > 0.4
        assert max(good.values()) < 0.05


def test_first_to_last_gradient_ratio_does_not_favour_xavier_for_logistic(batch):
    # The honest negative result documented in docs/vanishing-gradients.md: with logistic
    # units σ' <= 1/4 shrinks δ by ~4x per layer under Xavier, so ‖∇W¹‖/‖∇W^m‖ ~ 1e-7, while
    # N(0,1)'s larger weights make up for the saturation (ratio ~ 0.1).
    X, Y = batch
    g_bad = gradient_norms(_deep({"name": "normal", "std": 1.0}), X, Y)
    g_xav = gradient_norms(_deep("xavier_normal"), X, Y)
    ratio_bad = g_bad[0] / g_bad[10]
    ratio_xav = g_xav[0] / g_xav[10]
    assert ratio_xav < 1e-4 < 1e-2 < ratio_bad
    # ReLU + He keeps the ratio near 1/10 .. 1 (000 §9.3.1-9.3.2)
    g_he = gradient_norms(_deep("he_normal", activation="relu"), X, Y)
    assert 0.02 < g_he[0] / g_he[10] < 2


def test_saturation_is_nan_for_unbounded_and_counts_tanh_limits():
    net = dp.mlp([1, 3, 3, 1], activation="relu", seed=0)
    assert all(np.isnan(v) for v in saturation_fractions(net, np.ones((4, 1))).values())
    layer = dp.Dense.from_augmented([[0.0, 10.0], [0.0, 0.01]], activation="tanh")
    net = dp.Network([layer, dp.Dense(2, 1, "identity")])
    sat = saturation_fractions(net, np.array([[1.0], [-1.0], [0.5], [0.1]]))
    # unit 0: tanh(10·x) for x = 1, −1, 0.5 beyond 0.9, not for 0.1; unit 1 never
    assert sat == {0: pytest.approx(3 / 8)}
    with pytest.raises(InputError, match="eps"):
        saturation_fractions(net, np.ones((2, 1)), eps=0.7)


def test_dead_and_inactive_units():
    hidden = dp.Dense.from_augmented([[-5.0, 1.0], [0.0, 1.0], [-5.0, -1.0]], activation="relu")
    net = dp.Network([hidden, dp.Dense(3, 1, "identity")])
    X = np.array([[-1.0], [1.0], [2.0]])
    assert dead_unit_fractions(net, X) == {0: pytest.approx(2 / 3)}
    assert inactive_unit_fractions(net, X) == {0: pytest.approx(2 / 3)}
    leaky = dp.Dense.from_augmented([[-5.0, 1.0], [0.0, 1.0], [-5.0, -1.0]],
                                    activation="leaky_relu")
    net = dp.Network([leaky, dp.Dense(3, 1, "identity")])
    assert dead_unit_fractions(net, X) == {0: 0.0}  # φ' = β > 0: never dead
    assert inactive_unit_fractions(net, X) == {0: pytest.approx(2 / 3)}
    assert dead_unit_fractions(dp.mlp([1, 2, 1], activation="tanh"), X) == {}


def test_weight_and_gradient_norms_match_numpy():
    net = dp.mlp([3, 4, 2], activation="tanh", seed=0, dtype="float64")
    X = np.random.default_rng(1).normal(size=(5, 3))
    Y = one_hot([0, 1, 1, 0, 1], 2)
    assert weight_norms(net) == {i: pytest.approx(np.linalg.norm(layer.W))
                                 for i, layer in enumerate(net.layers)}
    g = gradient_norms(net, X, Y)
    net.forward(X)
    net.backward(Y)
    assert g == {i: pytest.approx(np.linalg.norm(layer.dW)) for i, layer in enumerate(net.layers)}
