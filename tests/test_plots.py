"""Every plot renders headlessly to a non-empty, non-uniform PNG and returns its Figure."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from deltaprop.callbacks import History
from deltaprop.errors import InputError
from deltaprop.plots import plot_confusion_matrix, plot_learning_curves, save_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_good_png(path) -> np.ndarray:
    """PNG signature, more than 1 kB, and pixels that are not all the same colour."""
    import matplotlib.image as mpimg

    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 1024
    img = mpimg.imread(io.BytesIO(data), format="png")
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    assert np.ptp(img[..., :3]) > 0.2  # something was drawn on the white background
    return img


def _history(n=30, best=12):
    ep = np.arange(1, n + 1)
    loss = 1.0 / ep
    val = 0.4 + 0.001 * (ep - best) ** 2
    return History([{"epoch": int(e), "loss": float(a), "val_loss": float(b),
                     "accuracy": float(1 - a / 2), "val_accuracy": float(1 - b / 2)}
                    for e, a, b in zip(ep, loss, val, strict=True)], best_epoch=best)


def test_learning_curves_png_has_panels_and_best_epoch(tmp_path):
    h = _history()
    fig = plot_learning_curves(h, title="demo")
    assert len(fig.axes) == 2  # loss and accuracy
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training", "validation", "best epoch 12"]
    assert_good_png(save_figure(fig, tmp_path / "curves.png"))
    # from to_dict() and a list of dicts too; the best epoch falls back to min val_loss
    fig2 = plot_learning_curves(h.to_dict()["epochs"])
    assert "best epoch 12" in [t.get_text() for t in fig2.axes[0].get_legend().get_texts()]


def test_learning_curves_rejects_bad_history():
    with pytest.raises(InputError, match="no epochs"):
        plot_learning_curves(History())
    with pytest.raises(InputError, match="History"):
        plot_learning_curves(42)


def test_confusion_matrix_counts_and_png(tmp_path):
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0, 2])
    fig = plot_confusion_matrix(y, p, labels=["a", "b", "c"])
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert cells == ["1", "1", "0", "0", "2", "0", "1", "0", "2"]
    assert "0.714" in ax.get_title()
    assert_good_png(save_figure(fig, tmp_path / "cm.png"))
    with pytest.raises(InputError, match="labels"):
        plot_confusion_matrix(y, p, labels=["a"])
    with pytest.raises(InputError, match="integer"):
        plot_confusion_matrix([0.5, 1.0], [0, 1])


def test_save_figure_svg_and_bad_suffix(tmp_path):
    fig = plot_learning_curves(_history())
    out = save_figure(fig, tmp_path / "sub" / "c.svg")
    assert Path(out).read_text(encoding="utf-8").lstrip().startswith("<?xml")
    with pytest.raises(InputError, match=".png or .svg"):
        save_figure(fig, tmp_path / "c.jpg")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["c.svg"]  # no temp left
