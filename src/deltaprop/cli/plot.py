"""``deltaprop plot KIND ...``: write one of :mod:`deltaprop.viz.figures`' figures as PNG or SVG.

Kinds that read a History (``History.to_json`` file, or a model file whose ``extras`` hold a
``"history"`` entry): ``learning-curves``, ``gradient-norms``, ``monitor`` (``--key``).
Kinds that read a model file (and, where they need data, a built-in dataset ``--data``):
``confusion``, ``decision-regions``, ``templates``, ``hinton``, ``activations``, ``landscape``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["add_cli", "run_cli", "KINDS"]

KINDS = ("learning-curves", "gradient-norms", "monitor", "confusion", "decision-regions",
         "templates", "hinton", "activations", "landscape")
_HISTORY_KINDS = KINDS[:3]


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``deltaprop plot`` on an argparse ``subparsers`` object.

    The parser sets ``func=run_cli``; the caller runs ``args.func(args)`` (returns 0).
    """
    p = subparsers.add_parser("plot", help="write a diagnostic figure (PNG or SVG)",
                              description=__doc__.split("\n\n", 1)[1])
    p.add_argument("kind", choices=KINDS)
    p.add_argument("source", help="History JSON file or model file")
    p.add_argument("-o", "--output", required=True, help="figure path ending in .png or .svg")
    p.add_argument("--data", help="built-in dataset name (confusion, decision-regions, "
                                  "activations, landscape)")
    p.add_argument("--key", default="saturation",
                   help="monitor key prefix for 'monitor' (default saturation)")
    p.add_argument("--layer", type=int, default=-1, help="trainable layer for 'hinton'")
    p.add_argument("--shape", default=None, help="image shape for 'templates', e.g. 28x28")
    p.add_argument("--dim", type=int, choices=(1, 2), default=1, help="landscape slice dimension")
    p.add_argument("--points", type=int, default=None, help="landscape grid points per axis")
    p.add_argument("--max-samples", type=int, default=2000,
                   help="use at most this many samples of --data (default 2000)")
    p.add_argument("--dpi", type=int, default=100)
    p.set_defaults(func=run_cli)
    return p


def _history(path: str) -> Any:
    from deltaprop.training.callbacks import History

    if Path(path).suffix.lower() == ".json":
        try:
            return History.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read history {path}: {exc}") from None
    from deltaprop.engine.network import load

    extras = load(path).extras
    if "history" not in extras:
        raise InputError(f"model file {path} holds no history; pass a History JSON file")
    cfg = extras["history"][0] if isinstance(extras["history"], tuple) else extras["history"]
    return History.from_dict(cfg)


def _data(args: argparse.Namespace, net: Any) -> tuple[np.ndarray, np.ndarray]:
    from deltaprop.data.datasets import load_dataset

    if not args.data:
        raise InputError(f"'deltaprop plot {args.kind}' needs --data NAME")
    d = load_dataset(args.data)
    X, y = (d.X_test, d.y_test) if d.X_test is not None else (d.X, d.y)
    if len(X) > args.max_samples:
        idx = np.random.default_rng(0).choice(len(X), args.max_samples, replace=False)
        X, y = X[np.sort(idx)], y[np.sort(idx)]
    if X.shape[1] != net.n_inputs:
        raise InputError(f"dataset {args.data!r} has {X.shape[1]} features, the model expects "
                         f"{net.n_inputs}")
    return np.asarray(X, dtype=net.dtype), np.asarray(y)


def _targets(net: Any, y: np.ndarray) -> np.ndarray:
    from deltaprop.data.preprocessing import one_hot

    if net.is_classifier and y.ndim == 1:
        return one_hot(y, net.n_outputs) if net.n_outputs > 1 else y[:, None].astype(float)
    return y.reshape(len(y), -1)


def _figure(args: argparse.Namespace) -> Any:
    from deltaprop import viz as plots

    if args.kind in _HISTORY_KINDS:
        h = _history(args.source)
        if args.kind == "learning-curves":
            return plots.plot_learning_curves(h)
        if args.kind == "gradient-norms":
            return plots.plot_gradient_norms(h)
        return plots.plot_layer_curves(h, args.key)
    from deltaprop.engine.network import load

    net = load(args.source)
    if args.kind == "templates":
        n_in = net.n_inputs
        side = int(round(np.sqrt(n_in)))
        try:
            shape = (side, side) if args.shape is None else tuple(int(v) for v in
                                                                  args.shape.lower().split("x"))
        except ValueError:
            raise InputError(f"--shape {args.shape!r}: expected ROWSxCOLS, e.g. 28x28") from None
        return plots.plot_weight_templates(net, image_shape=shape)
    if args.kind == "hinton":
        return plots.plot_hinton(net, layer=args.layer)
    X, y = _data(args, net)
    if args.kind == "confusion":
        return plots.plot_confusion_matrix(y, net.predict(X))
    if args.kind == "decision-regions":
        return plots.plot_decision_regions(net, X, y)
    if args.kind == "activations":
        return plots.plot_activation_histograms(net, X)
    from deltaprop.inspection import landscape

    Y = _targets(net, y)
    if args.dim == 1:
        a, L = landscape.slice_1d(net, X, Y, n_points=args.points or 41)
        return plots.plot_landscape_1d(a, L)
    a, b, L = landscape.slice_2d(net, X, Y, n_points=args.points or 21)
    return plots.plot_landscape_2d(a, b, L)


def run_cli(args: argparse.Namespace) -> int:
    """Run ``deltaprop plot`` for parsed ``args``: build the figure and save it atomically."""
    from deltaprop.viz import save_figure

    fig = _figure(args)
    save_figure(fig, args.output, dpi=args.dpi)
    print(f"wrote {args.output}")
    return 0
