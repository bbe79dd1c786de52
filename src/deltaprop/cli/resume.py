"""``deltaprop train --resume``: continue exactly the run in ``--out``, or refuse saying why.

Every checkpoint ``deltaprop train`` writes records the run's options and a fingerprint of its
data (the trainer's ``checkpoint_info``, inside the checkpoint's digest). Resuming takes the
options from there, not from ``run.json`` (which is written only with the model, at the end).
An option given again on the command line must have the saved value, except the ones that do
not change what is computed (:data:`CHANGEABLE`: ``--epochs`` to train longer, ``--quiet``,
``--checkpoint-every``, ``--out``); a different seed, dataset, architecture or optimizer is
refused, naming both values, because the run would continue on another split or another
network. The data is fingerprinted again and must match, so an edited CSV file is refused too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.errors import InputError

__all__ = ["CHANGEABLE", "given_options", "run_options", "resume_args", "data_fingerprint",
           "check_same_data", "check_run_file"]

#: Options a resumed run may change: they do not change what is computed.
CHANGEABLE = frozenset({"epochs", "quiet", "checkpoint_every", "out"})
#: Namespace entries that are not options of the run.
_NOT_OPTIONS = frozenset({"func", "command", "resume", "argv"})


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of a ``train`` namespace, as stored in checkpoints and run.json."""
    return {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS}


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse keeps its subcommands here
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise LookupError(f"no subcommand {name!r}")


def given_options(build_parser: Callable[[], argparse.ArgumentParser],
                  argv: Sequence[str]) -> set[str]:
    """The ``train`` options written on the command line ``argv`` (given, even if equal to
    their default), found by parsing ``argv`` again with every default suppressed."""
    parser = build_parser()
    for action in _subparser(parser, "train")._actions:
        action.default = argparse.SUPPRESS
    namespace, _ = parser.parse_known_args(list(argv))
    return set(vars(namespace)) - _NOT_OPTIONS


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _show(value: Any) -> str:
    if value is None:
        return "(not given)"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value)


def resume_args(args: argparse.Namespace, given: set[str], out: Path,
                checkpoint: Path) -> tuple[argparse.Namespace, str | None]:
    """The options of the run being resumed from ``checkpoint`` and its data fingerprint.

    Raises
    ------
    InputError
        Nothing to resume, a checkpoint without run options, or an option given now that
        differs from the saved one (both values named).
    ModelFileError
        A damaged or tampered checkpoint.
    """
    from deltaprop.training.checkpoint import read_checkpoint

    state = read_checkpoint(checkpoint)
    if state is None:
        raise InputError(f"nothing to resume in {out}: no {checkpoint.name} (start the run with "
                         f"--out {out} --checkpoint-every N)")
    run = state[0].get("run")
    if not isinstance(run, dict) or not isinstance(run.get("options"), dict):
        raise InputError(f"{checkpoint} records no run options (it was not written by "
                         "'deltaprop train'), so the command line cannot resume it")
    saved = run["options"]
    current = run_options(args)
    unknown = sorted(set(saved) - set(current))
    if unknown:
        raise InputError(f"{checkpoint} was written with options this deltaprop does not know "
                         f"({', '.join(map(_flag, unknown))}); resume it with the deltaprop "
                         "that wrote it")
    conflicts = [f"{_flag(k)} {_show(current[k])} differs from the run being resumed "
                 f"({_flag(k)} {_show(saved[k])})"
                 for k in sorted(given)
                 if k in saved and k not in CHANGEABLE and current[k] != saved[k]]
    if conflicts:
        raise InputError("cannot resume: " + "; ".join(conflicts) + ". Resuming continues the "
                         "saved run; leave these options out, or start a new run in another "
                         "--out")
    merged = dict(vars(args))
    merged.update({k: v for k, v in saved.items() if not (k in CHANGEABLE and k in given)})
    fingerprint = run.get("data")
    return argparse.Namespace(**merged), fingerprint if isinstance(fingerprint, str) else None


def data_fingerprint(data: Any) -> str:
    """SHA-256 of a Dataset's arrays, names and task: equal only for the same data."""
    h = hashlib.sha256()
    for part in (data.X, data.y, data.X_test, data.y_test):
        if part is None:
            h.update(b"none;")
            continue
        arr = np.ascontiguousarray(part)
        h.update(f"{arr.dtype.str}{arr.shape};".encode())
        h.update(arr.tobytes())
    h.update(json.dumps([data.task, [str(n) for n in data.target_names],
                         [str(n) for n in data.feature_names]]).encode())
    return h.hexdigest()


def check_same_data(saved: str | None, data: Any, spec: str) -> None:
    """Refuse to resume on data other than the checkpoint's (the split would differ)."""
    now = data_fingerprint(data)
    if saved is None or saved == now:
        return
    raise InputError(f"cannot resume: the data of --dataset {spec} changed since the checkpoint "
                     f"was written (fingerprint {now[:12]} now, {saved[:12]} then), so the "
                     "split would differ and test rows could leak into training; start a new "
                     "run in another --out")


def check_run_file(path: Path) -> None:
    """An existing run.json must be the JSON object deltaprop wrote (else InputError)."""
    if not path.exists():
        return
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path} is not a readable run file ({type(exc).__name__}: {exc}); "
                         "it was changed after deltaprop wrote it: restore or delete it to "
                         "resume from the checkpoint") from None
    if not isinstance(value, dict):
        raise InputError(f"{path} is not a run file (expected a JSON object of options, got "
                         f"{type(value).__name__}); restore or delete it to resume from the "
                         "checkpoint")
