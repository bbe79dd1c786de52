"""The ``deltaprop`` command: ``train``, ``evaluate``, ``predict`` and ``export``.

``deltaprop train`` loads a dataset, splits it 5:1:1 (002 §5), fits the preprocessing on the
training part (002 §4), trains an MLP with a progress bar, prints the test-set summary and
writes ``model.npz`` (with the preprocessing inside), ``history.json``, ``run.json`` and PNG
figures to ``--out``. User errors print one line ``deltaprop: error: ...`` and exit with 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.checks import check_number
from deltaprop.errors import DeltapropError, InputError

EXIT_USAGE = 2
#: Data sets with fewer rows train on all of them (``--split none``), with a note.
_MIN_SPLIT_ROWS = 20
_RUN_FILE, _CKPT_FILE, _MODEL_FILE = "run.json", "checkpoint.ckpt", "model.npz"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage block) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ----------------------------------------------------------------------- option types
def _layers(text: str) -> list[int]:
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated hidden layer sizes like 256,128, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}")
    return sizes


def _batch(text: str) -> int | str:
    if text == "full":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1 or 'full', got {text!r}")
    return value


def _number(kind: type, low: float, *, strict: bool = False) -> Any:
    """An argparse type: the text as ``kind``, checked by :func:`deltaprop.checks.check_number`
    (the one number check), with argparse's own wording."""
    def parse(text: str) -> Any:
        try:
            return check_number("value", kind(text), low=low, low_open=strict,
                                integer=kind is int)
        except (ValueError, InputError):
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'} "
                f"{'>' if strict else '>='} {low:g}, got {text!r}") from None
    return parse


def _schedule(text: str) -> Any:
    """``NAME`` or ``NAME:key=value,...``, e.g. ``exponential:gamma=0.8``."""
    from deltaprop.checks import parse_spec
    from deltaprop.training.schedules import get_schedule

    name, params = parse_spec(text, "--schedule")
    return get_schedule(name, **params)


def _image_shape(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        h = w = 0
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH like 28x28, got {text!r}")
    return h, w


def _layer_rates(text: str) -> str | list[float]:
    if text == "fan_in":
        return text
    try:
        factors = [float(v) for v in text.split(",")]
    except ValueError:
        factors = []
    if not factors or not all(np.isfinite(f) and f > 0 for f in factors):
        raise argparse.ArgumentTypeError(f"expected 'fan_in' or one factor > 0 per trainable "
                                         f"layer like 1,0.5, got {text!r}")
    return factors


_MONITORS = ("saturation", "dead_relu", "grad_norm", "weight_norm")
_MOMENTUM_OPTIMIZERS = ("sgd", "gd", "gradient_descent", "momentum", "nesterov")


def _monitors(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in _MONITORS]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"expected monitors from {', '.join(_MONITORS)} "
                                         f"(comma-separated), got {text!r}")
    return names


