"""Initializers of 000 Table 2 and 002 §4: shapes, scales, defaults, errors."""

import numpy as np
import pytest

from deltaprop import init
from deltaprop.errors import InputError

N_IN, N_OUT = 400, 300


@pytest.mark.parametrize(
    "name, std",
    [
        ("xavier_uniform", np.sqrt(6 / (N_IN + N_OUT)) / np.sqrt(3)),
        ("xavier_normal", np.sqrt(2 / (N_IN + N_OUT))),
        ("he_uniform", np.sqrt(6 / N_IN) / np.sqrt(3)),
        ("he_normal", np.sqrt(2 / N_IN)),
        ("lecun_normal", np.sqrt(1 / N_IN)),
    ],
)
def test_scales_follow_table_2(name, std):
    W = init.get(name)(N_IN, N_OUT, np.random.default_rng(0))
    assert W.shape == (N_OUT, N_IN)
    assert W.std() == pytest.approx(std, rel=0.02)
    assert abs(W.mean()) < 0.05 * std


def test_uniform_normal_zeros_constant():
    rng = np.random.default_rng(0)
    W = init.get("uniform", low=0.0, high=1.0)(3, 4, rng)
    assert W.min() >= 0.0 and W.max() <= 1.0
    W = init.get({"name": "normal", "std": 1.0})(500, 400, rng)
    assert W.std() == pytest.approx(1, rel=0.02)
    assert not init.get("zeros")(3, 2, rng).any()
    explicit = init.get(np.array([[1.0, 2.0]]))(2, 1, rng)
    np.testing.assert_array_equal(explicit, [[1.0, 2.0]])
    with pytest.raises(InputError, match=r"shape \(1, 2\), expected .* \(2, 2\)"):
        init.get(np.array([[1.0, 2.0]]))(2, 2, rng)


def test_defaults_and_errors():
    assert init.default_for("relu") == "he_normal"
    assert init.default_for("tanh") == "xavier_uniform"
    assert init.default_for("logistic") == "xavier_uniform"
    assert init.default_for("scaled_tanh") == "lecun_normal"
    with pytest.raises(InputError, match="unknown init 'glorot'"):
        init.get("glorot")
    with pytest.raises(InputError, match="std > 0"):
        init.get("normal", std=-1)
    with pytest.raises(InputError, match="takes no parameters"):
        init.get("he_normal", std=1)


def test_same_seed_same_weights():
    a = init.get("he_normal")(5, 4, np.random.default_rng(7))
    b = init.get("he_normal")(5, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
