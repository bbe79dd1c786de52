"""Deskewing: straighten each handwritten image by the shear its own moments give.

Input normalization (002 §4) for images of handwriting. A writer's slant is variation the
network would otherwise have to learn; removing it before training is the classic MNIST
preprocessing (LeCun et al. 1998 list "deskewing" beside their classifiers; it is
worth about half a point of test accuracy to deltaprop's MLPs, docs/mnist-records.md).

For an image x(r, c) with ink mass m = Σ x, the moments are

    μ_r = Σ r x / m,   μ_c = Σ c x / m,
    σ_rr = Σ (r − μ_r)² x / m,   σ_rc = Σ (r − μ_r)(c − μ_c) x / m,

and the skew is α = σ_rc / σ_rr: the column of the ink moves by α per row. The deskewed
image samples the original at

    x'(r, c) = x(r + μ_r − r₀,  c + μ_c − c₀ + α (r − r₀)),

with (r₀, c₀) the image centre, so the centre of mass lands on the centre and a stroke along
c − μ_c = α (r − μ_r) becomes vertical. Samples between pixels are bilinear; outside the
image the background is 0 (ink on a dark background, as in MNIST), interpolated towards the
edge the way ONNX's ``GridSample`` with zero padding does, so an exported model computes
the same pixels (docs/onnx.md).

Examples
--------
>>> import numpy as np
>>> img = np.zeros((8, 8)); img[np.arange(8), np.arange(8) // 2 + 2] = 1.0   # a slanted bar
>>> out = Deskewer((8, 8)).transform(img.reshape(1, -1)).reshape(8, 8)
>>> bool(abs(Deskewer((8, 8)).skew(out.reshape(1, -1))[0]) < 0.1)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from deltaprop.checks import State
from deltaprop.errors import InputError

__all__ = ["Deskewer"]

#: Rows per resampling call: the coordinate arrays cost 24 bytes per pixel.
_CHUNK = 4096


class Deskewer:
    """Remove each image's slant and centre its ink (moments, then one bilinear resampling).

    Nothing is learned from the training data: every image is straightened by its own moments,
    so ``fit`` only checks the shape. The output is still an image with the input's range,
    so image augmentation applies to it directly.

    Parameters
    ----------
    image_shape : (int, int)
        Height and width of the images; rows of ``X`` are images flattened row by row.

    Examples
    --------
    >>> import numpy as np
    >>> Deskewer((28, 28)).fit_transform(np.zeros((2, 784))).shape
    (2, 784)
    """

    #: The output is an image in the input's range (augmentation distorts it as it is).
    image_valued = True

    def __init__(self, image_shape: tuple[int, int]) -> None:
        try:
            h, w = (int(v) for v in image_shape)
        except (TypeError, ValueError):
            raise InputError(f"image_shape must be (height, width), got {image_shape!r}") from None
        if h < 2 or w < 2:
            raise InputError(f"image_shape must be at least 2x2 pixels, got {(h, w)}")
        self.image_shape = (h, w)

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        h, w = self.image_shape
        if X.ndim != 2 or X.shape[1] != h * w:
            raise InputError(f"Deskewer for {h}x{w} images expects X of shape (n, {h * w}), "
                             f"got {X.shape}")
        if not np.issubdtype(X.dtype, np.floating):
            raise InputError(f"X must hold floating pixel values, got dtype {X.dtype}")
        if not np.isfinite(X).all():
            row, col = (int(v) for v in np.argwhere(~np.isfinite(X))[0])
            raise InputError(f"X has a non-finite value at row {row}, column {col}")
        if (X < 0).any():
            row, col = (int(v) for v in np.argwhere(X < 0)[0])
            raise InputError(f"deskewing weighs pixels by their ink, which must be >= 0; X has "
                             f"{X[row, col]:g} at row {row}, column {col}")
        return X

    def moments(self, X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre of mass (μ_r, μ_c) and skew α = σ_rc / σ_rr of each image (float64).

        Blank images (no ink) and images whose ink lies in one row get α = 0 and the
        image centre as their centre of mass, so they pass through unchanged.
        """
        X = self._check(X)
        h, w = self.image_shape
        imgs = X.reshape(-1, h, w).astype(np.float64)
        r = np.arange(h, dtype=np.float64)
        c = np.arange(w, dtype=np.float64)
        rows, cols = imgs.sum(axis=2), imgs.sum(axis=1)          # ink per row, per column
        m = rows.sum(axis=1)
        ink = m > 0
        safe = np.where(ink, m, 1.0)
        mu_r = np.where(ink, rows @ r / safe, (h - 1) / 2)
        mu_c = np.where(ink, cols @ c / safe, (w - 1) / 2)
        dr = r[None, :] - mu_r[:, None]
        dc = c[None, :] - mu_c[:, None]
        s_rr = (rows * dr ** 2).sum(axis=1) / safe
        s_rc = np.einsum("nr,nrc,nc->n", dr, imgs, dc) / safe
        alpha = np.where(s_rr > 1e-12, s_rc / np.where(s_rr > 1e-12, s_rr, 1.0), 0.0)
        return mu_r, mu_c, alpha

    def skew(self, X: Any) -> np.ndarray:
        """α of each image: how many columns its ink moves per row."""
        return self.moments(X)[2]

    def fit(self, X: Any) -> Deskewer:
        """Nothing to learn; checks the shape."""
        self._check(X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The deskewed, centred images, flattened, in ``X``'s dtype."""
        X = self._check(X)
        h, w = self.image_shape
        mu_r, mu_c, alpha = self.moments(X)
        r0, c0 = (h - 1) / 2, (w - 1) / 2
        r, c = np.mgrid[:h, :w].astype(np.float64)
        out = np.empty_like(X)
        for lo in range(0, len(X), _CHUNK):
            sl = slice(lo, lo + _CHUNK)
            n = len(X[sl])
            src_r = r[None] + (mu_r[sl] - r0)[:, None, None]
            src_c = (c[None] + (mu_c[sl] - c0)[:, None, None]
                     + alpha[sl, None, None] * (r[None] - r0))
            # each image samples only itself: the image index is an exact integer coordinate
            image = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None], (n, h, w))
            out[sl] = ndimage.map_coordinates(
                X[sl].reshape(n, h, w).astype(np.float64), [image, src_r, src_c], order=1,
                mode="grid-constant", cval=0.0).reshape(n, h * w)
        return out

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def get_state(self) -> State:
        return {"type": "Deskewer", "image_shape": list(self.image_shape)}, {}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Deskewer:
        return cls(tuple(config["image_shape"]))

    def __repr__(self) -> str:
        return f"Deskewer(image_shape={self.image_shape})"
