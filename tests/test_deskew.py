import numpy as np
import pytest
from scipy import ndimage

from deltaprop.data.deskew import Deskewer
from deltaprop.data.pipeline import make_preprocessor
from deltaprop.data.preprocessing import transformer_from_state
from deltaprop.errors import InputError


def slanted_bar(h=28, w=28, slope=0.5, offset=(0.0, 0.0), width=2):
    """A bar whose column moves by ``slope`` per row, anti-aliased, shifted by ``offset``."""
    r, c = np.mgrid[:h, :w].astype(np.float64)
    centre_c = (w - 1) / 2 + offset[1] + slope * (r - (h - 1) / 2 - offset[0])
    img = np.clip(width / 2 + 0.5 - np.abs(c - centre_c), 0.0, 1.0)
    img[(r < 4 + offset[0]) | (r > h - 5 + offset[0])] = 0.0
    return img.reshape(1, -1)


def moments_by_loops(img):
    """The definitions of μ, σ_rr, σ_rc written out pixel by pixel (the module's equations)."""
    m = mr = mc = 0.0
    h, w = img.shape
    for r in range(h):
        for c in range(w):
            m += img[r, c]
            mr += r * img[r, c]
            mc += c * img[r, c]
    mr, mc = mr / m, mc / m
    srr = src = 0.0
    for r in range(h):
        for c in range(w):
            srr += (r - mr) ** 2 * img[r, c]
            src += (r - mr) * (c - mc) * img[r, c]
    return mr, mc, (src / m) / (srr / m)


@pytest.mark.parametrize("slope", [-0.6, -0.2, 0.0, 0.3, 0.7])
def test_moments_match_their_definitions(slope):
    img = slanted_bar(slope=slope, offset=(1.5, -2.0))
    mu_r, mu_c, alpha = Deskewer((28, 28)).moments(img)
    assert np.allclose((mu_r[0], mu_c[0], alpha[0]), moments_by_loops(img.reshape(28, 28)),
                       atol=1e-12)
    assert alpha[0] == pytest.approx(slope, abs=0.05)


@pytest.mark.parametrize("slope", [-0.6, 0.3, 0.7])
def test_a_slanted_bar_comes_out_upright_and_centred(slope):
    d = Deskewer((28, 28))
    out = d.transform(slanted_bar(slope=slope, offset=(1.0, 3.0)))
    mu_r, mu_c, alpha = d.moments(out)
    assert abs(alpha[0]) < 0.02
    assert mu_r[0] == pytest.approx(13.5, abs=0.05) and mu_c[0] == pytest.approx(13.5, abs=0.05)
    assert out.sum() == pytest.approx(slanted_bar(slope=slope).sum(), rel=0.02)  # ink is kept


def test_samples_are_bilinear_at_the_source_coordinates():
    rng = np.random.default_rng(0)
    X = rng.random((5, 12 * 10))
    d = Deskewer((12, 10))
    mu_r, mu_c, alpha = d.moments(X)
    out = d.transform(X)
    for i in range(5):
        img = X[i].reshape(12, 10)
        for r, c in [(0, 0), (5, 4), (11, 9), (7, 2)]:
            sr = r + mu_r[i] - 5.5
            sc = c + mu_c[i] - 4.5 + alpha[i] * (r - 5.5)
            r0, c0 = int(np.floor(sr)), int(np.floor(sc))
            fr, fc = sr - r0, sc - c0

            def px(rr, cc, img=img):
                return img[rr, cc] if 0 <= rr < 12 and 0 <= cc < 10 else 0.0

            want = ((1 - fr) * (1 - fc) * px(r0, c0) + (1 - fr) * fc * px(r0, c0 + 1)
                    + fr * (1 - fc) * px(r0 + 1, c0) + fr * fc * px(r0 + 1, c0 + 1))
            assert out[i].reshape(12, 10)[r, c] == pytest.approx(want, abs=1e-12)


def test_blank_and_single_row_images_pass_through():
    d = Deskewer((6, 6))
    blank = np.zeros((1, 36))
    line = np.zeros((6, 6))
    line[2, 1:4] = 1.0  # all ink in one row: no vertical spread, no skew defined
    out = d.transform(np.vstack([blank, line.reshape(1, -1)]))
    assert not out[0].any()
    assert d.skew(line.reshape(1, -1))[0] == 0.0
    assert np.isfinite(out).all()


def test_dtype_and_order_kept_and_chunks_agree(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.random((9, 64)).astype(np.float32)
    d = Deskewer((8, 8))
    whole = d.transform(X)
    assert whole.dtype == np.float32 and whole.shape == X.shape
    import deltaprop.data.deskew as module

    monkeypatch.setattr(module, "_CHUNK", 4)
    assert np.array_equal(d.transform(X), whole)
    assert np.array_equal(d.transform(X[3:4]), whole[3:4])  # each image only sees itself


def test_same_as_scipy_affine_transform_of_each_image():
    rng = np.random.default_rng(2)
    X = ndimage.gaussian_filter(rng.random((3, 20, 16)), (0, 1.5, 1.5)).reshape(3, -1)
    d = Deskewer((20, 16))
    mu_r, mu_c, alpha = d.moments(X)
    for i in range(3):
        # source = M @ (r, c) + offset with M = [[1, 0], [alpha, 1]]
        matrix = np.array([[1.0, 0.0], [alpha[i], 1.0]])
        offset = np.array([mu_r[i] - 9.5, mu_c[i] - 7.5 - alpha[i] * 9.5])
        want = ndimage.affine_transform(X[i].reshape(20, 16), matrix, offset, order=1,
                                        mode="grid-constant", cval=0.0)
        assert np.allclose(d.transform(X[i:i + 1]).reshape(20, 16), want, atol=1e-12)


def test_state_round_trip_and_pipeline():
    d = Deskewer((8, 8))
    config, arrays = d.get_state()
    assert config == {"type": "Deskewer", "image_shape": [8, 8]} and arrays == {}
    X = np.random.default_rng(3).random((4, 64))
    assert np.array_equal(transformer_from_state(config, arrays).transform(X), d.transform(X))
    pre = make_preprocessor("deskew", (8, 8))
    assert np.array_equal(pre.fit_transform(X), d.transform(X))
    with pytest.raises(InputError, match="not images; give --image-shape"):
        make_preprocessor("deskew", None)


@pytest.mark.parametrize("X, message", [
    (np.zeros((2, 63)), r"expects X of shape \(n, 64\), got \(2, 63\)"),
    (np.zeros(64), r"got \(64,\)"),
    (np.zeros((2, 64), dtype=np.int64), "floating pixel values, got dtype int64"),
    (np.where(np.arange(128).reshape(2, 64) == 70, np.nan, 0.0), "row 1, column 6"),
    (np.where(np.arange(128).reshape(2, 64) == 5, -0.5, 0.0), "-0.5 at row 0, column 5"),
])
def test_bad_input_is_named(X, message):
    with pytest.raises(InputError, match=message):
        Deskewer((8, 8)).fit(X)


@pytest.mark.parametrize("shape", [(1, 8), (0, 0), "8x8", (8,)])
def test_bad_image_shape(shape):
    with pytest.raises(InputError, match="image_shape"):
        Deskewer(shape)
