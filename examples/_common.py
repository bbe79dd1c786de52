"""Shared helpers of the example scripts: arguments, figure saving, numbers as JSON."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.files.archive import atomic_write_bytes
from deltaprop.viz import save_figure


def parse_args(description: str, default_out: str) -> argparse.Namespace:
    """``--quick`` (a few seconds, for CI) and ``--out DIR`` (figures and results.json)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small data and few epochs (CI)")
    p.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    return args


def save(fig: Any, out: str, name: str) -> str:
    """Save ``fig`` as ``out/name`` (PNG, dpi 100, atomic) and say so."""
    path = save_figure(fig, os.path.join(out, name), dpi=100)
    print(f"  figure: {path}")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_results(out: str, name: str, results: dict[str, Any]) -> str:
    """Write the numbers behind the figures to ``out/name.json`` atomically."""
    path = os.path.join(out, f"{name}.json")
    text = json.dumps(_plain(results), indent=2, allow_nan=False)
    atomic_write_bytes(path, text.encode("utf-8"))  # the user's umask applies
    print(f"  numbers: {path}")
    return path


def mnist_or_digits(n_train: int, n_val: int, seed: int = 0,
                    quick: bool = False) -> tuple[Any, ...]:
    """(X_train, y_train, X_val, y_val, image_shape, name): MNIST if its files are present
    (DELTAPROP_DATA), else scikit-learn's 8×8 digits scaled to [0, 1] (so CI needs no
    download). ``quick`` always uses the digits."""
    from deltaprop import datasets

    rng = np.random.default_rng(seed)
    try:
        if quick:
            raise FileNotFoundError("quick mode uses the digits")
        d = datasets.load_mnist(download=False)
        tr = rng.choice(len(d.X), n_train, replace=False)
        va = rng.choice(len(d.X_test), min(n_val, len(d.X_test)), replace=False)
        return d.X[tr], d.y[tr], d.X_test[va], d.y_test[va], (28, 28), "MNIST"
    except Exception:  # noqa: BLE001 - any missing/unreadable file: fall back
        d = datasets.digits()
        X = (d.X / 16.0).astype(np.float32)
        idx = rng.permutation(len(X))
        n_train = min(n_train, len(X) // 2)
        tr, va = idx[:n_train], idx[n_train:n_train + n_val]
        why = "quick mode" if quick else "MNIST not found"
        return X[tr], d.y[tr], X[va], d.y[va], (8, 8), f"digits (8×8, {why})"
