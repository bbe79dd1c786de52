"""Data plumbing of the command line: load, split, preprocess, and what the model file keeps.

``deltaprop train`` fits its preprocessing on the training part only (002 §4) and stores it,
with the CSV schema and the class names, in the model file's extras (docs/contract.md), so
``deltaprop predict`` and ``deltaprop evaluate`` take raw inputs. :class:`ModelInfo` is that
stored bundle; :meth:`ModelInfo.to_extras` / :meth:`ModelInfo.from_network` convert it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.data.dataset import Dataset
from deltaprop.data.deskew import Deskewer
from deltaprop.data.preprocessing import (
    PCAWhitener,
    Preprocessor,
    Standardizer,
    TargetScaler,
    one_hot,
    transformer_from_state,
)
from deltaprop.data.splits import split_indices, train_val_test_split
from deltaprop.data.tabular import CsvSchema, canonical_label, encode_csv, load_csv
from deltaprop.errors import DeltapropError, InputError, ModelFileError

__all__ = ["ModelInfo", "Split", "load_data", "check_trainable", "split_data",
           "make_preprocessor", "make_target_scaler", "encode_targets", "read_features",
           "is_csv_path", "load_model", "model_rows", "cli_hint"]

#: Split ratios (002 §5): 5:1:1 train/validation/test; with a given test set, 11:1 train/val.
RATIOS = (5, 1, 1)
VAL_RATIOS = (11, 1)
_EXTRA = "cli"
_RETRAIN_IMPUTE = "train the model with --impute mean|median|most_frequent to fill them"


def is_csv_path(spec: str) -> bool:
    """``--dataset`` names a file (rather than a built-in set) when it ends in .csv or exists."""
    return spec.lower().endswith(".csv") or Path(spec).is_file()


def _last_column(path: str) -> str:
    """The header's last column name, or "" if unreadable (load_csv then says why)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return ""
    return header[-1].strip() if header else ""


def load_data(spec: str, target: str | None = None, *, impute: str | None = None,
              task: str | None = None) -> Dataset:
    """A built-in dataset by name, or a CSV file (target column: ``target``, else the last).

    ``task`` ("classification" or "regression") overrides what :func:`load_csv` infers from a
    CSV target; a built-in dataset must already be of that task.
    """
    from deltaprop.data.datasets import load_dataset

    if Path(spec).is_dir():
        raise InputError(f"{spec} is a directory, not a CSV file or a built-in dataset name")
    if is_csv_path(spec):
        try:
            return load_csv(spec, target or _last_column(spec), impute=impute, task=task)
        except InputError as exc:
            raise InputError(cli_hint(exc, "give --impute mean|median|most_frequent")) from None
    if target is not None:
        raise InputError(f"--target only applies to CSV files, not to the built-in dataset "
                         f"{spec!r}")
    data = load_dataset(spec)
    if task is not None and task != data.task:
        raise InputError(f"--task {task}: the built-in dataset {spec!r} is a {data.task} "
                         "dataset")
    return data


def check_trainable(data: Dataset) -> None:
    """Refuse data a model cannot learn from: a classifier needs at least two classes (with
    one, it would report accuracy 1.0 having learnt nothing)."""
    if data.task != "classification":
        return
    present = np.unique(np.asarray(data.y))
    if present.size < 2:
        name = data.target_names[int(present[0])] if present.size else "(none)"
        raise InputError(f"{data.name}: every row has the class {name!r}; a classifier needs "
                         "at least 2 classes")


def cli_hint(exc: Exception, impute_hint: str) -> str:
    """A library message in the command line's words: the library's ``pass impute=...``
    becomes ``impute_hint`` (e.g. ``give --impute mean|median|most_frequent``)."""
    return re.sub(r"pass impute=\S+", impute_hint, str(exc))


