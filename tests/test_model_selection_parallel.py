"""Data-parallel training on a Dask cluster (deltaprop.model_selection.data_parallel_fit)."""

import dask.array as da
import numpy as np
import pytest

import deltaprop as dp
from deltaprop.errors import InputError
from deltaprop.model_selection import data_parallel_fit

distributed = pytest.importorskip("distributed")


def blobs(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, np.eye(3, dtype=np.float32)[y]


@pytest.fixture(scope="module")
def client():
    # in-process workers (inproc transport): fast to start, no ports; data_parallel_fit talks
    # to them exactly as to remote ones
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_rounds_average_the_shards_and_learn(client):
    X, Y = blobs()
    Xd, Yd = da.from_array(X, chunks=(400, 4)), da.from_array(Y, chunks=(400, 3))
    opts = dict(optimizer="adam", learning_rate=0.01, batch_size=32)
    nets, hists = [], []
    for _ in range(2):
        net = dp.mlp([4, 16, 3], seed=0)
        hists.append(data_parallel_fit(net, Xd, Yd, client=client, rounds=3, seed=1,
                                       validation_data=(X[:500], Y[:500]), **opts))
        nets.append(net)
    h = hists[0]
    assert len(h) == 3 and h["loss"][2] < h["loss"][0] and h["val_accuracy"][2] > 0.85
    assert h.best_epoch in (1, 2, 3) and hists[0]["loss"] == hists[1]["loss"]
    assert all(np.array_equal(p, q) for p, q in zip(*(n.parameters() for n in nets),
                                                    strict=True))


def test_one_shard_is_one_trainer_per_round(client):
    X, Y = blobs(600)
    Xd, Yd = da.from_array(X, chunks=(600, 4)), da.from_array(Y, chunks=(600, 3))
    net = dp.mlp([4, 8, 3], seed=0)
    h = data_parallel_fit(net, Xd, Yd, client=client, rounds=1, shards=1, seed=2,
                          optimizer="sgd", learning_rate=0.1, batch_size=50)
    ref = dp.mlp([4, 8, 3], seed=0)
    seed = int(np.random.SeedSequence([2, 1, 0]).generate_state(1)[0] >> 1)
    hr = dp.Trainer(ref, optimizer="sgd", learning_rate=0.1, batch_size=50, seed=seed,
                    verbose=0).partial_fit(X, Y)
    assert h["loss"] == hr["loss"]
    assert all(np.array_equal(p, q) for p, q in zip(net.parameters(), ref.parameters(),
                                                    strict=True))


def test_bad_calls_are_refused(client):
    X, Y = blobs(100)
    net = dp.mlp([4, 3], seed=0)
    with pytest.raises(InputError, match="dask arrays"):
        data_parallel_fit(net, X, Y, client=client)
    with pytest.raises(InputError, match="rounds"):
        data_parallel_fit(net, da.from_array(X), da.from_array(Y), client=client, rounds=0)
    with pytest.raises(InputError, match="seed"):
        data_parallel_fit(net, da.from_array(X), da.from_array(Y), client=client,
                          verbose=1)
    with pytest.raises(InputError, match=r"shape \(N, 5\)"):
        data_parallel_fit(dp.mlp([5, 3]), da.from_array(X), da.from_array(Y), client=client)
