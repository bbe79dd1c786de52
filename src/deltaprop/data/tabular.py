"""CSV files (no pandas needed): :func:`load_csv` infers a :class:`CsvSchema` from a training
file and :func:`encode_csv` re-encodes new files the same way (for ``deltaprop predict``).

Categorical columns are one-hot encoded (000 Eq. 2); missing cells are an error naming the
line and column unless an imputation strategy is given. Re-exported by ``deltaprop.data.datasets``.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.data.dataset import Dataset
from deltaprop.errors import InputError

__all__ = ["CsvSchema", "load_csv", "encode_csv", "canonical_label"]

_MISSING = {"", "na", "n/a", "nan", "?", "null"}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INFINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_MAX_CLASSES = 20
_IMPUTE = (None, "mean", "median", "most_frequent")


def _is_missing(v: str) -> bool:
    return v.lower() in _MISSING


def canonical_label(v: str) -> str:
    """Class label text: numbers in one spelling ("1.0" and "1" are the same class)."""
    if _NUMBER.fullmatch(v):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    return v


def _number(v: str, where: str) -> float:
    """A numeric cell as a float; one too large for float64 ("1e999") is refused by name."""
    f = float(v)
    if not np.isfinite(f):
        raise InputError(f"{where}: value {v!r} is beyond the range of a float64 (about "
                         "±1.8e308)")
    return f


def _read_csv(path: str | os.PathLike, delimiter: str) -> tuple[list[str], list[list[str]],
                                                                 list[int]]:
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = [h.strip() for h in next(reader, [])]
            if not header or not any(header):
                raise InputError(f"{path}: the file is empty (expected a header line)")
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if len(row) != len(header):
                    raise InputError(f"{path}, line {reader.line_num}: {len(row)} fields, "
                                     f"expected {len(header)} like the header")
                rows.append([v.strip() for v in row])
                lines.append(reader.line_num)
    except OSError as exc:
        raise InputError(f"cannot read CSV file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (bad byte at offset {exc.start})") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: malformed CSV: {exc}") from exc
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup or "" in header:
        raise InputError(f"{path}: header has {'duplicate' if dup else 'empty'} column names "
                         f"{dup or ['']}")
    if not rows:
        raise InputError(f"{path}: no data rows after the header")
    return header, rows, lines


@dataclass
class CsvSchema:
    """How :func:`load_csv` turned CSV columns into features; reused by :func:`encode_csv`.

    ``kinds[i]`` is ``"numeric"`` or ``"categorical"`` for feature column ``columns[i]``;
    categorical columns are one-hot encoded over ``categories[col]`` (sorted) into features
    named ``col=value``. ``classes`` are the sorted class labels of a classification target.
    """

    columns: list[str]
    kinds: list[str]
    categories: dict[str, list[str]]
    target: str
    task: str
    classes: list[str] | None = None
    impute: str | None = None
    fill_values: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        names = []
        for col, kind in zip(self.columns, self.kinds, strict=True):
            names += [col] if kind == "numeric" else [f"{col}={c}" for c in self.categories[col]]
        return names

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"type": "CsvSchema", "columns": self.columns, "kinds": self.kinds,
                "categories": self.categories, "target": self.target, "task": self.task,
                "classes": self.classes, "impute": self.impute,
                "fill_values": self.fill_values}, {}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> CsvSchema:
        return cls(**{k: v for k, v in config.items() if k != "type"})

    def encode(self, header: list[str], rows: list[list[str]], lines: list[int],
               source: str = "CSV") -> tuple[np.ndarray, np.ndarray | None]:
        """Encode parsed rows (as from the CSV reader) into ``X`` and, if present, ``y``."""
        expected = set(self.columns) | {self.target}
        missing = [c for c in self.columns if c not in header]
        extra = [c for c in header if c not in expected]
        if missing or extra:
            raise InputError(f"{source}: columns do not match the model's: missing {missing}, "
                             f"unexpected {extra}; expected {self.columns} "
                             f"(optionally with target {self.target!r})")
        pos = {h: i for i, h in enumerate(header)}
        X = np.zeros((len(rows), len(self.feature_names)))
        out = 0
        for col, kind in zip(self.columns, self.kinds, strict=True):
            j = pos[col]
            cats = self.categories.get(col, [])
            index = {c: i for i, c in enumerate(cats)}
            for r, (row, line) in enumerate(zip(rows, lines, strict=True)):
                v = row[j]
                if _is_missing(v):
                    if col not in self.fill_values:
                        raise InputError(f"{source}, line {line}, column {col!r}: missing value "
                                         f"{v!r}; pass impute='mean'|'median'|'most_frequent'")
                    v = str(self.fill_values[col])
                if kind == "numeric":
                    if v.lower() in _INFINITE:
                        raise InputError(f"{source}, line {line}, column {col!r}: non-finite "
                                         f"value {v!r}")
                    if not _NUMBER.fullmatch(v):
                        raise InputError(f"{source}, line {line}, column {col!r}: expected a "
                                         f"number, got {v!r}")
                    X[r, out] = _number(v, f"{source}, line {line}, column {col!r}")
                elif v in index:
                    X[r, out + index[v]] = 1.0
                else:
                    raise InputError(f"{source}, line {line}, column {col!r}: unseen category "
                                     f"{v!r}; known: {cats}")
            out += 1 if kind == "numeric" else len(cats)
        if self.target not in pos:
            return X, None
        return X, self._encode_target([row[pos[self.target]] for row in rows], lines, source)

    def _encode_target(self, values: list[str], lines: list[int], source: str) -> np.ndarray:
        for v, line in zip(values, lines, strict=True):
            if _is_missing(v):
                raise InputError(f"{source}, line {line}, target column {self.target!r}: "
                                 f"missing value {v!r} (targets are never imputed)")
            if self.task == "regression" and not _NUMBER.fullmatch(v):
                raise InputError(f"{source}, line {line}, target column {self.target!r}: "
                                 f"expected a number for regression, got {v!r}")
        if self.task == "regression":
            return np.array([_number(v, f"{source}, line {line}, target column "
                                        f"{self.target!r}")
                             for v, line in zip(values, lines, strict=True)])
        index = {c: i for i, c in enumerate(self.classes or [])}
        y = np.empty(len(values), dtype=np.int64)
        for r, (v, line) in enumerate(zip(values, lines, strict=True)):
            if canonical_label(v) not in index:
                raise InputError(f"{source}, line {line}, target column {self.target!r}: "
                                 f"unseen class {v!r}; known: {self.classes}")
            y[r] = index[canonical_label(v)]
        return y


def _fill_value(values: list[str], numeric: bool, strategy: str) -> Any:
    if numeric and strategy in ("mean", "median"):
        nums = np.array([float(v) for v in values])
        return float(nums.mean() if strategy == "mean" else np.median(nums))
    # most frequent; ties go to the smallest value so the result does not depend on row order
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values())
    tied = [v for v, c in counts.items() if c == best]
    return min(tied, key=float) if numeric else min(tied)


def load_csv(path: str | os.PathLike, target: str, *, impute: str | None = None,
             task: str | None = None, delimiter: str = ",") -> Dataset:
    """Read a CSV file with a header line into a :class:`Dataset` (no pandas needed).

    A feature column is *categorical* if any value in it is not a number; it is one-hot
    encoded (000 Eq. 2) with sorted categories into features ``col=value``. Cells are
    stripped of surrounding spaces. Missing cells (empty, NA, N/A, NaN, ?, null) are an error
    naming the line and column unless ``impute`` is given: ``"mean"``/``"median"`` fill numeric
    columns (categorical columns get their most frequent value), ``"most_frequent"`` fills
    every column with its most frequent value. Targets are never imputed.

    The task defaults to classification for a non-numeric target or one with at most 20
    distinct integer values some of which repeat, regression otherwise; ``task`` overrides.
    Class labels are sorted (numerically for numbers) and ``y`` holds their indices.

    Returns
    -------
    Dataset whose ``schema`` (:class:`CsvSchema`) re-encodes new files via :func:`encode_csv`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pets.csv"
    >>> _ = p.write_text("weight,kind,legs\\n4.0,cat,4\\n30,dog,4\\n0.1,bird,2\\n")
    >>> d = load_csv(p, "legs", task="classification")
    >>> d.feature_names, d.y.tolist(), d.target_names
    (['weight', 'kind=bird', 'kind=cat', 'kind=dog'], [1, 1, 0], ['2', '4'])
    """
    if impute not in _IMPUTE:
        raise InputError(f"impute must be one of {_IMPUTE}, got {impute!r}")
    if task not in (None, "classification", "regression"):
        raise InputError(f"task must be None, 'classification' or 'regression', got {task!r}")
    header, rows, lines = _read_csv(path, delimiter)
    if target not in header:
        raise InputError(f"{path}: target column {target!r} not found; columns are {header}")
    columns = [h for h in header if h != target]
    if not columns:
        raise InputError(f"{path}: no feature columns besides the target {target!r}")
    kinds, categories, fills = [], {}, {}
    for col in columns:
        j = header.index(col)
        present = [row[j] for row in rows if not _is_missing(row[j])]
        if not present:
            raise InputError(f"{path}: column {col!r} has no values (all missing)")
        numeric = all(_NUMBER.fullmatch(v) or v.lower() in _INFINITE for v in present)
        kinds.append("numeric" if numeric else "categorical")
        if not numeric:
            categories[col] = sorted(set(present))
        if impute is not None and len(present) < len(rows):
            fills[col] = _fill_value(present, numeric, impute)
    tvals = [row[header.index(target)] for row in rows]
    present = [v for v in tvals if not _is_missing(v)]
    numeric_target = all(_NUMBER.fullmatch(v) for v in present)
    if task is None:
        distinct = {float(v) for v in present} if numeric_target else set(present)
        integer = numeric_target and all(float(v).is_integer() for v in present)
        few = len(distinct) <= _MAX_CLASSES and len(distinct) < len(present)
        task = "regression" if numeric_target and not (integer and few) else "classification"
        if not numeric_target:
            why = "inferred: the target holds text labels"
        elif task == "classification":
            why = (f"inferred: {len(distinct)} distinct integer values that repeat; pass "
                   "--task regression to treat them as numbers")
        else:
            why = (f"inferred: {len(distinct)} distinct "
                   f"{'integer ' if integer else ''}values (classes are at most "
                   f"{_MAX_CLASSES} repeating integers); pass --task classification if they "
                   "are class labels")
    else:
        why = "given"
    classes = None
    if task == "classification":
        labels = {canonical_label(v) for v in present}
        classes = sorted(labels, key=float) if numeric_target else sorted(labels)
    schema = CsvSchema(columns, kinds, categories, target, task, classes, impute, fills)
    X, y = schema.encode(header, rows, lines, source=str(path))
    return Dataset(X, y, schema.feature_names, classes if classes else [target], task,
                   Path(path).stem, description=f"CSV file {path}: {task} ({why})",
                   schema=schema)


def encode_csv(path: str | os.PathLike, schema: CsvSchema, *, delimiter: str = ",",
               target: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Encode a new CSV file exactly as the training file was (for ``deltaprop predict``).

    Columns are matched by name (any order); the target column may be absent, in which case
    ``y`` is None. ``target`` names the file's target column when it is not the schema's
    (``deltaprop evaluate --target``). Unseen categories, missing or unexpected columns raise
    InputError.
    """
    header, rows, lines = _read_csv(path, delimiter)
    if target is not None and target != schema.target:
        if target not in header:
            raise InputError(f"{path}: target column {target!r} not found; columns are "
                             f"{header}")
        if schema.target in header:
            raise InputError(f"{path} has both the model's target column {schema.target!r} "
                             f"and the --target column {target!r}; drop one of them")
        header = [schema.target if h == target else h for h in header]
    return schema.encode(header, rows, lines, source=str(path))