@dataclass
class Split:
    """Training, validation and test parts; ``y`` as stored in the Dataset."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_source: str


def split_data(data: Dataset, seed: int | None, mode: str = "holdout") -> Split:
    """Hold out validation (and test) data, stratified for classification (002 §5).

    A dataset with its own test set (MNIST) keeps it and gives 1/12 of its training rows to
    validation; any other dataset is split 5:1:1 with ``seed``. ``mode="none"``: every row
    trains, nothing is held out (no validation rows; the "test" rows are the training rows).
    """
    if mode == "none":
        empty = np.arange(0)
        return Split(data.X, data.y, data.X[empty], data.y[empty], data.X, data.y,
                     f"all rows of {data.name} (the training rows: nothing held out)")
    if mode != "holdout":
        raise InputError(f"unknown split {mode!r}; choose holdout or none")
    if data.X_test is not None:
        strat = data.y if data.task == "classification" else None
        tr, va = split_indices(data.n_samples, VAL_RATIOS, stratify_labels=strat, seed=seed)
        return Split(data.X[tr], data.y[tr], data.X[va], data.y[va], data.X_test, data.y_test,
                     f"{data.name} test set")
    parts = train_val_test_split(data.X, data.y, ratios=RATIOS,
                                 stratify=data.task == "classification", seed=seed)
    Xtr, Xva, Xte, ytr, yva, yte = parts
    return Split(Xtr, ytr, Xva, yva, Xte, yte, f"held-out test split of {data.name}")


def make_preprocessor(kind: str, image_shape: tuple[int, int] | None = None
                      ) -> Preprocessor | None:
    """``standardize`` (002 §4: zero mean, unit variance), ``whiten`` (PCA), ``deskew``
    (images of handwriting straightened by their moments, :class:`Deskewer`; needs
    ``image_shape``), or ``none``."""
    if kind == "deskew":
        if image_shape is None:
            raise InputError("--preprocess deskew straightens images, but these rows are not "
                             "images; give --image-shape HxW if they are")
        return Preprocessor([Deskewer(image_shape)])
    if kind == "standardize":
        return Preprocessor([Standardizer()])
    if kind == "whiten":
        return Preprocessor([Standardizer(), PCAWhitener(whiten=True)])
    if kind == "none":
        return None
    raise InputError(f"unknown preprocessing {kind!r}; choose standardize, whiten, deskew or none")


def make_target_scaler(output_activation: Any) -> Any:
    """Regression targets: standardized for a linear output, squeezed into the guarded range
    of every bounded one (logistic, tanh, scaled tanh, ...; 002 §4 "Target values"); None for
    other outputs."""
    from deltaprop.engine.activations import get

    act = get(output_activation)
    if act.name == "identity":
        return Standardizer()
    if act.name == "scaled_tanh":
        # 002 §4: 1.7159 tanh(2v/3) "satisfies φ(1) = 1 and φ(-1) = -1": targets in [-1, 1],
        # the guard interval being the rest of its range
        return TargetScaler((-1.0, 1.0), guard=0.0)
    lo, hi = act.bounds
    if np.isfinite(lo) and np.isfinite(hi):
        return TargetScaler((lo, hi))
    return None


def encode_targets(y: np.ndarray, task: str, n_outputs: int, scaler: Any,
                   dtype: Any) -> np.ndarray:
    """Class indices -> one-hot rows (000 Eq. 2); regression targets -> scaled (N, k)."""
    if task == "classification":
        return one_hot(y, n_outputs, dtype=dtype)
    Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return (Y if scaler is None else scaler.transform(Y)).astype(dtype)


def _state(obj: Any) -> tuple[dict, dict] | None:
    return None if obj is None else obj.get_state()


_MAX_FEATURES = 10_000_000  # a stored record above this is refused before anything is built


@dataclass
class ModelInfo:
    """What the CLI stores next to the network: task, names, fitted preprocessing, data."""

    task: str
    class_names: list[str] | None
    target_names: list[str]
    dataset: str
    seed: int | None
    n_features: int
    preprocessor: Any = None
    target_scaler: Any = None
    schema: CsvSchema | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_extras(self) -> dict[str, tuple[dict, dict]]:
        cfg = {"task": self.task, "class_names": self.class_names,
               "target_names": self.target_names, "dataset": self.dataset, "seed": self.seed,
               "n_features": self.n_features, "options": self.options}
        extras = {_EXTRA: (cfg, {})}
        for name in ("preprocessor", "target_scaler", "schema"):
            state = _state(getattr(self, name))
            if state is not None:
                extras[f"{_EXTRA}_{name}"] = state
        return extras

    @classmethod
    def from_network(cls, network: Any, path: str = "model") -> ModelInfo:
        extras = getattr(network, "extras", None) or {}
        if _EXTRA not in extras:
            raise InputError(f"{path} was not written by 'deltaprop train' (it has no "
                             "preprocessing record); load it with deltaprop.load() instead")
        cfg = extras[_EXTRA][0]

        def part(name: str, build: Any) -> Any:
            key = f"{_EXTRA}_{name}"
            return build(*extras[key]) if key in extras else None

        try:
            info = cls(cfg["task"], cfg["class_names"], cfg["target_names"], cfg["dataset"],
                       cfg["seed"], cfg["n_features"],
                       part("preprocessor", transformer_from_state),
                       part("target_scaler", transformer_from_state),
                       part("schema", CsvSchema.from_state), cfg.get("options", {}))
            info._check(network)
        except (DeltapropError, KeyError, TypeError, ValueError, AttributeError,
                IndexError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path}: its stored preprocessing record is invalid: "
                                 f"{exc}") from None
        return info

    def _check(self, network: Any) -> None:
        """The stored record fits the network it came with (else ModelFileError)."""
        def names(value: Any) -> bool:
            return isinstance(value, list) and all(isinstance(v, str) for v in value)

        if self.task not in ("classification", "regression"):
            raise ModelFileError(f"unknown task {self.task!r}")
        if self.task == "classification" and (
                not names(self.class_names) or len(self.class_names) != network.n_outputs
                or len(set(self.class_names)) != len(self.class_names)):
            raise ModelFileError(f"class names {self.class_names!r} do not fit the network's "
                                 f"{network.n_outputs} outputs")
        if not names(self.target_names):
            raise ModelFileError(f"target names {self.target_names!r} are not a list of names")
        if (isinstance(self.n_features, bool) or not isinstance(self.n_features, int)
                or not 1 <= self.n_features <= _MAX_FEATURES):
            raise ModelFileError(f"n_features {self.n_features!r} is not a number of features")
        width = self.n_features
        if self.preprocessor is not None:  # it may change the width (engineered features)
            width = self.preprocessor.transform(np.zeros((1, self.n_features))).shape[1]
        if width != network.n_inputs:
            raise ModelFileError(f"n_features {self.n_features!r} (after the stored "
                                 f"preprocessing: {width}) does not match the network's "
                                 f"{network.n_inputs} inputs")

    @classmethod
    def plain(cls, network: Any) -> ModelInfo:
        """The record of a network saved without one (``Network.save``): no preprocessing,
        classes and targets numbered."""
        k = network.n_outputs
        if network.is_classifier:
            names = [str(i) for i in range(2 if k == 1 else k)]
            return cls("classification", names, names, "", None, network.n_inputs)
        return cls("regression", None, [f"y{i}" for i in range(k)], "", None, network.n_inputs)

    # -- applying the stored preprocessing ------------------------------------------------
    def transform(self, X: np.ndarray, source: str) -> np.ndarray:
        """Raw feature rows -> the network's inputs: the one place where the model file's
        stored preprocessing is applied (``evaluate``, ``predict``, ``plot``, ``explain``)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            got = X.shape[1] if X.ndim == 2 else f"shape {X.shape}"
            raise InputError(f"{source} has {got} features, the model expects "
                             f"{self.n_features}")
        return X if self.preprocessor is None else self.preprocessor.transform(X)

    def class_indices(self, y: np.ndarray, names: Any, source: str) -> np.ndarray:
        """Labels ``y`` that index ``names`` (a dataset's classes) as indices of the model's
        classes, matched by name ("1.0" is "1"): a dataset holding some of the classes keeps
        their meaning. A class the model does not know is an InputError naming it."""
        index = {canonical_label(str(c)): i for i, c in enumerate(self.class_names or [])}
        y = np.asarray(y, dtype=np.int64)
        lookup = np.full(len(names), -1, dtype=np.int64)
        for j, name in enumerate(names):
            lookup[j] = index.get(canonical_label(str(name)), -1)
        present = np.unique(y)
        if present.size and (present.min() < 0 or present.max() >= len(names)):
            raise InputError(f"{source}: labels outside its {len(names)} classes")
        unknown = [str(names[j]) for j in present if lookup[j] < 0]
        if unknown:
            raise InputError(f"{source} has classes {unknown} that the model does not know "
                             f"(its classes: {self.class_names})")
        return lookup[y]

    def describe_preprocessing(self) -> str:
        """``standardize`` / ``whiten`` / ``deskew`` / ``none``: what :meth:`transform` does."""
        if self.preprocessor is None:
            return "none"
        return str(self.options.get("preprocess", "stored preprocessing"))

    def outputs_to_targets(self, H: np.ndarray) -> np.ndarray:
        """Network outputs of a regression model back in the units of the targets."""
        return H if self.target_scaler is None else self.target_scaler.inverse_transform(H)


