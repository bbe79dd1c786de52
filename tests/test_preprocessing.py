import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deltaprop.data.preprocessing import (
    OneHotEncoder,
    PCAWhitener,
    Preprocessor,
    Standardizer,
    TargetScaler,
    check_array,
    one_hot,
    transformer_from_state,
)
from deltaprop.errors import InputError


def roundtrip(obj):
    cfg, arrays = obj.get_state()
    cfg = json.loads(json.dumps(cfg))  # the config must be JSON-able
    # arrays must survive npz without pickle
    arrays = {k: np.array(v) for k, v in arrays.items()}
    for v in arrays.values():
        assert v.dtype != object
    return transformer_from_state(cfg, arrays)


def test_one_hot_matches_eq2():
    Y = one_hot([2, 0, 1, 2])
    assert Y.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert one_hot([0, 1], n_classes=4).shape == (2, 4)
    assert one_hot(np.array([1.0, 0.0])).tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize("labels, kw, msg", [
    ([0, 3], {"n_classes": 3}, "label 3 at index 1"),
    ([0, -1], {}, "-1 at index 1"),
    ([0.5, 1], {}, "whole numbers, got 0.5"),
    (["a"], {}, "OneHotEncoder"),
    ([[0, 1]], {}, "1-D"),
])
def test_one_hot_errors(labels, kw, msg):
    with pytest.raises(InputError, match=msg):
        one_hot(labels, **kw)


def test_onehot_encoder_strings_roundtrip():
    enc = OneHotEncoder().fit(["dog", "cat", "emu", "cat"])
    assert enc.classes_.tolist() == ["cat", "dog", "emu"]
    Y = enc.transform(["emu", "cat"])
    assert Y.tolist() == [[0, 0, 1], [1, 0, 0]]
    assert enc.inverse_transform([[0.1, 0.7, 0.2]]).tolist() == ["dog"]
    with pytest.raises(InputError, match="'fox' at index 1 was not seen"):
        enc.transform(["cat", "fox"])
    enc2 = roundtrip(enc)
    assert enc2.transform(["emu"]).tolist() == [[0, 0, 1]]


def test_unfitted_raises():
    with pytest.raises(InputError, match="not fitted"):
        Standardizer().transform([[1.0]])


def test_standardizer_zero_mean_unit_var_and_constant_column():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(5, 3, 200), np.full(200, 7.0), rng.uniform(0, 1, 200)]
    s = Standardizer().fit(X)
    Z = s.transform(X)
    assert np.allclose(Z.mean(0), 0, atol=1e-12)
    assert np.allclose(Z.std(0), [1, 0, 1])
    assert np.all(Z[:, 1] == 0)  # constant column -> zeros, no division by zero
    assert np.allclose(s.inverse_transform(Z), X)
    assert np.allclose(roundtrip(s).transform(X), Z)


def test_standardizer_keeps_float32():
    X = np.random.default_rng(0).random((10, 3), dtype=np.float32)
    assert Standardizer().fit_transform(X).dtype == np.float32


def test_check_array_messages():
    s = Standardizer().fit(np.zeros((3, 784)))
    with pytest.raises(InputError, match="X has 783 features \\(columns\\), expected 784"):
        s.transform(np.zeros((2, 783)))
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(InputError, match="nan at row 2, column 1"):
        check_array(X)
    with pytest.raises(InputError, match="2-D"):
        check_array(np.ones(3))
    with pytest.raises(InputError, match="numeric"):
        check_array([["a"]])


def test_pca_whitening_decorrelates():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 3)) @ np.array([[3.0, 1.0, 0.0], [0.0, 1.0, 0.5], [0, 0, 0.2]])
    w = PCAWhitener(whiten=True).fit(X)
    Z = w.transform(X)
    assert np.allclose(np.cov(Z.T), np.eye(3), atol=1e-3)
    assert np.allclose(w.inverse_transform(Z), X)
    r = PCAWhitener(whiten=False).fit(X)
    C = np.cov(r.transform(X).T)
    assert np.allclose(C, np.diag(np.diag(C)), atol=1e-8)  # decorrelated, not scaled
    assert np.all(np.diff(np.diag(C)) < 0)  # largest variance first
    assert np.allclose(roundtrip(w).transform(X), Z)


