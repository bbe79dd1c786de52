"""Training on data bigger than memory (deltaprop.data.chunks and the Trainer's chunked epochs):
never materialised, seeded, bit-identical to in-memory training with one chunk, resumable."""

import tracemalloc

import dask.array as da
import numpy as np
import pytest

import deltaprop as dp
from deltaprop.data import chunks as chunks_module
from deltaprop.data.chunks import ChunkedData, as_chunked, is_chunked
from deltaprop.errors import InputError
from deltaprop.training import Trainer


def blobs(n=600, d=4, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, np.eye(3, dtype=dtype)[y]


class Guarded:
    """An array-like that serves row slices only: any conversion of the whole raises, and it
    records the largest number of rows a slice asked for."""

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.ndim = a, a.shape, a.dtype, a.ndim
        self.largest = 0

    def __getitem__(self, key):
        rows = key[0] if isinstance(key, tuple) else key
        if not isinstance(rows, slice):
            raise AssertionError(f"only row slices, got {key!r}")
        out = self.a[key]
        self.largest = max(self.largest, len(out))
        return out

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole array was materialised")

    def __len__(self):
        return len(self.a)


def trainer(net, **kw):
    opts = dict(optimizer="adam", learning_rate=0.01, batch_size=32, seed=3, verbose=0)
    opts.update(kw)
    return Trainer(net, **opts)


def same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# -- ChunkedData -------------------------------------------------------------------------
def test_bounds_from_dask_chunks_chunk_rows_and_bytes(monkeypatch):
    X, Y = blobs(100)
    assert ChunkedData(da.from_array(X, chunks=(30, 2)), Y).bounds == [
        (0, 30), (30, 60), (60, 90), (90, 100)]
    data = ChunkedData(X, Y, chunk_rows=40)
    assert data.bounds == [(0, 40), (40, 80), (80, 100)] and data.n_chunks == 3
    assert len(data) == 100 and data.max_chunk_rows == 40 and "3 chunks" in repr(data)
    monkeypatch.setattr(chunks_module, "DEFAULT_CHUNK_BYTES", 16 * 25)  # 25 rows of 4 float32
    assert ChunkedData(X, Y).bounds[0] == (0, 25)


def test_what_counts_as_chunked(tmp_path, monkeypatch):
    X, Y = blobs(100)
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert not is_chunked(X) and not is_chunked(mm)  # a small memmap is read whole
    assert is_chunked(da.from_array(X)) and is_chunked(ChunkedData(X, Y))
    monkeypatch.setattr(chunks_module, "DEFAULT_CHUNK_BYTES", 100)
    assert is_chunked(mm)


def test_read_copies_and_transforms():
    X, Y = blobs(50, dtype=np.float64)
    data = ChunkedData(da.from_array(X, chunks=20), Y, np.arange(50.0), chunk_rows=20,
                       transform_x=lambda a: a * 2, transform_y=lambda a: a[:, :2])
    Xc, Yc, wc = data.read(1, dtype=np.float32)
    assert Xc.dtype == np.float32 and np.allclose(Xc, 2 * X[20:40])
    assert Yc.shape == (20, 2) and wc.tolist() == list(range(20, 40))
    assert data.weight_mean() == 24.5
    assert ChunkedData(X, np.arange(50) % 3, chunk_rows=7).unique_targets().tolist() == [0, 1, 2]


def test_bad_chunked_input_is_refused_clearly():
    X, Y = blobs(50)
    with pytest.raises(InputError, match="X has 50 rows but Y has 49"):
        ChunkedData(X, Y[:49])
    with pytest.raises(InputError, match="chunk_rows"):
        ChunkedData(X, Y, chunk_rows=0)
    with pytest.raises(InputError, match="compute_chunk_sizes"):
        ChunkedData(da.from_array(X)[da.from_array(X)[:, 0] > 0], None)
    with pytest.raises(InputError, match="holds its own targets"):
        as_chunked(ChunkedData(X, Y), Y)
    net = dp.mlp([4, 8, 3], seed=0)
    with pytest.raises(InputError, match="validation_split"):
        trainer(net).fit(da.from_array(X), Y, epochs=1, validation_split=0.2)
    with pytest.raises(InputError, match="batch_size='full'"):
        trainer(net, batch_size="full").fit(da.from_array(X), Y, epochs=1)
    with pytest.raises(InputError, match="both chunked or both in memory"):
        trainer(net).fit(X, Y, epochs=1, validation_data=(da.from_array(X), Y))
    with pytest.raises(InputError, match="4 features .columns., expected 5"):
        trainer(dp.mlp([5, 3], seed=0)).fit(da.from_array(X), Y, epochs=1)
    with pytest.raises(InputError, match="needs its targets"):
        trainer(net).fit(ChunkedData(X), None, epochs=1)


# -- equivalence, reproducibility -------------------------------------------------------
@pytest.mark.parametrize("options", [
    {},                                                      # the fast path
    {"clip_value": 1.0, "sampling": "hard"},                 # the reference steps
    {"optimizer": "sgd", "momentum": 0.9, "batch_size": 1},  # online SGD
])
def test_one_chunk_is_bit_identical_to_in_memory(options):
    X, Y = blobs()
    runs = []
    for chunked in (False, True):
        net = dp.mlp([4, 8, 3], seed=0)
        t = trainer(net, **options)
        if chunked:
            h = t.fit(ChunkedData(X, Y, chunk_rows=len(X)), None, epochs=3,
                      validation_data=(ChunkedData(X[:100], Y[:100]), None))
        else:
            h = t.fit(X, Y, epochs=3, validation_data=(X[:100], Y[:100]))
        runs.append((net, h))
    (a, ha), (b, hb) = runs
    assert same_weights(a, b)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "grad_norm"):
        assert ha[key] == hb[key], key


