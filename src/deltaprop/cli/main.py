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
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.errors import DeltapropError, InputError

EXIT_USAGE = 2
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
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'} "
                f"{'>' if strict else '>='} {low:g}, got {text!r}")
        return value
    return parse


def _schedule(text: str) -> Any:
    """``NAME`` or ``NAME:key=value,...``, e.g. ``exponential:gamma=0.8``."""
    from deltaprop.training.schedules import get_schedule

    name, _, params = text.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--schedule {text!r}: expected key=value after ':', got {item!r}")
        try:
            kwargs[key.strip()] = int(value) if value.strip().isdigit() else float(value)
        except ValueError:
            kwargs[key.strip()] = value.strip()  # e.g. monitor=val_loss
    return get_schedule(name, **kwargs)


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``deltaprop`` command (with its subcommands)."""
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
    data.add_argument("--impute", choices=("mean", "median", "most_frequent"),
                      help="fill missing CSV cells instead of failing")
    data.add_argument("--preprocess", choices=("standardize", "whiten", "none"),
                      default="standardize", help="input preprocessing fitted on the "
                      "training part (002 §4; default: standardize)")
    data.add_argument("--augment", metavar="SPEC", help="image augmentation, e.g. "
                      "'shift=2,rotate=10,noise=0.05,elastic' (002 §6)")
    data.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                      help="read the CSV file in blocks and train chunk by chunk, for files "
                      "bigger than memory (default: automatic above 1 GiB; docs/big-data.md)")
    net = t.add_argument_group("network")
    net.add_argument("--layers", type=_layers, default=[128], metavar="SIZES",
                     help="hidden layer sizes, e.g. 256,256; 'none' for no hidden layer "
                     "(default: 128)")
    net.add_argument("--activation", default="relu", help="hidden activation (default: relu)")
    net.add_argument("--output-activation", help="default: softmax for classification, "
                     "identity for regression")
    net.add_argument("--loss", help="default: the canonical loss of the output activation")
    net.add_argument("--init", help="weight initializer (default: per activation)")
    net.add_argument("--dropout", type=_number(float, 0.0), default=0.0, metavar="P")
    net.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    opt = t.add_argument_group("training")
    opt.add_argument("--optimizer", default="adam",
                     choices=("sgd", "momentum", "nesterov", "adam"), help="default: adam")
    opt.add_argument("--learning-rate", type=_number(float, 0.0, strict=True), default=1e-3,
                     metavar="ETA", help="default: 0.001")
    opt.add_argument("--momentum", type=_number(float, 0.0), metavar="MU",
                     help="momentum for sgd/momentum/nesterov (default 0.9 for the latter)")
    opt.add_argument("--schedule", metavar="NAME[:k=v,...]", help="learning-rate schedule: "
                     "step, exponential, inverse, plateau, e.g. exponential:gamma=0.8")
    opt.add_argument("--batch-size", type=_batch, default=32, metavar="N|full")
    opt.add_argument("--epochs", type=_number(int, 0), default=30, metavar="N")
    opt.add_argument("--l1", type=_number(float, 0.0), default=0.0, metavar="LAMBDA")
    opt.add_argument("--l2", type=_number(float, 0.0), default=0.0, metavar="LAMBDA")
    opt.add_argument("--clip", type=_number(float, 0.0, strict=True), metavar="C",
                     help="clip every gradient component to [-C, C] (000 §9.3.3)")
    opt.add_argument("--early-stopping", type=_number(int, 1), nargs="?", const=10,
                     metavar="PATIENCE", help="stop when the validation loss has not improved "
                     "for PATIENCE epochs (default 10) and keep the best weights (002 §5)")
    opt.add_argument("--seed", type=int, default=0, help="seed of every random draw "
                     "(default: 0)")
    run = t.add_argument_group("output")
    run.add_argument("--out", metavar="DIR", help="output directory (default: runs/DATASET)")
    run.add_argument("--checkpoint-every", type=_number(int, 1), metavar="N",
                     help="write DIR/checkpoint.ckpt every N epochs")
    run.add_argument("--resume", action="store_true", help="continue the run in --out from "
                     "its last checkpoint (its saved options apply unless given again)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_cmd_train)

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
def _resumed(args: argparse.Namespace, out: Path) -> argparse.Namespace:
    """Options of the run being resumed; options given now (not at their default) win."""
    path = out / _RUN_FILE
    if not path.is_file():
        raise InputError(f"nothing to resume in {out}: no {_RUN_FILE} (start the run with "
                         f"--out {out} --checkpoint-every N)")
    saved = json.loads(path.read_text(encoding="utf-8"))
    defaults = vars(build_parser().parse_args(["train"]))
    merged = dict(vars(args))
    for key, value in saved.items():
        if key in merged and merged[key] == defaults.get(key):
            merged[key] = value
    return argparse.Namespace(**merged)


def _augmenter(spec: str | None, pre: Any, seed: int | None) -> Any:
    if not spec:
        return None
    from deltaprop.data.augmentation import Augmenter

    aug = Augmenter.from_spec(spec, seed=seed)
    if pre is None:
        return aug
    # distort raw images, not standardized ones (a shifted background must stay background)
    return lambda X, rng: pre.transform(aug(pre.inverse_transform(X), rng))


def _cmd_train(args: argparse.Namespace) -> int:
    from deltaprop.data import pipeline as pl
    from deltaprop.engine.network import mlp
    from deltaprop.training.trainer import Trainer

    out = Path(args.out or Path("runs") / Path(args.dataset).stem)
    if args.resume:
        args = _resumed(args, out)
    from deltaprop.cli.stream import train_streamed, wants_stream

    if wants_stream(args):
        return train_streamed(
            args, out, schedule=_schedule(args.schedule) if args.schedule else None,
            files={"run": _RUN_FILE, "checkpoint": _CKPT_FILE, "model": _MODEL_FILE},
            options={k: v for k, v in vars(args).items()
                     if k not in ("func", "command", "resume")})
    t0 = time.perf_counter()
    data = pl.load_data(args.dataset, args.target, impute=args.impute)
    split = pl.split_data(data, args.seed)
    pre = pl.make_preprocessor(args.preprocess)
    Xtr = split.X_train if pre is None else pre.fit_transform(split.X_train)
    Xva, Xte = (split.X_val, split.X_test) if pre is None else (pre.transform(split.X_val),
                                                                pre.transform(split.X_test))
    classify = data.task == "classification"
    n_out = data.n_classes if classify else int(np.prod(split.y_train.shape[1:], dtype=int))
    out_act = args.output_activation or (None if classify or args.loss else "identity")
    net = mlp([data.n_features, *args.layers, n_out], activation=args.activation,
              output_activation=out_act, loss=args.loss, init=args.init,
              dropout=args.dropout, seed=args.seed, dtype=args.dtype)
    scaler = None if classify else pl.make_target_scaler(net.output_activation.name)
    if scaler is not None:
        scaler.fit(np.asarray(split.y_train, np.float64).reshape(len(split.y_train), -1))
    Y = [pl.encode_targets(y, data.task, n_out, scaler, net.dtype)
         for y in (split.y_train, split.y_val, split.y_test)]
    options = {k: v for k, v in vars(args).items() if k not in ("func", "command", "resume")}
    from deltaprop.files.archive import atomic_write_bytes

    atomic_write_bytes(out / _RUN_FILE, json.dumps(options, indent=1).encode())
    checkpointing = args.checkpoint_every is not None or args.resume
    trainer = Trainer(net, optimizer=args.optimizer, learning_rate=args.learning_rate,
                      momentum=args.momentum or 0.0, batch_size=args.batch_size,
                      schedule=_schedule(args.schedule) if args.schedule else None,
                      clip_value=args.clip, l1=args.l1, l2=args.l2,
                      augment=_augmenter(args.augment, pre, args.seed),
                      verbose=0 if args.quiet else 1, seed=args.seed,
                      checkpoint_every=args.checkpoint_every,
                      checkpoint_path=out / _CKPT_FILE if checkpointing else None)
    print(f"training {net.n_inputs}-{'-'.join(map(str, args.layers + [n_out]))} MLP on "
          f"{data.name}: {len(Xtr)} training, {len(Xva)} validation, {len(Xte)} test rows",
          file=sys.stderr)
    history = trainer.fit(Xtr, Y[0], epochs=args.epochs, validation_data=(Xva, Y[1]),
                          early_stopping=args.early_stopping is not None,
                          patience=args.early_stopping or 10, resume=args.resume)
    seconds = time.perf_counter() - t0
    info = pl.ModelInfo(data.task, list(data.target_names) if classify else None,
                        list(data.target_names), data.name, args.seed, data.n_features, pre,
                        scaler, data.schema, options)
    net.save(out / _MODEL_FILE, extras={**info.to_extras(),
                                        "history": (history.to_dict(), {})})
    metrics, pred = _report(net, info, Xte, split.y_test, Y[2], f"test set: {split.test_source}")
    from deltaprop.cli.report import write_report

    write_report(out, history, y_true=split.y_test if classify else None,
                 y_pred=pred if classify else None, class_names=info.class_names)
    print(f"\n{len(history.epochs)} epochs ({history.stop_reason}), best epoch "
          f"{history.best_epoch}, {seconds:.1f} s; wrote {out / _MODEL_FILE}, "
          f"history.json and figures to {out}")
    return 0


def _report(net: Any, info: Any, X: np.ndarray, y: np.ndarray, Y: np.ndarray,
            title: str) -> tuple[dict, np.ndarray]:
    """Print the evaluation summary of preprocessed ``X``; returns (metrics, predictions)."""
    from deltaprop.cli.report import classification_metrics, format_summary, regression_metrics

    H = net.forward(X)
    loss = net.evaluate(X, Y)
    if info.task == "classification":
        pred = H.argmax(axis=1)
        metrics = classification_metrics(y, pred, len(info.class_names))
    else:
        pred = info.outputs_to_targets(H)
        metrics = regression_metrics(np.asarray(y, np.float64).reshape(len(y), -1), pred)
    print(format_summary(title, len(X), loss, metrics, info.class_names, info.target_names))
    return metrics, pred


# --------------------------------------------------------------------- evaluate/predict
def _load_model(path: str) -> tuple[Any, Any]:
    from deltaprop.data.pipeline import ModelInfo
    from deltaprop.engine.network import load

    net = load(path)
    return net, ModelInfo.from_network(net, path)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from deltaprop.data import pipeline as pl
    from deltaprop.data.tabular import encode_csv

    net, info = _load_model(args.model)
    spec = args.dataset
    if pl.is_csv_path(spec) and info.schema is not None:
        X, y = encode_csv(spec, info.schema)
        if y is None:
            raise InputError(f"{spec} has no target column {info.schema.target!r} to "
                             "evaluate against")
        title = f"{spec} (all rows)"
    else:
        data = pl.load_data(spec, args.target)
        if data.task != info.task:
            raise InputError(f"{spec} is a {data.task} dataset, the model does {info.task}")
        if data.X_test is not None or data.name == info.dataset:
            split = pl.split_data(data, info.seed)
            X, y, title = split.X_test, split.y_test, f"test set: {split.test_source}"
        else:
            X, y, title = data.X, data.y, f"{data.name} (all rows)"
    if info.task == "classification" and (y.max() >= len(info.class_names)):
        raise InputError(f"{spec} has class {int(y.max())}, the model knows "
                         f"{len(info.class_names)} classes")
    X = info.transform(np.asarray(X, np.float64), spec)
    Y = pl.encode_targets(y, info.task, net.n_outputs, info.target_scaler, net.dtype)
    _report(net, info, X, y, Y, title)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from deltaprop.data.pipeline import read_features
    from deltaprop.files.archive import atomic_write_bytes

    net, info = _load_model(args.model)
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
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deltaprop`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
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


if __name__ == "__main__":
    sys.exit(main())