def test_pca_n_components_and_errors():
    X = np.random.default_rng(2).normal(size=(50, 4))
    assert PCAWhitener(n_components=2).fit_transform(X).shape == (50, 2)
    with pytest.raises(InputError, match="n_components=5 exceeds"):
        PCAWhitener(n_components=5).fit(X)
    with pytest.raises(InputError, match="positive integer"):
        PCAWhitener(n_components=0)


def test_pca_deterministic_signs():
    X = np.random.default_rng(3).normal(size=(30, 3))
    a = PCAWhitener().fit(X).components_
    b = PCAWhitener().fit(X.copy()).components_
    assert np.array_equal(a, b)


def test_target_scaler_guard_interval():
    ts = TargetScaler("sigmoid", guard=0.1).fit(np.array([-5.0, 0.0, 15.0]))
    assert np.allclose(ts.transform([-5.0, 15.0]), [0.1, 0.9])
    t = TargetScaler((-1, 1), guard=0.1).fit([[0.0, 10.0], [2.0, 30.0]])
    assert np.allclose(t.transform([[0.0, 10.0], [2.0, 30.0]]), [[-0.8, -0.8], [0.8, 0.8]])
    assert np.allclose(t.inverse_transform([[0.0, 0.0]]), [[1.0, 20.0]])
    t2 = roundtrip(t)
    assert np.allclose(t2.inverse_transform([[0.8, -0.8]]), [[2.0, 10.0]])


def test_target_scaler_constant_and_errors():
    ts = TargetScaler((0, 1)).fit([3.0, 3.0])
    assert np.allclose(ts.transform([3.0]), [0.5])
    assert np.allclose(ts.inverse_transform([0.5]), [3.0])
    with pytest.raises(InputError, match="guard"):
        TargetScaler(guard=0.5)
    with pytest.raises(InputError, match="unknown activation_range"):
        TargetScaler("relu")
    with pytest.raises(InputError, match="target column"):
        ts.transform([[1.0, 2.0]])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30))
@example([0.0, 2.2250738585e-313])  # a subnormal span once overflowed 1/span
def test_target_scaler_inverse_property(values):
    y = np.array(values)
    ts = TargetScaler("tanh", guard=0.05).fit(y)
    z = ts.transform(y)
    assert z.min() >= -0.9 - 1e-9 and z.max() <= 0.9 + 1e-9
    assert np.allclose(ts.inverse_transform(z), y, atol=1e-6 * (1 + np.abs(y).max()))


def test_preprocessor_chain_and_state():
    rng = np.random.default_rng(4)
    X = rng.normal(3, 2, size=(100, 5))
    pre = Preprocessor([Standardizer(), PCAWhitener(n_components=3)])
    Z = pre.fit_transform(X)
    assert Z.shape == (100, 3)
    pre2 = roundtrip(pre)
    assert np.allclose(pre2.transform(X[:7]), Z[:7])
    assert isinstance(pre2.steps[1], PCAWhitener)
    with pytest.raises(InputError, match="no fit/transform"):
        Preprocessor([object()])
    with pytest.raises(InputError, match="unknown preprocessing type"):
        transformer_from_state({"type": "Pickle"}, {})


def test_standardizer_near_the_float64_limit_scales_before_squaring():
    """Squares of values near 1e308 overflowed: the column got scale inf and became all 0."""
    big = np.array([1.7e308, -1.7e308, 0.9e308, -0.2e308, 1.0e308])
    X = np.column_stack([big, np.arange(5.0)])
    s = Standardizer().fit(X)
    assert np.isfinite(s.mean_).all() and np.isfinite(s.scale_).all()
    np.testing.assert_allclose(s.mean_[0], big.mean(), rtol=1e-12)
    np.testing.assert_allclose(s.scale_[0], (big / 1e308).std() * 1e308, rtol=1e-12)
    Z = s.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    same = np.full((3, 1), 1.7e308)
    np.testing.assert_array_equal(Standardizer().fit(same).transform(same), 0.0)
