import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltaprop.errors import InputError
from deltaprop.model_selection import (
    kfold,
    leave_one_out,
    split_indices,
    train_test_split,
    train_val_test_split,
)


def test_default_ratio_is_5_1_1_and_disjoint():
    X = np.arange(700).reshape(350, 2)
    y = np.arange(350) % 3
    Xtr, Xva, Xte, ytr, yva, yte = train_val_test_split(X, y, seed=0)
    assert (len(Xtr), len(Xva), len(Xte)) == (250, 50, 50)
    ids = np.concatenate([Xtr[:, 0], Xva[:, 0], Xte[:, 0]]) // 2
    assert np.array_equal(np.sort(ids), np.arange(350))
    assert np.array_equal(ytr, y[Xtr[:, 0] // 2])  # rows stay paired with their labels


def test_stratified_class_proportions():
    y = np.r_[np.zeros(70, int), np.ones(21, int), np.full(7, 2)]
    parts = split_indices(98, (5, 1, 1), stratify_labels=y, seed=3)
    for p, share in zip(parts, (5 / 7, 1 / 7, 1 / 7), strict=True):
        counts = np.bincount(y[p], minlength=3)
        assert np.all(np.abs(counts - share * np.array([70, 21, 7])) < 2)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 300), ratios=st.lists(st.integers(1, 9), min_size=2, max_size=4),
       k=st.integers(1, 5), seed=st.integers(0, 10))
def test_split_indices_exact_sizes_and_partition(n, ratios, k, seed):
    expected = np.floor(n * np.array(ratios) / sum(ratios))
    labels = np.arange(n) % k
    for strat in (None, labels):
        try:
            parts = split_indices(n, ratios, stratify_labels=strat, seed=seed)
        except InputError:
            assert np.any(expected == 0) or n < len(ratios) * 2
            continue
        sizes = np.array([len(p) for p in parts])
        assert sizes.sum() == n and np.all(np.abs(sizes - n * np.array(ratios) / sum(ratios)) < 1)
        assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(n))


def test_deterministic_for_seed_and_varies_with_seed():
    a = split_indices(100, (5, 1, 1), seed=7)
    b = split_indices(100, (5, 1, 1), seed=7)
    c = split_indices(100, (5, 1, 1), seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_float_targets_not_stratified_by_default():
    X, y = np.zeros((20, 1)), np.linspace(0, 1, 20)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, seed=0)
    assert len(yte) == 5 and len(ytr) == 15
    with pytest.raises(InputError, match="1-D class labels"):
        train_test_split(X, y.reshape(20, 1), stratify=True)


def test_train_test_split_without_y_and_count():
    Xtr, Xte = train_test_split(np.zeros((10, 2)), test_size=3, seed=0)
    assert Xte.shape == (3, 2) and Xtr.shape == (7, 2)


@pytest.mark.parametrize("call, msg", [
    (lambda: train_val_test_split(np.zeros((10, 1)), ratios=(5, 0, 1)), "positive numbers"),
    (lambda: train_val_test_split(np.zeros((10, 1)), ratios=(5, 1)), "3 positive numbers"),
    (lambda: train_val_test_split(np.zeros((3, 1)), ratios=(5, 1, 1)), "too few"),
    (lambda: train_val_test_split(np.zeros((10, 1)), np.zeros(9)), "10 vs 9"),
    (lambda: train_test_split(np.zeros((10, 1)), test_size=1.5), "test_size"),
    (lambda: train_test_split(np.zeros((10, 1)), test_size=10), "between 1 and n-1"),
    (lambda: kfold(5, 6), "2 <= k <= n=5"),
    (lambda: kfold(5, 1), "2 <= k"),
    (lambda: kfold(0, 2), "positive integer"),
    (lambda: kfold(4, 2, stratify_labels=[0, 1]), r"shape \(4,\)"),
    (lambda: leave_one_out(1), "n >= 2"),
])
def test_bad_arguments_raise_eagerly(call, msg):
    with pytest.raises(InputError, match=msg):
        call()


def test_kfold_covers_each_sample_once():
    folds = list(kfold(10, 3, seed=0))
    assert [len(v) for _, v in folds] == [4, 3, 3]
    vals = np.concatenate([v for _, v in folds])
    assert np.array_equal(np.sort(vals), np.arange(10))
    for tr, va in folds:
        assert np.intersect1d(tr, va).size == 0 and tr.size + va.size == 10
    assert all(np.array_equal(a[1], b[1]) for a, b in
               zip(folds, kfold(10, 3, seed=0), strict=True))


def test_kfold_no_shuffle_is_contiguous():
    assert [v.tolist() for _, v in kfold(6, 3, shuffle=False)] == [[0, 1], [2, 3], [4, 5]]


def test_kfold_stratified_balances_classes():
    y = np.r_[np.zeros(50, int), np.ones(10, int)]
    for _, va in kfold(60, 5, seed=1, stratify_labels=y):
        assert np.bincount(y[va]).tolist() == [10, 2]


def test_leave_one_out():
    folds = list(leave_one_out(4))
    assert [v.tolist() for _, v in folds] == [[0], [1], [2], [3]]
    assert folds[2][0].tolist() == [0, 1, 3]
