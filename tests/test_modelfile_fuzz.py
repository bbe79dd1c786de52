"""The model file under attack: truncated, tampered and foreign files give a clear
ModelFileError, and a property-based fuzz test (hypothesis) that flips, truncates, drops and
adds bytes and archive entries gets either ModelFileError or an identical model, never another
exception or a hang."""

import copy
import functools
import io
import json
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deltaprop as dp
from deltaprop.errors import ModelFileError

FUZZ = settings(max_examples=150, deadline=5000, report_multiple_bugs=False,
                suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def reference():
    """A small trained-looking network with an extra, saved once; returns (network, bytes)."""
    net = dp.mlp([3, 4, 2], seed=0)
    extras = {"pre": ({"mean_of": "X", "n": 3}, {"mean": np.arange(3.0)})}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "ref.dp"
        net.save(path, extras=extras)
        return net, path.read_bytes()


def members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i.filename)) for i in zf.infolist()]


def rezip(entries, compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the attack
        with zipfile.ZipFile(buf, "w", compression=compression) as zf:
            for name, raw in entries:
                zf.writestr(name, raw)
    return buf.getvalue()


def npy_bytes(arr) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asarray(arr), allow_pickle=False)
    return out.getvalue()


def load_bytes(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.dp"
        path.write_bytes(data)
        return dp.load(path)


def assert_error_or_identical(data: bytes) -> None:
    net, _ = reference()
    try:
        loaded = load_bytes(data)
    except ModelFileError as exc:
        assert str(exc)  # a message, not an empty error
        return
    assert loaded.to_config() == net.to_config()
    assert all(np.array_equal(a, b) and a.dtype == b.dtype
               for a, b in zip(loaded.parameters(), net.parameters(), strict=True))
    cfg, arrays = loaded.extras["pre"]
    assert cfg == {"mean_of": "X", "n": 3} and set(arrays) == {"mean"}
    np.testing.assert_array_equal(arrays["mean"], np.arange(3.0))


# -- byte-level damage ----------------------------------------------------------------------
@st.composite
def byte_damage(draw):
    _, data = reference()
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "drop", "insert", "set"]))
        n = len(data)
        if n == 0:
            break
        pos = draw(st.integers(0, n - 1))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "drop":
            del data[pos:pos + draw(st.integers(1, 64))]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


@FUZZ
@given(byte_damage())
@pytest.mark.timeout(300)
def test_fuzz_bytes_give_modelfile_error_or_identical_model(data):
    assert_error_or_identical(data)


# -- archive-level damage -------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=5)


def leaf_paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaf_paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaf_paths(v, (*prefix, i))
    if prefix:
        yield prefix


@st.composite
def archive_damage(draw):
    _, data = reference()
    entries = members(data)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "add", "duplicate", "array_bytes", "meta",
                                   "deflate", "rename"]))
        if not entries:
            break
        i = draw(st.integers(0, len(entries) - 1))
        name, raw = entries[i]
        if op == "drop":
            del entries[i]
        elif op == "add":
            new_name = draw(st.sampled_from(["param.4.npy", "evil.npy", "meta.json", "x/../y",
                                             "extra.pre.std.npy", "README"]))
            payload = draw(st.one_of(st.binary(max_size=64),
                                     st.just(npy_bytes(np.zeros(3, np.float32)))))
            entries.insert(draw(st.integers(0, len(entries))), (new_name, payload))
        elif op == "duplicate":
            entries.append((name, raw))
        elif op == "rename":
            entries[i] = (draw(st.sampled_from(["param.9.npy", "meta.JSON", name + ".bak"])), raw)
        elif op == "array_bytes" and name.endswith(".npy") and raw:
            raw = bytearray(raw)
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] ^= 1 << draw(st.integers(0, 7))
            entries[i] = (name, bytes(raw))  # re-zipped: the CRC is right, the SHA-256 is not
        elif op == "meta":
            j = next((k for k, (n, _) in enumerate(entries) if n == "meta.json"), None)
            try:
                meta = json.loads(entries[j][1])
            except (TypeError, ValueError):  # no meta.json, or an added junk one
                continue
            if not isinstance(meta, dict):
                continue
            # Structural damage only: the extras' free-form JSON is not integrity-protected,
            # so editing it legitimately gives a *different* valid model.
            paths = [p for p in leaf_paths(meta) if p[0] != "extras"]
            path = draw(st.sampled_from(paths))
            target = meta
            for key in path[:-1]:
                target = target[key]
            old = target[path[-1]]
            if draw(st.booleans()):
                if isinstance(target, dict):
                    del target[path[-1]]
                else:
                    target.pop(path[-1])
            else:
                new = draw(JSON_VALUES.filter(lambda v, old=old: type(v) is not type(old)))
                target[path[-1]] = copy.deepcopy(new)
            entries[j] = ("meta.json", json.dumps(meta).encode())
        elif op == "deflate":
            return rezip(entries, zipfile.ZIP_DEFLATED)
    return rezip(entries)


# This test found that a damaged .npy header makes numpy's header parser raise
# tokenize.TokenError; modelfile.load_archive now turns it into ModelFileError.
@FUZZ
@given(archive_damage())
@pytest.mark.timeout(300)
def test_fuzz_archive_entries_give_modelfile_error_or_identical_model(data):
    assert_error_or_identical(data)


# -- explicit cases -------------------------------------------------------------------------
def test_round_trip_is_identical():
    _, data = reference()
    assert_error_or_identical(data)
    assert load_bytes(data).to_config() == reference()[0].to_config()


@pytest.mark.parametrize("cut", [0, 10, 200, -22, -1])
def test_truncated_file_is_a_clear_error(cut):
    _, data = reference()
    with pytest.raises(ModelFileError, match="not a valid deltaprop model file|not a deltaprop"):
        load_bytes(data[:cut])


def test_tampered_array_fails_its_checksum():
    _, data = reference()
    entries = members(data)
    name, raw = entries[0]
    entries[0] = (name, raw[:-1] + bytes([raw[-1] ^ 0xFF]))
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_bytes(rezip(entries))


def test_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="not a valid deltaprop model file"):
        load_bytes(b"hello, I am a text file\n")
    buf = io.BytesIO()
    np.savez(buf, W=np.ones(3))
    with pytest.raises(ModelFileError, match="not a deltaprop file"):
        load_bytes(buf.getvalue())
    foreign_meta = rezip([("meta.json", json.dumps({"format": "keras"}).encode())])
    with pytest.raises(ModelFileError, match="foreign"):
        load_bytes(foreign_meta)
    with pytest.raises(ModelFileError, match="no such file"):
        dp.load(tmp_path / "missing.dp")


def test_newer_format_version_is_refused_saying_so():
    _, data = reference()
    entries = members(data)
    j = [n for n, _ in entries].index("meta.json")
    meta = json.loads(entries[j][1])
    meta["format_version"] = 2
    entries[j] = ("meta.json", json.dumps(meta).encode())
    with pytest.raises(ModelFileError, match="format version 2.*up to 1.*upgrade deltaprop"):
        load_bytes(rezip(entries))


def test_checkpoint_is_not_a_model(tmp_path):
    from deltaprop.training import Trainer

    X = np.zeros((4, 3))
    Y = np.eye(2)[[0, 1, 0, 1]]
    path = tmp_path / "c.ckpt"
    Trainer(dp.mlp([3, 2], seed=0), verbose=0, checkpoint_path=path).fit(X, Y, epochs=1)
    with pytest.raises(ModelFileError, match="'checkpoint' file, not a 'model'"):
        dp.load(path)
