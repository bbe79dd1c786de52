"""Parsing an uploaded CSV file: two numeric features and a target, read from memory.

The upload never touches the file system: the bytes the page sends are decoded and parsed
here. A header line is optional. The target is a class when it holds at most
:data:`MAX_CLASSES` distinct values that are all whole numbers or all non-numeric labels;
otherwise the task is regression. Every problem is an :class:`~deltaprop.errors.InputError`
that names the line, which the page shows as it is.

Examples
--------
>>> X, y, names = parse_csv(b"x1,x2,label\\n0,0,a\\n1,1,b\\n0,1,a\\n1,0,b\\n")
>>> X.shape, y.tolist(), names
((4, 2), [0, 1, 0, 1], ['a', 'b'])
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from deltaprop.errors import InputError

__all__ = ["parse_csv", "MAX_BYTES", "MAX_ROWS", "MAX_CLASSES"]

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_CLASSES = 10


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def parse_csv(data: bytes) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Return (X of shape (N, 2), y, class names or None for regression).

    Raises
    ------
    InputError
        For a file that is not UTF-8 text, has no rows, a row without exactly three fields,
        a feature that is not a finite number, too many rows, or a single class.
    """
    if len(data) > MAX_BYTES:
        raise InputError(f"the file has {len(data):,} bytes; the playground takes at most "
                         f"{MAX_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text; upload a CSV file with three columns "
                         "x1, x2, target") from None
    if "\x00" in text:
        raise InputError("the file is binary, not CSV text; upload a CSV file with three "
                         "columns x1, x2, target")
    try:
        rows = [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text)))
                if r and any(c.strip() for c in r)]
    except csv.Error as exc:
        raise InputError(f"the file is not valid CSV: {exc}") from None
    if rows and (_number(rows[0][1][0].strip()) is None if rows[0][1] else True):
        rows = rows[1:]  # a header line: its first field is not a number
    if not rows:
        raise InputError("the file has no data rows; expected lines 'x1,x2,target'")
    if len(rows) > MAX_ROWS:
        raise InputError(f"the file has {len(rows):,} rows; the playground takes at most "
                         f"{MAX_ROWS:,}")
    features, targets = [], []
    for line, row in rows:
        if len(row) != 3:
            raise InputError(f"line {line}: {len(row)} fields, expected 3 (x1, x2, target)")
        pair = [_number(c.strip()) for c in row[:2]]
        for col, value in zip(("x1", "x2"), pair, strict=True):
            if value is None or not math.isfinite(value):
                bad = row[0] if col == "x1" else row[1]
                raise InputError(f"line {line}: {col} = {bad.strip()!r} is not a finite number")
        features.append(pair)
        targets.append(row[2].strip())
    X = np.array(features, dtype=np.float64)
    return X, *_targets(targets, [line for line, _ in rows])


def _targets(values: list[str], lines: list[int]) -> tuple[np.ndarray, list[str] | None]:
    numbers = [_number(v) for v in values]
    distinct = sorted(set(values))
    numeric = all(v is not None for v in numbers)
    if numeric:
        bad = next((i for i, v in enumerate(numbers) if not math.isfinite(v)), None)
        if bad is not None:
            raise InputError(f"line {lines[bad]}: target {values[bad]!r} is not a finite number")
        whole = all(float(v).is_integer() for v in numbers)
        if not (whole and len(set(numbers)) <= MAX_CLASSES):
            return np.array(numbers, dtype=np.float64), None
        labels = sorted(set(numbers))
        names = [str(int(v)) for v in labels]
        index = {v: i for i, v in enumerate(labels)}
        y = np.array([index[v] for v in numbers], dtype=np.int64)
    else:
        if any(v is not None for v in numbers) and any(v is None for v in numbers):
            i = next(i for i, v in enumerate(numbers) if v is None)
            j = next(i for i, v in enumerate(numbers) if v is not None)
            raise InputError(f"the target column mixes numbers (line {lines[j]}) and text "
                             f"(line {lines[i]}: {values[i]!r})")
        if len(distinct) > MAX_CLASSES:
            raise InputError(f"the target column has {len(distinct)} different labels; the "
                             f"playground takes at most {MAX_CLASSES} classes")
        names = distinct
        index = {v: i for i, v in enumerate(names)}
        y = np.array([index[v] for v in values], dtype=np.int64)
    if len(names) < 2:
        raise InputError(f"the target column holds one class only ({names[0]!r}); a "
                         "classifier needs at least two")
    return y, names
