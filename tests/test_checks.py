"""deltaprop.checks: the finiteness test every fit and partial_fit runs on its data."""

import numpy as np
import pytest

from deltaprop.checks import all_finite, check_array
from deltaprop.errors import InputError

LAYOUTS = {
    "c": lambda a: np.ascontiguousarray(a),
    "fortran": lambda a: np.asfortranarray(a),
    "strided": lambda a: np.repeat(a, 2, axis=1)[:, ::2],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("shape", [(7, 5), (3000, 784), (10, 40, 30)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_one_bad_entry_anywhere_is_found(dtype, layout, shape, bad):
    rng = np.random.default_rng(0)
    X = rng.normal(size=shape).astype(dtype)
    assert all_finite(LAYOUTS[layout](X) if X.ndim == 2 else X)
    for where in (0, X.size // 2, X.size - 1):
        Y = X.copy()
        Y.flat[where] = bad
        Y = LAYOUTS[layout](Y) if Y.ndim == 2 else Y
        assert not all_finite(Y), (where, bad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_values_whose_sum_overflows_are_finite_and_warn_nothing(dtype):
    big = np.finfo(dtype).max / 2
    X = np.full((4096, 8), big, dtype=dtype)
    X[::2] *= -1  # row sums cancel, column sums do not: either order of summation overflows
    X[0, 0] = big
    assert all_finite(X)  # filterwarnings = error: an overflow warning would fail here
    X[100, 3] = np.nan
    assert not all_finite(X)


def test_cancelling_infinities_are_not_finite():
    X = np.zeros((5000, 4))
    X[10, 0], X[10, 1] = np.inf, -np.inf  # their sum is NaN, still caught
    assert not all_finite(X)


def test_non_float_and_empty_arrays():
    assert all_finite(np.arange(10_000).reshape(100, 100))
    assert all_finite(np.zeros((0, 784), np.float32))
    c = np.ones((100, 100), complex)
    assert all_finite(c)
    c[5, 5] = complex(0, np.inf)
    assert not all_finite(c)


def test_check_array_names_the_first_bad_entry():
    X = np.ones((5000, 3), np.float32)
    X[4321, 2] = np.nan
    with pytest.raises(InputError, match=r"4321.*2|row 4321"):
        check_array(X, name="X")
