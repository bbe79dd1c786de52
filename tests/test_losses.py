"""Losses: general gradients against finite differences, fused deltas against the general path."""

import numpy as np
import pytest

from deltaprop import activations, losses
from deltaprop.errors import InputError

RNG = np.random.default_rng(0)


def _targets(name, n=6, k=3):
    if name == "categorical_cross_entropy":
        return np.eye(k)[RNG.integers(0, k, n)]
    if name == "binary_cross_entropy":
        return RNG.integers(0, 2, (n, k)).astype(float)
    return RNG.normal(size=(n, k))


@pytest.mark.parametrize("name", losses.names())
def test_gradient_matches_finite_differences(name):
    loss = losses.get(name)
    y = _targets(name)
    h = RNG.uniform(0.1, 0.9, size=y.shape)
    if name == "categorical_cross_entropy":
        h /= h.sum(axis=1, keepdims=True)
    g = loss.gradient(h, y)
    eps = 1e-6
    num = np.empty_like(h)
    for idx in np.ndindex(h.shape):
        d = np.zeros_like(h)
        d[idx] = eps
        num[idx] = (loss.per_sample(h + d, y) - loss.per_sample(h - d, y))[idx[0]] / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


CANONICAL = [n for n in losses.names() if losses.get(n).canonical]


@pytest.mark.parametrize("name", CANONICAL)
def test_fused_delta_equals_general_path(name):
    loss = losses.get(name)
    phi = activations.get(loss.canonical)
    y = _targets(name)
    a = RNG.normal(size=y.shape)
    h = phi.value(a)
    general = phi.backprop(a, h, loss.gradient(h, y))
    np.testing.assert_allclose(loss.delta_from_logits(a, h, y), general, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.delta_from_logits(a, h, y), h - y)  # δ = ŷ − y, 004 table
    np.testing.assert_allclose(loss.per_sample_from_logits(a, y), loss.per_sample(h, y), rtol=1e-10)


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logit_losses_are_finite_for_extreme_logits(name, dtype):
    loss = losses.get(name)
    phi = activations.get(loss.canonical)
    a = np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]], dtype=dtype)
    y = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = loss.per_sample_from_logits(a, y)
        delta = loss.delta_from_logits(a, phi.value(a), y)
    assert np.isfinite(values).all() and np.isfinite(delta).all()
    if name != "squared_error":
        assert values[1] == pytest.approx(0.0, abs=1e-6)  # confident and right: no loss
        assert values[0] > 1e3  # confident and wrong: large, finite loss


def test_values_by_hand():
    h = np.array([[0.8, 0.2]])
    y = np.array([[1.0, 0.0]])
    assert losses.get("squared_error").value(h, y) == pytest.approx(0.5 * (0.04 + 0.04))
    assert losses.get("mse").value(h, y) == pytest.approx((0.04 + 0.04) / 2)
    assert losses.get("cce").value(h, y) == pytest.approx(-np.log(0.8))
    assert losses.get("bce").value(h, y) == pytest.approx(-np.log(0.8) - np.log(0.8))
    w = np.array([1.0, 3.0])
    hh, yy = np.array([[1.0], [2.0]]), np.zeros((2, 1))
    assert losses.get("squared_error").value(hh, yy, w) == pytest.approx((0.5 + 3 * 2.0) / 4)


def test_target_validation_and_lookup():
    with pytest.raises(InputError, match=r"targets in \[0, 1\]; Y\[0, 1\] = 2"):
        losses.get("bce").validate_targets(np.array([[0.0, 2.0]]))
    with pytest.raises(InputError, match="row 1 sums to 2"):
        losses.get("cce").validate_targets(np.array([[1.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(InputError, match="unknown loss 'hinge'"):
        losses.get("hinge")


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.5])
def test_label_smoothing_fused_delta_equals_general_path(eps):
    """Szegedy et al. 2016: t̃ = (1 − ε) t + ε/K, and the fused delta becomes ŷ − t̃."""
    loss = losses.get(f"categorical_cross_entropy:label_smoothing={eps}")
    assert loss.label_smoothing == eps
    phi = activations.get("softmax")
    y = _targets("categorical_cross_entropy", k=4)
    a = RNG.normal(size=y.shape)
    h = phi.value(a)
    smoothed = (1 - eps) * y + eps / 4
    np.testing.assert_allclose(loss.smooth(y).sum(axis=1), 1.0)
    general = phi.backprop(a, h, loss.gradient(h, y))
    np.testing.assert_allclose(loss.delta_from_logits(a, h, y), general, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.delta_from_logits(a, h, y), h - smoothed)
    np.testing.assert_allclose(loss.per_sample_from_logits(a, y), loss.per_sample(h, y),
                               rtol=1e-10)
    np.testing.assert_allclose(loss.per_sample(h, y), -(smoothed * np.log(h)).sum(axis=1))
    plain = losses.get("categorical_cross_entropy")
    np.testing.assert_allclose(loss.per_sample(h, y), plain.per_sample(h, smoothed))


def test_label_smoothing_specs_config_and_errors():
    for spec in ("cce:label_smoothing=0.1", {"name": "categorical_cross_entropy",
                                             "label_smoothing": 0.1}):
        loss = losses.get(spec)
        assert loss.config() == {"name": "categorical_cross_entropy", "label_smoothing": 0.1}
        assert losses.get(loss.config()).label_smoothing == 0.1
    assert losses.get("cce", label_smoothing=0.2).label_smoothing == 0.2
    assert losses.get("cce").config() == {"name": "categorical_cross_entropy"}  # as before
    assert repr(losses.get("cce:label_smoothing=0.1")) == (
        "CategoricalCrossEntropy(label_smoothing=0.1)")
    with pytest.raises(InputError, match="label_smoothing"):
        losses.get("cce:label_smoothing=1.0")
    with pytest.raises(InputError, match="does not take parameters"):
        losses.get("bce:label_smoothing=0.1")
    with pytest.raises(InputError, match="together with a Loss instance"):
        losses.get(losses.get("cce"), label_smoothing=0.1)


def test_label_smoothing_survives_save_and_load(tmp_path):
    import deltaprop as dp

    net = dp.mlp([3, 4, 3], loss="categorical_cross_entropy:label_smoothing=0.1", seed=0)
    net.save(tmp_path / "m.dpz")
    assert dp.load(tmp_path / "m.dpz").loss.label_smoothing == 0.1