def load_model(path: Any, *, plain_ok: bool = False) -> tuple[Any, ModelInfo]:
    """A model file and its record of preprocessing: ``(network, info)``.

    Every command that applies a model goes through this and :meth:`ModelInfo.transform`.
    ``plain_ok``: a network saved with ``Network.save`` (no record) gets :meth:`ModelInfo.plain`
    instead of an error.
    """
    from deltaprop.engine.network import load

    net = load(path)
    extras = getattr(net, "extras", None) or {}
    if plain_ok and _EXTRA not in extras:
        return net, ModelInfo.plain(net)
    return net, ModelInfo.from_network(net, str(path))


def model_rows(spec: str, info: ModelInfo, target: str | None = None
               ) -> tuple[np.ndarray, np.ndarray, str]:
    """The raw rows a command applies a model to: ``(X, y, what they are)``, with class labels
    ``y`` as indices of the model's classes, matched by name.

    A CSV file: all its rows (through the model's CSV schema when it has one; ``target`` names
    its label column). The data set the model was trained on: its held-out test part, split as
    ``deltaprop train`` split it (all rows when it trained with ``--split none``). Any other
    built-in data set: all rows.
    """
    from deltaprop.data.tabular import encode_csv

    if is_csv_path(spec) and info.schema is not None:
        try:
            X, y = encode_csv(spec, info.schema, target=target)
        except InputError as exc:
            raise InputError(cli_hint(exc, _RETRAIN_IMPUTE)) from None
        if y is None:
            raise InputError(f"{spec} has no target column {target or info.schema.target!r} "
                             "to evaluate against")
        return X, y, f"{spec} (all rows)"  # encoded by class name already
    data = load_data(spec, target, task=info.task if is_csv_path(spec) else None)
    if data.task != info.task:
        raise InputError(f"{spec} is a {data.task} dataset, the model does {info.task}")
    if data.name == info.dataset and info.options.get("split") == "none":
        split = split_data(data, info.seed, "none")
        X, y, what = split.X_test, split.y_test, split.test_source
    elif data.X_test is not None or data.name == info.dataset:
        split = split_data(data, info.seed)
        X, y, what = split.X_test, split.y_test, f"test set: {split.test_source}"
    else:
        X, y, what = data.X, data.y, f"{data.name} (all rows)"
    if info.task == "classification" and data.target_names is not None:
        info.transform(X[:1], spec)  # the feature count first: it says more than the classes
        y = info.class_indices(y, data.target_names, spec)
    return X, y, what


