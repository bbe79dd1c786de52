"""Learning rules (deltaprop.training.optimizers): update equations, state round trips,
validation."""

import json
from collections import namedtuple

import numpy as np
import pytest

from deltaprop.errors import InputError
from deltaprop.training.optimizers import (
    Adam,
    GradientDescent,
    Momentum,
    Optimizer,
    get_optimizer,
    learning_rate_multipliers,
)

P = namedtuple("P", "layer_index kind fan_in")


def quadratic_problem():
    """E(w) = 1/2 sum_i a_i (w_i - c_i)^2 on two arrays: an ill-conditioned fixed problem."""
    a = [np.array([[1.0, 10.0], [0.5, 3.0]]), np.array([2.0, 0.2])]
    c = [np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([-1.0, 3.0])]

    def loss(ws):
        terms = zip(a, ws, c, strict=True)
        return sum(0.5 * float((ai * (w - ci) ** 2).sum()) for ai, w, ci in terms)

    def grad(ws):
        return [ai * (w - ci) for ai, w, ci in zip(a, ws, c, strict=True)]

    return loss, grad


@pytest.mark.parametrize("opt", [
    GradientDescent(0.05), Momentum(0.05, mu=0.9), Momentum(0.05, mu=0.9, nesterov=True),
    Adam(0.1),
], ids=["sgd", "momentum", "nesterov", "adam"])
def test_every_optimizer_lowers_the_loss_on_a_fixed_problem(opt):
    loss, grad = quadratic_problem()
    ws = [np.zeros((2, 2)), np.zeros(2)]
    start = loss(ws)
    for _ in range(200):
        opt.step(ws, grad(ws))
    assert loss(ws) < 0.01 * start


def test_one_momentum_step_matches_the_update_equation_by_hand():
    # 002 §6: v <- mu v - eta grad E; w <- w + v
    mu, eta = 0.8, 0.1
    w = np.array([1.0, -2.0, 0.5])
    g1, g2 = np.array([0.5, 1.0, -2.0]), np.array([-1.0, 0.25, 4.0])
    opt = Momentum(eta, mu=mu)
    opt.step([w], [g1])
    v1 = -eta * g1
    np.testing.assert_allclose(w, np.array([1.0, -2.0, 0.5]) + v1, rtol=0, atol=1e-15)
    before = w.copy()
    opt.step([w], [g2])
    v2 = mu * v1 - eta * g2
    np.testing.assert_allclose(w, before + v2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.slot("velocity", 0), v2, rtol=0, atol=1e-15)


def test_nesterov_step_uses_the_lookahead_form():
    mu, eta = 0.9, 0.1
    w = np.array([1.0])
    g = np.array([2.0])
    opt = Momentum(eta, mu=mu, nesterov=True)
    opt.step([w], [g])
    v = -eta * g
    np.testing.assert_allclose(w, 1.0 + mu * v - eta * g)


def test_gradient_descent_is_exact_and_in_place_and_leaves_grads_alone():
    w = np.array([[1.0, 2.0]], dtype=np.float32)
    g = np.array([[0.5, -1.0]], dtype=np.float32)
    alias = w
    GradientDescent(0.5).step([w], [g])
    assert alias is w and w.dtype == np.float32
    np.testing.assert_array_equal(w, np.array([[0.75, 2.5]], dtype=np.float32))
    np.testing.assert_array_equal(g, np.array([[0.5, -1.0]], dtype=np.float32))


def test_adam_first_step_moves_each_weight_by_about_the_learning_rate():
    w = np.array([1.0, 1.0, 1.0])
    Adam(0.01).step([w], [np.array([1e-3, 5.0, -100.0])])
    np.testing.assert_allclose(w, [0.99, 0.99, 1.01], rtol=1e-6)


def test_learning_rate_multipliers_scale_each_parameter():
    w1, w2 = np.array([1.0]), np.array([1.0])
    GradientDescent(0.1, multipliers=[1.0, 0.5]).step([w1, w2], [np.ones(1), np.ones(1)])
    np.testing.assert_allclose([w1[0], w2[0]], [0.9, 0.95])


def test_fan_in_heuristic_is_inverse_square_root_of_fan_in():
    info = [P(0, "W", 64), P(0, "b", 64), P(2, "W", 16), P(2, "b", 16)]
    assert learning_rate_multipliers(info, "fan_in") == [0.125, 0.125, 0.25, 0.25]
    assert learning_rate_multipliers(info, [1.0, 0.1]) == [1.0, 1.0, 0.1, 0.1]
    assert learning_rate_multipliers(info, None) is None
    with pytest.raises(InputError, match="2 trainable layers"):
        learning_rate_multipliers(info, [1.0])
    with pytest.raises(InputError, match="fan_in"):
        learning_rate_multipliers(info, "fanin")


@pytest.mark.parametrize("opt", [GradientDescent(0.1), Momentum(0.1, 0.5, nesterov=True),
                                 Adam(0.1, beta_1=0.8)], ids=["sgd", "nesterov", "adam"])
def test_state_round_trip_continues_identically(opt):
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=(3, 2)), rng.normal(size=3)] for _ in range(6)]
    ws = [np.ones((3, 2)), np.zeros(3)]
    for g in grads[:3]:
        opt.step(ws, g)
    config, arrays = opt.get_state()
    config = json.loads(json.dumps(config))
    clone = Optimizer.from_state(config, arrays)
    ws2 = [w.copy() for w in ws]
    for g in grads[3:]:
        opt.step(ws, g)
        clone.step(ws2, g)
    for a, b in zip(ws, ws2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert type(clone) is type(opt) and clone.t == opt.t


def test_get_optimizer_by_name_and_errors():
    assert isinstance(get_optimizer("sgd"), GradientDescent)
    assert get_optimizer("nesterov").nesterov is True
    assert isinstance(get_optimizer("ADAM", learning_rate=0.1), Adam)
    opt = Adam()
    assert get_optimizer(opt) is opt
    with pytest.raises(InputError, match="unknown optimizer 'rmsprop'; known: adam"):
        get_optimizer("rmsprop")
    with pytest.raises(InputError, match="bad options"):
        get_optimizer("sgd", mu=0.9)
    with pytest.raises(InputError, match="learning_rate must be a number >= 0"):
        GradientDescent(-0.1)
    with pytest.raises(InputError, match=r"\[0, 1\)"):
        Momentum(0.1, mu=1.0)
    with pytest.raises(InputError, match="beta_2"):
        Adam(beta_2=1.5)


def test_from_state_refuses_a_foreign_name():
    config, arrays = Adam().get_state()
    config["name"] = "lbfgs"
    with pytest.raises(InputError, match="lbfgs"):
        Optimizer.from_state(config, arrays)
