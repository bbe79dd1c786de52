"""Safe model and checkpoint files: a zip of .npy arrays plus JSON metadata, never pickle.

Layout of an archive (an uncompressed zip, readable by ``numpy.load(..., allow_pickle=False)``):

- ``meta.json``: ``{"format": "deltaprop", "kind": "model" | "checkpoint", "format_version": 1,
  "arrays": {name: {"sha256", "dtype", "shape"}}, ...}``;
- one ``<name>.npy`` per array.

Reading checks everything before trusting anything: the zip structure, that every member is
stored (so reads are bounded by the file size), the format and kind, the version, that the array
set matches the metadata, each .npy header against the declared dtype and shape, and each array's
SHA-256. Any failure is a :class:`~deltaprop.errors.ModelFileError` that says what is wrong.
Writes go to a temporary file in the same folder that is renamed over the target, so a crash
never leaves a half-written file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tempfile
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from deltaprop.errors import DeltapropError, ModelFileError

__all__ = ["FORMAT_VERSION", "atomic_write_bytes", "temp_file", "save_archive", "load_archive"]

FORMAT_VERSION = 1
_META = "meta.json"
_ALLOWED_DTYPES = {"float32", "float64", "int64", "int32", "uint8", "uint32", "uint64", "bool"}


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def temp_file(folder: str | os.PathLike, prefix: str, suffix: str) -> tuple[int, str]:
    """``(fd, path)`` of a new temporary file in ``folder`` for an atomic write, with the
    permissions ``open()`` would give (mkstemp creates it 0600; the user's umask applies)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(path.parent, f".{path.name}.", ".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_archive(path, meta: dict, arrays: dict[str, np.ndarray], kind: str = "model") -> None:
    """Write ``arrays`` and JSON-able ``meta`` atomically as a deltaprop archive of ``kind``."""
    described = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            if arr.dtype.name not in _ALLOWED_DTYPES:
                raise DeltapropError(f"array {name!r} has dtype {arr.dtype}, which is not storable")
            described[name] = {"sha256": _sha256(arr), "dtype": arr.dtype.name,
                               "shape": list(arr.shape)}
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, allow_pickle=False)
            zf.writestr(f"{name}.npy", member.getvalue())
        header = {**meta, "format": "deltaprop", "kind": kind, "format_version": FORMAT_VERSION,
                  "arrays": described}
        zf.writestr(_META, json.dumps(header, sort_keys=True, allow_nan=False))
    atomic_write_bytes(path, buffer.getvalue())


def _read_npy(raw: bytes, name: str, expected: dict) -> np.ndarray:
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ModelFileError(f"array {name!r} has an unsupported .npy version {version}")
    if dtype.name != expected["dtype"] or list(shape) != list(expected["shape"]) or fortran:
        raise ModelFileError(
            f"array {name!r} is stored as {dtype} {tuple(shape)}, but the metadata declares "
            f"{expected['dtype']} {tuple(expected['shape'])}"
        )
    body = raw[fp.tell():]
    if len(body) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ModelFileError(f"array {name!r} has {len(body)} data bytes, which does not match "
                             f"its shape {tuple(shape)}")
    arr = np.frombuffer(body, dtype=dtype).reshape(shape).copy()
    if _sha256(arr) != expected["sha256"]:
        raise ModelFileError(f"array {name!r} fails its SHA-256 check: the file was changed or "
                             "corrupted after it was written")
    return arr


def load_archive(path, kind: str = "model") -> tuple[dict, dict[str, np.ndarray]]:
    """Read and fully verify a deltaprop archive; return ``(meta, arrays)``."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if _META not in infos:
                raise ModelFileError(f"{path} is not a deltaprop file (it has no {_META})")
            for info in infos.values():
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > path.stat().st_size:
                    raise ModelFileError(f"{path}: member {info.filename!r} is not stored plainly")
            meta = json.loads(zf.read(_META).decode("utf-8"))
            _check_header(meta, path, kind)
            declared = meta["arrays"]
            present = {n[:-4] for n in infos if n != _META and n.endswith(".npy")}
            others = set(infos) - {_META} - {f"{n}.npy" for n in present}
            if present != set(declared) or others:
                missing = sorted(set(declared) - present)
                extra = sorted((present - set(declared)) | others)
                raise ModelFileError(f"{path}: archive entries do not match its metadata "
                                     f"(missing {missing}, unexpected {extra})")
            arrays = {n: _read_npy(zf.read(f"{n}.npy"), n, declared[n]) for n in sorted(declared)}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, struct.error,
            UnicodeDecodeError, json.JSONDecodeError, ValueError, KeyError, TypeError,
            OverflowError, NotImplementedError, OSError,
            tokenize.TokenError, SyntaxError) as exc:  # a damaged .npy header fails to parse
        raise ModelFileError(f"{path} is not a valid deltaprop {kind} file: "
                             f"{type(exc).__name__}: {exc}") from None
    return meta, arrays


def _check_header(meta, path: Path, kind: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != "deltaprop":
        raise ModelFileError(f"{path} is not a deltaprop file (foreign metadata)")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written with model-file format version {version}, but this deltaprop "
            f"reads versions up to {FORMAT_VERSION}: upgrade deltaprop to load it"
        )
    if meta.get("kind") != kind:
        raise ModelFileError(f"{path} is a deltaprop {meta.get('kind')!r} file, not a {kind!r}")
    arrays = meta.get("arrays")
    if not isinstance(arrays, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str)
        and isinstance(v.get("shape"), list) and v.get("dtype") in _ALLOWED_DTYPES
        for v in arrays.values()
    ):
        raise ModelFileError(f"{path}: malformed array table in the metadata")
