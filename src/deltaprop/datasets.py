"""Datasets: the notes' toy problems, scikit-learn's bundled sets, MNIST and CSV files.

Every loader returns a :class:`Dataset`. Random generators take a ``seed`` and return the
same data for the same seed. MNIST is read from the original IDX files (downloaded on first
use and verified by SHA-256); CSV files are read by :func:`load_csv`, whose
:class:`CsvSchema` re-encodes new files the same way (:func:`encode_csv`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.errors import DeltapropError, InputError

__all__ = [
    "Dataset", "DownloadError", "xor", "blobs", "circles", "two_spirals", "spiral", "free_fall",
    "noisy_sine", "digits", "iris", "wine", "breast_cancer", "diabetes", "load_mnist",
    "read_idx", "download_file", "mnist_dir", "MNIST_MIRRORS", "MNIST_FILES", "load_dataset",
    "dataset_names", "load_csv", "encode_csv", "CsvSchema",
]


class DownloadError(DeltapropError, OSError):
    """Every mirror failed to deliver a file with the expected checksum."""


@dataclass
class Dataset:
    """Features ``X`` (N, d), targets ``y`` and what they mean.

    ``y`` holds integer class indices (N,) for classification (``target_names[y[i]]`` is the
    class name) and float targets (N,) or (N, k) for regression (``target_names`` are the
    target column names).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    task: str
    name: str
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    description: str = ""
    schema: Any = field(default=None, repr=False)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int | None:
        return len(self.target_names) if self.task == "classification" else None

    def __repr__(self) -> str:
        test = "" if self.X_test is None else f", test={self.X_test.shape}"
        return f"Dataset({self.name!r}, {self.task}, X={self.X.shape}{test})"


def _xy_names(d: int) -> list[str]:
    return ["x", "y"] if d == 2 else [f"x{i + 1}" for i in range(d)]


