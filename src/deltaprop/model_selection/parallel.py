"""One large fit spread over a Dask cluster: data-parallel training by model averaging.

:func:`data_parallel_fit` trains one network on a dask array whose row blocks live on the
workers of a ``dask.distributed`` cluster. The blocks are split into ``shards`` (block ``i``
goes to shard ``i mod shards``, each shard pinned to one worker, where its blocks stay in
memory). Every *round*:

1. the driver sends the current weights to every shard;
2. each shard trains a copy for ``local_epochs`` epochs over its own blocks with a fresh
   :class:`~deltaprop.training.trainer.Trainer` (mini-batch SGD/momentum/Adam as configured,
   blocks in a seeded random order, rows shuffled within each block);
3. the driver replaces the weights by the average of the shards' weights, weighted by their
   rows (model averaging, "local SGD" / federated averaging), synchronously.

Why per round and not per step: averaging gradients after every mini-batch step would need a
round trip driver <-> workers per step, which costs milliseconds on a LocalCluster and more
on a network, while one step of an MLP of this size takes well under a millisecond, so the
cluster would spend most of its time waiting (numbers in docs/big-data.md). Averaging once per
round trades that for statistical efficiency: with one shard it is plain training; with many,
the average of locally trained models, which converges for these convex-ish problems but not
step for step like one machine. The optimizer's state (momentum, Adam's moments) starts afresh
on every shard every round.

Seeds come from ``(seed, round, shard)``, and the result depends on the number of shards, not
on which worker holds which block: the same call with the same ``shards`` gives the same
weights on any cluster.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from deltaprop.errors import InputError
from deltaprop.training.callbacks import History
from deltaprop.training.metrics import evaluate

__all__ = ["data_parallel_fit"]


def _local_fit(config: dict, params: list[np.ndarray], xs: list[np.ndarray],
               ys: list[np.ndarray], seed: int, epochs: int, options: dict) -> tuple:
    """Run on a worker: train a copy of the network on this shard's blocks; returns
    (parameters, rows, loss of the last local epoch)."""
    from deltaprop.engine.network import Network
    from deltaprop.training.trainer import Trainer

    net = Network.from_config(config)
    for p, q in zip(net.parameters(), params, strict=True):
        np.copyto(p, q)
    trainer = Trainer(net, seed=seed, verbose=0, **options)
    rng = np.random.default_rng([seed, 1])
    rows = sum(len(x) for x in xs)
    loss = 0.0
    for _ in range(epochs):
        loss = 0.0
        for b in rng.permutation(len(xs)):
            history = trainer.partial_fit(xs[b], ys[b])
            loss += history.epochs[-1]["loss"] * len(xs[b]) / rows
    return [p.copy() for p in net.parameters()], rows, loss


def data_parallel_fit(network: Any, X: Any, Y: Any, *, client: Any, rounds: int = 10,
                      local_epochs: int = 1, shards: int | None = None, seed: int = 0,
                      validation_data: tuple | None = None, **trainer_options: Any) -> History:
    """Train ``network`` on a dask array across a cluster, averaging the shards' weights once
    per round (see the module docstring).

    Parameters
    ----------
    network : Network
        Trained in place (its weights are the average after the last round).
    X, Y : dask arrays of shapes (N, n_in) and (N, n_out)
        Rows chunked; ``Y`` is rechunked to ``X``'s row blocks.
    client : distributed.Client
    rounds : int
        Synchronous averaging rounds.
    local_epochs : int
        Epochs each shard trains over its blocks per round.
    shards : int, optional
        Groups of blocks trained apart (default: the number of workers, at most the number of
        blocks).
    seed : int
    validation_data : (X_val, Y_val) in memory, optional
        Evaluated on the driver after every round (``val_loss``, ``val_accuracy``/``val_r2``).
    **trainer_options
        Options of :class:`~deltaprop.training.trainer.Trainer` for the local training
        (``optimizer``, ``learning_rate``, ``batch_size``, ...; not ``seed``, ``verbose``,
        callbacks or checkpoints).

    Returns
    -------
    History
        One entry per round: ``epoch`` (the round), ``loss`` (row-weighted mean of the
        shards' last local epoch), validation metrics, ``time``.

    Examples
    --------
    >>> import dask.array as da, deltaprop as dp                      # doctest: +SKIP
    >>> from distributed import Client, LocalCluster                  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, processes=False) as c, Client(c) as client:
    ...     h = data_parallel_fit(dp.mlp([4, 8, 3]), X, Y, client=client, rounds=5,
    ...                           optimizer="adam", learning_rate=0.01)  # doctest: +SKIP
    """
    if not hasattr(X, "__dask_graph__") or not hasattr(Y, "__dask_graph__"):
        raise InputError("data_parallel_fit needs X and Y as dask arrays (rows chunked); "
                         "for data on one machine use deltaprop.train")
    for name, value in (("rounds", rounds), ("local_epochs", local_epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    bad = sorted(set(trainer_options) & {"seed", "verbose", "callbacks", "checkpoint_every",
                                         "checkpoint_path"})
    if bad:
        raise InputError(f"data_parallel_fit sets {bad} itself; pass seed= to it directly")
    if X.ndim != 2 or X.shape[1] != network.n_inputs:
        raise InputError(f"X must have shape (N, {network.n_inputs}), got {X.shape}")
    if Y.ndim != 2 or Y.shape != (X.shape[0], network.n_outputs):
        raise InputError(f"Y must have shape ({X.shape[0]}, {network.n_outputs}), got "
                         f"{Y.shape}")
    from distributed import wait

    xb = list(X.rechunk({1: -1}).to_delayed().ravel())
    yb = list(Y.rechunk({0: X.chunks[0], 1: -1}).to_delayed().ravel())
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise InputError("the Dask client has no workers")
    n_shards = min(len(xb), len(workers) if shards is None else int(shards))
    if n_shards < 1:
        raise InputError(f"shards must be >= 1, got {shards!r}")
    groups = [list(range(s, len(xb), n_shards)) for s in range(n_shards)]
    pinned = [workers[s % len(workers)] for s in range(n_shards)]
    xf, yf = [], []
    for s, group in enumerate(groups):  # every shard's blocks computed on its own worker
        xf.append(client.compute([xb[i] for i in group], workers=[pinned[s]]))
        yf.append(client.compute([yb[i] for i in group], workers=[pinned[s]]))
    wait([f for fs in xf + yf for f in fs])
    history = History()
    config = network.to_config()
    for r in range(1, rounds + 1):
        t0 = time.perf_counter()
        params = [p.copy() for p in network.parameters()]
        futures = [client.submit(_local_fit, config, params, xf[s], yf[s],
                                 int(np.random.SeedSequence([seed, r, s]).generate_state(1)
                                     [0] >> 1), local_epochs, dict(trainer_options),
                                 workers=[pinned[s]], pure=False)
                   for s in range(n_shards)]
        results = client.gather(futures)
        total = sum(rows for _, rows, _ in results)
        for i, p in enumerate(network.parameters()):
            avg = sum(res[0][i].astype(np.float64) * (res[1] / total) for res in results)
            np.copyto(p, avg.astype(p.dtype))
        logs: dict[str, Any] = {"epoch": r, "loss": float(sum(
            loss * rows / total for _, rows, loss in results))}
        if validation_data is not None:
            Xv, Yv = (np.asarray(a, dtype=network.dtype) for a in validation_data)
            logs.update(evaluate(network, Xv, Yv))
        logs["time"] = time.perf_counter() - t0
        history.epochs.append(logs)
    # the blocks' futures are released when xf/yf go out of scope (not cancelled: a later call
    # on the same dask arrays computes the same keys)
    history.stop_reason = "max_epochs"
    key = "val_loss" if validation_data is not None else "loss"
    history.best_epoch = int(np.argmin(history[key])) + 1
    return history
