"""Atomic writes and their temporary files.

Every file deltaprop writes goes to a temporary file in the target's folder that is renamed
over the target (``os.replace``), so a crash never leaves a half-written file. While a writer
works on its temporary file it holds an exclusive advisory lock on it (``fcntl.flock``); the
operating system drops that lock when the process ends, however it ends. A temporary file that
nobody holds is therefore the litter of a killed process, and :func:`remove_stale_temp_files`
deletes exactly those.

Temporary names: ``.NAME.XXXXXXXX.tmp`` (:func:`atomic_write_bytes`) and
``.tmp-XXXXXXXX.png|svg`` (:func:`deltaprop.viz.figures.save_figure`).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

try:  # POSIX (Linux, macOS)
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; temp files are then never held
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_write_bytes", "hold_temp_file", "is_temp_name", "temp_file",
           "temp_file_in_use", "remove_stale_temp_files"]

_TEMP_NAME = re.compile(r"\..+\.[A-Za-z0-9_]{6,}\.tmp|\.tmp-[A-Za-z0-9_]{6,}\.(png|svg)")


def is_temp_name(name: str) -> bool:
    """True for the name of a temporary file of an atomic write (see the module docstring)."""
    return _TEMP_NAME.fullmatch(name) is not None


def hold_temp_file(fd: int) -> None:
    """Lock the temporary file open on ``fd`` for the writer (released when ``fd`` closes)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def temp_file_in_use(path: str | os.PathLike) -> bool:
    """True while a live process holds the temporary file ``path`` (it is being written)."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # vanished or unreadable: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if it was taken
    return False


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files in ``folder`` left by killed writers; return their paths.

    Only regular files whose name is a temporary name (:func:`is_temp_name`) and that no live
    process holds are removed; everything else is left alone.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_temp_name(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        if temp_file_in_use(entry.path):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def temp_file(folder: str | os.PathLike, prefix: str, suffix: str) -> tuple[int, str]:
    """``(fd, path)`` of a new temporary file in ``folder`` for an atomic write, held by this
    process (:func:`hold_temp_file`) and with the permissions ``open()`` would give (mkstemp
    creates it 0600; the user's umask applies)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        hold_temp_file(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``.

    Raises
    ------
    OSError
        Naming ``path`` (never the temporary file) when the folder cannot be written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_file(path.parent, f".{path.name}.", ".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, path)  # while still holding the lock: never seen as stale
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