def test_one_chunk_regression_with_weights_is_bit_identical():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(300, 1))
    w = rng.uniform(0.5, 2.0, 300)
    hs, nets = [], []
    for data in ((X, Y, w), (ChunkedData(X, Y, w, chunk_rows=300), None, None)):
        net = dp.mlp([3, 8, 1], output_activation="identity", seed=0)
        hs.append(trainer(net, optimizer="sgd", learning_rate=0.05).fit(
            data[0], data[1], sample_weight=data[2], epochs=3,
            validation_data=(X[:50], Y[:50])))
        nets.append(net)
    assert same_weights(*nets)
    assert hs[0]["r2"] == hs[1]["r2"] and hs[0]["val_r2"] == hs[1]["val_r2"]
    assert hs[0]["loss"] == hs[1]["loss"]


def test_many_chunks_are_seeded_and_visit_every_row():
    X, Y = blobs(1000)
    Xd, Yd = da.from_array(X, chunks=(128, 4)), da.from_array(Y, chunks=(128, 3))

    def run(seed, prefetch=False):
        net = dp.mlp([4, 16, 3], seed=0)
        h = trainer(net, seed=seed).fit(ChunkedData(Xd, Yd, prefetch=prefetch), None,
                                        epochs=4, validation_data=(Xd[:200], Yd[:200]))
        return net, h

    (a, ha), (b, hb), (c, _), (p, hp) = run(1), run(1), run(2), run(1, prefetch=True)
    assert same_weights(a, b) and ha["loss"] == hb["loss"]
    assert not same_weights(a, c)
    assert same_weights(a, p) and ha["val_loss"] == hp["val_loss"]  # prefetching changes nothing
    assert ha["accuracy"][-1] > 0.8 and ha["val_accuracy"][-1] > 0.8
    # 1000 rows in chunks of 128 (the last 104): every chunk ends with its own partial batch
    assert dp.train(dp.mlp([4, 16, 3], seed=0), Xd, Yd, epochs=1, verbose=0, batch_size=32,
                    seed=0).epochs[0]["grad_norm"] > 0


