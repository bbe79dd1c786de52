"""``deltaprop train --resume`` (deltaprop.cli.resume): the options come from the checkpoint,
and a resume that would continue on another split, data set or network is refused."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deltaprop.cli.main import build_parser
from deltaprop.cli.resume import given_options

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = dict(os.environ, PYTHONPATH=SRC, PYTHONWARNINGS="error")
START = ("train", "--dataset", "data.csv", "--epochs", "2", "--layers", "4", "--seed", "3",
         "--quiet", "--checkpoint-every", "1", "--out", "run")


def run_cli(*args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          env=ENV, capture_output=True, text=True, timeout=timeout)


def write_data(path, shift=0.0):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "label"])
        for i in range(60):
            w.writerow([i % 7 + shift, (i * 3) % 11, "yes" if i % 2 else "no"])


def one_error_line(proc):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("deltaprop: error: ")
    return line


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("resume")
    write_data(cwd / "data.csv")
    proc = run_cli(*START, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd


@pytest.fixture
def cwd(started, tmp_path):
    import shutil

    shutil.copytree(started, tmp_path / "cwd")
    return tmp_path / "cwd"


def test_given_options_include_ones_equal_to_their_default():
    given = given_options(build_parser, ["train", "--seed", "0", "--epochs=5", "--out", "x",
                                         "--resume"])
    assert given == {"seed", "epochs", "out"}
    assert given_options(build_parser, ["train"]) == set()


def test_resume_uses_the_saved_options_and_may_train_longer(cwd):
    proc = run_cli("train", "--resume", "--epochs", "4", "--out", "run", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    options = json.loads((cwd / "run" / "run.json").read_text())
    assert options["seed"] == 3 and options["layers"] == [4] and options["epochs"] == 4
    assert options["dataset"] == "data.csv"
    history = json.loads((cwd / "run" / "history.json").read_text())
    assert len(history["epochs"]) == 4


@pytest.mark.parametrize("args, message", [
    (["--seed", "4"], "--seed 4 differs from the run being resumed (--seed 3)"),
    (["--seed", "0"], "--seed 0 differs from the run being resumed (--seed 3)"),  # the default
    (["--layers", "4,4"], "--layers 4,4 differs from the run being resumed (--layers 4)"),
    (["--dataset", "other.csv"], "--dataset other.csv differs from the run being resumed "
                                 "(--dataset data.csv)"),
    (["--learning-rate", "0.5"], "--learning-rate 0.5 differs"),
])
def test_resume_with_other_options_is_refused_naming_both_values(cwd, args, message):
    write_data(cwd / "other.csv", shift=1.0)
    before = (cwd / "run" / "checkpoint.ckpt").read_bytes()
    line = one_error_line(run_cli("train", "--resume", "--out", "run", *args, cwd=cwd))
    assert "cannot resume: " in line and message in line
    assert (cwd / "run" / "checkpoint.ckpt").read_bytes() == before


def test_resume_on_changed_data_is_refused(cwd):
    write_data(cwd / "data.csv", shift=0.5)  # same file name, other rows
    line = one_error_line(run_cli("train", "--resume", "--epochs", "3", "--out", "run",
                                  cwd=cwd))
    assert "the data of --dataset data.csv changed since the checkpoint was written" in line


def test_corrupt_run_json_on_resume_is_a_clean_error(cwd):
    (cwd / "run" / "run.json").write_text("{not json")
    line = one_error_line(run_cli("train", "--resume", "--epochs", "3", "--out", "run",
                                  cwd=cwd))
    assert "run.json is not a readable run file" in line


def test_damaged_checkpoint_on_resume_is_a_clean_error(cwd):
    path = cwd / "run" / "checkpoint.ckpt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    line = one_error_line(run_cli("train", "--resume", "--epochs", "3", "--out", "run",
                                  cwd=cwd))
    assert "checkpoint.ckpt" in line


def test_nothing_to_resume(tmp_path):
    (tmp_path / "empty").mkdir()
    for out in ("empty", "missing"):
        line = one_error_line(run_cli("train", "--resume", "--out", out, cwd=tmp_path))
        assert f"nothing to resume in {out}" in line
