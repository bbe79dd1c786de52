"""Figures without pyplot: :func:`new_figure` (no GUI, no global state, safe on a headless
machine), :func:`save_figure` (atomic PNG/SVG) and the colour maps the plots share.
matplotlib is imported inside the functions, so ``import deltaprop`` stays light.
"""

from __future__ import annotations

import os
from typing import Any

from deltaprop.checks import check_number
from deltaprop.errors import InputError
from deltaprop.files.atomic import temp_file

__all__ = ["new_figure", "save_figure", "colormap"]


def new_figure(figsize: tuple[float, float] = (6.4, 4.8)) -> Any:
    """A pyplot-free Figure (rendered by the Agg canvas when saved)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` (format from the suffix: .png or .svg), atomically.

    The figure is rendered to a temporary file in the same folder and moved into place with
    ``os.replace``, so a reader never sees a half-written image; the file gets the
    permissions of any file the user creates (their umask).
    """
    check_number("dpi", dpi, low=1)
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise InputError(f"figure path {path!r} must end in .png or .svg")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = temp_file(folder, ".tmp-", f".{fmt}")  # the user's umask applies, as to any file
    try:
        with os.fdopen(fd, "wb") as fh:
            # metadata=None-ish: drop the creation date so reruns give identical PNGs.
            meta = {"Software": None} if fmt == "png" else {"Date": None}
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=meta)
            os.replace(tmp, path)  # while still holding the temp file: never seen as stale
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]
