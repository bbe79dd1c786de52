"""The output directory of ``deltaprop train``: one run at a time, no litter, run.json last.

:class:`OutputDir` holds an exclusive advisory lock (``fcntl.flock``) on ``DIR/.deltaprop.lock``
while a run works in ``DIR``, so a second run on the same ``--out`` is refused with a message
instead of mixing its files with the first one's. The operating system releases the lock when
the process ends, however it ends (a SIGKILL included), so a lock is never stale. On taking the
lock the temporary files that killed writers left in ``DIR`` are deleted
(:func:`deltaprop.files.atomic.remove_stale_temp_files`).

The lock file stays (deleting it would let two runs lock two different files of one name).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from deltaprop.errors import InputError
from deltaprop.files.atomic import atomic_write_bytes, remove_stale_temp_files

try:  # POSIX (Linux, macOS)
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock (documented in docs/reliability.md)
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "RUN_FILE", "OutputDir"]

LOCK_NAME = ".deltaprop.lock"
RUN_FILE = "run.json"


class OutputDir:
    """The ``--out`` directory of a training run, locked while the run works in it.

    Use as a context manager; :meth:`acquire` takes the lock (creating the directory if asked)
    and is a no-op once held, so a run can validate everything first and lock only before its
    first write.

    Parameters
    ----------
    path : str or Path
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.removed: list[Path] = []
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the directory's lock."""
        return self._fd is not None

    def acquire(self, create: bool = True) -> None:
        """Lock the directory; with ``create`` make it first if it does not exist.

        Raises
        ------
        InputError
            If another process holds the lock (the message names its process id), if the path
            is not a directory, or (``create=False``) if it does not exist.
        """
        if self.held:
            return
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"--out {self.path} is a file, not a directory")
        if not self.path.is_dir():
            if not create:
                raise InputError(f"--out {self.path}: no such directory")
            self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.lseek(fd, 0, os.SEEK_SET)
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                who = f" (process {holder})" if holder.isdigit() else ""
                raise InputError(f"--out {self.path} is in use by another deltaprop run{who}; "
                                 "wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        self.removed = remove_stale_temp_files(self.path)

    def release(self) -> None:
        """Drop the lock (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def write_run_file(self, options: dict[str, Any]) -> Path:
        """Write ``DIR/run.json`` (the run's options) atomically; call it right after the model
        file, so the two always describe the same run."""
        if not self.held:
            raise RuntimeError("write_run_file() needs the directory's lock")
        path = self.path / RUN_FILE
        atomic_write_bytes(path, json.dumps(options, indent=1, allow_nan=False).encode())
        return path

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
