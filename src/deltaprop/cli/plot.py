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
_DESCRIPTION = (
    "Write one figure as PNG or SVG and print its name. Kinds that read a History (a "
    "history.json file, or a model file written by 'deltaprop train'): learning-curves, "
    "gradient-norms, monitor (--key). Kinds that read a model file: templates, hinton; and, "
    "on the rows of --data (a built-in dataset or a CSV file, through the model file's stored "
    "preprocessing, the rows 'deltaprop evaluate' uses), confusion, decision-regions, "
    "activations, landscape, which also print the accuracy (or R²) they show.")


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``deltaprop plot`` on an argparse ``subparsers`` object.

    The parser sets ``func=run_cli``; the caller runs ``args.func(args)`` (returns 0).
    """
    p = subparsers.add_parser("plot", help="write a diagnostic figure (PNG or SVG)",
                              description=_DESCRIPTION)
    p.add_argument("kind", choices=KINDS)
    p.add_argument("source", help="History JSON file or model file")
    p.add_argument("-o", "--output", required=True, help="figure path ending in .png or .svg")
    p.add_argument("--data", metavar="NAME|PATH.csv", help="dataset for confusion, "
                   "decision-regions, activations, landscape")
    p.add_argument("--key", default="saturation",
                   help="monitor key prefix for 'monitor' (default saturation)")
    p.add_argument("--layer", type=int, default=None, help="trainable layer for 'hinton' "
                   "(default: the last) and 'templates' (default: the first)")
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


class _Rows:
    """The rows a model-and-data plot shows: raw ``X``, preprocessed ``Xp``, labels ``y``,
    what they are, and the score ``deltaprop evaluate`` gives on them."""

    def __init__(self, args: argparse.Namespace, net: Any, info: Any) -> None:
        from deltaprop.cli.report import headline, model_metrics
        from deltaprop.data.pipeline import model_rows

        if not args.data:
            raise InputError(f"'deltaprop plot {args.kind}' needs --data NAME")
        X, y, self.what = model_rows(args.data, info)
        if len(X) > args.max_samples:
            idx = np.sort(np.random.default_rng(0).choice(len(X), args.max_samples,
                                                          replace=False))
            X, y = X[idx], y[idx]
            self.what += f", {args.max_samples:,} sampled"
        self.X, self.y = np.asarray(X, np.float64), np.asarray(y)
        self.Xp = np.asarray(info.transform(self.X, args.data), dtype=net.dtype)
        self.metrics, self.pred = model_metrics(net, info, self.Xp, self.y)
        self.score = headline(self.metrics)

    def note(self) -> str:
        """``accuracy 0.9800 on spiral (all rows), 300 rows``."""
        return f"{self.score} on {self.what}, {len(self.X):,} rows"


def _targets(net: Any, y: np.ndarray, info: Any) -> np.ndarray:
    """Targets as the network was trained on them (one-hot classes, scaled regression)."""
    from deltaprop.data.pipeline import encode_targets

    if info.task == "classification" and net.n_outputs == 1:
        return np.asarray(y, np.float64).reshape(-1, 1)
    return encode_targets(y, info.task, net.n_outputs, info.target_scaler, np.float64)


def _figure(args: argparse.Namespace) -> tuple[Any, str]:
    """The figure and what the printed line adds after the file name."""
    from deltaprop import viz as plots

    if args.kind in _HISTORY_KINDS:
        h = _history(args.source)
        if args.kind == "learning-curves":
            return plots.plot_learning_curves(h), ""
        if args.kind == "gradient-norms":
            return plots.plot_gradient_norms(h), ""
        return plots.plot_layer_curves(h, args.key), ""
    from deltaprop.data.pipeline import load_model

    net, info = load_model(args.source, plain_ok=True)
    if args.kind == "templates":
        n_in = net.n_inputs
        side = int(round(np.sqrt(n_in)))
        try:
            shape = (side, side) if args.shape is None else tuple(int(v) for v in
                                                                  args.shape.lower().split("x"))
        except ValueError:
            raise InputError(f"--shape {args.shape!r}: expected ROWSxCOLS, e.g. 28x28") from None
        return plots.plot_weight_templates(net, image_shape=shape,
                                           layer=0 if args.layer is None else args.layer), ""
    if args.kind == "hinton":
        return plots.plot_hinton(net, layer=-1 if args.layer is None else args.layer), ""
    rows = _Rows(args, net, info)
    if args.kind == "confusion":
        names = info.class_names
        if names is None:
            raise InputError("'deltaprop plot confusion' needs a classifier; this model does "
                             "regression")
        return plots.plot_confusion_matrix(rows.y, rows.pred, labels=names,
                                           title=f"{rows.score}\non {rows.what}"), rows.note()
    if args.kind == "decision-regions":
        fig = plots.plot_decision_regions(
            net, rows.X, rows.y, transform=lambda X: info.transform(X, args.data),
            title=f"decision regions, {rows.score}\non {rows.what}")
        return fig, rows.note()
    if args.kind == "activations":
        return plots.plot_activation_histograms(net, rows.Xp), rows.note()
    from deltaprop.inspection import landscape

    Y = _targets(net, rows.y, info)
    if args.dim == 1:
        a, L = landscape.slice_1d(net, rows.Xp, Y, n_points=args.points or 41)
        return plots.plot_landscape_1d(a, L), rows.note()
    a, b, L = landscape.slice_2d(net, rows.Xp, Y, n_points=args.points or 21)
    return plots.plot_landscape_2d(a, b, L), rows.note()


def run_cli(args: argparse.Namespace) -> int:
    """Run ``deltaprop plot`` for parsed ``args``: build the figure, save it atomically and
    print one line naming the file (and, for a model on data, the score it shows)."""
    from deltaprop.viz import save_figure

    fig, note = _figure(args)
    save_figure(fig, args.output, dpi=args.dpi)
    print(f"wrote {args.output}" + (f" ({note})" if note else ""))
    return 0
