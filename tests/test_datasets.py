import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from deltaprop import datasets as ds
from deltaprop.data.datasets import CsvSchema, DownloadError, encode_csv, load_csv
from deltaprop.data.splits import split_indices, train_val_test_split
from deltaprop.errors import DeltapropError, InputError

# ------------------------------------------------------------------------------ toys


def test_xor_matches_notes():
    d = ds.xor()
    assert d.X.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]] and d.y.tolist() == [0, 1, 1, 0]
    noisy = ds.xor(5, noise=0.1, seed=0)
    assert noisy.X.shape == (20, 2) and np.bincount(noisy.y).tolist() == [10, 10]


@pytest.mark.parametrize("fn, shape, k", [
    (ds.blobs, (300, 2), 3), (ds.circles, (400, 2), 2), (ds.spiral, (300, 2), 3),
    (ds.two_spirals, (400, 2), 2),
])
def test_classification_toys_shapes_and_determinism(fn, shape, k):
    a, b, c = fn(seed=1), fn(seed=1), fn(seed=2)
    assert a.X.shape == shape and a.task == "classification" and a.n_classes == k
    assert a.y.dtype == np.int64 and set(np.unique(a.y)) == set(range(k))
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)


def test_spiral_k_classes():
    d = ds.spiral(50, 5, seed=0)
    assert d.X.shape == (250, 2) and np.bincount(d.y).tolist() == [50] * 5


def test_spiral_reaches_97_percent_with_64_64_net():
    from sklearn.neural_network import MLPClassifier

    d = ds.spiral()
    net = MLPClassifier((64, 64), learning_rate_init=0.01, max_iter=2000, random_state=0)
    assert net.fit(d.X, d.y).score(d.X, d.y) >= 0.97


def test_free_fall_is_half_g_t_squared():
    d = ds.free_fall(50, seed=0)
    assert d.X.shape == (50, 1) and d.y.shape == (50,) and d.task == "regression"
    assert np.allclose(d.y, 0.5 * 9.81 * d.X[:, 0] ** 2)


def test_noisy_sine():
    d = ds.noisy_sine(2000, noise=0.1, seed=0)
    resid = d.y - np.sin(d.X[:, 0])
    assert abs(resid.std() - 0.1) < 0.01


@pytest.mark.parametrize("call, msg", [
    (lambda: ds.blobs(0), "n_samples must be an integer >= 3"),
    (lambda: ds.circles(noise=-1), "noise must be"),
    (lambda: ds.circles(factor=1.5), "factor"),
    (lambda: ds.spiral(n_classes=1), "n_classes"),
    (lambda: ds.free_fall(t_max=0), "t_max"),
])
def test_toy_argument_errors(call, msg):
    with pytest.raises(InputError, match=msg):
        call()


@pytest.mark.parametrize("name, n, d, task", [
    ("digits", 1797, 64, "classification"), ("iris", 150, 4, "classification"),
    ("wine", 178, 13, "classification"), ("breast_cancer", 569, 30, "classification"),
    ("diabetes", 442, 10, "regression"),
])
def test_sklearn_sets(name, n, d, task):
    data = ds.load_dataset(name)
    assert data.X.shape == (n, d) and data.task == task and len(data.feature_names) == d
    if task == "classification":
        assert data.y.dtype == np.int64 and data.y.max() == len(data.target_names) - 1


def test_load_dataset_by_name_and_unknown():
    assert ds.load_dataset("Two-Spirals", seed=3).name == "two_spirals"
    with pytest.raises(InputError, match="unknown dataset 'spirals'; valid names: .*two_spirals"):
        ds.load_dataset("spirals")
    with pytest.raises(InputError, match="unexpected keyword"):
        ds.load_dataset("xor", colour="red")


# ------------------------------------------------------------------------------ IDX


def idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int32: 0x0C}[arr.dtype.type]
    head = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, ">i4").tobytes()
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def test_read_idx_roundtrip_and_errors(tmp_path):
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    assert np.array_equal(ds.read_idx(idx_bytes(a)), a)
    p = tmp_path / "a.gz"
    p.write_bytes(gzip.compress(idx_bytes(a)))
    assert np.array_equal(ds.read_idx(p), a)
    with pytest.raises(InputError, match="bad magic number"):
        ds.read_idx(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(InputError, match=r"need 28 bytes, file has 27"):
        ds.read_idx(idx_bytes(np.zeros(20, np.uint8))[:-1] + b"")
    with pytest.raises(InputError, match="cannot read IDX file"):
        ds.read_idx(tmp_path / "missing.gz")


# ------------------------------------------------------------------- MNIST download

FAKE = {
    "train-images-idx3-ubyte.gz": idx_bytes(np.arange(3 * 28 * 28, dtype=np.uint8)
                                            .reshape(3, 28, 28)),
    "train-labels-idx1-ubyte.gz": idx_bytes(np.array([1, 2, 3], np.uint8)),
    "t10k-images-idx3-ubyte.gz": idx_bytes(np.full((2, 28, 28), 255, np.uint8)),
    "t10k-labels-idx1-ubyte.gz": idx_bytes(np.array([7, 0], np.uint8)),
}
SUMS = {k: hashlib.sha256(v).hexdigest() for k, v in FAKE.items()}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # /good/<f>, /corrupt/<f>, /drop/<f>, anything else -> 404
        kind, _, name = self.path.strip("/").partition("/")
        if name not in FAKE or kind not in ("good", "corrupt", "drop"):
            self.send_error(404)
            return
        body = gzip.compress(FAKE[name])
        if kind == "corrupt":
            body = gzip.compress(FAKE[name][:-1] + b"\x99")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (1000 if kind == "drop" else 0)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if kind == "drop" else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    thread.join()


NAME = "train-labels-idx1-ubyte.gz"


def test_download_good(server, tmp_path):
    p = ds.download_file(NAME, tmp_path, mirrors=[server + "/good/"],
                         expected_sha256=SUMS[NAME], progress=False)
    assert gzip.decompress(p.read_bytes()) == FAKE[NAME]
    assert os.listdir(tmp_path) == [NAME]


def test_download_falls_back_after_corrupt_mirror(server, tmp_path):
    p = ds.download_file(NAME, tmp_path, mirrors=[server + "/corrupt", server + "/good"],
                         expected_sha256=SUMS[NAME], progress=False)
    assert gzip.decompress(p.read_bytes()) == FAKE[NAME]


def test_download_falls_back_after_dropped_connection(server, tmp_path):
    p = ds.download_file(NAME, tmp_path, mirrors=[server + "/drop", server + "/good"],
                         expected_sha256=SUMS[NAME], progress=False)
    assert p.exists() and sorted(os.listdir(tmp_path)) == [NAME]


def test_download_all_mirrors_fail(server, tmp_path):
    mirrors = [server + "/drop", server + "/corrupt", server + "/missing"]
    with pytest.raises(DownloadError) as info:
        ds.download_file(NAME, tmp_path, mirrors=mirrors, expected_sha256=SUMS[NAME],
                         progress=False)
    msg = str(info.value)
    assert NAME in msg and "3 mirror(s)" in msg
    assert "connection closed after" in msg and "SHA-256" in msg and "404" in msg
    assert all(m in msg for m in mirrors)
    assert os.listdir(tmp_path) == []  # no partial or temporary file left
    assert isinstance(info.value, DeltapropError) and isinstance(info.value, OSError)


def test_load_mnist_downloads_into_data_dir(server, tmp_path):
    d = ds.load_mnist(tmp_path / "m", mirrors=[server + "/good"], expected_sha256=SUMS,
                      progress=False)
    assert d.X.shape == (3, 784) and d.X.dtype == np.float32 and d.y.tolist() == [1, 2, 3]
    assert d.X_test.shape == (2, 784) and np.all(d.X_test == 1.0) and d.X.min() == 0.0
    assert sorted(os.listdir(tmp_path / "m")) == sorted(FAKE)
    again = ds.load_mnist(tmp_path / "m", download=False, expected_sha256=SUMS)
    assert np.array_equal(again.X, d.X)


def test_load_mnist_missing_without_download(tmp_path):
    with pytest.raises(InputError, match="missing and download=False"):
        ds.load_mnist(tmp_path, download=False)


def test_load_mnist_rejects_tampered_file(tmp_path):
    for name, content in FAKE.items():
        (tmp_path / name).write_bytes(gzip.compress(content))
    with pytest.raises(InputError, match="does not match its SHA-256"):
        ds.load_mnist(tmp_path, download=False)  # real checksums vs fake files


def test_mnist_dir_resolution(monkeypatch, tmp_path):
    assert ds.mnist_dir(tmp_path) == tmp_path
    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path))
    assert ds.mnist_dir() == tmp_path / "mnist"
    monkeypatch.delenv("DELTAPROP_DATA")
    assert ds.mnist_dir().name == "mnist" and "deltaprop" in str(ds.mnist_dir())


