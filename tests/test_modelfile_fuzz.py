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
            # Any leaf, the extras' free-form JSON included: the content digest covers it all.
            paths = list(leaf_paths(meta))
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
    meta["format_version"] = 3
    entries[j] = ("meta.json", json.dumps(meta).encode())
    with pytest.raises(ModelFileError, match="format version 3.*up to 2.*upgrade deltaprop"):
        load_bytes(rezip(entries))


def test_checkpoint_is_not_a_model(tmp_path):
    from deltaprop.training import Trainer

    X = np.zeros((4, 3))
    Y = np.eye(2)[[0, 1, 0, 1]]
    path = tmp_path / "c.ckpt"
    Trainer(dp.mlp([3, 2], seed=0), verbose=0, checkpoint_path=path).fit(X, Y, epochs=1)
    with pytest.raises(ModelFileError, match="'checkpoint' file, not a 'model'"):
        dp.load(path)


# -- every single-byte change: refused or identical ----------------------------------------
def meta_region(data: bytes) -> list[int]:
    """Byte positions of meta.json in the archive: its local header, name and content, and its
    central directory record (flags, sizes, offset: zipfile trusts these)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("meta.json")
    start = info.header_offset
    end = start + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size
    record = data.rindex(b"PK\x01\x02", 0, data.rindex(b"meta.json"))
    return [*range(start, end), *range(record, record + 46 + len(b"meta.json"))]


def changed(data: bytes, pos: int, xor: int) -> bytes:
    out = bytearray(data)
    out[pos] ^= xor
    return bytes(out)


@pytest.mark.parametrize("xor", [0x01, 0x20, 0x80])
def test_every_byte_of_the_metadata_changed_is_refused_or_identical(tmp_path, xor):
    """Exhaustive over meta.json (architecture, extras, array table, digest) and its zip
    header: each single-byte change is a ModelFileError or loads the very same model."""
    _, data = reference()
    path = tmp_path / "model.dp"
    net, _ = reference()
    for pos in meta_region(data):
        path.write_bytes(changed(data, pos, xor))
        try:
            loaded = dp.load(path)
        except ModelFileError as exc:
            assert str(exc)
            continue
        assert loaded.to_config() == net.to_config(), pos
        assert all(np.array_equal(a, b) for a, b in
                   zip(loaded.parameters(), net.parameters(), strict=True)), pos
        assert loaded.extras["pre"][0] == {"mean_of": "X", "n": 3}, pos


@FUZZ
@given(st.data())
@pytest.mark.timeout(300)
def test_any_single_byte_change_is_refused_or_identical(data):
    _, raw = reference()
    pos = data.draw(st.integers(0, len(raw) - 1))
    assert_error_or_identical(changed(raw, pos, data.draw(st.integers(1, 255))))


def test_swapping_two_class_names_is_refused():
    """The class names sit in the metadata; without the content digest a swap flipped every
    prediction silently."""
    net = dp.mlp([3, 2], seed=0)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.dp"
        net.save(path, extras={"cli": ({"class_names": ["cat", "dog"]}, {})})
        entries = members(path.read_bytes())
    j = [n for n, _ in entries].index("meta.json")
    text = entries[j][1].decode()
    assert '["cat", "dog"]' in text
    entries[j] = ("meta.json", text.replace('["cat", "dog"]', '["dog", "cat"]').encode())
    with pytest.raises(ModelFileError, match="fails its content check"):
        load_bytes(rezip(entries))


def test_version_1_files_are_refused_saying_why():
    _, data = reference()
    entries = members(data)
    j = [n for n, _ in entries].index("meta.json")
    meta = json.loads(entries[j][1])
    meta["format_version"] = 1
    del meta["content_sha256"]
    entries[j] = ("meta.json", json.dumps(meta).encode())
    with pytest.raises(ModelFileError, match="format version 1.*no integrity digest.*train"):
        load_bytes(rezip(entries))


def test_zip_flags_changed_give_modelfile_error():
    """An 'encrypted' or 'patched data' flag made zipfile raise RuntimeError or
    NotImplementedError past the loader."""
    _, data = reference()
    for flag in (0x01, 0x20, 0x40):
        out = bytearray(data)
        pos = 0
        while (pos := out.find(b"PK\x01\x02", pos)) >= 0:  # every central directory entry
            out[pos + 8] |= flag
            pos += 4
        pos = 0
        while (pos := out.find(b"PK\x03\x04", pos)) >= 0:  # every local header
            out[pos + 6] |= flag
            pos += 4
        with pytest.raises(ModelFileError):
            load_bytes(bytes(out))


def test_deeply_nested_metadata_gives_modelfile_error():
    _, data = reference()
    entries = members(data)
    j = [n for n, _ in entries].index("meta.json")
    entries[j] = ("meta.json", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ModelFileError):
        load_bytes(rezip(entries))


# -- checkpoints ----------------------------------------------------------------------------
@functools.cache
def reference_checkpoint():
    """A checkpoint of a short run (with run info), as bytes, and its verified content."""
    from deltaprop.training import Trainer
    from deltaprop.training.checkpoint import read_checkpoint

    X = np.random.default_rng(0).normal(size=(12, 3))
    Y = np.eye(2)[np.arange(12) % 2]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "run.ckpt"
        Trainer(dp.mlp([3, 2], seed=0), verbose=0, seed=0, checkpoint_path=path,
                checkpoint_info={"options": {"seed": 0, "layers": []}, "data": "abc"}
                ).fit(X, Y, epochs=2, validation_split=0.25)
        return path.read_bytes(), read_checkpoint(path)


def assert_checkpoint_refused_or_identical(raw: bytes, path: Path) -> None:
    from deltaprop.training.checkpoint import read_checkpoint

    path.write_bytes(raw)
    try:
        meta, arrays = read_checkpoint(path)
    except ModelFileError as exc:
        assert str(exc)
        return
    ref_meta, ref_arrays = reference_checkpoint()[1]
    assert meta == ref_meta
    assert set(arrays) == set(ref_arrays)
    assert all(np.array_equal(arrays[k], ref_arrays[k]) for k in arrays)


def test_every_byte_of_a_checkpoints_metadata_changed_is_refused_or_identical(tmp_path):
    raw, _ = reference_checkpoint()
    for pos in meta_region(raw):
        assert_checkpoint_refused_or_identical(changed(raw, pos, 0x01), tmp_path / "c.ckpt")


@FUZZ
@given(st.data())
@pytest.mark.timeout(300)
def test_any_single_byte_change_to_a_checkpoint_is_refused_or_identical(data):
    raw, _ = reference_checkpoint()
    pos = data.draw(st.integers(0, len(raw) - 1))
    with tempfile.TemporaryDirectory() as d:
        assert_checkpoint_refused_or_identical(changed(raw, pos, data.draw(st.integers(1, 255))),
                                               Path(d) / "c.ckpt")


# -- forged metadata (digest recomputed): still a clean error or a well-formed model --------
@functools.cache
def reference_cli_model() -> bytes:
    """A model file as `deltaprop train` writes it: class names, standardization, options."""
    from deltaprop.data.pipeline import ModelInfo
    from deltaprop.data.preprocessing import Preprocessor, Standardizer

    pre = Preprocessor([Standardizer()]).fit(np.arange(12.0).reshape(4, 3))
    info = ModelInfo("classification", ["cat", "dog"], ["cat", "dog"], "pets", 0, 3, pre,
                     options={"seed": 0, "layers": [4]})
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.npz"
        dp.mlp([3, 4, 2], seed=0).save(path, extras=info.to_extras())
        return path.read_bytes()


@st.composite
def forged_meta(draw):
    from deltaprop.files.archive import content_digest

    entries = members(reference_cli_model())
    j = [n for n, _ in entries].index("meta.json")
    meta = json.loads(entries[j][1])
    for _ in range(draw(st.integers(1, 2))):
        paths = [p for p in leaf_paths(meta) if p[0] not in ("content_sha256", "format",
                                                              "format_version", "kind")]
        path = draw(st.sampled_from(paths))
        target = meta
        for key in path[:-1]:
            target = target[key]
        if draw(st.booleans()):
            target.pop(path[-1])
        else:
            target[path[-1]] = copy.deepcopy(draw(JSON_VALUES))
    try:
        meta["content_sha256"] = content_digest(meta)
    except ValueError:  # an infinite float has no canonical JSON: refused as unreadable
        meta["content_sha256"] = ""
    entries[j] = ("meta.json", json.dumps(meta).encode())
    return rezip(entries)


@FUZZ
@given(forged_meta())
@pytest.mark.timeout(300)
def test_forged_metadata_gives_a_clean_error_or_a_well_formed_model(data):
    """Whoever recomputes the digest can change the metadata at will; loading must still end
    in ModelFileError/InputError or a model whose record fits its network, never a crash."""
    from deltaprop.data.pipeline import ModelInfo
    from deltaprop.errors import DeltapropError

    try:
        net = load_bytes(data)
        info = ModelInfo.from_network(net)
    except DeltapropError as exc:
        assert str(exc)
        return
    assert len(info.class_names) == net.n_outputs and info.n_features == net.n_inputs
