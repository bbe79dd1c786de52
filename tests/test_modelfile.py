"""Safe model files: round trips, atomic writes, and clear errors for bad files."""

import io
import json
import zipfile

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.errors import ModelFileError
from deltaprop.files import archive as modelfile


@pytest.fixture
def net():
    layers = [dp.Dense(3, 4, "elu", rng=0), dp.Dropout(0.2), dp.Maxout(4, 2, pieces=3, rng=1),
              dp.Dense(2, 2, "softmax", rng=2)]
    return dp.Network(layers, seed=0)


def test_round_trip_preserves_everything(tmp_path, net):
    path = tmp_path / "model.npz"
    net.save(path, extras={"notes": ({"hello": "world"}, {"mean": np.arange(3.0)})})
    loaded = dp.load(path)
    assert loaded.to_config() == net.to_config()
    for a, b in zip(net.parameters(), loaded.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(net.predict_proba(X), loaded.predict_proba(X))
    cfg, arrays = loaded.extras["notes"]
    assert cfg == {"hello": "world"}
    np.testing.assert_array_equal(arrays["mean"], np.arange(3.0))
    # readable by plain numpy without pickle
    with np.load(path, allow_pickle=False) as npz:
        assert "param.0" in npz.files


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, net):
    path = tmp_path / "m.npz"
    net.save(path)
    before = path.read_bytes()
    with pytest.raises(Exception, match="not storable"):
        modelfile.save_archive(path, {}, {"bad": np.array(["x"], dtype=object)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def _rewrite(path, mutate):
    members = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    mutate(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def _set_meta(members, resign=False, **changes):
    """Change meta.json; ``resign`` recomputes its content digest (a deliberate forgery that
    gets past the digest, to reach the checks behind it)."""
    meta = json.loads(members["meta.json"])
    meta.update(changes)
    if resign:
        meta["content_sha256"] = modelfile.content_digest(meta)
    members["meta.json"] = json.dumps(meta).encode()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: _set_meta(m, format_version=99), "format version 99.*upgrade deltaprop"),
        (lambda m: _set_meta(m, format="other"), "not a deltaprop file"),
        (lambda m: _set_meta(m, kind="checkpoint"), "fails its content check"),
        (lambda m: _set_meta(m, resign=True, kind="checkpoint"),
         "'checkpoint' file, not a 'model'"),
        (lambda m: m.pop("param.1.npy"), r"missing \['param.1'\]"),
        (lambda m: m.update({"evil.npy": m["param.0.npy"]}), r"unexpected \['evil'\]"),
        (lambda m: m.pop("meta.json"), "has no meta.json"),
        (lambda m: m.update({"meta.json": b"{not json"}), "not a valid deltaprop model file"),
    ],
)
def test_tampered_files_give_clear_errors(tmp_path, net, mutate, message):
    path = tmp_path / "model.npz"
    net.save(path)
    _rewrite(path, mutate)
    with pytest.raises(ModelFileError, match=message):
        dp.load(path)


def test_changed_array_byte_fails_checksum(tmp_path, net):
    path = tmp_path / "model.npz"
    net.save(path)

    def flip(members):
        data = bytearray(members["param.0.npy"])
        data[-1] ^= 0x01
        members["param.0.npy"] = bytes(data)

    _rewrite(path, flip)
    with pytest.raises(ModelFileError, match="'param.0' fails its SHA-256 check"):
        dp.load(path)


def test_truncated_foreign_and_missing_files(tmp_path, net):
    path = tmp_path / "model.npz"
    net.save(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="not a valid deltaprop model file"):
        dp.load(path)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W=np.ones(3))
    with pytest.raises(ModelFileError, match="not a deltaprop file"):
        dp.load(foreign)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a valid deltaprop model file"):
        dp.load(text)
    with pytest.raises(ModelFileError, match="no such file"):
        dp.load(tmp_path / "absent.npz")


def test_saved_file_gets_ordinary_permissions(tmp_path, net):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        net.save(tmp_path / "m.npz")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o644


def test_directory_is_not_reported_as_a_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory, not a deltaprop model file"):
        dp.load(tmp_path)


def test_version_2_files_carry_a_content_digest(tmp_path, net):
    path = tmp_path / "model.npz"
    net.save(path)
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("meta.json"))
    assert meta["format_version"] == modelfile.FORMAT_VERSION == 2
    assert meta["content_sha256"] == modelfile.content_digest(meta)


def _huge_layer_file(path, n):
    """A few-KB model file, digest recomputed, whose architecture declares an n x n layer."""
    dp.mlp([3, 2], seed=0).save(path)

    def mutate(m):
        meta = json.loads(m["meta.json"])
        meta["network"]["layers"][0].update(n_in=n, n_out=n)
        meta["content_sha256"] = modelfile.content_digest(meta)
        m["meta.json"] = json.dumps(meta).encode()

    _rewrite(path, mutate)


HOSTILE_LOAD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB of address space
import deltaprop as dp
from deltaprop.errors import ModelFileError
try:
    dp.load(sys.argv[1])
except ModelFileError as exc:
    print("ModelFileError:", exc)
"""


def test_loader_memory_is_bounded_on_a_hostile_architecture(tmp_path):
    """The declared shapes are compared with the stored arrays before anything is built: a
    file declaring a 100000 x 100000 layer (40 GB) is refused within 1 GiB of memory."""
    import os
    import subprocess
    import sys

    path = tmp_path / "huge.npz"
    _huge_layer_file(path, 100_000)
    assert path.stat().st_size < 5000
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", HOSTILE_LOAD, str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.startswith("ModelFileError:")
    assert "parameter 0 is float32 (2, 3), the architecture declares float32 " \
           "(100000, 100000)" in proc.stdout


def test_atomic_write_errors_name_the_target_not_the_temp_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError) as info:
        modelfile.atomic_write_bytes(tmp_path / "file" / "out.csv", b"x")
    assert info.value.filename == str(tmp_path / "file" / "out.csv")

    import tempfile

    def refuse(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}abcdef{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as info:
        modelfile.atomic_write_bytes(tmp_path / "out.csv", b"x")
    assert info.value.filename == str(tmp_path / "out.csv")
    assert "Permission denied" in str(info.value)
