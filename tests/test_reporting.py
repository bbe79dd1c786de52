"""Metrics and summaries printed by ``deltaprop train`` / ``evaluate``; the model-file bundle."""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli.report import classification_metrics, format_summary, regression_metrics
from deltaprop.data.pipeline import ModelInfo, make_preprocessor, read_features
from deltaprop.errors import InputError


def test_classification_metrics_from_the_confusion_matrix():
    m = classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 1], 3)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 1, 0]]
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["precision"] == pytest.approx([1.0, 0.5, 0.0])  # class 2 never predicted: 0
    assert m["recall"] == pytest.approx([0.5, 1.0, 0.0])
    assert m["support"] == [2, 2, 1]


def test_regression_metrics():
    m = regression_metrics(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [4.0]]))
    assert m["r2"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx([np.sqrt(1 / 3)])
    assert m["mae"] == pytest.approx([1 / 3])


def test_summary_has_the_greppable_accuracy_line_and_the_matrix():
    m = classification_metrics([0, 1, 1], [0, 1, 0], 2)
    text = format_summary("test set", 3, 0.25, m, ["neg", "pos"])
    lines = text.splitlines()
    assert "accuracy: 0.6667" in lines and "loss: 0.2500" in lines
    assert any(line.split() == ["pos", "1", "1"] for line in lines)  # confusion-matrix row


def test_model_info_survives_the_model_file(tmp_path):
    X = np.random.default_rng(0).normal(3.0, 2.0, (50, 4))
    pre = make_preprocessor("standardize")
    pre.fit(X)
    net = dp.mlp([4, 3], seed=0)
    info = ModelInfo("classification", ["a", "b", "c"], ["a", "b", "c"], "toy", 0, 4, pre)
    net.save(tmp_path / "m.npz", extras=info.to_extras())
    back = ModelInfo.from_network(dp.load(tmp_path / "m.npz"))
    np.testing.assert_allclose(back.transform(X, "X"), pre.transform(X))
    assert back.class_names == ["a", "b", "c"] and back.schema is None
    with pytest.raises(InputError, match="has 3 features, the model expects 4"):
        back.transform(X[:, :3], "X")


def test_model_without_cli_record_is_refused(tmp_path):
    net = dp.mlp([2, 2], seed=0)
    net.save(tmp_path / "plain.npz")
    with pytest.raises(InputError, match="not written by 'deltaprop train'"):
        ModelInfo.from_network(dp.load(tmp_path / "plain.npz"), "plain.npz")


def test_read_features_with_and_without_header(tmp_path):
    info = ModelInfo("classification", ["0", "1"], ["0", "1"], "toy", 0, 2)
    (tmp_path / "h.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "n.csv").write_text("1,2\n3,4\n")
    for name in ("h.csv", "n.csv"):
        np.testing.assert_array_equal(read_features(str(tmp_path / name), info),
                                      [[1, 2], [3, 4]])
    (tmp_path / "bad.csv").write_text("1,2\n3,oops\n")
    with pytest.raises(InputError, match="row 2 holds a value that is not a number"):
        read_features(str(tmp_path / "bad.csv"), info)