def test_chunk_order_and_rows_are_reshuffled_every_epoch():
    X, Y = blobs(400)
    seen = []

    class Recorder(ChunkedData):
        def read(self, k, dtype=None):
            seen.append(k)
            return super().read(k, dtype)

    trainer(dp.mlp([4, 3], seed=0)).fit(Recorder(X, Y, chunk_rows=100), None, epochs=3)
    epochs = [seen[i:i + 4] for i in range(0, 12, 4)]
    assert all(sorted(e) == [0, 1, 2, 3] for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1


# -- never materialised -----------------------------------------------------------------
def test_a_guarded_source_is_read_only_in_chunks():
    X, Y = blobs(1000)
    gx, gy = Guarded(X), Guarded(Y)
    net = dp.mlp([4, 8, 3], seed=0)
    trainer(net).fit(ChunkedData(gx, gy, chunk_rows=100), None, epochs=2)
    assert gx.largest == 100 and gy.largest == 100
    # through dask: from_array asks the guarded source for one block at a time
    gx2 = Guarded(X)
    Xd = da.from_array(gx2, chunks=(250, 4), asarray=False)
    dp.train(dp.mlp([4, 8, 3], seed=0), Xd, da.from_array(Y, chunks=(250, 3)), epochs=1,
             verbose=0, seed=0)
    assert gx2.largest == 250


def test_a_memmap_trains_with_peak_memory_far_below_its_size(tmp_path):
    n, d = 100_000, 20  # 8 MB of float32 features
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, d))
    Y = np.lib.format.open_memmap(tmp_path / "Y.npy", mode="w+", dtype=np.float32, shape=(n, 1))
    rng = np.random.default_rng(0)
    for lo in range(0, n, 10_000):
        X[lo:lo + 10_000] = rng.normal(size=(10_000, d))
        Y[lo:lo + 10_000] = X[lo:lo + 10_000, :1] > 0
    X.flush(), Y.flush()
    del X, Y
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    Ym = np.load(tmp_path / "Y.npy", mmap_mode="r")
    # warm-up: the compiled kernels are loaded (and their allocations made) outside the trace
    trainer(dp.mlp([d, 16, 1], output_activation="logistic", seed=0), batch_size=64).fit(
        np.array(Xm[:256]), np.array(Ym[:256]), epochs=1)
    net = dp.mlp([d, 16, 1], output_activation="logistic", seed=0)
    t = trainer(net, batch_size=64)
    tracemalloc.start()
    try:
        h = t.fit(ChunkedData(Xm, Ym, chunk_rows=5_000), None, epochs=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < Xm.nbytes / 8, f"peak {peak} bytes for {Xm.nbytes} bytes of data"
    assert h.epochs[0]["accuracy"] > 0.9


# -- checks, resume ---------------------------------------------------------------------
def test_values_are_checked_chunk_by_chunk():
    X, Y = blobs(400)
    X[250, 1] = np.nan
    net = dp.mlp([4, 8, 3], seed=0)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(InputError, match=r"X\[200:300\] contains nan at row 50, column 1"):
        trainer(net, shuffle=False).fit(ChunkedData(X, Y, chunk_rows=100), None, epochs=2)
    assert all(np.array_equal(p, q) for p, q in zip(net.parameters(), before, strict=True))
    X, Y = blobs(400)
    Y[330, 0] = 2.0  # outside the softmax's range
    with pytest.raises(InputError, match=r"Y\[300:400\]\[30, 0\] = 2"):
        trainer(net).fit(da.from_array(X, chunks=100), Y, epochs=1)
    X, Y = blobs(400)
    with pytest.raises(InputError, match=r"X_val\[0:50\] contains inf"):
        Xv = X[:50].copy()
        Xv[3, 3] = np.inf
        trainer(net).fit(da.from_array(X, chunks=100), Y, epochs=1,
                         validation_data=(da.from_array(Xv), Y[:50]))


def test_resume_on_chunked_data_is_bit_identical(tmp_path):
    X, Y = blobs(700)
    Xd, Yd = da.from_array(X, chunks=(150, 4)), da.from_array(Y, chunks=(150, 3))
    val = (Xd[:100], Yd[:100])

    def run(path, epochs, resume=False):
        net = dp.mlp([4, 12, 3], dropout=0.1, seed=0)
        t = trainer(net, optimizer="nesterov", momentum=0.9, schedule="plateau",
                    checkpoint_every=1, checkpoint_path=path)
        h = t.fit(Xd, Yd, epochs=epochs, validation_data=val, early_stopping=True,
                  patience=20, resume=resume)
        return net, h

    whole, hw = run(tmp_path / "a.ckpt", 6)
    run(tmp_path / "b.ckpt", 3)
    resumed, hr = run(tmp_path / "b.ckpt", 6, resume=True)
    assert same_weights(whole, resumed)
    assert hw["loss"] == hr["loss"] and hw["val_loss"] == hr["val_loss"]


def test_partial_fit_takes_chunked_data(tmp_path):
    X, Y = blobs(300)
    net = dp.mlp([4, 8, 3], seed=0)
    t = trainer(net)
    for _ in range(3):
        t.partial_fit(da.from_array(X, chunks=100), da.from_array(Y, chunks=100))
    assert len(t.history) == 3 and t.history["loss"][2] < t.history["loss"][0]


# -- the estimators ----------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators_fit_chunked_input_like_in_memory_input():
    from deltaprop.estimators import MLPClassifier, MLPRegressor

    X, _ = blobs(400)
    labels = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1)]
    opts = dict(hidden_layer_sizes=(8,), max_iter=4, random_state=0, batch_size=50)
    a = MLPClassifier(**opts).fit(X, labels)
    b = MLPClassifier(**opts).fit(da.from_array(X, chunks=400), da.from_array(labels))
    assert a.loss_curve_ == b.loss_curve_ and b.classes_.tolist() == ["a", "b", "c"]
    assert all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_, strict=True))
    assert b.n_features_in_ == 4
    r1 = MLPRegressor(solver="sgd", **opts).fit(X, X[:, 0] - X[:, 1])
    r2 = MLPRegressor(solver="sgd", **opts).fit(
        ChunkedData(X, X[:, 0] - X[:, 1], chunk_rows=400), None)
    assert r1.loss_curve_ == r2.loss_curve_
    guarded = Guarded(X)
    c = MLPClassifier(**opts).fit(da.from_array(guarded, chunks=(100, 4), asarray=False),
                                  labels)
    assert guarded.largest == 100 and c.t_ == 4 * 400


def test_estimators_partial_fit_and_refusals_on_chunked_input():
    from deltaprop.estimators import MLPClassifier

    X, _ = blobs(300)
    y = (X[:, 0] > 0).astype(int)
    Xd = da.from_array(X, chunks=100)
    clf = MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(Xd, y)
    for _ in range(3):
        clf.partial_fit(Xd, y, classes=[0, 1])
    assert len(clf.loss_curve_) == 3 and clf.loss_curve_[2] < clf.loss_curve_[0]
    with pytest.raises(ValueError, match="expecting 4 features"):
        clf.partial_fit(da.from_array(X[:, :3]), y)
    with pytest.raises(ValueError, match="solver='lbfgs' needs the data in memory"):
        MLPClassifier(solver="lbfgs").fit(Xd, y)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).fit(Xd, y)
