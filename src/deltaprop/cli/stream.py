"""``deltaprop train --dataset big.csv --stream``: train on a CSV file bigger than memory.

The file is read in blocks (:func:`deltaprop.data.csvstream.stream_csv`): its schema and the
standardization of the training part are fitted in passes over the blocks, the encoded rows go
to memmaps in a temporary folder inside ``--out`` (removed afterwards), and the Trainer reads them
chunk by chunk (:class:`deltaprop.data.chunks.ChunkedData`), standardizing each chunk as it is
read. The model file is the same as for an in-memory run (schema and preprocessing inside), so
``deltaprop predict`` and ``deltaprop evaluate`` use it unchanged. docs/big-data.md.

Streaming is automatic for a CSV file larger than
:data:`~deltaprop.data.csvstream.STREAM_THRESHOLD_BYTES` (1 GiB); ``--stream`` forces it,
``--no-stream`` reads any file whole.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["wants_stream", "train_streamed"]


def wants_stream(args: argparse.Namespace) -> bool:
    """True when ``deltaprop train`` should stream ``--dataset``: ``--stream``, or no
    ``--no-stream`` and a CSV file larger than the threshold."""
    from deltaprop.data.csvstream import STREAM_THRESHOLD_BYTES
    from deltaprop.data.pipeline import is_csv_path

    stream = getattr(args, "stream", None)
    if stream is not None:
        if stream and not is_csv_path(args.dataset):
            raise InputError(f"--stream reads a CSV file; {args.dataset!r} is a built-in "
                             "dataset")
        return bool(stream)
    path = Path(args.dataset)
    return is_csv_path(args.dataset) and path.is_file() \
        and path.stat().st_size > STREAM_THRESHOLD_BYTES


def _target_scaler(make: Any, output_activation: str, y: Any) -> Any:
    """The regression target scaler of the in-memory run, fitted chunk by chunk on ``y``."""
    scaler = make(output_activation)
    if scaler is None:
        return None
    step = 1 << 20
    if hasattr(scaler, "partial_fit"):
        for lo in range(0, len(y), step):
            scaler.partial_fit(np.asarray(y[lo:lo + step]))
    else:  # TargetScaler: only the range counts
        lo_hi = [(np.min(y[i:i + step], axis=0), np.max(y[i:i + step], axis=0))
                 for i in range(0, len(y), step)]
        scaler.fit(np.vstack([np.min([a for a, _ in lo_hi], axis=0),
                              np.max([b for _, b in lo_hi], axis=0)]))
    return scaler


def train_streamed(args: argparse.Namespace, out: Path, *, schedule: Any, files: dict[str, str],
                   options: dict[str, Any]) -> int:
    """Run ``deltaprop train`` on a streamed CSV file; ``files`` names the run, checkpoint and
    model files in ``out`` ("run", "checkpoint", "model")."""
    from deltaprop.cli.report import (
        classification_metrics,
        format_summary,
        regression_metrics,
        write_report,
    )
    from deltaprop.data import pipeline as pl
    from deltaprop.data.chunks import ChunkedData
    from deltaprop.data.csvstream import stream_csv
    from deltaprop.data.preprocessing import Preprocessor
    from deltaprop.engine.network import mlp
    from deltaprop.files.archive import atomic_write_bytes
    from deltaprop.training.metrics import evaluate_chunks
    from deltaprop.training.trainer import Trainer

    for flag, value in (("--augment", args.augment), ("--impute median/most_frequent",
                        args.impute not in (None, "mean"))):
        if value:
            raise InputError(f"{flag} is not available with a streamed CSV file (--stream)")
    if args.preprocess in ("whiten", "deskew"):
        raise InputError(f"--preprocess {args.preprocess} needs the data in memory; with "
                         "--stream use standardize or none")
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".stream-", dir=out) as tmp:
        data = stream_csv(args.dataset, args.target or None, tmp, seed=args.seed,
                          impute=args.impute)
        classify = data.task == "classification"
        names = data.schema.classes if classify else [data.schema.target]
        n_out = len(names) if classify else 1
        out_act = args.output_activation or (None if classify or args.loss else "identity")
        net = mlp([data.n_features, *args.layers, n_out], activation=args.activation,
                  output_activation=out_act, loss=args.loss, init=args.init,
                  dropout=args.dropout, seed=args.seed, dtype=args.dtype)
        pre = None if args.preprocess == "none" else Preprocessor([data.standardizer])
        scaler = None if classify else _target_scaler(
            pl.make_target_scaler, net.output_activation.name, data.y["train"])

        def chunks(part: str) -> ChunkedData:
            return ChunkedData(
                data.X[part], data.y[part],
                transform_x=None if pre is None else pre.transform,
                transform_y=lambda y: pl.encode_targets(y, data.task, n_out, scaler, net.dtype))

        atomic_write_bytes(out / files["run"], json.dumps(options, indent=1).encode())
        checkpointing = args.checkpoint_every is not None or args.resume
        trainer = Trainer(net, optimizer=args.optimizer, learning_rate=args.learning_rate,
                          momentum=args.momentum or 0.0, batch_size=args.batch_size,
                          schedule=schedule, clip_value=args.clip, l1=args.l1, l2=args.l2,
                          verbose=0 if args.quiet else 1, seed=args.seed,
                          checkpoint_every=args.checkpoint_every,
                          checkpoint_path=out / files["checkpoint"] if checkpointing else None)
        rows = data.rows
        print(f"training {net.n_inputs}-{'-'.join(map(str, args.layers + [n_out]))} MLP on "
              f"{Path(args.dataset).stem} (streamed): {rows['train']} training, "
              f"{rows['val']} validation, {rows['test']} test rows", file=sys.stderr)
        validation = (chunks("val"), None) if rows["val"] else None
        if validation is None and args.early_stopping is not None:
            raise InputError("--early-stopping needs validation rows; the file has too few")
        history = trainer.fit(chunks("train"), None, epochs=args.epochs,
                              validation_data=validation,
                              early_stopping=args.early_stopping is not None,
                              patience=args.early_stopping or 10, resume=args.resume)
        seconds = time.perf_counter() - t0
        info = pl.ModelInfo(data.task, names if classify else None, names,
                            Path(args.dataset).stem, args.seed, data.n_features, pre, scaler,
                            data.schema, options)
        net.save(out / files["model"], extras={**info.to_extras(),
                                               "history": (history.to_dict(), {})})
        y_true = y_pred = None
        if rows["test"]:
            test = chunks("test")
            logs = evaluate_chunks(net, ((Xc, Yc) for _, Xc, Yc, _ in test.chunks(
                dtype=net.dtype)))
            preds = []  # only the predictions of the test rows stay in memory
            for _, Xc, _, _ in test.chunks(dtype=net.dtype):
                H = net.forward(Xc, check=False)
                preds.append(H.argmax(axis=1) if classify else H.copy())
            y_true = np.asarray(data.y["test"])
            if classify:
                y_pred = np.concatenate(preds)
                metrics = classification_metrics(y_true, y_pred, n_out)
            else:
                y_pred = info.outputs_to_targets(np.concatenate(preds))
                metrics = regression_metrics(y_true, y_pred)
            print(format_summary("test set: held-out rows of the streamed file", rows["test"],
                                 logs["val_loss"], metrics, info.class_names,
                                 info.target_names))
        write_report(out, history, y_true=y_true if classify else None,
                     y_pred=y_pred if classify else None, class_names=info.class_names)
    print(f"\n{len(history.epochs)} epochs ({history.stop_reason}), best epoch "
          f"{history.best_epoch}, {seconds:.1f} s; wrote {out / files['model']}, "
          f"history.json and figures to {out}")
    return 0