def _check_count(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_noise(value: Any, name: str = "noise") -> float:
    if not (isinstance(value, (int, float, np.floating)) and 0 <= value < np.inf):
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _classes(X: np.ndarray, y: np.ndarray, name: str, k: int, desc: str) -> Dataset:
    return Dataset(X, y.astype(np.int64), _xy_names(X.shape[1]),
                   [str(i) for i in range(k)], "classification", name, description=desc)


# ------------------------------------------------------------------------- toy problems
def xor(n_per_corner: int = 1, *, noise: float = 0.0, seed: int | None = None) -> Dataset:
    """The XOR problem (004 §4.5, 000 §9.1): corners (0,0),(1,0),(0,1),(1,1) -> 0,1,1,0.

    With ``n_per_corner > 1`` and ``noise > 0`` each corner becomes a Gaussian cloud.

    Examples
    --------
    >>> d = xor()
    >>> d.X.tolist(), d.y.tolist()
    ([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    n, noise = _check_count(n_per_corner, "n_per_corner"), _check_noise(noise)
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    X = np.repeat(corners, n, axis=0)
    if noise:
        X = X + np.random.default_rng(seed).normal(0.0, noise, X.shape)
    y = np.repeat([0, 1, 1, 0], n)
    return _classes(X, y, "xor", 2, "XOR of two binary inputs")


def blobs(n_samples: int = 300, *, std: float = 0.6, seed: int | None = 0) -> Dataset:
    """Three Gaussian classes in 2-D, like the notes' "Example data (three classes)" (003).

    The clusters are separable by straight lines, so a single-layer network solves it.
    """
    n = _check_count(n_samples, "n_samples", 3)
    std = _check_noise(std, "std")
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]])
    y = np.arange(n) % 3
    X = centers[y] + rng.normal(0.0, std, (n, 2))
    return _classes(X, y, "blobs", 3, "three Gaussian blobs in 2-D (003)")


def circles(n_samples: int = 400, *, noise: float = 0.08, factor: float = 0.5,
            seed: int | None = 0) -> Dataset:
    """Two concentric circles (class 0 outer, class 1 inner of radius ``factor``)."""
    n = _check_count(n_samples, "n_samples", 2)
    noise = _check_noise(noise)
    if not 0 < factor < 1:
        raise InputError(f"factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    angle = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(y == 0, 1.0, factor)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)] + rng.normal(0, noise, (n, 2))
    return _classes(X, y, "circles", 2, "two concentric circles")


def spiral(n_per_class: int = 100, n_classes: int = 3, *, noise: float = 0.2,
           seed: int | None = 0) -> Dataset:
    """The classic K-armed spiral: arm k has radius 0..1 and angle ``4k..4(k+1)`` + noise.

    ``noise`` is the standard deviation of the angle in radians; at the default 0.2 the
    arms stay separable, so a 64-64 network can fit the training set almost perfectly.
    """
    n, k = _check_count(n_per_class, "n_per_class", 2), _check_count(n_classes, "n_classes", 2)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n), k)
    y = np.repeat(np.arange(k), n)
    t = (np.tile(np.linspace(0.0, 4.0, n), k) + 4.0 * y) * (3.0 / k)
    t = t + rng.normal(0.0, noise, n * k)
    X = np.c_[r * np.sin(t), r * np.cos(t)]
    return _classes(X, y, "spiral", k, f"{k}-armed spiral")


def two_spirals(n_samples: int = 400, *, noise: float = 0.02, turns: float = 1.5,
                seed: int | None = 0) -> Dataset:
    """The two interlocking spirals benchmark (Lang & Witbrock): class 1 is class 0 rotated
    by 180 degrees; ``noise`` is added to the coordinates."""
    n = _check_count(n_samples, "n_samples", 2)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    half = (n + 1) // 2
    t = np.linspace(0.0, 1.0, half)
    theta = 2 * np.pi * turns * t + np.pi / 2
    arm = np.c_[t * np.cos(theta), t * np.sin(theta)]
    X = np.r_[arm, -arm][:n] + rng.normal(0.0, noise, (n, 2))
    y = np.r_[np.zeros(half), np.ones(half)][:n]
    return _classes(X, y, "two_spirals", 2, "two interlocking spirals")


def free_fall(n_samples: int = 200, *, t_max: float = 2.0, g: float = 9.81,
              noise: float = 0.0, seed: int | None = 0) -> Dataset:
    """Regression of the fall height h = g t^2 / 2 on the time t (the quiz in 001).

    One input neuron (t), one output neuron (h): X is (N, 1), y is (N,).
    """
    n, noise = _check_count(n_samples, "n_samples"), _check_noise(noise)
    if not t_max > 0:
        raise InputError(f"t_max must be > 0, got {t_max!r}")
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.0, t_max, n))
    h = 0.5 * g * t**2 + (rng.normal(0.0, noise, n) if noise else 0.0)
    return Dataset(t[:, None], h, ["t"], ["h"], "regression", "free_fall",
                   description="h = g t^2 / 2 (001 quiz)")


def noisy_sine(n_samples: int = 100, *, noise: float = 0.1, x_range: tuple = (0.0, 2 * np.pi),
               seed: int | None = 0) -> Dataset:
    """Regression of y = sin(x) + Gaussian noise, x uniform in ``x_range``."""
    n, noise = _check_count(n_samples, "n_samples"), _check_noise(noise)
    lo, hi = (float(v) for v in x_range)
    if not lo < hi:
        raise InputError(f"x_range must have lo < hi, got {x_range!r}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(lo, hi, n))
    y = np.sin(x) + rng.normal(0.0, noise, n)
    return Dataset(x[:, None], y, ["x"], ["y"], "regression", "noisy_sine",
                   description="y = sin(x) + noise")


# ------------------------------------------------------------ scikit-learn bundled sets
def _sklearn(loader: str, name: str, task: str) -> Dataset:
    from sklearn import datasets as skd  # bundled files, no network

    b = getattr(skd, loader)()
    X = np.asarray(b.data, dtype=np.float64)
    if task == "classification":
        y, targets = np.asarray(b.target, dtype=np.int64), [str(t) for t in b.target_names]
    else:
        y, targets = np.asarray(b.target, dtype=np.float64), ["target"]
    names = [str(f) for f in getattr(b, "feature_names", [f"x{i}" for i in range(X.shape[1])])]
    return Dataset(X, y, names, targets, task, name, description=b.DESCR.split("\n")[0])


def digits() -> Dataset:
    """8x8 handwritten digits (1797 samples, pixel values 0..16), scikit-learn's copy."""
    return _sklearn("load_digits", "digits", "classification")


def iris() -> Dataset:
    """Fisher's iris flowers: 150 samples, 4 features, 3 classes."""
    return _sklearn("load_iris", "iris", "classification")


def wine() -> Dataset:
    """Wine recognition: 178 samples, 13 features, 3 classes."""
    return _sklearn("load_wine", "wine", "classification")


def breast_cancer() -> Dataset:
    """Breast cancer Wisconsin (diagnostic): 569 samples, 30 features, 2 classes."""
    return _sklearn("load_breast_cancer", "breast_cancer", "classification")


def diabetes() -> Dataset:
    """Diabetes progression regression: 442 samples, 10 (scaled) features."""
    return _sklearn("load_diabetes", "diabetes", "regression")


# ------------------------------------------------------------------------------ MNIST
#: Base URLs tried in order; each must serve the four ``*.gz`` files below.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: file name -> SHA-256 of the *decompressed* IDX content (gzip wrappers differ by mirror).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(source: str | os.PathLike | bytes, *, name: str = "IDX data") -> np.ndarray:
    """Parse an IDX file (gzip-compressed or raw) or its bytes into an array.

    Layout: two zero bytes, a type code, the number of dimensions, one big-endian int32 per
    dimension, then the values in C order.
    """
    if isinstance(source, bytes):
        data = source
    else:
        name = str(source)
        try:
            raw = Path(source).read_bytes()
            data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"cannot read IDX file {name}: {exc}") from exc
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_TYPES:
        raise InputError(f"{name} is not an IDX file (bad magic number {data[:4].hex()!r})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise InputError(f"{name}: truncated IDX header ({ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(data, ">i4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(data) != expected:
        raise InputError(f"{name}: IDX dims {dims} need {expected} bytes, file has {len(data)}")
    return np.frombuffer(data, dtype, offset=header).reshape(dims)


def mnist_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Where MNIST is read from and downloaded to: ``data_dir``, else ``$DELTAPROP_DATA/mnist``,
    else the per-user cache ``platformdirs.user_cache_dir("deltaprop")/mnist``."""
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get("DELTAPROP_DATA"):
        return Path(os.environ["DELTAPROP_DATA"]) / "mnist"
    import platformdirs

    return Path(platformdirs.user_cache_dir("deltaprop")) / "mnist"


def _fetch(url: str, dest: Any, progress: bool, timeout: float, label: str) -> None:
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as resp:
        total = resp.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        got = 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress,
                  leave=False) as bar:
            try:
                while chunk := resp.read(1 << 16):
                    dest.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            except http.client.IncompleteRead as exc:
                got += len(exc.partial)
                total = got + (exc.expected or 0) if total is None else total
        if total is not None and got != total:
            raise ConnectionError(f"connection closed after {got} of {total} bytes")


def download_file(filename: str, target_dir: str | os.PathLike, *,
                  mirrors: Sequence[str] = MNIST_MIRRORS, expected_sha256: str,
                  progress: bool | None = None, timeout: float = 30.0) -> Path:
    """Download ``filename`` (a ``.gz``) from the first mirror that delivers good content.

    The file is streamed into a temporary file in ``target_dir``; its decompressed content
    must hash to ``expected_sha256``, and only then is it renamed into place, so a failed or
    interrupted download never leaves a partial file.

    Raises
    ------
    DownloadError
        If every mirror fails; the message names the file and each mirror's failure.
    """
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    failures = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=target)
        try:
            with os.fdopen(fd, "wb") as dest:
                _fetch(url, dest, show, timeout, filename)
            content = gzip.decompress(Path(tmp).read_bytes())
            digest = hashlib.sha256(content).hexdigest()
            if digest != expected_sha256:
                raise ValueError(f"SHA-256 of the content is {digest}, "
                                 f"expected {expected_sha256}")
            os.replace(tmp, target / filename)
            return target / filename
        except (OSError, EOFError, ValueError, zlib.error, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            else:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            failures.append(f"  {url}: {type(exc).__name__}: {reason}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DownloadError(f"could not download {filename} into {target}; tried "
                        f"{len(failures)} mirror(s):\n" + "\n".join(failures))


def load_mnist(data_dir: str | os.PathLike | None = None, *, download: bool = True,
               progress: bool | None = None, mirrors: Sequence[str] = MNIST_MIRRORS,
               expected_sha256: Mapping[str, str] | None = None) -> Dataset:
    """The MNIST handwritten digits (003): 60000 training and 10000 test images, 28x28.

    Files are looked for in :func:`mnist_dir`; missing ones are downloaded there (unless
    ``download=False``) and verified against :data:`MNIST_FILES` (``expected_sha256``
    overrides the checksums, for tests with fake files).

    Returns
    -------
    Dataset with ``X`` (60000, 784) float32 in [0, 1], ``y`` (60000,) int64 and
    ``X_test`` (10000, 784), ``y_test`` (10000,).
    """
    folder = mnist_dir(data_dir)
    sums = dict(MNIST_FILES, **(expected_sha256 or {}))
    arrays = {}
    for fname, sha in sums.items():
        path = folder / fname
        if not path.exists():
            if not download:
                raise InputError(f"MNIST file {path} is missing and download=False; set "
                                 "DELTAPROP_DATA or data_dir to a folder holding the four "
                                 f"files {sorted(MNIST_FILES)}")
            download_file(fname, folder, mirrors=mirrors, expected_sha256=sha,
                          progress=progress)
        try:
            content = gzip.decompress(path.read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"MNIST file {path} is not valid gzip ({exc}); delete it to "
                             "download it again") from exc
        if hashlib.sha256(content).hexdigest() != sha:
            raise InputError(f"MNIST file {path} does not match its SHA-256 {sha}; delete it "
                             "to download it again")
        arrays[fname.split("-idx")[0]] = read_idx(content, name=str(path))
    out = {}
    for split in ("train", "t10k"):
        images, labels = arrays[f"{split}-images"], arrays[f"{split}-labels"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise InputError(f"MNIST {split}: images {images.shape} and labels {labels.shape} "
                             "do not fit together")
        out[split] = (images.reshape(images.shape[0], -1).astype(np.float32) / 255.0,
                      labels.astype(np.int64))
    return Dataset(out["train"][0], out["train"][1],
                   [f"pixel{i}" for i in range(out["train"][0].shape[1])],
                   [str(i) for i in range(10)], "classification", "mnist",
                   X_test=out["t10k"][0], y_test=out["t10k"][1],
                   description="MNIST handwritten digits (LeCun, Cortes, Burges)")


# -------------------------------------------------------------------------------- CSV
_MISSING = {"", "na", "n/a", "nan", "?", "null"}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INFINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_MAX_CLASSES = 20
_IMPUTE = (None, "mean", "median", "most_frequent")


def _is_missing(v: str) -> bool:
    return v.lower() in _MISSING


def _canon(v: str) -> str:
    """Class label text: numbers in one spelling ("1.0" and "1" are the same class)."""
    if _NUMBER.fullmatch(v):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    return v


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
                    X[r, out] = float(v)
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
            return np.array([float(v) for v in values])
        index = {c: i for i, c in enumerate(self.classes or [])}
        y = np.empty(len(values), dtype=np.int64)
        for r, (v, line) in enumerate(zip(values, lines, strict=True)):
            if _canon(v) not in index:
                raise InputError(f"{source}, line {line}, target column {self.target!r}: "
                                 f"unseen class {v!r}; known: {self.classes}")
            y[r] = index[_canon(v)]
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
    classes = None
    if task == "classification":
        labels = {_canon(v) for v in present}
        classes = sorted(labels, key=float) if numeric_target else sorted(labels)
    schema = CsvSchema(columns, kinds, categories, target, task, classes, impute, fills)
    X, y = schema.encode(header, rows, lines, source=str(path))
    return Dataset(X, y, schema.feature_names, classes if classes else [target], task,
                   Path(path).stem, description=f"CSV file {path}", schema=schema)


def encode_csv(path: str | os.PathLike, schema: CsvSchema, *,
               delimiter: str = ",") -> tuple[np.ndarray, np.ndarray | None]:
    """Encode a new CSV file exactly as the training file was (for ``deltaprop predict``).

    Columns are matched by name (any order); the target column may be absent, in which case
    ``y`` is None. Unseen categories, missing or unexpected columns raise InputError.
    """
    header, rows, lines = _read_csv(path, delimiter)
    return schema.encode(header, rows, lines, source=str(path))


# ------------------------------------------------------------------------- by name
_LOADERS = {
    "xor": xor, "blobs": blobs, "circles": circles, "spiral": spiral,
    "two_spirals": two_spirals, "free_fall": free_fall, "noisy_sine": noisy_sine,
    "digits": digits, "iris": iris, "wine": wine, "breast_cancer": breast_cancer,
    "diabetes": diabetes, "mnist": load_mnist,
}


def dataset_names() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return sorted(_LOADERS)


def load_dataset(name: str, **kwargs: Any) -> Dataset:
    """Load a built-in dataset by name (``"-"`` and ``"_"`` are interchangeable).

    Examples
    --------
    >>> load_dataset("two-spirals", seed=1).X.shape
    (400, 2)
    """
    key = str(name).strip().lower().replace("-", "_")
    if key not in _LOADERS:
        raise InputError(f"unknown dataset {name!r}; valid names: {', '.join(dataset_names())}")
    try:
        return _LOADERS[key](**kwargs)
    except TypeError as exc:  # wrong keyword for this loader
        raise InputError(f"load_dataset({name!r}): {exc}") from None
