"""CSV files bigger than memory: read in blocks, encoded to memmaps, standardization fitted in
one pass (``deltaprop train --dataset big.csv --stream``, docs/big-data.md).

:func:`stream_csv` reads the file twice, block by block, with pandas' C reader
(``pandas.read_csv(chunksize=...)``, every cell as text, as :func:`deltaprop.data.tabular.load_csv`
reads it):

1. the schema, with the rules of :func:`~deltaprop.data.tabular.load_csv`: which columns are
   numeric and which categorical (their sorted categories, one-hot encoded, 000 Eq. 2), the
   task and the class labels, the fill values of ``impute="mean"``, and which part each row
   goes to;
2. every block encoded with that :class:`~deltaprop.data.tabular.CsvSchema` into float32
   features and the targets, written to ``.npy`` memmaps per part, while a
   :class:`~deltaprop.data.preprocessing.Standardizer` is fitted on the training rows by
   :meth:`~deltaprop.data.preprocessing.Standardizer.partial_fit` (one pass, Chan et al.'s
   merge of block means and variances).

The split is 5:1:1 (002 §5) by a seeded draw per row (block ``k`` draws its rows' parts from
``numpy.random.default_rng([seed, k])``), so parts hold about 5/7, 1/7, 1/7 of the rows, in file
order, not stratified. Only a block (``block_rows`` rows) is in memory at a time. Unlike
``load_csv``, a row with fewer fields than the header reads as empty (missing) trailing cells
(the reader cannot tell them apart); rows are numbered from 1 after the header, without blank
lines.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.data.preprocessing import Standardizer
from deltaprop.data.tabular import (
    _INFINITE,
    _MAX_CLASSES,
    _MISSING,
    _NUMBER,
    CsvSchema,
    canonical_label,
)
from deltaprop.errors import InputError, MissingDependencyError

__all__ = ["StreamedCsv", "stream_csv", "PARTS", "STREAM_THRESHOLD_BYTES"]

#: ``deltaprop train`` streams a CSV file larger than this unless ``--no-stream`` is given.
STREAM_THRESHOLD_BYTES = 1 << 30
#: The parts of the split and their ratios (002 §5).
PARTS = ("train", "val", "test")
_RATIOS = (5, 1, 1)
_MAX_CATEGORIES = 10_000  # distinct values kept per column (and class labels)


@dataclass
class StreamedCsv:
    """What :func:`stream_csv` made of a CSV file.

    ``X[part]`` are float32 memmaps (rows, n_features) of the encoded, *unstandardized*
    features; ``y[part]`` int64 class indices (classification) or float64 (rows, 1) targets;
    ``standardizer`` is fitted on the training rows; ``rows`` counts the rows of each part.
    """

    schema: CsvSchema
    standardizer: Standardizer
    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    rows: dict[str, int]
    path: str
    directory: Path
    feature_names: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def n_features(self) -> int:
        return len(self.feature_names)


def _blocks(path: str, header: list[str], block_rows: int, delimiter: str):
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the [stream] and [dev] extras
        raise MissingDependencyError("streaming a CSV file needs pandas: pip install "
                                     "'deltaprop[stream]'") from None
    reader = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False,
                         na_filter=False, chunksize=block_rows, encoding="utf-8-sig",
                         skip_blank_lines=True, header=0, names=header)
    first = 0
    try:
        for block in reader:
            block = block.apply(lambda col: col.str.strip())
            yield first, block
            first += len(block)
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: malformed CSV near data row {first + 1}: {exc}") from None
    finally:
        reader.close()


def _header(path: str, delimiter: str) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh, delimiter=delimiter), [])]
    except OSError as exc:
        raise InputError(f"cannot read CSV file {path}: {exc.strerror or exc}") from exc
    if not header or not any(header):
        raise InputError(f"{path}: the file is empty (expected a header line)")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup or "" in header:
        raise InputError(f"{path}: header has {'duplicate' if dup else 'empty'} column names "
                         f"{dup or ['']}")
    return header


def _parts(seed: int, block: int, n: int, ratios: tuple[int, ...]) -> np.ndarray:
    p = np.asarray(ratios, dtype=np.float64)
    return np.random.default_rng([seed, block]).choice(len(p), size=n, p=p / p.sum())


def _row(first: int, mask: Any) -> int:
    """1-based data row (after the header) of the first True in ``mask``."""
    return first + int(np.argmax(np.asarray(mask))) + 1


class _Column:
    """Pass 1 of one feature column: numeric or not, categories with counts, sum for means."""

    def __init__(self, name: str):
        self.name, self.numeric, self.present, self.missing = name, True, 0, 0
        self.total = 0.0
        self.counts: dict[str, int] | None = {}

    def update(self, values: Any, first: int, path: str, impute: str | None) -> None:
        lower = values.str.lower()
        missing = lower.isin(_MISSING).to_numpy()
        if missing.any() and impute is None:
            raise InputError(f"{path}, data row {_row(first, missing)}, column {self.name!r}: "
                             "missing value; pass --impute mean")
        present = values[~missing]
        self.missing += int(missing.sum())
        self.present += len(present)
        infinite = lower[~missing].isin(_INFINITE).to_numpy()
        number = present.str.fullmatch(_NUMBER.pattern).to_numpy()
        if self.numeric and not (number | infinite).all():
            self.numeric = False
        if self.numeric and infinite.any():
            raise InputError(f"{path}, data row {_row(first, ~missing & lower.isin(_INFINITE))}"
                             f", column {self.name!r}: non-finite value")
        if self.numeric:
            self.total += float(present.astype(np.float64).sum())
        if self.counts is not None:
            for value, count in present.value_counts(sort=False).items():
                self.counts[value] = self.counts.get(value, 0) + int(count)
            if len(self.counts) > _MAX_CATEGORIES:
                self.counts = None  # too many distinct values to be a categorical column
        if not self.numeric and self.counts is None:
            raise InputError(f"{path}: column {self.name!r} is not numeric and has more than "
                             f"{_MAX_CATEGORIES} distinct values; too many categories to one-hot "
                             "encode")


def _schema(path: str, header: list[str], target: str, blocks, impute: str | None,
            task: str | None, seed: int, ratios: tuple[int, ...]) -> tuple[CsvSchema, dict]:
    columns = [h for h in header if h != target]
    cols = {c: _Column(c) for c in columns}
    t_numeric, t_present = True, 0
    t_floats: set[float] | None = set()
    t_labels: set[str] | None = set()
    t_integer = True
    rows = dict.fromkeys(PARTS, 0)
    for k, (first, block) in enumerate(blocks):
        for c in columns:
            cols[c].update(block[c], first, path, impute)
        values = block[target]
        missing = values.str.lower().isin(_MISSING).to_numpy()
        if missing.any():
            raise InputError(f"{path}, data row {_row(first, missing)}, target column "
                             f"{target!r}: missing value (targets are never imputed)")
        t_present += len(values)
        number = values.str.fullmatch(_NUMBER.pattern).to_numpy()
        if t_numeric and not number.all():
            t_numeric, t_floats = False, None
        if t_numeric:
            floats = values.astype(np.float64).to_numpy()
            t_integer = t_integer and bool((floats == np.round(floats)).all())
            if t_floats is not None:
                t_floats.update(np.unique(floats).tolist())
                if len(t_floats) > _MAX_CLASSES:
                    t_floats = None
        if t_labels is not None:
            t_labels.update(canonical_label(v) for v in values.unique())
            if len(t_labels) > _MAX_CATEGORIES:
                t_labels = None
        counts = np.bincount(_parts(seed, k, len(block), ratios), minlength=len(PARTS))
        for name, c in zip(PARTS, counts, strict=True):
            rows[name] += int(c)
    if t_present == 0:
        raise InputError(f"{path}: no data rows after the header")
    for c in cols.values():
        if c.present == 0:
            raise InputError(f"{path}: column {c.name!r} has no values (all missing)")
    if task is None:
        if not t_numeric:
            task = "classification"
        else:
            few = t_floats is not None and len(t_floats) < t_present
            task = "classification" if (t_integer and few) else "regression"
    classes = None
    if task == "classification":
        if t_labels is None:
            raise InputError(f"{path}: target column {target!r} has more than "
                             f"{_MAX_CATEGORIES} distinct values, too many classes")
        classes = sorted(t_labels, key=float) if t_numeric else sorted(t_labels)
    elif not t_numeric:
        raise InputError(f"{path}: target column {target!r} is not numeric, cannot regress")
    kinds = ["numeric" if cols[c].numeric else "categorical" for c in columns]
    categories = {c: sorted(cols[c].counts) for c in columns if not cols[c].numeric}
    fills: dict[str, Any] = {}
    for c in columns:
        col = cols[c]
        if impute is not None and col.missing:
            if col.numeric:
                fills[c] = col.total / col.present
            else:
                best = max(col.counts.values())
                fills[c] = min(v for v, n in col.counts.items() if n == best)
    return CsvSchema(columns, kinds, categories, target, task, classes, impute, fills), rows


def _encode(schema: CsvSchema, block: Any) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized :meth:`CsvSchema.encode` of a checked block: float64 features, targets."""
    X = np.zeros((len(block), len(schema.feature_names)))
    out = 0
    for col, kind in zip(schema.columns, schema.kinds, strict=True):
        values = block[col]
        if col in schema.fill_values:
            missing = values.str.lower().isin(_MISSING)
            values = values.where(~missing, str(schema.fill_values[col]))
        if kind == "numeric":
            X[:, out] = values.astype(np.float64).to_numpy()
            out += 1
        else:
            cats = schema.categories[col]
            codes = np.searchsorted(np.asarray(cats, dtype=object), values.to_numpy(object))
            X[np.arange(len(block)), out + codes] = 1.0
            out += len(cats)
    t = block[schema.target]
    if schema.task == "regression":
        y = t.astype(np.float64).to_numpy().reshape(-1, 1)
    else:
        index = {c: i for i, c in enumerate(schema.classes)}
        y = np.fromiter((index[canonical_label(v)] for v in t.to_numpy(object)), np.int64, len(t))
    return X, y