def _real_mnist_dir():
    root = os.environ.get("DELTAPROP_DATA")
    folder = Path(root) / "mnist" if root else None
    if folder is None or not all((folder / f).exists() for f in ds.MNIST_FILES):
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the MNIST files are missing under DELTAPROP_DATA={root}")
        pytest.skip("set DELTAPROP_DATA to a folder with mnist/ to run the real-data test")
    return folder


@pytest.mark.slow
def test_real_mnist():
    d = ds.load_mnist(_real_mnist_dir(), download=False)
    assert d.X.shape == (60000, 784) and d.X_test.shape == (10000, 784)
    assert d.X.dtype == np.float32 and d.X.min() == 0.0 and d.X.max() == 1.0
    assert np.bincount(d.y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                         5851, 5949]
    assert np.bincount(d.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                              974, 1009]


# ------------------------------------------------------------------------------ CSV


def write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_numeric_and_categorical(tmp_path):
    p = write(tmp_path, "size,colour,price\n1.5,red,10\n2,blue,12.5\n3, red ,7\n")
    d = load_csv(p, "price")
    assert d.task == "regression" and d.target_names == ["price"]
    assert d.feature_names == ["size", "colour=blue", "colour=red"]
    assert d.X.tolist() == [[1.5, 0, 1], [2, 1, 0], [3, 0, 1]]
    assert d.y.tolist() == [10, 12.5, 7]


def test_csv_target_task_detection(tmp_path):
    p = write(tmp_path, "x,label\n1,10\n2,2\n3,10\n4,2\n")
    d = load_csv(p, "label")
    assert d.task == "classification" and d.target_names == ["2", "10"]  # numeric order
    assert d.y.tolist() == [1, 0, 1, 0]
    assert load_csv(p, "label", task="regression").y.tolist() == [10, 2, 10, 2]
    s = write(tmp_path, "x,kind\n1,b\n2,a\n", "s.csv")
    assert load_csv(s, "kind").target_names == ["a", "b"]
    with pytest.raises(InputError, match="expected a number for regression, got 'b'"):
        load_csv(s, "kind", task="regression")
    r = write(tmp_path, "x,y\n1,0.5\n2,1.5\n3,0.5\n", "r.csv")
    assert load_csv(r, "y").task == "regression"


def test_csv_missing_values_name_line_and_column(tmp_path):
    p = write(tmp_path, "a,b,t\n1,x,0\n2,y,1\nNA,x,0\n4,?,1\n")
    with pytest.raises(InputError, match=r"line 4, column 'a': missing value 'NA'"):
        load_csv(p, "t")
    d = load_csv(p, "t", impute="mean")
    assert d.X[2, 0] == pytest.approx(7 / 3) and d.X[3].tolist()[1:] == [1, 0]
    assert load_csv(p, "t", impute="median").X[2, 0] == 2.0
    assert load_csv(p, "t", impute="most_frequent").X[2, 0] == 1.0
    q = write(tmp_path, "a,t\n1,0\n2,\n", "q.csv")
    with pytest.raises(InputError, match="line 3, target column 't': missing"):
        load_csv(q, "t", impute="mean")


@pytest.mark.parametrize("text, target, msg", [
    ("a,b\n1,2\n", "c", r"target column 'c' not found; columns are \['a', 'b'\]"),
    ("a,b\n1,2\n3\n", "b", "line 3: 1 fields, expected 2"),
    ("", "a", "empty"),
    ("a,b\n", "b", "no data rows"),
    ("a,a,b\n1,2,3\n", "b", "duplicate"),
    ("a,b\ninf,1\n2,2\n", "b", "line 2, column 'a': non-finite"),
    ("a,b\n,1\n,2\n", "b", "column 'a' has no values"),
])
def test_csv_errors(tmp_path, text, target, msg):
    with pytest.raises(InputError, match=msg):
        load_csv(write(tmp_path, text), target)


