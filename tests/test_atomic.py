"""Atomic writes and their temporary files (deltaprop.files.atomic)."""

import os
import subprocess
import sys
from pathlib import Path

from deltaprop.files.atomic import (
    atomic_write_bytes,
    hold_temp_file,
    is_temp_name,
    remove_stale_temp_files,
    temp_file_in_use,
)

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_temp_names():
    assert is_temp_name(".model.npz.k1ll3d_0.tmp")
    assert is_temp_name(".tmp-a1b2c3d4.png") and is_temp_name(".tmp-a1b2c3d4.svg")
    for name in ("model.npz", "notes.tmp", ".tmp", ".model.npz.tmp", ".tmp-x.png", "a.tmp-1.png"):
        assert not is_temp_name(name), name


def test_write_leaves_only_the_target(tmp_path):
    atomic_write_bytes(tmp_path / "out.bin", b"abc")
    atomic_write_bytes(tmp_path / "out.bin", b"def")
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    assert (tmp_path / "out.bin").read_bytes() == b"def"


def test_a_held_temp_file_is_in_use_and_kept(tmp_path):
    path = tmp_path / ".out.bin.abcdef12.tmp"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        hold_temp_file(fd)
        code = f"from deltaprop.files.atomic import temp_file_in_use as u; print(u({str(path)!r}))"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=dict(os.environ, PYTHONPATH=SRC), timeout=60)
        assert other.stdout.strip() == "True", other.stderr
        assert remove_stale_temp_files(tmp_path) == []
    finally:
        os.close(fd)
    assert not temp_file_in_use(path)
    assert remove_stale_temp_files(tmp_path) == [path]
    assert not path.exists()
