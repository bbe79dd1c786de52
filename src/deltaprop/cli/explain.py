"""``deltaprop explain``: one forward and backward pass printed step by step (001)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from deltaprop.data.pipeline import load_model
from deltaprop.errors import InputError
from deltaprop.inspection.explain import example_text, explain

__all__ = ["add_cli", "run_cli"]


def _floats(text: str, what: str) -> np.ndarray:
    try:
        rows = [[float(v) for v in row.split(",") if v.strip()] for row in text.split(";")]
    except ValueError:
        raise InputError(f"{what} must be numbers like '0,1' (';' between samples), got "
                         f"{text!r}") from None
    if not rows or any(len(r) != len(rows[0]) or not r for r in rows):
        raise InputError(f"{what}: every sample needs the same number of values, got {text!r}")
    return np.array(rows)


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``deltaprop explain`` on an argparse ``subparsers`` object.

    The parser sets ``func=run_cli``; the caller runs ``args.func(args)`` (returns 0).
    """
    p = subparsers.add_parser(
        "explain", help="print one forward and backward pass step by step (001)",
        description="Print one forward pass, one backward pass and one gradient-descent "
                    "update step by step, laid out like 001's grounded example.")
    p.add_argument("--example", choices=("grounded", "xor"),
                   help="run a built-in example from the notes (no other input needed)")
    p.add_argument("--model", help="a deltaprop model file to explain")
    p.add_argument("--x", help="input sample(s), e.g. '0,1' or '0,0;0,1' for two samples")
    p.add_argument("--y", help="target(s), e.g. '1' (one-hot rows for classifiers)")
    p.add_argument("--lr", type=float, default=None, help="learning rate η (default 1)")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Run ``deltaprop explain`` for parsed ``args``; prints the explanation."""
    if args.example:
        if args.model or args.x:
            raise InputError("give --example or --model with --x, not both")
        print(example_text(args.example, args.lr))
        return 0
    if not args.model or not args.x:
        raise InputError("deltaprop explain needs --example NAME, or --model FILE and --x VALUES")
    net, info = load_model(args.model, plain_ok=True)
    raw = _floats(args.x, "--x")
    x = info.transform(raw, "--x")
    y = None if args.y is None else _floats(args.y, "--y")
    if y is not None and info.target_scaler is not None:
        y = info.target_scaler.transform(y)
    lines = []
    if info.preprocessor is not None:
        lines = [f"the model file's stored preprocessing ({info.describe_preprocessing()}, "
                 "fitted on the training rows):",
                 f"  raw x          = {_rows(raw)}",
                 f"  preprocessed x = {_rows(x)}"]
        if y is not None and info.target_scaler is not None:
            lines.append(f"  scaled y       = {_rows(y)} (the model file's target scaling)")
        lines.append("")
    print("\n".join([*lines, explain(net, x, y, lr=1.0 if args.lr is None else args.lr)]))
    return 0


def _rows(a: np.ndarray) -> str:
    return "; ".join(", ".join(f"{v:.4g}" for v in row) for row in np.atleast_2d(a))
