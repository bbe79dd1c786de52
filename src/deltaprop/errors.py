"""The exceptions deltaprop raises on purpose.

Every message says what was wrong and where (argument, layer index, row/column) and what was
expected, so a user can fix the call without reading the source.
"""

from __future__ import annotations


class DeltapropError(Exception):
    """Base class of every error deltaprop raises on purpose."""


class InputError(DeltapropError, ValueError):
    """A bad argument or bad data: wrong shape, NaN/inf, unknown name, out-of-range value."""


class NotDifferentiableError(InputError):
    """A gradient was asked of a forward-only activation (step, sign)."""


class ModelFileError(DeltapropError):
    """A model or checkpoint file is truncated, tampered with, foreign or from a newer version."""


class DivergenceError(DeltapropError, FloatingPointError):
    """The training loss became NaN or infinite."""


class MissingDependencyError(DeltapropError, ImportError):
    """An optional feature needs a package that is not installed; the message says what to
    install (for example ``pip install "deltaprop[onnx]"``)."""
