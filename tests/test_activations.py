"""Every activation of 000 Table 1: value, derivative against finite differences, edge cases."""

import numpy as np
import pytest

from deltaprop import activations
from deltaprop.errors import InputError, NotDifferentiableError

SMOOTH = [n for n in activations.names() if activations.get(n).differentiable]
# elementwise φ (softmax's Jacobian and maxout's piece mask are checked through backprop below)
ELEMENTWISE = [n for n in SMOOTH if activations.get(n).pieces == 1]
A = np.linspace(-3.0, 3.0, 13).reshape(1, -1) + 0.05  # avoid the kinks at exactly 0


@pytest.mark.parametrize("name", SMOOTH)
def test_backprop_matches_finite_differences(name):
    """δ = J_φ(a)^T g against central differences of <φ(a), g>, for every activation."""
    phi = activations.get(name)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 12)) + 0.05
    h = phi.value(a)
    g = rng.normal(size=h.shape)
    num = np.empty_like(a)
    eps = 1e-6
    for idx in np.ndindex(a.shape):
        d = np.zeros_like(a)
        d[idx] = eps
        num[idx] = ((phi.value(a + d) * g).sum() - (phi.value(a - d) * g).sum()) / (2 * eps)
    np.testing.assert_allclose(phi.backprop(a, h, g), num, rtol=1e-6, atol=1e-8)


def test_maxout_takes_each_units_largest_piece_and_routes_its_error():
    phi = activations.get("maxout", pieces=3)
    a = np.array([[1.0, 5.0, 2.0, -1.0, -3.0, -2.0]])
    np.testing.assert_array_equal(phi.value(a), [[5.0, -1.0]])
    np.testing.assert_array_equal(phi.backprop(a, phi.value(a), np.array([[2.0, 7.0]])),
                                  [[0.0, 2.0, 0.0, 7.0, 0.0, 0.0]])
    assert activations.get("maxout:pieces=3") == phi
    with pytest.raises(InputError, match="pieces must be an integer >= 1"):
        activations.get("maxout", pieces=0)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_finite_differences(name):
    phi = activations.get(name)
    a = A.copy()
    h = phi.value(a)
    eps = 1e-6
    if name == "softmax":
        jac = phi.derivative(a, h)[0]
        num = np.empty_like(jac)
        for j in range(a.shape[1]):
            d = np.zeros_like(a)
            d[0, j] = eps
            num[:, j] = (phi.value(a + d) - phi.value(a - d))[0] / (2 * eps)
        np.testing.assert_allclose(jac, num, atol=1e-8)
    else:
        num = (phi.value(a + eps) - phi.value(a - eps)) / (2 * eps)
        np.testing.assert_allclose(phi.derivative(a, h), num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", [*ELEMENTWISE])
def test_backprop_is_derivative_times_gradient(name):
    phi = activations.get(name)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 5))
    h = phi.value(a)
    g = rng.normal(size=(4, 5))
    if name == "softmax":
        expected = np.einsum("nij,ni->nj", phi.derivative(a, h), g)  # J^T g per sample
    else:
        expected = phi.derivative(a, h) * g
    np.testing.assert_allclose(phi.backprop(a, h, g), expected, rtol=1e-12, atol=1e-14)
    out = np.empty_like(a)
    assert phi.backprop(a, h, g, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", activations.names())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_are_finite_and_within_bounds(name, dtype):
    phi = activations.get(name)
    a = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4, 1.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h = phi.value(a)
    assert h.dtype == dtype
    assert np.isfinite(h).all() or name in ("identity", "relu", "leaky_relu", "elu")
    lo, hi = phi.bounds
    assert (h >= lo).all() and (h <= hi).all()


def test_table1_values():
    a = np.array([[-2.0, 0.0, 2.0]])
    np.testing.assert_allclose(activations.get("logistic").value(a), 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(activations.get("relu").value(a), [[0, 0, 2]])
    np.testing.assert_allclose(activations.get("relu").derivative(a, None), [[0, 0, 1]])  # φ'(0)=0
    np.testing.assert_allclose(activations.get("leaky_relu", beta=0.1).value(a), [[-0.2, 0, 2]])
    elu = activations.get("elu", beta=1.0)
    h = elu.value(a)
    np.testing.assert_allclose(h, [[np.exp(-2) - 1, 0, 2]])
    np.testing.assert_allclose(elu.derivative(a, h), [[np.exp(-2), 1.0, 1.0]])  # φ(a)+β for a≤0
    np.testing.assert_allclose(activations.get("step").value(a), [[0, 0, 1]])
    np.testing.assert_allclose(activations.get("sign").value(a), [[-1, -1, 1]])
    s = activations.get("scaled_tanh")
    np.testing.assert_allclose(s.value(np.array([[1.0, -1.0]])), [[1.0, -1.0]], atol=2e-4)
    sm = activations.get("softmax").value(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(sm, [[0.5, 0.5, 0.0]])


@pytest.mark.parametrize("name", ["step", "sign"])
def test_forward_only_activations_refuse_gradients(name):
    phi = activations.get(name)
    with pytest.raises(NotDifferentiableError, match="perceptron"):
        phi.derivative(A, phi.value(A))


def test_lookup_errors_and_configs():
    with pytest.raises(InputError, match="unknown activation 'swish'.*relu"):
        activations.get("swish")
    with pytest.raises(InputError, match="0 < beta < 1"):
        activations.get("leaky_relu", beta=2.0)
    with pytest.raises(InputError, match="does not take"):
        activations.get("relu", beta=0.1)
    for name in activations.names():
        phi = activations.get(name)
        assert activations.get(phi.config()) == phi
    assert activations.get("sigmoid").name == "logistic"
