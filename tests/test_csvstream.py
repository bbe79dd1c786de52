"""CSV files streamed in blocks (deltaprop.data.csvstream, deltaprop train --stream): the same
schema, encoding and standardization as the in-memory path."""

import numpy as np
import pytest

from deltaprop.cli.main import main
from deltaprop.data import csvstream
from deltaprop.data.csvstream import stream_csv
from deltaprop.data.preprocessing import Standardizer
from deltaprop.data.tabular import load_csv
from deltaprop.errors import InputError


def write_csv(path, n=200, seed=0, missing=False, regression=False):
    rng = np.random.default_rng(seed)
    lines = ["size, colour ,weight,label"]
    for i in range(n):
        size = f"{rng.normal(50, 10):.4f}"
        colour = ["red", "green", "blue"][int(rng.integers(3))]
        weight = f"{rng.normal(-3, 0.5):.3e}"
        if missing and i % 17 == 3:
            size = "NA"
        if missing and i % 23 == 5:
            colour = "?"
        label = f"{float(size if size != 'NA' else 0) * 0.1:.3f}" if regression \
            else ["cat", "dog"][int(rng.integers(2))]
        lines.append(f"{size}, {colour},{weight},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("missing", [False, True])
def test_one_part_equals_the_in_memory_path(tmp_path, missing):
    path = write_csv(tmp_path / "d.csv", missing=missing)
    impute = "mean" if missing else None
    s = stream_csv(path, "label", tmp_path / "mm", block_rows=13, impute=impute,
                   ratios=(1, 0, 0))
    d = load_csv(path, "label", impute=impute)
    assert s.schema.columns == d.schema.columns and s.schema.kinds == d.schema.kinds
    assert s.schema.categories == d.schema.categories and s.schema.classes == d.schema.classes
    assert s.schema.task == d.task == "classification"
    for col, value in d.schema.fill_values.items():
        assert s.schema.fill_values[col] == (value if isinstance(value, str)
                                             else pytest.approx(value, rel=1e-12))
    assert s.feature_names == d.feature_names and s.rows == {"train": 200, "val": 0, "test": 0}
    np.testing.assert_allclose(s.X["train"], d.X.astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(s.y["train"], d.y)
    full = Standardizer().fit(d.X)
    np.testing.assert_allclose(s.standardizer.mean_, full.mean_, rtol=1e-12)
    np.testing.assert_allclose(s.standardizer.scale_, full.scale_, rtol=1e-10)


def test_split_is_seeded_and_standardizes_on_the_training_rows(tmp_path):
    path = write_csv(tmp_path / "d.csv", n=700, regression=True)
    a = stream_csv(path, None, tmp_path / "a", block_rows=50, seed=3)
    b = stream_csv(path, None, tmp_path / "b", block_rows=50, seed=3)
    assert a.task == "regression" and a.schema.target == "label"
    assert a.rows == b.rows and sum(a.rows.values()) == 700
    assert 400 < a.rows["train"] < 600 and a.y["val"].shape == (a.rows["val"], 1)
    np.testing.assert_array_equal(a.X["test"], b.X["test"])
    full = Standardizer().fit(np.asarray(a.X["train"], np.float64))
    np.testing.assert_allclose(a.standardizer.mean_, full.mean_, rtol=1e-6)
    np.testing.assert_allclose(a.standardizer.scale_, full.scale_, rtol=1e-6)


def test_stream_errors_name_row_and_column(tmp_path):
    path = write_csv(tmp_path / "d.csv", missing=True)
    with pytest.raises(InputError, match=r"data row 4, column 'size': missing value"):
        stream_csv(path, "label", tmp_path / "m")
    with pytest.raises(InputError, match="impute=None or 'mean'"):
        stream_csv(path, "label", tmp_path / "m", impute="median")
    with pytest.raises(InputError, match="'nope' not found"):
        stream_csv(path, "nope", tmp_path / "m")
    bad = tmp_path / "inf.csv"
    bad.write_text("a,b\n1,0\ninf,1\n2,0\n")
    with pytest.raises(InputError, match=r"data row 2, column 'a': non-finite"):
        stream_csv(bad, "b", tmp_path / "m")


def test_cli_trains_on_a_streamed_csv(tmp_path, capsys, monkeypatch):
    path = write_csv(tmp_path / "d.csv", n=350)
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(path), "--stream", "--epochs", "3", "--layers",
                 "8", "--batch-size", "16", "--quiet", "--out", str(out),
                 "--checkpoint-every", "1"]) == 0
    err = capsys.readouterr()
    assert "(streamed)" in err.err and "accuracy:" in err.out
    assert (out / "model.npz").is_file() and not list(out.glob(".stream-*"))
    assert main(["predict", str(out / "model.npz"), str(path), "-o", str(tmp_path / "p.csv")]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 351
    # automatic above the threshold, refused for a built-in dataset
    monkeypatch.setattr(csvstream, "STREAM_THRESHOLD_BYTES", 100)
    assert main(["train", "--dataset", str(path), "--epochs", "1", "--quiet", "--out",
                 str(tmp_path / "auto")]) == 0
    assert "(streamed)" in capsys.readouterr().err
    assert main(["train", "--dataset", "iris", "--stream", "--quiet"]) == 2
    assert "--stream reads a CSV file" in capsys.readouterr().err
