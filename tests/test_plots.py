"""Every plot renders headlessly to a non-empty, non-uniform PNG and returns its Figure."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import viz as plots
from deltaprop.cli import plot as plot_cli
from deltaprop.data.datasets import blobs
from deltaprop.data.preprocessing import one_hot
from deltaprop.errors import InputError
from deltaprop.inspection import landscape
from deltaprop.inspection.monitors import GradientNormMonitor, SaturationMonitor
from deltaprop.training import train
from deltaprop.training.callbacks import History
from deltaprop.viz import plot_confusion_matrix, plot_learning_curves, save_figure

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


# ------------------------------------------------------------------ network pictures
@pytest.fixture(scope="module")
def trained():
    d = blobs(150, seed=0)
    net = dp.mlp([2, 8, 3], activation="tanh", seed=0)
    h = train(net, d.X, one_hot(d.y, 3), epochs=5, batch_size=16, learning_rate=0.1, seed=0,
              verbose=0, callbacks=[GradientNormMonitor(d.X, one_hot(d.y, 3)),
                                    SaturationMonitor(d.X)])
    return net, d.X, d.y, h


def test_decision_regions(tmp_path, trained):
    net, X, y, _ = trained
    fig = plots.plot_decision_regions(net, X, y, resolution=60)
    title = fig.axes[0].get_title()
    assert "training accuracy" not in title and f"on the {len(X)} points shown" in title
    assert_good_png(save_figure(fig, tmp_path / "regions.png"))
    # the plane in raw units, the network fed through ``transform`` (stored preprocessing)
    mean, std = X.mean(axis=0), X.std(axis=0)
    fig = plots.plot_decision_regions(net, X * std + mean, y, resolution=60,
                                      transform=lambda Z: (Z - mean) / std)
    assert "accuracy 1.000" in fig.axes[0].get_title()
    with pytest.raises(InputError, match="2-D inputs"):
        plots.plot_decision_regions(net, np.zeros((3, 3)), [0, 1, 2])


def test_weight_templates_and_hinton(tmp_path):
    W = np.random.default_rng(0).normal(size=(10, 64))
    fig = plots.plot_weight_templates(W, image_shape=(8, 8))
    assert sum(1 for ax in fig.axes if ax.images) == 10
    assert_good_png(save_figure(fig, tmp_path / "templates.png"))
    with pytest.raises(InputError, match="image_shape"):
        plots.plot_weight_templates(W, image_shape=(28, 28))
    fig = plots.plot_hinton(W[:4, :6])
    assert len(fig.axes[0].patches) == 24
    assert_good_png(save_figure(fig, tmp_path / "hinton.png"))


def _fits(fig, text) -> bool:
    fig.canvas.draw()
    box = text.get_window_extent()
    return box.x0 >= 0 and box.x1 <= fig.bbox.width


def test_templates_of_a_hidden_layer_are_units_in_a_grid(tmp_path):
    net = dp.mlp([784, 128, 10], seed=0)
    fig = plots.plot_weight_templates(net, image_shape=(28, 28))
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == [f"unit {i}" for i in range(128)]
    width, height = fig.get_size_inches() * 100
    assert 0.5 < height / width < 1.5 and width <= 1600, (width, height)
    with pytest.raises(InputError, match="image_shape"):
        plots.plot_weight_templates(net, image_shape=(28, 28), layer=1)
    small = dp.mlp([4, 3], seed=0)  # output layer: classes
    fig = plots.plot_weight_templates(small, image_shape=(2, 2))
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["class 0", "class 1", "class 2"]


def test_hinton_title_fits_and_axes_name_what_is_drawn():
    W = np.random.default_rng(0).normal(size=(4, 6))
    fig = plots.plot_hinton(W)
    ax = fig.axes[0]
    assert _fits(fig, ax.title)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("column", "row")
    fig = plots.plot_hinton(dp.mlp([3, 2], seed=0))
    ax = fig.axes[0]
    assert _fits(fig, ax.title)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("input j", "unit i")


def test_saturation_of_a_relu_network_says_it_applies_to_bounded_units():
    h = History([{"epoch": e, "loss": 1.0, "saturation/layer0": float("nan")}
                 for e in (1, 2, 3)])
    with pytest.raises(InputError, match="bounded units"):
        plots.plot_layer_curves(h, "saturation")
    h = History([{"epoch": e, "loss": 1.0, "saturation/layer0": float("nan"),
                  "saturation/layer1": 0.1 * e} for e in (1, 2, 3)])
    fig = plots.plot_layer_curves(h, "saturation")
    assert "layer 0: unbounded units" in fig.axes[0].get_title()


def test_monitor_curves_and_histograms(tmp_path, trained):
    net, X, _, h = trained
    fig = plots.plot_gradient_norms(h)
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 2
    assert_good_png(save_figure(fig, tmp_path / "grads.png"))
    # the trainer's own grad_norms work too
    fig = plots.plot_gradient_norms([{"epoch": 1, "grad_norms": [1.0, 0.1]},
                                     {"epoch": 2, "grad_norms": [0.5, 0.05]}])
    assert len(fig.axes[0].lines) == 2
    assert_good_png(save_figure(plots.plot_layer_curves(h, "saturation"), tmp_path / "s.png"))
    with pytest.raises(InputError, match="monitor"):
        plots.plot_layer_curves(h, "dead_relu")
    fig = plots.plot_activation_histograms(net, X)
    assert "saturated" in fig.axes[0].get_title()
    assert_good_png(save_figure(fig, tmp_path / "hist.png"))


def test_landscape_slices_and_plots(tmp_path, trained):
    net, X, y, _ = trained
    Y = one_hot(y, 3)
    before = [p.copy() for p in net.parameters()]
    a, L = landscape.slice_1d(net, X, Y, n_points=11)
    assert L.shape == (11,) and np.isclose(L[5], net.evaluate(X, Y))
    assert L[0] > L[5] and L[-1] > L[5]  # the trained point sits in a valley
    for p, q in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, q)  # parameters restored
    d = landscape.random_direction(net, 0)
    W = net.layers[0].W
    np.testing.assert_allclose(np.linalg.norm(d[0], axis=1), np.linalg.norm(W, axis=1),
                               rtol=1e-5)  # filter normalization
    assert not d[1].any()  # biases left out
    assert_good_png(save_figure(plots.plot_landscape_1d(a, L), tmp_path / "l1.png"))
    a, b, L2 = landscape.slice_2d(net, X, Y, n_points=7)
    assert L2.shape == (7, 7) and np.isclose(L2[3, 3], net.evaluate(X, Y))
    assert_good_png(save_figure(plots.plot_landscape_2d(a, b, L2), tmp_path / "l2.png"))
    with pytest.raises(InputError, match="n_points"):
        landscape.slice_1d(net, X, Y, n_points=1)


def _plot_cli(argv):
    parser = argparse.ArgumentParser(prog="deltaprop")
    plot_cli.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plot", *argv])
    return args.func(args)


def test_plot_cli_writes_every_kind(tmp_path, trained, capsys):
    net, _, _, h = trained
    model, hist = tmp_path / "m.npz", tmp_path / "h.json"
    net.save(model)
    h.to_json(str(hist))
    runs = [["learning-curves", str(hist)], ["gradient-norms", str(hist)],
            ["monitor", str(hist), "--key", "saturation"],
            ["confusion", str(model), "--data", "blobs"],
            ["decision-regions", str(model), "--data", "blobs"],
            ["hinton", str(model)], ["activations", str(model), "--data", "blobs"],
            ["landscape", str(model), "--data", "blobs", "--points", "5"],
            ["landscape", str(model), "--data", "blobs", "--dim", "2", "--points", "5"]]
    for i, argv in enumerate(runs):
        out = tmp_path / f"f{i}.png"
        assert _plot_cli([*argv, "-o", str(out)]) == 0
        assert_good_png(out)
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(InputError, match="--data"):
        _plot_cli(["confusion", str(model), "-o", str(tmp_path / "x.png")])
    with pytest.raises(InputError, match="image_shape"):
        _plot_cli(["templates", str(model), "-o", str(tmp_path / "x.png")])


@pytest.mark.parametrize("layer", [2, -3, 99, 1.5, True])
def test_hinton_layer_out_of_range_is_a_clear_error(layer):
    net = dp.mlp([3, 4, 2], seed=0)
    with pytest.raises(InputError, match=f"layer {layer!r} is out of range: the network has 2 "
                                         r"trainable layers, 0\.\.1"):
        plots.plot_hinton(net, layer=layer)


def test_save_figure_refuses_a_non_positive_dpi(tmp_path):
    fig = plots.plot_hinton(np.eye(2))
    with pytest.raises(InputError, match="dpi must be a number >= 1, got 0"):
        plots.save_figure(fig, tmp_path / "f.png", dpi=0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_figures_follow_the_users_umask(tmp_path, umask):
    import os
    import stat

    old = os.umask(umask)
    try:
        path = save_figure(plots.new_figure((2, 2)), tmp_path / "f.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
