"""Rosenblatt's perceptron algorithm (001): converges when separable, never on XOR."""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.errors import InputError


def test_converges_on_linearly_separable_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    w_true = np.array([1.5, -2.0])
    y = np.where(X @ w_true + 0.3 > 0, 1, -1)
    p = dp.Perceptron(2, activation="sign", seed=0, max_epochs=500).fit(X, y)
    assert p.converged_
    assert p.errors_[-1] == 0
    np.testing.assert_array_equal(p.predict(X), y)


def test_step_units_learn_and():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    p = dp.Perceptron(2, activation="step", seed=1).fit(X, [0, 0, 0, 1])
    assert p.converged_
    np.testing.assert_array_equal(p.predict(X), [0, 0, 0, 1])


def test_cannot_fit_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    p = dp.Perceptron(2, activation="sign", seed=0, max_epochs=200).fit(X, [-1, 1, 1, -1])
    assert not p.converged_
    assert len(p.errors_) == 200 and min(p.errors_) >= 1  # every epoch makes a mistake
    assert (p.predict(X) == [-1, 1, 1, -1]).sum() <= 3


def test_bad_input():
    with pytest.raises(InputError, match="'sign' or 'step'"):
        dp.Perceptron(2, activation="logistic")
    with pytest.raises(InputError, match=r"targets must be \(-1.0, 1.0\); y\[1, 0\] = 0"):
        dp.Perceptron(2).fit([[0, 0], [1, 1]], [1, 0])
    with pytest.raises(InputError, match="X has 3 features"):
        dp.Perceptron(2).fit([[0, 0, 1]], [1])
