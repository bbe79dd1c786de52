"""Data bigger than memory: rows read chunk by chunk from a dask array or a NumPy memmap.

:class:`ChunkedData` holds the inputs ``X``, the targets ``Y`` and optional sample weights,
row-aligned, and reads them one chunk of rows at a time as in-memory NumPy arrays. The
:class:`~deltaprop.training.trainer.Trainer` (and so ``deltaprop.train`` and the estimators)
trains on it chunk by chunk: every epoch it visits the chunks in an order drawn from its
generator and shuffles the rows within each chunk, so only one chunk (plus the batch buffers)
(plus the next one, read in a background thread) is in memory at a time and a seeded run is
reproducible. See docs/big-data.md.

What counts as chunked input (:func:`is_chunked`):

- a dask array (``dask.array``), rows in its row chunks (``X.chunks[0]``);
- a NumPy memmap (``np.memmap``, ``np.load(path, mmap_mode="r")``) larger than one default
  chunk (:data:`DEFAULT_CHUNK_BYTES`); a smaller one is read whole, which gives the same result;
- a :class:`ChunkedData`, for explicit chunk sizes, prefetching or per-chunk transforms.

Chunks are read with ``dask.compute`` (``X``, ``Y`` and the weights of a chunk in one call, so
a shared graph is computed once) or by slicing, and copied to the requested dtype. Nothing here
checks values: the Trainer runs its data checks on each chunk as it reads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["ChunkedData", "is_chunked", "as_chunked", "DEFAULT_CHUNK_BYTES"]

#: Rows per chunk of a memmap (and of ``chunk_rows=None`` without dask chunks): this many bytes.
DEFAULT_CHUNK_BYTES = 64 * 2**20


def _is_dask(a: Any) -> bool:
    return hasattr(a, "__dask_graph__")


def is_chunked(X: Any) -> bool:
    """True when ``X`` is trained chunk by chunk: a :class:`ChunkedData`, a dask array, or a
    NumPy memmap larger than :data:`DEFAULT_CHUNK_BYTES`.

    Examples
    --------
    >>> is_chunked(np.zeros((3, 2)))
    False
    """
    if isinstance(X, ChunkedData):
        return True
    if _is_dask(X):
        return True
    return isinstance(X, np.memmap) and X.nbytes > DEFAULT_CHUNK_BYTES


def as_chunked(X: Any, Y: Any = None, sample_weight: Any = None, **kwargs: Any) -> ChunkedData:
    """``X`` itself if it is a :class:`ChunkedData` (then ``Y`` and ``sample_weight`` must be
    None), else ``ChunkedData(X, Y, sample_weight, **kwargs)``."""
    if isinstance(X, ChunkedData):
        if Y is not None or sample_weight is not None:
            raise InputError("X is a ChunkedData, which holds its own targets and weights: "
                             "pass Y=None and sample_weight=None")
        return X
    return ChunkedData(X, Y, sample_weight, **kwargs)


def _rows(a: Any, name: str) -> int:
    shape = getattr(a, "shape", None)
    if shape is None:
        raise InputError(f"{name} must be an array with a shape (a dask array, a memmap or a "
                         f"NumPy array), got {type(a).__name__}")
    if len(shape) == 0 or shape[0] is None or (isinstance(shape[0], float)
                                                and math.isnan(shape[0])):
        raise InputError(f"{name} has an unknown number of rows {shape}: call "
                         f"{name}.compute_chunk_sizes() first (or to_dask_array(lengths=True) "
                         "for a dask DataFrame)")
    return int(shape[0])


class ChunkedData:
    """Row-aligned inputs, targets and sample weights read one chunk of rows at a time.

    Parameters
    ----------
    X : dask array, memmap or array of shape (N, n_features)
        Anything sliceable by rows; a slice is copied into memory only when its chunk is read.
    Y : dask array, memmap or array of shape (N, n_outputs) or (N,), optional
        Targets, row-aligned with ``X`` (1-D only with a ``transform_y`` that encodes them).
    sample_weight : dask array, memmap or array of shape (N,), optional
    chunk_rows : int, optional
        Rows per chunk. Default: the row chunks of a dask ``X``, else as many rows as fit in
        :data:`DEFAULT_CHUNK_BYTES`.
    transform_x, transform_y : callable, optional
        Applied to every chunk as it is read (``transform_x(X_chunk) -> X_chunk``), e.g. a
        fitted standardization or the estimators' label encoding.
    prefetch : bool, default True
        Read the next chunk in a background thread while the current one trains, so reading
        (dask's computation, the disk) overlaps training: two chunks in memory, the one being
        trained on and the next. ``False`` keeps exactly one (and reads in turn).

    Examples
    --------
    >>> X = np.arange(20.0).reshape(10, 2); Y = X.sum(axis=1, keepdims=True)
    >>> data = ChunkedData(X, Y, chunk_rows=4)
    >>> data.bounds
    [(0, 4), (4, 8), (8, 10)]
    >>> Xc, Yc, w = data.read(2)
    >>> Xc.tolist(), Yc.ravel().tolist(), w
    ([[16.0, 17.0], [18.0, 19.0]], [33.0, 37.0], None)
    """

    def __init__(self, X: Any, Y: Any = None, sample_weight: Any = None, *,
                 chunk_rows: int | None = None, transform_x: Callable | None = None,
                 transform_y: Callable | None = None, prefetch: bool = True):
        if isinstance(X, ChunkedData):
            raise InputError("X is already a ChunkedData")
        if _is_dask(X) and hasattr(X, "columns"):
            raise InputError("X is a dask DataFrame: pass X.to_dask_array(lengths=True)")
        n = _rows(X, "X")
        if len(X.shape) != 2:
            raise InputError(f"X must be 2-D (samples × features), got shape {X.shape}")
        if n == 0:
            raise InputError("X has no rows")
        for name, a in (("Y", Y), ("sample_weight", sample_weight)):
            if a is not None and _rows(a, name) != n:
                raise InputError(f"X has {n} rows but {name} has {_rows(a, name)}")
        if sample_weight is not None and len(sample_weight.shape) != 1:
            raise InputError(f"sample_weight must be 1-D, got shape {sample_weight.shape}")
        for name, f in (("transform_x", transform_x), ("transform_y", transform_y)):
            if f is not None and not callable(f):
                raise InputError(f"{name} must be callable, got {f!r}")
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.transform_x, self.transform_y = transform_x, transform_y
        self.prefetch = bool(prefetch)
        self.n_rows = n
        if chunk_rows is not None:
            if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int | np.integer) \
                    or chunk_rows < 1:
                raise InputError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}")
            sizes = [int(chunk_rows)] * (n // int(chunk_rows))
            if n % int(chunk_rows):
                sizes.append(n % int(chunk_rows))
        elif _is_dask(X):
            sizes = [int(s) for s in X.chunks[0]]
        else:
            row_bytes = max(1, int(np.prod(X.shape[1:], dtype=np.int64))
                            * np.dtype(X.dtype).itemsize)
            rows = max(1, DEFAULT_CHUNK_BYTES // row_bytes)
            sizes = [rows] * (n // rows) + ([n % rows] if n % rows else [])
        stops = np.cumsum(sizes).tolist()
        #: ``(start, stop)`` row range of every chunk.
        self.bounds: list[tuple[int, int]] = list(zip([0, *stops[:-1]], stops, strict=True))

    # -- shape ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.n_rows

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_features)`` of ``X``."""
        return self.n_rows, self.n_features

    @property
    def n_chunks(self) -> int:
        """The number of chunks."""
        return len(self.bounds)

    @property
    def n_features(self) -> int:
        """Columns of ``X`` (before ``transform_x``)."""
        return int(self.X.shape[1])

    @property
    def max_chunk_rows(self) -> int:
        """Rows of the largest chunk."""
        return max(stop - start for start, stop in self.bounds)

    def label(self, k: int) -> str:
        """``"[start:stop]"``, the rows of chunk ``k``, for messages."""
        start, stop = self.bounds[k]
        return f"[{start}:{stop}]"

    def __repr__(self) -> str:
        return (f"ChunkedData({self.n_rows} rows × {self.n_features} features in "
                f"{self.n_chunks} chunks of <= {self.max_chunk_rows} rows)")

    # -- reading ----------------------------------------------------------------------------
    def read(self, k: int, dtype: Any = None) -> tuple[np.ndarray, Any, Any]:
        """Chunk ``k`` in memory: ``(X_chunk, Y_chunk or None, weights or None)``, copies
        (``X`` cast to ``dtype`` if given), with the transforms applied.

        Parameters
        ----------
        k : int
        dtype : dtype, optional

        Returns
        -------
        tuple of ndarray (or None)
        """
        return self._read(*self.bounds[k], dtype)

    def head(self, rows: int = 1, dtype: Any = None) -> tuple[np.ndarray, Any, Any]:
        """The first ``rows`` rows, read like a chunk (e.g. to learn the targets' width).

        Parameters
        ----------
        rows : int
        dtype : dtype, optional

        Returns
        -------
        tuple of ndarray (or None)
        """
        return self._read(0, min(int(rows), self.n_rows), dtype)

    def _read(self, start: int, stop: int, dtype: Any) -> tuple[np.ndarray, Any, Any]:
        parts = [a if a is None else a[start:stop] for a in (self.X, self.Y,
                                                             self.sample_weight)]
        lazy = [i for i, a in enumerate(parts) if _is_dask(a)]
        if lazy:
            import dask

            for i, value in zip(lazy, dask.compute(*(parts[i] for i in lazy)), strict=True):
                parts[i] = value
        # a computed dask chunk is a fresh array; a slice (of a memmap) is a view: copy it
        Xc, Yc, wc = (a if a is None else np.asarray(a) if i in lazy else np.array(a)
                      for i, a in enumerate(parts))
        Xc = np.asarray(Xc, dtype=dtype)
        if self.transform_x is not None:
            Xc = np.asarray(self.transform_x(Xc), dtype=dtype)
        if self.transform_y is not None and Yc is not None:
            Yc = np.asarray(self.transform_y(Yc))
        return Xc, Yc, wc

    def chunks(self, order: Any = None, dtype: Any = None) -> Iterator[tuple]:
        """Yield ``(k, X_chunk, Y_chunk, weights)`` for the chunks ``order`` (default: in
        turn), reading the next chunk in a thread while the current one is used if
        ``prefetch``.

        Parameters
        ----------
        order : sequence of int, optional
        dtype : dtype, optional

        Yields
        ------
        tuple
        """
        order = range(self.n_chunks) if order is None else [int(k) for k in order]
        if not self.prefetch or len(order) < 2:
            for k in order:
                yield (k, *self.read(k, dtype))
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deltaprop-chunks")
        try:
            pending = pool.submit(self.read, order[0], dtype)
            for i, k in enumerate(order):
                chunk = pending.result()
                pending = pool.submit(self.read, order[i + 1], dtype) \
                    if i + 1 < len(order) else None
                yield (k, *chunk)
                del chunk
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def epoch_order(self, rng: np.random.Generator, shuffle: bool = True) -> list[int]:
        """The order of the chunks for one epoch: a permutation drawn from ``rng`` when
        ``shuffle`` and there is more than one chunk (nothing is drawn otherwise, so one chunk
        consumes the generator exactly like the same rows in memory).

        Parameters
        ----------
        rng : numpy.random.Generator
        shuffle : bool

        Returns
        -------
        list of int
        """
        if shuffle and self.n_chunks > 1:
            return [int(k) for k in rng.permutation(self.n_chunks)]
        return list(range(self.n_chunks))

    def unique_targets(self) -> np.ndarray:
        """The distinct values of ``Y`` (before ``transform_y``), read chunk by chunk."""
        if self.Y is None:
            raise InputError("ChunkedData has no targets Y")
        seen: np.ndarray | None = None
        for start, stop in self.bounds:
            part = self.Y[start:stop]
            if _is_dask(part):
                part = part.compute()
            u = np.unique(np.asarray(part))
            seen = u if seen is None else np.union1d(seen, u)
        return seen

    def weight_mean(self) -> float | None:
        """Mean of the sample weights (None without weights), read chunk by chunk."""
        if self.sample_weight is None:
            return None
        total = 0.0
        for start, stop in self.bounds:
            part = self.sample_weight[start:stop]
            total += float(np.sum(part.compute() if _is_dask(part) else np.asarray(part),
                                  dtype=np.float64))
        return total / self.n_rows