def read_features(path: str, info: ModelInfo) -> np.ndarray:
    """Raw feature rows of a CSV for ``predict``: through the model's CSV schema when it was
    trained on a CSV file (columns by name, target column optional), else plain numbers (an
    optional header line, then ``n_features`` numeric columns)."""
    if info.schema is not None:
        try:
            return encode_csv(path, info.schema)[0]
        except InputError as exc:
            raise InputError(cli_hint(exc, _RETRAIN_IMPUTE)) from None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV file {path}: {exc}") from None

    def numeric(row: list[str]) -> bool:
        try:
            [float(c) for c in row]
        except ValueError:
            return False
        return True

    if rows and not numeric(rows[0]):
        rows = rows[1:]  # header line
    if not rows:
        raise InputError(f"{path}: no data rows")
    for i, row in enumerate(rows):
        if len(row) != info.n_features:
            raise InputError(f"{path}: row {i + 1} has {len(row)} columns, the model expects "
                             f"{info.n_features} features")
        if not numeric(row):
            raise InputError(f"{path}: row {i + 1} holds a value that is not a number")
    X = np.array([[float(c) for c in row] for row in rows])
    if not np.isfinite(X).all():
        r, c = (int(i) for i in np.argwhere(~np.isfinite(X))[0])
        raise InputError(f"{path}: data row {r + 1}, column {c + 1}: value {rows[r][c]!r} is "
                         "not a finite number")
    return X
