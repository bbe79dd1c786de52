"""Checkpoints: everything a training run needs to continue exactly where it stopped.

A checkpoint is a deltaprop archive (:mod:`deltaprop.files.archive`, ``kind="checkpoint"``: npz
without pickle, JSON metadata, SHA-256 per array, written to a temporary file and renamed, so a
run killed mid-write leaves the previous checkpoint intact). It holds, at an epoch boundary:

- the network's architecture, parameters and buffers (BatchNorm's running statistics),
- the optimizer (velocities, Adam moments, step count),
- the random generator's ``bit_generator.state`` (JSON), which drives every random draw of the
  following epochs, so the resumed run repeats the uninterrupted one bit for bit,
- the learning-rate schedule and the state of every callback that has one (early stopping's
  patience counter and best weights),
- the history, the epoch count, the stop flag and the validation split,
- the trainer's ``checkpoint_info`` (under ``"run"``): what the run was started with (the
  command line stores its options and a fingerprint of the data there).

Examples
--------
>>> import numpy as np, deltaprop as dp, tempfile, os
>>> from deltaprop.training.trainer import Trainer
>>> X = np.random.default_rng(0).normal(size=(20, 2)); Y = X.sum(axis=1, keepdims=True)
>>> net = dp.mlp([2, 1], output_activation="identity", seed=0)
>>> path = os.path.join(tempfile.mkdtemp(), "run.ckpt")
>>> t = Trainer(net, seed=0, verbose=0, checkpoint_every=2, checkpoint_path=path)
>>> _ = t.fit(X, Y, epochs=4)
>>> read_checkpoint(path)[0]["epoch"]
4
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.errors import DeltapropError, InputError, ModelFileError
from deltaprop.files.archive import load_archive, save_archive
from deltaprop.training.callbacks import Callback, History
from deltaprop.training.optimizers import Optimizer

__all__ = ["ModelCheckpoint", "save_checkpoint", "read_checkpoint", "restore_checkpoint"]

CHECKPOINT_VERSION = 1


def _callback_keys(callbacks: list[Callback]) -> list[str]:
    """"EarlyStopping.0", "EarlyStopping.1", ...: class name and rank among its class."""
    seen: dict[str, int] = {}
    keys = []
    for cb in callbacks:
        name = type(cb).__name__
        keys.append(f"{name}.{seen.get(name, 0)}")
        seen[name] = seen.get(name, 0) + 1
    return keys


def save_checkpoint(path: str | Path, trainer: Any) -> None:
    """Write ``trainer``'s complete state to ``path`` atomically (temp file + rename).

    Parameters
    ----------
    path : str or Path
    trainer : Trainer
        Must have run at least its setup (``fit`` or ``partial_fit``).
    """
    net = trainer.network
    arrays: dict[str, np.ndarray] = {f"param.{i}": p for i, p in enumerate(net.parameters())}
    arrays.update({f"buffer.{i}": b for i, b in enumerate(net.buffers())})
    opt_config, opt_arrays = trainer.optimizer.get_state()
    arrays.update({f"opt.{k}": v for k, v in opt_arrays.items()})
    cb_meta = {}
    for key, cb in zip(_callback_keys(trainer.callbacks), trainer.callbacks, strict=True):
        config, cb_arrays = cb.get_state()
        if not config and not cb_arrays:
            continue  # stateless callbacks need not match on resume
        cb_meta[key] = config
        arrays.update({f"cb.{key}.{k}": v for k, v in cb_arrays.items()})
    if trainer.val_indices is not None:
        arrays["val_indices"] = np.asarray(trainer.val_indices, dtype=np.int64)
    meta = {
        "checkpoint_version": CHECKPOINT_VERSION,
        "network": net.to_config(),
        "epoch": trainer.epoch,
        "stop_training": bool(trainer.stop_training),
        "stop_reason": trainer.stop_reason,
        "optimizer": opt_config,
        "rng": {"bit_generator": type(trainer.rng.bit_generator).__name__,
                "state": trainer.rng.bit_generator.state},
        "callbacks": cb_meta,
        "history": trainer.history.to_dict(),
        "val_indices": trainer.val_indices is not None,
    }
    info = getattr(trainer, "checkpoint_info", None)
    if info is not None:
        meta["run"] = info
    save_archive(path, meta, arrays, kind="checkpoint")


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """Read and verify a checkpoint; ``None`` if ``path`` does not exist.

    Raises
    ------
    ModelFileError
        If the file is truncated, tampered with, foreign, not a checkpoint or too new.
    """
    if not Path(path).exists():
        return None
    meta, arrays = load_archive(path, kind="checkpoint")
    version = meta.get("checkpoint_version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise ModelFileError(f"{path}: checkpoint version {version!r} is not supported (this "
                             f"deltaprop reads up to {CHECKPOINT_VERSION}); upgrade deltaprop")
    return meta, arrays


def restore_checkpoint(trainer: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Load a checkpoint read by :func:`read_checkpoint` into ``trainer`` (and its network).

    The trainer's callbacks must already be built (the same kinds, in the same order, as when
    the checkpoint was written).
    """
    net = trainer.network
    try:
        if meta["network"] != net.to_config():
            raise InputError("the checkpoint was written for a different network architecture "
                             "than the one being trained")
        params, buffers = net.parameters(), net.buffers()
        stored, stored_buffers = [], []
        for kind, key, live, found in (("parameter", "param", params, stored),
                                       ("buffer", "buffer", buffers, stored_buffers)):
            for i, a in enumerate(live):
                s = arrays[f"{key}.{i}"]
                if a.shape != s.shape or a.dtype != s.dtype:
                    raise ModelFileError(f"checkpoint {kind} {i} is {s.dtype} {s.shape}, the "
                                         f"network needs {a.dtype} {a.shape}")
                found.append(s)
        keys = _callback_keys(trainer.callbacks)
        lost = sorted(set(meta["callbacks"]) - set(keys))
        if lost:
            raise InputError(f"the checkpoint holds the state of callbacks {lost}, which this "
                             f"run does not have (it has {keys}); resume with the same options")
        opt_arrays = {k[4:]: v for k, v in arrays.items() if k.startswith("opt.")}
        optimizer = Optimizer.from_state(meta["optimizer"], opt_arrays)
        rng_meta = meta["rng"]
        bit_gen = getattr(np.random, rng_meta["bit_generator"], None)
        if bit_gen is None or not isinstance(bit_gen, type):
            raise ModelFileError(f"unknown bit generator {rng_meta['bit_generator']!r}")
        rng = np.random.Generator(bit_gen())
        rng.bit_generator.state = rng_meta["state"]
        history = History.from_dict(meta["history"])
        epoch = int(meta["epoch"])
    except (DeltapropError, KeyError, TypeError, ValueError, AttributeError, IndexError,
            OverflowError) as exc:
        if isinstance(exc, InputError | ModelFileError):
            raise
        raise ModelFileError(f"the checkpoint's training state is invalid: "
                             f"{type(exc).__name__}: {exc}") from None
    # Everything validated: now change the trainer.
    for p, s in zip([*params, *buffers], [*stored, *stored_buffers], strict=True):
        np.copyto(p, s)
    for key, cb in zip(keys, trainer.callbacks, strict=True):
        if key not in meta["callbacks"]:
            continue
        prefix = f"cb.{key}."
        cb.set_state(meta["callbacks"][key],
                     {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
    trainer.optimizer, trainer.rng, trainer.history, trainer.epoch = optimizer, rng, history, epoch
    trainer.stop_training = bool(meta["stop_training"])
    trainer.stop_reason = meta["stop_reason"]
    trainer.resumed = True


class ModelCheckpoint(Callback):
    """Write a checkpoint every ``every`` epochs and when training ends.

    The trainer adds it last, so it records the state after every other callback has run.

    Parameters
    ----------
    path : str or Path
    every : int or None
        Epoch interval; None writes only at the end of training.
    """

    def __init__(self, path: str | Path, every: int | None = 1):
        self.path, self.every = path, every

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if self.every is not None and epoch % self.every == 0:
            save_checkpoint(self.path, trainer)

    def on_train_end(self, trainer: Any) -> None:
        save_checkpoint(self.path, trainer)
