"""Safe model and checkpoint files: a zip of .npy arrays plus JSON metadata, never pickle.

Layout of an archive (an uncompressed zip, readable by ``numpy.load(..., allow_pickle=False)``):

- ``meta.json``: ``{"format": "deltaprop", "kind": "model" | "checkpoint", "format_version": 2,
  "arrays": {name: {"sha256", "dtype", "shape"}}, ..., "content_sha256": DIGEST}``;
- one ``<name>.npy`` per array.

``content_sha256`` is the SHA-256 of the canonical JSON of the metadata without that key
(sorted keys, no whitespace, ASCII). The metadata holds the SHA-256 of every array, so the one
digest covers the whole content: the arrays, the architecture, the class names, the stored
preprocessing. Changing any of it (swapping two class names, say) without recomputing the
digest is refused.

Reading checks everything before trusting anything: the zip structure, that every member is
stored (so reads are bounded by the file size), the format, the version, the content digest,
the kind, that the array set matches the metadata, each .npy header against the declared dtype
and shape, and each array's SHA-256. Any failure is a :class:`~deltaprop.errors.ModelFileError`
that says what is wrong. Version-1 files (deltaprop 0.2 and earlier) have no content digest:
their metadata could have been changed undetectably, so they are refused with a message saying
so (train the model again). Writes go through
:func:`deltaprop.files.atomic.atomic_write_bytes` (temporary file + rename), so a crash never
leaves a half-written file.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from deltaprop.errors import DeltapropError, ModelFileError
from deltaprop.files.atomic import atomic_write_bytes

__all__ = ["FORMAT_VERSION", "atomic_write_bytes", "content_digest", "save_archive",
           "load_archive"]

FORMAT_VERSION = 2
_META = "meta.json"
_DIGEST = "content_sha256"
_ALLOWED_DTYPES = {"float32", "float64", "int64", "int32", "uint8", "uint32", "uint64", "bool"}


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def content_digest(meta: dict) -> str:
    """SHA-256 of the canonical JSON of ``meta`` without its ``content_sha256`` entry."""
    body = {k: v for k, v in meta.items() if k != _DIGEST}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


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
        header[_DIGEST] = content_digest(header)
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
        if path.is_dir():
            raise ModelFileError(f"{path} is a directory, not a deltaprop {kind} file")
        if path.exists():
            raise ModelFileError(f"{path} is not a regular file, not a deltaprop {kind} file")
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
            OverflowError, NotImplementedError, OSError, RuntimeError, MemoryError,
            tokenize.TokenError, SyntaxError) as exc:  # a damaged .npy header fails to parse;
        # RuntimeError: an "encrypted" zip flag, or JSON nested too deeply (RecursionError)
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
    if version == 1:
        raise ModelFileError(
            f"{path} was written by deltaprop 0.2 or earlier (format version 1), whose metadata "
            "(architecture, class names, preprocessing) carries no integrity digest, so a change "
            "to it could not be detected; this deltaprop refuses such files: train the model "
            "again to get a version-2 file")
    digest = meta.get(_DIGEST)
    if not isinstance(digest, str) or digest != content_digest(meta):
        raise ModelFileError(f"{path} fails its content check (SHA-256 of the metadata and "
                             "arrays): the file was changed or corrupted after it was written")
    if meta.get("kind") != kind:
        raise ModelFileError(f"{path} is a deltaprop {meta.get('kind')!r} file, not a {kind!r}")
    arrays = meta.get("arrays")
    if not isinstance(arrays, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str)
        and isinstance(v.get("shape"), list) and v.get("dtype") in _ALLOWED_DTYPES
        for v in arrays.values()
    ):
        raise ModelFileError(f"{path}: malformed array table in the metadata")