def test_csv_unreadable(tmp_path):
    with pytest.raises(InputError, match="cannot read CSV file"):
        load_csv(tmp_path / "nope.csv", "a")
    p = tmp_path / "bin.csv"
    p.write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_csv(p, "b")
    with pytest.raises(InputError, match="impute must be"):
        load_csv(p, "b", impute="zero")


def test_encode_csv_with_schema_roundtrip(tmp_path):
    train = write(tmp_path, "size,colour,label\n1,red,a\n2,blue,b\n3,red,a\n", "train.csv")
    d = load_csv(train, "label")
    cfg, arrays = d.schema.get_state()
    import json

    schema = CsvSchema.from_state(json.loads(json.dumps(cfg)), arrays)
    new = write(tmp_path, "colour,size\nblue,5\nred,6\n", "new.csv")  # reordered, no target
    X, y = encode_csv(new, schema)
    assert y is None and X.tolist() == [[5, 1, 0], [6, 0, 1]]
    X, y = encode_csv(train, schema)
    assert np.array_equal(X, d.X) and np.array_equal(y, d.y)
    bad = write(tmp_path, "size,colour\n1,green\n", "bad.csv")
    with pytest.raises(InputError, match="line 2, column 'colour': unseen category 'green'"):
        encode_csv(bad, schema)
    wrong = write(tmp_path, "size,weight\n1,2\n", "wrong.csv")
    with pytest.raises(InputError, match=r"missing \['colour'\], unexpected \['weight'\]"):
        encode_csv(wrong, schema)
    cls = write(tmp_path, "size,colour,label\n1,red,z\n", "cls.csv")
    with pytest.raises(InputError, match="unseen class 'z'"):
        encode_csv(cls, schema)


def test_csv_cell_beyond_float64_is_named_by_line_and_column(tmp_path):
    p = tmp_path / "big.csv"
    p.write_text("a,b,y\n1,2,3.5\n1,1e999,4.5\n2,3,5.5\n")
    with pytest.raises(InputError, match=r"big.csv, line 3, column 'b': value '1e999' is "
                                         r"beyond the range of a float64"):
        load_csv(p, "y")
    p.write_text("a,y\n1,2.5\n2,-1e400\n3,4.5\n")
    with pytest.raises(InputError, match=r"line 3, target column 'y': value '-1e400'"):
        load_csv(p, "y")


def test_csv_says_how_the_task_was_chosen(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,y\n" + "".join(f"{i},{i % 30}\n" for i in range(90)))
    d = load_csv(p, "y")
    assert d.task == "regression"
    assert "regression (inferred: 30 distinct integer values" in d.description
    assert "--task classification" in d.description
    d = load_csv(p, "y", task="classification")
    assert d.task == "classification" and d.n_classes == 30
    assert d.description.endswith("classification (given)")


def test_encode_csv_takes_the_files_own_target_name(tmp_path):
    train, other = tmp_path / "train.csv", tmp_path / "other.csv"
    train.write_text("a,y\n1,p\n2,q\n3,p\n")
    other.write_text("a,label\n3,q\n1,p\n")
    schema = load_csv(train, "y").schema
    X, y = encode_csv(other, schema, target="label")
    assert X[:, 0].tolist() == [3.0, 1.0] and y.tolist() == [1, 0]
    other.write_text("a,label,y\n3,q,p\n")
    with pytest.raises(InputError, match="both the model's target column 'y' and the --target"):
        encode_csv(other, schema, target="label")


@pytest.mark.parametrize("call", [
    lambda: split_indices(10, seed=-1),
    lambda: train_val_test_split(np.zeros((14, 2)), np.arange(14) % 2, seed=-1),
    lambda: ds.load_dataset("spiral", seed=-1),
])
def test_negative_seeds_are_clear_errors(call):
    with pytest.raises(InputError, match="seed must be an integer >= 0, got -1"):
        call()
