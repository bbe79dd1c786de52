"""MNIST (003): the original IDX files, downloaded on first use and verified by SHA-256.

:func:`load_mnist` reads the four ``*.gz`` files from :func:`mnist_dir`; missing files are
fetched by :func:`download_file`, which tries every mirror in turn, checks the SHA-256 of the
decompressed content and only then moves the file into place (temp file + rename), so a
broken or tampered download never lands in the data folder. Re-exported by
``deltaprop.data.datasets``.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.data.dataset import Dataset
from deltaprop.errors import DeltapropError, InputError
from deltaprop.files.atomic import temp_file

__all__ = ["DownloadError", "MNIST_MIRRORS", "MNIST_FILES", "read_idx", "mnist_dir",
           "download_file", "load_mnist"]


class DownloadError(DeltapropError, OSError):
    """Every mirror failed to deliver a file with the expected checksum."""


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
        fd, tmp = temp_file(target, f".{filename}.", ".part")
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
                   description="MNIST handwritten digits (LeCun, Cortes, Burges)",
                   image_shape=(int(images.shape[1]), int(images.shape[2])))

