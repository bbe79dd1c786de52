"""Training never computes on subnormal numbers.

Units whose gradient is zero (MNIST's always-black border pixels, dead ReLUs, 000 §9.3.2) see
their momentum velocity and Adam moments shrink geometrically, v <- mu v, until they fall below
float32's smallest normal number (1.18e-38) into the subnormal range. x86 cores compute on
subnormals through a slow microcode path (about 100x slower per operation on the Intel Xeon this
project is measured on), so an online-SGD epoch on MNIST slowed from about 16,000 to 760
samples/s. Two mechanisms keep subnormals out, chosen once per run:

- ``"ftz"``: while the Trainer runs, the thread's MXCSR register has flush-to-zero (results
  below the normal range become 0) and denormals-are-zero (subnormal inputs read as 0) set, and
  the caller's value is restored afterwards, so code outside deltaprop is unaffected. MXCSR is
  read and written by two tiny functions compiled with llvmlite (numba's code generator, the
  ``[fast]`` extra) from the LLVM intrinsics ``llvm.x86.sse.stmxcsr``/``ldmxcsr``.
- ``"flush"``: where FTZ is not available (no llvmlite, or not an x86-64 CPU), every subnormal
  entry of the parameters and the optimizer state is set to 0 every ``FLUSH_EVERY`` steps and
  at the end of each epoch. A decaying entry then spends at most that many steps subnormal, once,
  and stays exactly 0 afterwards (0 * mu = 0).

Both give the same numbers up to values below 1.2e-38, which no weight update can feel.

Examples
--------
>>> import numpy as np
>>> x = np.array([1e-39, 1.0, -2e-40], dtype=np.float32)
>>> flush_subnormals([x]); x.tolist()
[0.0, 1.0, 0.0]
"""

from __future__ import annotations

import ctypes
import functools
import platform
from collections.abc import Iterable
from types import TracebackType

import numpy as np

__all__ = ["DenormalGuard", "ftz_available", "flush_subnormals", "FLUSH_EVERY"]

#: Steps between two flushes of the state when FTZ is not available.
FLUSH_EVERY = 256

_FTZ_DAZ = 0x8040  # MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero)

_IR = r"""
declare void @llvm.x86.sse.stmxcsr({ptr})
declare void @llvm.x86.sse.ldmxcsr({ptr})

define i32 @deltaprop_get_mxcsr() {{
  %slot = alloca i32
  {cast_get}
  call void @llvm.x86.sse.stmxcsr({ptr} {arg})
  %value = load i32, {i32ptr} %slot
  ret i32 %value
}}

define void @deltaprop_set_mxcsr(i32 %value) {{
  %slot = alloca i32
  store i32 %value, {i32ptr} %slot
  {cast_get}
  call void @llvm.x86.sse.ldmxcsr({ptr} {arg})
  ret void
}}
"""


@functools.lru_cache(maxsize=1)
def _mxcsr() -> tuple | None:
    """(get, set) ctypes functions for the calling thread's MXCSR, or None where unavailable."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        import llvmlite.binding as llvm
    except ImportError:
        return None
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        typed = {"ptr": "i8*", "i32ptr": "i32*", "arg": "%bytes",
                 "cast_get": "%bytes = bitcast i32* %slot to i8*"}
        opaque = {"ptr": "ptr", "i32ptr": "ptr", "arg": "%slot", "cast_get": ""}
        for style in (opaque, typed):  # LLVM >= 15 spells pointers opaquely
            try:
                module = llvm.parse_assembly(_IR.format(**style))
                break
            except RuntimeError:
                continue
        else:
            return None
        module.verify()
        machine = llvm.Target.from_default_triple().create_target_machine()
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        get = ctypes.CFUNCTYPE(ctypes.c_uint32)(
            engine.get_function_address("deltaprop_get_mxcsr"))
        set_ = ctypes.CFUNCTYPE(None, ctypes.c_uint32)(
            engine.get_function_address("deltaprop_set_mxcsr"))
        return engine, get, set_  # the engine owns the code: keep it alive with the functions
    except Exception:  # noqa: BLE001 - any failure means: use the flushing fallback
        return None


def ftz_available() -> bool:
    """True when the thread's flush-to-zero / denormals-are-zero flags can be set here."""
    return _mxcsr() is not None


def flush_subnormals(arrays: Iterable[np.ndarray]) -> None:
    """Set every subnormal entry of the float ``arrays`` to 0, in place."""
    for a in arrays:
        if a is None or a.dtype.kind != "f" or a.size == 0:
            continue
        tiny = np.finfo(a.dtype).tiny
        with np.errstate(all="ignore"):
            small = np.abs(a) < tiny
        if small.any():
            a[small] = 0


class DenormalGuard:
    """Context manager for one training run: sets FTZ/DAZ for the calling thread (mode "ftz")
    or tells the loop to flush the state (mode "flush"), and restores the caller's flags.

    Parameters
    ----------
    mode : {"auto", "ftz", "flush", "off"}
        "auto" is "ftz" where available, else "flush"; "off" leaves subnormals alone (for
        measuring their cost).
    """

    def __init__(self, mode: str = "auto"):
        if mode not in ("auto", "ftz", "flush", "off"):
            raise ValueError(f"denormals must be 'auto', 'ftz', 'flush' or 'off', got {mode!r}")
        if mode == "auto":
            mode = "ftz" if ftz_available() else "flush"
        if mode == "ftz" and not ftz_available():
            mode = "flush"
        self.mode = mode
        self._saved: int | None = None

    @property
    def flushes(self) -> bool:
        """True when the loop must flush the state itself."""
        return self.mode == "flush"

    def __enter__(self) -> DenormalGuard:
        if self.mode == "ftz":
            _, get, set_ = _mxcsr()
            self._saved = int(get())
            set_(self._saved | _FTZ_DAZ)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._saved is not None:
            _mxcsr()[2](self._saved)
            self._saved = None


def mxcsr() -> int | None:
    """The calling thread's MXCSR register, or None where it cannot be read (for tests and the
    benchmark report)."""
    funcs = _mxcsr()
    return None if funcs is None else int(funcs[1]())
