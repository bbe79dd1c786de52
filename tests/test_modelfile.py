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


def _set_meta(members, **changes):
    meta = json.loads(members["meta.json"])
    meta.update(changes)
    members["meta.json"] = json.dumps(meta).encode()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: _set_meta(m, format_version=99), "format version 99.*upgrade deltaprop"),
        (lambda m: _set_meta(m, format="other"), "not a deltaprop file"),
        (lambda m: _set_meta(m, kind="checkpoint"), "'checkpoint' file, not a 'model'"),
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