def _memmap(path: Path, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    if shape[0] == 0:
        return np.zeros(shape, dtype)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def stream_csv(path: str | os.PathLike, target: str | None, directory: str | os.PathLike, *,
               seed: int = 0, impute: str | None = None, task: str | None = None,
               block_rows: int = 100_000, delimiter: str = ",",
               ratios: tuple[int, int, int] = _RATIOS) -> StreamedCsv:
    """Encode a CSV file bigger than memory into memmaps under ``directory`` and fit the
    standardization of its training part, reading ``block_rows`` rows at a time.

    Parameters
    ----------
    path : str or path-like
        A CSV file with a header line.
    target : str, optional
        The target column (default: the last).
    directory : str or path-like
        Where the ``.npy`` memmaps go (about 4 bytes per feature and row).
    seed : int
        Seeds the 5:1:1 split.
    impute : {None, "mean"}
        ``"mean"`` fills missing numeric cells with the column's mean and categorical ones
        with the most frequent value (as :func:`~deltaprop.data.tabular.load_csv`); the median
        and ``"most_frequent"`` need every value at once and are not offered here.
    task : {None, "classification", "regression"}
        The rule of :func:`~deltaprop.data.tabular.load_csv` when None.
    block_rows : int
    delimiter : str
    ratios : (int, int, int)
        Train, validation and test ratios (default 5:1:1).

    Returns
    -------
    StreamedCsv

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp()); p = d / "t.csv"
    >>> _ = p.write_text("a,kind,y\\n" + "".join(f"{i},{'xy'[i % 2]},{i % 3}\\n"
    ...                                            for i in range(30)))
    >>> s = stream_csv(p, "y", d, block_rows=7, ratios=(1, 0, 0))
    >>> s.feature_names, s.task, s.rows["train"], s.standardizer.mean_.tolist()
    (['a', 'kind=x', 'kind=y'], 'classification', 30, [14.5, 0.5, 0.5])
    """
    path = str(path)
    if impute not in (None, "mean"):
        raise InputError(f"streaming a CSV file supports impute=None or 'mean', got {impute!r}"
                         " (the median and the most frequent value need every value at once)")
    if task not in (None, "classification", "regression"):
        raise InputError(f"task must be None, 'classification' or 'regression', got {task!r}")
    if isinstance(block_rows, bool) or not isinstance(block_rows, int) or block_rows < 1:
        raise InputError(f"block_rows must be an integer >= 1, got {block_rows!r}")
    header = _header(path, delimiter)
    target = target or header[-1]
    if target not in header:
        raise InputError(f"{path}: target column {target!r} not found; columns are {header}")
    if len(header) < 2:
        raise InputError(f"{path}: no feature columns besides the target {target!r}")
    schema, rows = _schema(path, header, target, _blocks(path, header, block_rows, delimiter),
                           impute, task, seed, ratios)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    d = len(schema.feature_names)
    regression = schema.task == "regression"
    X = {p: _memmap(directory / f"X_{p}.npy", (rows[p], d), np.float32) for p in PARTS}
    y = {p: _memmap(directory / f"y_{p}.npy", (rows[p], 1) if regression else (rows[p],),
                    np.float64 if regression else np.int64) for p in PARTS}
    standardizer, at = Standardizer(), dict.fromkeys(PARTS, 0)
    blocks = _blocks(path, header, block_rows, delimiter)
    for k, (_, block) in enumerate(blocks):
        Xb, yb = _encode(schema, block)
        parts = _parts(seed, k, len(block), ratios)
        for i, p in enumerate(PARTS):
            mask = parts == i
            m = int(mask.sum())
            if m:
                X[p][at[p]:at[p] + m] = Xb[mask]
                y[p][at[p]:at[p] + m] = yb[mask]
                at[p] += m
                if p == "train":
                    standardizer.partial_fit(Xb[mask])
    for arr in (*X.values(), *y.values()):
        if isinstance(arr, np.memmap):
            arr.flush()
    if rows["train"] == 0:
        raise InputError(f"{path}: no rows fell in the training part")
    return StreamedCsv(schema, standardizer, X, y, rows, path, directory,
                       schema.feature_names)
