import time

import numpy as np
import pytest

from deltaprop.data.augmentation import (
    DEFAULT_ELASTIC,
    Augmenter,
    add_noise,
    elastic_distortion,
    random_rotation,
    random_shift,
)
from deltaprop.errors import InputError


def bar_image(h=28, w=28, col=14):
    img = np.zeros((h, w), dtype=np.float32)
    img[4:24, col - 1 : col + 1] = 1.0
    return img.reshape(1, -1)


def test_shift_moves_pixels_exactly():
    X = bar_image()
    out = random_shift(np.repeat(X, 50, axis=0), 3, np.random.default_rng(0))
    cols = [np.nonzero(o.reshape(28, 28).sum(0))[0] for o in out]
    offsets = {int(c[0]) - 13 for c in cols}
    assert offsets <= set(range(-3, 4)) and len(offsets) > 3
    assert np.allclose(np.sort(out.sum(1))[-1], X.sum())  # integer shifts keep the bar intact


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rotation_turns_bar_by_drawn_angle(seed):
    X = np.zeros((1, 29 * 29), dtype=np.float32)
    X.reshape(29, 29)[4:25, 14] = 1.0  # vertical bar through the centre
    out = random_rotation(X, 60, np.random.default_rng(seed)).reshape(29, 29)
    angle = np.random.default_rng(seed).uniform(-60, 60)  # the first draw is the angle
    rows, cols = np.nonzero(out > 0.2)
    w = out[rows, cols]
    cov = np.cov(np.c_[rows, cols].T, aweights=w)
    axis = np.linalg.eigh(cov)[1][:, -1]  # principal direction (row, col)
    measured = np.degrees(np.arccos(abs(axis[0])))  # angle from vertical
    assert measured == pytest.approx(abs(angle), abs=3.0)


def test_small_rotation_keeps_centre_pixel():
    X = np.zeros((1, 29 * 29), dtype=np.float64)
    X[0, 14 * 29 + 14] = 1.0
    out = random_rotation(X, 15, np.random.default_rng(1))
    assert out[0, 14 * 29 + 14] == pytest.approx(1.0)  # the centre is the rotation's fixed point


def test_elastic_is_smooth_and_changes_image():
    rng = np.random.default_rng(0)
    X = np.repeat(bar_image(), 4, axis=0)
    out = elastic_distortion(X, *DEFAULT_ELASTIC, rng=rng)
    assert out.shape == X.shape and out.dtype == np.float32
    assert not np.allclose(out, X)
    assert np.abs(out.sum(1) - X.sum(1)).max() < 0.5 * X.sum()  # distortion, not destruction
    zero = elastic_distortion(X, 0.0, 4.0, rng=rng)
    assert np.allclose(zero, X)  # alpha=0 is the identity


def test_noise_statistics_and_clipping():
    X = np.full((200, 100), 0.5)
    out = add_noise(X, 0.1, np.random.default_rng(0), clip=(0.0, 1.0))
    assert abs((out - X).std() - 0.1) < 0.005
    out = add_noise(X, 5.0, np.random.default_rng(0), clip=(0.0, 1.0))
    assert out.min() == 0.0 and out.max() == 1.0


def test_augmenter_preserves_shape_dtype_range_and_input():
    X = np.random.default_rng(1).random((16, 784), dtype=np.float32)
    orig = X.copy()
    aug = Augmenter(noise=0.2, shift=2, rotation=10, elastic=True)
    out = aug(X, np.random.default_rng(2))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert out.min() >= X.min() and out.max() <= X.max()
    assert np.array_equal(X, orig)  # input untouched


def test_determinism_with_rng_and_seed():
    X = np.random.default_rng(1).random((8, 64))
    aug = Augmenter(noise=0.1, shift=1, rotation=5, elastic=(8, 2))
    a = aug(X, np.random.default_rng(5))
    b = aug(X, np.random.default_rng(5))
    c = aug(X, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    s1, s2 = Augmenter(noise=0.1, seed=3), Augmenter(noise=0.1, seed=3)
    assert np.array_equal(s1(X), s2(X))
    assert not np.array_equal(s1(X), s1(X))  # a fresh draw per call (per epoch)


def test_identity_returns_copy():
    X = np.ones((2, 4))
    out = Augmenter()(X)
    assert Augmenter().is_identity and np.array_equal(out, X) and out is not X


def test_non_square_needs_image_shape():
    X = np.zeros((2, 783))
    with pytest.raises(InputError, match="cannot infer a square image shape from 783"):
        Augmenter(shift=1)(X)
    out = Augmenter(shift=1, image_shape=(27, 29))(X)
    assert out.shape == (2, 783)
    with pytest.raises(InputError, match="has 784 pixels but X has 783"):
        Augmenter(shift=1, image_shape=(28, 28))(X)


@pytest.mark.parametrize("X, msg", [(np.zeros(784), "2-D"),
                                    (np.zeros((2, 4), dtype=np.uint8), "floating")])
def test_bad_batch(X, msg):
    with pytest.raises(InputError, match=msg):
        Augmenter(noise=0.1)(X)


def test_from_spec_parses():
    a = Augmenter.from_spec("noise=0.1, shift=2,rotate=10,elastic")
    assert (a.noise, a.shift, a.rotation, a.elastic) == (0.1, 2, 10.0, DEFAULT_ELASTIC)
    assert Augmenter.from_spec("elastic=20").elastic == (20.0, 4.0)
    assert Augmenter.from_spec("elastic=20:3,rotation=5").elastic == (20.0, 3.0)
    assert Augmenter.from_spec("none").is_identity and Augmenter.from_spec("").is_identity
    b = Augmenter.from_spec(a.to_spec())
    assert (b.noise, b.shift, b.rotation, b.elastic) == (a.noise, a.shift, a.rotation, a.elastic)


@pytest.mark.parametrize("spec, msg", [
    ("blur=2", "unknown key 'blur'"),
    ("noise=abc", "bad value 'abc' for 'noise'"),
    ("shift=1.5", "bad value '1.5' for 'shift'"),
    ("shift", "'shift' needs a value"),
    ("noise=0.1,noise=0.2", "given twice"),
    ("rotate=400", r"rotation must be in \[0, 180\]"),
    ("noise=-1", "noise must be"),
    ("elastic=1:2:3", "bad value"),
    ("elastic=5:0", "sigma > 0"),
])
def test_from_spec_errors(spec, msg):
    with pytest.raises(InputError, match=msg):
        Augmenter.from_spec(spec)


def test_state_roundtrip():
    a = Augmenter(noise=0.1, shift=2, elastic=True, clip=(0.0, 1.0), seed=4)
    cfg, arrays = a.get_state()
    b = Augmenter.from_state(cfg, arrays)
    X = np.random.default_rng(0).random((3, 16))
    assert np.array_equal(a(X), b(X)) and b.clip == (0.0, 1.0)


def test_fast_enough_for_mnist_batches():
    X = np.random.default_rng(0).random((128, 784), dtype=np.float32)
    aug = Augmenter(noise=0.1, shift=2, rotation=10, elastic=True, seed=0)
    aug(X)
    t = time.perf_counter()
    for _ in range(5):
        aug(X)
    assert (time.perf_counter() - t) / 5 < 0.1  # ~15 ms here; generous bound for slow CI
