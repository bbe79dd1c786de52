"""Streaming column moments (deltaprop.data.moments) and Standardizer.partial_fit."""

import numpy as np
import pytest

from deltaprop.data.moments import RunningMoments
from deltaprop.data.preprocessing import Standardizer
from deltaprop.errors import InputError


def test_blocks_merge_to_the_in_memory_moments():
    rng = np.random.default_rng(0)
    X = rng.normal(1e4, 3.0, size=(1000, 3))  # a large mean: no E[x²] - E[x]² cancellation
    m = RunningMoments()
    for lo, hi in [(0, 7), (7, 7), (7, 500), (500, 999), (999, 1000)]:
        m.update(X[lo:hi])
    assert m.count == 1000
    np.testing.assert_allclose(m.mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(m.var, X.var(axis=0), rtol=1e-10)


def test_one_block_is_taken_exactly():
    Y = np.random.default_rng(1).random((50, 2), dtype=np.float32)
    m = RunningMoments().add(len(Y), Y.mean(axis=0), np.ones(2))
    assert m.mean.tolist() == Y.mean(axis=0).astype(np.float64).tolist()
    assert m.m2.tolist() == [1.0, 1.0]


def test_errors_name_the_problem():
    with pytest.raises(InputError, match="seen no rows"):
        _ = RunningMoments().var
    with pytest.raises(InputError, match="2-D"):
        RunningMoments().update(np.zeros(3))
    with pytest.raises(InputError, match="columns"):
        RunningMoments().update(np.zeros((2, 3))).update(np.zeros((2, 2)))


def test_standardizer_partial_fit_matches_fit():
    X = np.random.default_rng(2).normal(5.0, 2.0, size=(301, 4))
    X[:, 3] = 7.0  # a constant column keeps scale 1
    s = Standardizer()
    for block in np.array_split(X, 9):
        s.partial_fit(block)
    full = Standardizer().fit(X)
    np.testing.assert_allclose(s.mean_, full.mean_, rtol=1e-13)
    np.testing.assert_allclose(s.scale_, full.scale_, rtol=1e-12)
    assert s.scale_[3] == 1.0
    again = Standardizer.from_state(*s.get_state())
    np.testing.assert_array_equal(again.transform(X), s.transform(X))
    # fit() starts over, and so does partial_fit after it
    s.fit(X[:10])
    s.partial_fit(X[10:20])
    np.testing.assert_allclose(s.mean_, X[10:20].mean(axis=0))