# ----------------------------------------------------------------------------- parser
def build_parser(train_defaults: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``deltaprop`` command (with its subcommands);
    ``train_defaults`` replaces defaults of ``deltaprop train`` (a recipe's options)."""
    p = _Parser(prog="deltaprop", description="Train, evaluate and apply multilayer "
                "perceptrons (backpropagation as in the lecture notes).")
    from deltaprop import __version__

    p.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    t = sub.add_parser("train", help="train an MLP on a dataset and write a model file",
                       description="Train an MLP. With no options: a 64-128-10 network on the "
                       "bundled 8x8 digits, in a few seconds.")
    data = t.add_argument_group("data")
    data.add_argument("--dataset", default="digits", metavar="NAME|PATH.csv",
                      help="built-in dataset (digits, mnist, iris, wine, breast_cancer, "
                      "diabetes, spiral, ...) or a CSV file with a header (default: digits)")
    data.add_argument("--target", metavar="COLUMN",
                      help="target column of a CSV file (default: the last column)")
    data.add_argument("--task", choices=("classification", "regression"),
                      help="what to learn from a CSV target (default: inferred, and said)")
    data.add_argument("--impute", choices=("mean", "median", "most_frequent"),
                      help="fill missing CSV cells instead of failing")
    data.add_argument("--split", choices=("holdout", "none"), default="holdout",
                      help="holdout: 5:1:1 training/validation/test rows (002 §5; 11:1 "
                      "training/validation with a dataset's own test set); none: train and "
                      "report on every row (chosen, with a note, for data sets under "
                      f"{_MIN_SPLIT_ROWS} rows)")
    data.add_argument("--preprocess", choices=("standardize", "whiten", "deskew", "none"),
                      default="standardize", help="input preprocessing fitted on the "
                      "training part (002 §4; default: standardize, for mnist: none); deskew "
                      "straightens images of handwriting by their moments")
    data.add_argument("--augment", metavar="SPEC", help="image augmentation, e.g. "
                      "'shift=2,rotate=10,noise=0.05,elastic' (002 §6); needs image rows "
                      "(digits, mnist) or --image-shape")
    data.add_argument("--image-shape", type=_image_shape, metavar="HxW",
                      help="the rows are HxW images (for --augment or --preprocess deskew on a "
                      "CSV file)")
    data.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                      help="read the CSV file in blocks and train chunk by chunk, for files "
                      "bigger than memory (default: automatic above 1 GiB; docs/big-data.md)")
    net = t.add_argument_group("network")
    net.add_argument("--layers", type=_layers, default=[128], metavar="SIZES",
                     help="hidden layer sizes, e.g. 256,256; 'none' for no hidden layer "
                     "(default: 128)")
    net.add_argument("--activation", default="relu", metavar="NAME[:k=v,...]",
                     help="hidden activation, e.g. tanh, leaky_relu:beta=0.2, maxout "
                     "(default: relu)")
    net.add_argument("--maxout-pieces", type=_number(int, 2), default=2, metavar="K",
                     help="pieces per maxout unit with --activation maxout (default: 2)")
    net.add_argument("--output-activation", metavar="NAME[:k=v,...]", help="default: softmax "
                     "for classification, identity for regression")
    net.add_argument("--loss", metavar="NAME", help="default: the canonical loss of the "
                     "output activation")
    net.add_argument("--init", metavar="NAME[:k=v,...]", help="weight initializer, e.g. "
                     "xavier_uniform, normal:std=0.1 (default: per activation, 000 Table 2)")
    net.add_argument("--dropout", type=_number(float, 0.0), default=0.0, metavar="P",
                     help="dropout probability after each hidden layer (002 §6)")
    net.add_argument("--input-dropout", type=_number(float, 0.0), default=0.0, metavar="P",
                     help="dropout probability on the inputs (Srivastava et al. 2014: 0.2)")
    net.add_argument("--input-noise", type=_number(float, 0.0), default=0.0, metavar="STD",
                     help="Gaussian noise added to the inputs in training (002 §6)")
    net.add_argument("--hidden-noise", type=_number(float, 0.0), default=0.0, metavar="STD",
                     help="Gaussian noise added to each hidden layer's output in training")
    net.add_argument("--batch-norm", action="store_true",
                     help="batch normalisation after each hidden layer (Ioffe & Szegedy 2015)")
    net.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    opt = t.add_argument_group("training")
    opt.add_argument("--optimizer", default="adam", metavar="NAME[:k=v,...]",
                     help="sgd, momentum, nesterov or adam, e.g. adam:beta_1=0.8 or "
                     "momentum:mu=0.5 (default: adam)")
    opt.add_argument("--learning-rate", type=_number(float, 0.0, strict=True), default=1e-3,
                     metavar="ETA", help="default: 0.001")
    opt.add_argument("--momentum", type=_number(float, 0.0), metavar="MU",
                     help="momentum for sgd/momentum/nesterov (default 0.9 for the latter); "
                     "refused with adam")
    opt.add_argument("--schedule", metavar="NAME[:k=v,...]", help="learning-rate schedule: "
                     "step, exponential, inverse, plateau, e.g. exponential:gamma=0.8")
    opt.add_argument("--batch-size", type=_batch, default=32, metavar="N|full")
    opt.add_argument("--epochs", type=_number(int, 0), default=30, metavar="N")
    opt.add_argument("--l1", type=_number(float, 0.0), default=0.0, metavar="LAMBDA")
    opt.add_argument("--l2", type=_number(float, 0.0), default=0.0, metavar="LAMBDA")
    opt.add_argument("--clip", type=_number(float, 0.0, strict=True), metavar="C",
                     help="clip every gradient component to [-C, C] (000 §9.3.3)")
    opt.add_argument("--clip-norm", type=_number(float, 0.0, strict=True), metavar="C",
                     help="rescale the whole gradient to Euclidean norm <= C (000 §9.3.3)")
    opt.add_argument("--max-norm", type=_number(float, 0.0, strict=True), metavar="C",
                     help="rescale each unit's incoming weights to norm <= C after every "
                     "step (002 §6)")
    opt.add_argument("--sampling", choices=("uniform", "hard"), default="uniform",
                     help="hard: draw the pairs with probability growing with their loss "
                     "(002 §4; default: uniform)")
    opt.add_argument("--layer-learning-rates", type=_layer_rates, metavar="fan_in|F1,F2,...",
                     help="per-layer learning-rate factors; fan_in: eta / sqrt(fan-in) "
                     "(002 §4)")
    opt.add_argument("--tol", type=_number(float, 0.0, strict=True), metavar="T",
                     help="stop when the training loss changes by less than T (002 §3)")
    opt.add_argument("--grad-tol", type=_number(float, 0.0, strict=True), metavar="G",
                     help="stop when the gradient norm falls below G (002 §3)")
    opt.add_argument("--early-stopping", type=_number(int, 1), nargs="?", const=10,
                     metavar="PATIENCE", help="stop when the validation loss has not improved "
                     "for PATIENCE epochs (default 10) and keep the best weights (002 §5)")
    opt.add_argument("--keep", choices=("best", "last"), default="best",
                     help="whose weights model.npz gets when there are validation rows: the "
                     "epoch with the lowest validation loss (default) or the last epoch")
    opt.add_argument("--average", type=_number(float, 0.0, strict=True), metavar="DECAY",
                     help="evaluate and save an exponential moving average of the weights "
                     "(Polyak averaging), e.g. 0.999")
    opt.add_argument("--recipe", metavar="NAME",
                     help="a named set of these options (flags given here override it); "
                     "'--recipe list' shows them")
    opt.add_argument("--seed", type=_number(int, 0), default=0, metavar="N",
                     help="seed of every random draw (default: 0)")
    run = t.add_argument_group("output")
    run.add_argument("--out", metavar="DIR", help="output directory (default: runs/DATASET)")
    run.add_argument("--checkpoint-every", type=_number(int, 1), metavar="N",
                     help="write DIR/checkpoint.ckpt every N epochs")
    run.add_argument("--resume", action="store_true", help="continue the run in --out from "
                     "its last checkpoint (its saved options apply unless given again)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--monitor", type=_monitors, metavar="NAMES", help="record per-layer "
                     f"{', '.join(_MONITORS)} every epoch into history.json (000 §9.3; "
                     "plot with 'deltaprop plot monitor history.json --key NAME')")
    t.set_defaults(func=_cmd_train)

    if train_defaults:
        t.set_defaults(**train_defaults)
    e = sub.add_parser("evaluate", help="loss, accuracy, precision/recall, confusion matrix",
                       description="Evaluate a model file on a dataset (a built-in name: its "
                       "test part; a CSV file: all of its rows).")
    e.add_argument("model", metavar="MODEL", help="model.npz written by deltaprop train")
    e.add_argument("--dataset", required=True, metavar="NAME|PATH.csv")
    e.add_argument("--target", metavar="COLUMN", help="target column of a CSV file")
    e.set_defaults(func=_cmd_evaluate)

    r = sub.add_parser("predict", help="predictions for the rows of a CSV file",
                       description="Write a CSV of predictions for raw input rows (the model "
                       "file's preprocessing is applied).")
    r.add_argument("model", metavar="MODEL")
    r.add_argument("input", metavar="INPUT.csv")
    r.add_argument("--proba", action="store_true", help="add one probability column per class")
    r.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout")
    r.set_defaults(func=_cmd_predict)

    x = sub.add_parser("export", help="write a model file in another format (ONNX)",
                       description="Export a model file (from deltaprop train, Network.save or "
                       "an estimator's save) to ONNX: the graph takes the raw numeric features "
                       "and applies the stored preprocessing (docs/onnx.md). Needs "
                       'pip install "deltaprop[onnx]".')
    x.add_argument("model", metavar="MODEL")
    x.add_argument("--format", choices=("onnx",), default="onnx", help="default: onnx")
    x.add_argument("--output", "-o", metavar="PATH",
                   help="where to write (default: MODEL with the suffix .onnx)")
    x.add_argument("--opset", type=_number(int, 17), default=17, metavar="N",
                   help="ONNX opset version (default: 17)")
    x.add_argument("--input-dtype", choices=("float32", "float64"), default="float32",
                   help="element type of the graph's input (default: float32)")
    x.set_defaults(func=_cmd_export)

    from deltaprop.cli.explain import add_cli as add_explain
    from deltaprop.cli.plot import add_cli as add_plot
    from deltaprop.playground import add_cli as add_playground

    add_explain(sub)
    add_plot(sub)
    add_playground(sub)
    return p


# ------------------------------------------------------------------------------ train
def _augmenter(spec: str | None, pre: Any, seed: int | None, data: Any,
               image_shape: tuple[int, int] | None) -> Any:
    if not spec:
        return None
    from deltaprop.data.augmentation import Augmenter

    shape = image_shape or data.image_shape
    if shape is None:
        raise InputError(f"--augment distorts images, but the rows of {data.name} are not "
                         f"images ({data.n_features} features); give --image-shape HxW if "
                         "they are")
    if shape[0] * shape[1] != data.n_features:
        raise InputError(f"--image-shape {shape[0]}x{shape[1]} has {shape[0] * shape[1]} "
                         f"pixels, the rows of {data.name} have {data.n_features} features")
    aug = Augmenter.from_spec(spec, image_shape=shape, seed=seed)
    if pre is None or all(getattr(s, "image_valued", False) for s in pre.steps):
        return aug  # deskewed images are still images: distort them as they are
    # distort raw images, not standardized ones (a shifted background must stay background)
    return lambda X, rng: pre.transform(aug(pre.inverse_transform(X), rng))


def _optimizer(args: argparse.Namespace) -> Any:
    """``--optimizer NAME[:k=v,...]`` with ``--momentum``: a name for the Trainer, or an
    Optimizer built with the given parameters."""
    from deltaprop.checks import parse_spec
    from deltaprop.training.optimizers import get_optimizer

    name, params = parse_spec(args.optimizer, "--optimizer")
    if args.momentum is not None and name.lower() not in _MOMENTUM_OPTIMIZERS:
        raise InputError(f"--momentum applies to sgd, momentum and nesterov, not to {name} "
                         "(Adam's first-moment decay is --optimizer adam:beta_1=0.9)")
    if not params:
        get_optimizer(name)  # unknown names fail here, naming the known ones
        return name
    if args.momentum is not None:
        raise InputError(f"give the momentum once: --momentum {args.momentum:g} or "
                         f"--optimizer {name}:mu=...")
    return get_optimizer(name, learning_rate=args.learning_rate, **params)


def _callbacks(args: argparse.Namespace, X: np.ndarray, has_validation: bool) -> list:
    """Monitors (``--monitor``) and keeping the best epoch's weights (``--keep best``)."""
    from deltaprop.inspection import monitors as mon
    from deltaprop.training.callbacks import EarlyStopping

    kinds = {"saturation": lambda: mon.SaturationMonitor(X),
             "dead_relu": lambda: mon.DeadReLUMonitor(X),
             "grad_norm": lambda: mon.GradientNormMonitor(),
             "weight_norm": lambda: mon.WeightNormMonitor()}
    cbs = [kinds[name]() for name in args.monitor or []]
    if args.average is not None:
        from deltaprop.training.averaging import WeightAverage

        cbs.append(WeightAverage(decay=args.average))
    if has_validation and args.keep == "best" and args.early_stopping is None:
        # early stopping that never stops: it keeps (and restores) the best epoch's weights
        cbs.append(EarlyStopping("val_loss", patience=args.epochs + 1))
    return cbs


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _cmd_train(args: argparse.Namespace) -> int:
    from deltaprop.cli.outdir import OutputDir

    with OutputDir(args.out or Path("runs") / Path(args.dataset).stem) as out_dir:
        return _train(args, out_dir)


def _train(args: argparse.Namespace, out_dir: Any) -> int:
    """Validate everything, lock ``--out``, train, then write the model and run.json."""
    from deltaprop.cli import resume as rs
    from deltaprop.data import pipeline as pl
    from deltaprop.engine.network import mlp
    from deltaprop.training.trainer import Trainer

    out, saved_data = out_dir.path, None
    if args.resume:
        if not out.is_dir():
            raise InputError(f"nothing to resume in {out}: no such directory")
        out_dir.acquire(create=False)
        given = rs.given_options(build_parser, getattr(args, "argv", []))
        args, saved_data = rs.resume_args(args, given, out, out / _CKPT_FILE)
        rs.check_run_file(out / _RUN_FILE)
    from deltaprop.cli.stream import train_streamed, wants_stream

    if wants_stream(args):
        return train_streamed(
            args, out, schedule=_schedule(args.schedule) if args.schedule else None,
            files={"run": _RUN_FILE, "checkpoint": _CKPT_FILE, "model": _MODEL_FILE},
            options={k: v for k, v in vars(args).items()
                     if k not in ("func", "command", "resume")})
    t0 = time.perf_counter()
    data = pl.load_data(args.dataset, args.target, impute=args.impute, task=args.task)
    pl.check_trainable(data)
    if args.resume:
        rs.check_same_data(saved_data, data, args.dataset)
    if data.schema is not None:
        print(data.description, file=sys.stderr)
    if args.split == "holdout" and data.X_test is None and data.n_samples < _MIN_SPLIT_ROWS:
        print(f"note: {data.name} has {data.n_samples} rows, too few to hold any out; training "
              "and reporting on all of them (--split none)", file=sys.stderr)
        args.split = "none"
    split = pl.split_data(data, args.seed, args.split)
    has_val = len(split.X_val) > 0
    if args.early_stopping is not None and not has_val:
        raise InputError("--early-stopping needs validation rows; --split none has none")
    pre = pl.make_preprocessor(args.preprocess, args.image_shape or data.image_shape)
    Xtr = split.X_train if pre is None else pre.fit_transform(split.X_train)
    Xva, Xte = split.X_val, split.X_test
    if pre is not None:
        Xva = pre.transform(Xva) if has_val else Xva
        Xte = pre.transform(Xte)
    classify = data.task == "classification"
    n_out = data.n_classes if classify else int(np.prod(split.y_train.shape[1:], dtype=int))
    out_act = args.output_activation or (None if classify or args.loss else "identity")
    net = mlp([data.n_features, *args.layers, n_out], activation=args.activation,
              output_activation=out_act, loss=args.loss, init=args.init,
              dropout=args.dropout, seed=args.seed, dtype=args.dtype,
              maxout_pieces=args.maxout_pieces, input_dropout=args.input_dropout,
              input_noise=args.input_noise, hidden_noise=args.hidden_noise,
              batch_norm=args.batch_norm)
    scaler = None if classify else pl.make_target_scaler(net.output_activation)
    if scaler is not None:
        scaler.fit(np.asarray(split.y_train, np.float64).reshape(len(split.y_train), -1))
    Y = [pl.encode_targets(y, data.task, n_out, scaler, net.dtype)
         for y in (split.y_train, split.y_val, split.y_test)]
    options = rs.run_options(args)
    checkpointing = args.checkpoint_every is not None or args.resume
    trainer = Trainer(net, optimizer=_optimizer(args), learning_rate=args.learning_rate,
                      momentum=args.momentum or 0.0, batch_size=args.batch_size,
                      schedule=_schedule(args.schedule) if args.schedule else None,
                      clip_value=args.clip, clip_norm=args.clip_norm, max_norm=args.max_norm,
                      l1=args.l1, l2=args.l2, sampling=args.sampling,
                      layer_learning_rates=args.layer_learning_rates,
                      augment=_augmenter(args.augment, pre, args.seed, data, args.image_shape),
                      callbacks=_callbacks(args, Xtr, has_val),
                      verbose=0 if args.quiet else 1, seed=args.seed,
                      checkpoint_every=args.checkpoint_every,
                      checkpoint_path=out / _CKPT_FILE if checkpointing else None,
                      checkpoint_info={"options": options, "data": rs.data_fingerprint(data)})
    out_dir.acquire()  # everything is validated: lock --out (and clean it) before writing
    print(f"training {net.n_inputs}-{'-'.join(map(str, args.layers + [n_out]))} MLP on "
          f"{data.name}: {len(Xtr)} training, {len(Xva)} validation, {len(Xte)} test rows",
          file=sys.stderr)
    history = trainer.fit(Xtr, Y[0], epochs=args.epochs,
                          validation_data=(Xva, Y[1]) if has_val else None,
                          early_stopping=args.early_stopping is not None,
                          patience=args.early_stopping or 10, tol=args.tol,
                          grad_tol=args.grad_tol, resume=args.resume)
    seconds = time.perf_counter() - t0
    info = pl.ModelInfo(data.task, list(data.target_names) if classify else None,
                        list(data.target_names), data.name, args.seed, data.n_features, pre,
                        scaler, data.schema, options)
    net.save(out / _MODEL_FILE, extras={**info.to_extras(),
                                        "history": (history.to_dict(), {})})
    out_dir.write_run_file(options)
    metrics, pred = _report(net, info, Xte, split.y_test, Y[2],
                            f"test set: {split.test_source}" if has_val else split.test_source)
    from deltaprop.cli.report import write_report

    write_report(out, history, y_true=split.y_test if classify else None,
                 y_pred=pred if classify else None, class_names=info.class_names)
    n = len(history.epochs)
    if not n:
        kept = "the initial weights (no epoch ran)"
    elif has_val and (args.keep == "best" or args.early_stopping is not None):
        kept = f"the weights of epoch {history.best_epoch}, the best validation loss"
        if args.early_stopping is None:
            kept += " (--keep last keeps the last epoch's)"
    else:
        kept = (f"the weights of the last epoch, {n}"
                + (f" (the best validation loss was epoch {history.best_epoch})" if has_val
                   else ""))
    print(f"\n{_plural(n, 'epoch')} ({history.stop_reason}), {seconds:.1f} s; saved {kept}; "
          f"wrote {out / _MODEL_FILE}, history.json and figures to {out}")
    return 0


def _report(net: Any, info: Any, X: np.ndarray, y: np.ndarray, Y: np.ndarray,
            title: str) -> tuple[dict, np.ndarray]:
    """Print the evaluation summary of preprocessed ``X``; returns (metrics, predictions)."""
    from deltaprop.cli.report import format_summary, model_metrics

    metrics, pred = model_metrics(net, info, X, y)
    loss = net.evaluate(X, Y)
    print(format_summary(title, len(X), loss, metrics, info.class_names, info.target_names))
    return metrics, pred


# --------------------------------------------------------------------- evaluate/predict
def _cmd_evaluate(args: argparse.Namespace) -> int:
    from deltaprop.data import pipeline as pl

    net, info = pl.load_model(args.model)
    X, y, title = pl.model_rows(args.dataset, info, args.target)
    X = info.transform(X, args.dataset)
    Y = pl.encode_targets(y, info.task, net.n_outputs, info.target_scaler, net.dtype)
    _report(net, info, X, y, Y, title)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from deltaprop.data.pipeline import load_model, read_features
    from deltaprop.files.archive import atomic_write_bytes

    net, info = load_model(args.model)
    X = info.transform(read_features(args.input, info), args.input)
    H = net.forward(X)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if info.task == "classification":
        names = info.class_names
        header = ["prediction"] + ([f"p_{c}" for c in names] if args.proba else [])
        writer.writerow(header)
        for row in H:
            writer.writerow([names[int(row.argmax())]]
                            + ([f"{v:.6g}" for v in row] if args.proba else []))
    else:
        if args.proba:
            raise InputError("--proba needs a classification model; this one does regression")
        writer.writerow(info.target_names)
        for row in info.outputs_to_targets(H):
            writer.writerow([f"{v:.8g}" for v in np.atleast_1d(row)])
    if args.output:
        atomic_write_bytes(args.output, buf.getvalue().encode())
        print(f"wrote {len(H)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from deltaprop.export import to_onnx

    output = Path(args.output) if args.output else Path(args.model).with_suffix(".onnx")
    proto = to_onnx(args.model, output, opset=args.opset, input_dtype=args.input_dtype)
    names = ", ".join(o.name for o in proto.graph.output)
    print(f"wrote {output} (ONNX opset {args.opset}; input: input, outputs: {names})",
          file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------- main
def _closed_pipe() -> int:
    """The reader of our output went away (``deltaprop explain ... | head -1``): end quietly,
    as Unix tools do, with the status of a process killed by SIGPIPE (128 + 13)."""
    import os

    try:  # the interpreter flushes stdout at exit: give it somewhere harmless to go
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deltaprop`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        defaults = _train_defaults(argv)
    except DeltapropError as exc:
        print(f"deltaprop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if defaults == "list":
        from deltaprop.cli.recipes import describe_recipes

        print(describe_recipes())
        return 0
    args = build_parser(defaults).parse_args(argv)
    args.argv = argv
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except (DeltapropError, OSError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        message = "; ".join(lines) or type(exc).__name__  # one line, even for multi-line text
        if isinstance(exc, OSError) and not isinstance(exc, DeltapropError) and exc.filename:
            message = f"{exc.filename}: {exc.strerror or exc}"
        print(f"deltaprop: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return 130


def _train_defaults(argv: list[str]) -> dict[str, Any] | str | None:
    """The options a recipe sets for ``deltaprop train`` (``--recipe NAME``, or the data set's
    own defaults, e.g. for ``--dataset mnist``); "list" for ``--recipe list``."""
    if not argv or argv[0] != "train":
        return None
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--recipe")
    pre.add_argument("--dataset", default="digits")
    known, _ = pre.parse_known_args(argv[1:])
    from deltaprop.cli.recipes import DATASET_DEFAULTS, get_recipe

    if known.recipe == "list":
        return "list"
    name = known.recipe or DATASET_DEFAULTS.get(known.dataset)
    return None if name is None else dict(get_recipe(name).options)


if __name__ == "__main__":
    sys.exit(main())
