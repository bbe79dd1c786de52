"""The output directory of ``deltaprop train`` (deltaprop.cli.outdir): one run at a time, a
refused or failed run leaves the previous run's files byte-identical, stale temp files go."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deltaprop.cli.outdir import LOCK_NAME, OutputDir
from deltaprop.errors import InputError

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = dict(os.environ, PYTHONPATH=SRC, PYTHONWARNINGS="error")


def run_cli(*args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          env=ENV, capture_output=True, text=True, timeout=timeout)


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file of a run directory (the lock file aside) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and p.name != LOCK_NAME}


def hold(code: str, cwd) -> subprocess.Popen:
    """A child python running ``code``; returns once it printed 'ready'."""
    child = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=ENV,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


def stop(child: subprocess.Popen) -> None:
    child.kill()
    child.wait()
    child.stdout.close()


HOLD_LOCK = """
import sys, time
from deltaprop.cli.outdir import OutputDir
d = OutputDir(sys.argv[1] if len(sys.argv) > 1 else "run"); d.acquire()
print("ready", flush=True); time.sleep(60)
"""

HOLD_TEMP = """
import os, tempfile, time
from deltaprop.files.atomic import hold_temp_file
fd, tmp = tempfile.mkstemp(prefix=".model.npz.", suffix=".tmp", dir="run")
hold_temp_file(fd); os.write(fd, b"half a model")
print("ready", flush=True); time.sleep(60)
"""


# ------------------------------------------------------------------------------ the lock
def test_lock_is_exclusive_between_processes_and_names_the_holder(tmp_path):
    child = hold(HOLD_LOCK, tmp_path)
    try:
        with pytest.raises(InputError, match=rf"run is in use by another deltaprop run "
                                             rf"\(process {child.pid}\)"):
            OutputDir(tmp_path / "run").acquire()
    finally:
        stop(child)
    with OutputDir(tmp_path / "run") as d:  # released when the holder died (SIGKILL)
        d.acquire()
        assert d.held
    assert not d.held


def test_acquire_creates_only_when_asked_and_refuses_a_file(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        OutputDir(tmp_path / "new").acquire(create=False)
    assert not (tmp_path / "new").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file, not a directory"):
        OutputDir(tmp_path / "f").acquire()
    with OutputDir(tmp_path / "a" / "b") as d:
        d.acquire()
        d.acquire()  # a no-op once held
        assert d.write_run_file({"seed": 0}).read_text() == '{\n "seed": 0\n}'


# ------------------------------------------------------------------------ stale temp files
def test_temp_files_of_killed_writers_are_removed_live_ones_kept(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.npz").write_bytes(b"the model")
    (run / ".tmp-a1b2c3d4.png").write_bytes(b"half a figure")  # left by a SIGKILL
    (run / ".history.json.zz99yy88.tmp").write_bytes(b"{")
    (run / "notes.tmp").write_text("not ours")
    killed = hold(HOLD_TEMP, tmp_path)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    killed.stdout.close()
    live = hold(HOLD_TEMP, tmp_path)  # a writer still at work
    try:
        temps = sorted(p.name for p in run.glob(".model.npz.*.tmp"))
        assert len(temps) == 2
        with OutputDir(run) as d:
            d.acquire()
            removed = sorted(p.name for p in d.removed)
        left = sorted(p.name for p in run.iterdir())
        assert len(removed) == 3 and ".tmp-a1b2c3d4.png" in removed
        assert ".history.json.zz99yy88.tmp" in removed
        assert [n for n in left if n.startswith(".model.npz.")] == [
            n for n in temps if n not in removed]  # the live one stays
        assert "model.npz" in left and "notes.tmp" in left
    finally:
        stop(live)


def test_train_cleans_litter_of_a_killed_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".model.npz.k1ll3d00.tmp").write_bytes(b"half")
    (run / ".tmp-k1ll3d00.png").write_bytes(b"half")
    proc = run_cli("train", "--dataset", "iris", "--epochs", "1", "--layers", "4", "--quiet",
                   "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not [p.name for p in run.iterdir() if p.name.endswith((".tmp", ".png"))
                and p.name.startswith(".")]


# ------------------------------------------------- refused and failed runs change nothing
FIRST = ("train", "--dataset", "iris", "--epochs", "2", "--layers", "4", "--quiet",
         "--checkpoint-every", "1", "--out", "run")
REFUSED = {
    "momentum out of range": ["--momentum", "1.5"],
    "unknown schedule": ["--schedule", "zigzag"],
    "unknown augmentation": ["--augment", "blur=2"],
    "bad activation": ["--activation", "swish"],
    "diverges": ["--optimizer", "sgd", "--learning-rate", "1e300"],
    "resume, other seed": ["--resume", "--seed", "1"],
    "resume, other layers": ["--resume", "--layers", "5"],
}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("first")
    proc = run_cli(*FIRST, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_or_failed_run_leaves_the_previous_run_byte_identical(first_run, name,
                                                                        tmp_path):
    import shutil

    cwd = tmp_path / "cwd"
    shutil.copytree(first_run, cwd)
    before = files_of(cwd / "run")
    assert {"model.npz", "run.json", "checkpoint.ckpt", "history.json"} <= set(before)
    proc = run_cli("train", "--dataset", "iris", "--epochs", "2", "--quiet", "--out", "run",
                   *REFUSED[name], cwd=cwd)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("deltaprop: error: ") and "Traceback" not in proc.stderr
    assert files_of(cwd / "run") == before


def test_a_busy_out_is_refused_and_left_alone(first_run, tmp_path):
    import shutil

    cwd = tmp_path / "cwd"
    shutil.copytree(first_run, cwd)
    before = files_of(cwd / "run")
    child = hold(HOLD_LOCK, cwd)
    try:
        proc = run_cli("train", "--dataset", "iris", "--epochs", "1", "--quiet", "--out", "run",
                       cwd=cwd)
        resumed = run_cli("train", "--resume", "--epochs", "3", "--out", "run", cwd=cwd)
    finally:
        stop(child)
    for p in (proc, resumed):
        assert p.returncode == 2
        assert p.stderr.strip().splitlines()[-1] == (
            f"deltaprop: error: --out run is in use by another deltaprop run (process "
            f"{child.pid}); wait for it to finish or choose another --out")
    assert files_of(cwd / "run") == before


@pytest.mark.slow
def test_two_training_runs_on_one_out(tmp_path):
    """Two real `deltaprop train` processes on one --out: the second is refused while the
    first works, and the first's model and run.json describe the first run."""
    import json

    first = subprocess.Popen(
        [sys.executable, "-m", "deltaprop", "train", "--epochs", "150", "--layers", "32",
         "--seed", "1", "--quiet", "--out", "run"], cwd=tmp_path, env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "run" / LOCK_NAME).exists():
            assert time.monotonic() < deadline and first.poll() is None, "first run gave up"
            time.sleep(0.05)
        second = run_cli("train", "--epochs", "1", "--seed", "2", "--quiet", "--out", "run",
                         cwd=tmp_path)
    finally:
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert second.returncode == 2 and "is in use by another deltaprop run" in second.stderr
    options = json.loads((tmp_path / "run" / "run.json").read_text())
    assert options["seed"] == 1 and options["epochs"] == 150
