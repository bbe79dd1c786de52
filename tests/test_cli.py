"""The ``deltaprop`` command, run end to end in subprocesses (as a user runs it)."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import datasets
from deltaprop.data.pipeline import ModelInfo

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args, cwd, timeout=300):
    """``python -m deltaprop ARGS`` in ``cwd``; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONWARNINGS="error")
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def accuracy_of(stdout):
    found = re.findall(r"^accuracy: (\d\.\d{4})$", stdout, flags=re.M)
    assert found, f"no 'accuracy: 0.xxxx' line in:\n{stdout}"
    return float(found[-1])


def assert_png(path):
    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 2000, path
    from matplotlib import image

    pixels = image.imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100
    assert pixels[..., :3].std() > 0.01  # something is drawn


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One default ``deltaprop train`` (no arguments), shared by several tests."""
    cwd = tmp_path_factory.mktemp("digits")
    proc = run_cli("train", cwd=cwd)
    return proc, cwd / "runs" / "digits"


# ------------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"]])
def test_help_on_every_command(tmp_path, command):
    proc = run_cli(*command, "--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: deltaprop")
    if command == ["train"]:
        for option in ("--dataset", "--target", "--layers", "--activation",
                       "--output-activation", "--loss", "--init", "--optimizer",
                       "--learning-rate", "--schedule", "--batch-size", "--epochs", "--dropout",
                       "--l1", "--l2", "--clip", "--early-stopping", "--augment", "--seed",
                       "--dtype", "--out", "--checkpoint-every", "--resume"):
            assert option in proc.stdout, option


# ------------------------------------------------------------------------------ train
def test_default_train_on_digits_writes_model_history_and_figures(digits_run):
    proc, out = digits_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert accuracy_of(proc.stdout) >= 0.95
    assert "precision" in proc.stdout and "confusion matrix" in proc.stdout
    history = json.loads((out / "history.json").read_text())
    assert len(history["epochs"]) == 30 and history["best_epoch"] in range(1, 31)
    assert history["epochs"][-1]["loss"] < history["epochs"][0]["loss"]
    assert_png(out / "learning_curves.png")
    assert_png(out / "confusion_matrix.png")
    net = dp.load(out / "model.npz")
    info = ModelInfo.from_network(net)
    assert (net.n_inputs, net.n_outputs) == (64, 10)
    assert info.class_names == [str(i) for i in range(10)]
    assert info.preprocessor is not None  # standardization travels in the model file


def test_evaluate_repeats_the_test_summary_of_train(digits_run):
    proc, out = digits_run
    ev = run_cli("evaluate", out / "model.npz", "--dataset", "digits", cwd=out)
    assert ev.returncode == 0, ev.stderr
    assert accuracy_of(ev.stdout) == accuracy_of(proc.stdout)
    summary = proc.stdout[proc.stdout.index("test set"):].split("\n\n")[:3]
    assert ev.stdout.startswith("\n\n".join(summary))  # same loss, metrics and matrix


def test_predict_takes_raw_inputs_through_the_stored_preprocessing(digits_run, tmp_path):
    _, out = digits_run
    data = datasets.digits()
    X, y = data.X[:200], data.y[:200]
    write_csv(tmp_path / "raw.csv", data.feature_names, X.tolist())
    proc = run_cli("predict", out / "model.npz", "raw.csv", "--proba", "-o", "pred.csv",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "pred.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pred = np.array([int(r["prediction"]) for r in rows])
    proba = np.array([[float(r[f"p_{k}"]) for k in range(10)] for r in rows])
    net = dp.load(out / "model.npz")
    expected = net.forward(ModelInfo.from_network(net).transform(X, "X")).argmax(axis=1)
    np.testing.assert_array_equal(pred, expected)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    assert (pred == y).mean() > 0.95  # raw pixels 0..16 work: the model standardizes them


def test_csv_train_predict_roundtrip_with_categorical_column(tmp_path):
    rng = np.random.default_rng(0)
    kinds, rows = ["bird", "cat", "dog"], []
    for i in range(240):
        k = i % 3
        rows.append([f"{[0.3, 4, 30][k] * rng.uniform(0.7, 1.3):.3f}",
                     rng.choice(["black", "white"]),
                     f"{[10, 25, 60][k] * rng.uniform(0.8, 1.2):.2f}", kinds[k]])
    write_csv(tmp_path / "pets.csv", ["weight", "color", "height", "kind"], rows)
    proc = run_cli("train", "--dataset", "pets.csv", "--target", "kind", "--epochs", "40",
                   "--layers", "16", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert accuracy_of(proc.stdout) >= 0.9
    assert_png(tmp_path / "run" / "confusion_matrix.png")
    # new file: columns in another order, no target column
    write_csv(tmp_path / "new.csv", ["height", "weight", "color"],
              [["11", "0.3", "white"], ["24", "4.2", "black"], ["61", "29", "white"]])
    pred = run_cli("predict", "run/model.npz", "new.csv", cwd=tmp_path)
    assert pred.returncode == 0, pred.stderr
    assert pred.stdout.splitlines() == ["prediction", "bird", "cat", "dog"]


def test_csv_regression_predicts_in_target_units(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2, 300)
    write_csv(tmp_path / "fall.csv", ["t", "h"], [[f"{a:.4f}", f"{4.905 * a * a:.4f}"]
                                                 for a in x])
    proc = run_cli("train", "--dataset", "fall.csv", "--layers", "32", "--epochs", "60",
                   "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    r2 = float(re.search(r"^r2: (\S+)$", proc.stdout, flags=re.M).group(1))
    assert r2 > 0.95
    write_csv(tmp_path / "t.csv", ["t"], [["0.5"], ["1.5"]])
    pred = run_cli("predict", "run/model.npz", "t.csv", cwd=tmp_path)
    assert pred.returncode == 0, pred.stderr
    lines = pred.stdout.splitlines()
    assert lines[0] == "h"
    np.testing.assert_allclose([float(v) for v in lines[1:]], [1.226, 11.036], atol=1.0)


def test_resume_continues_from_the_checkpoint_like_an_uninterrupted_run(tmp_path):
    common = ("--epochs", "6", "--layers", "16", "--quiet")
    full = run_cli("train", *common, "--out", "full", cwd=tmp_path)
    part = run_cli("train", "--epochs", "3", "--layers", "16", "--checkpoint-every", "1",
                   "--out", "part", cwd=tmp_path)
    assert full.returncode == 0 and part.returncode == 0, full.stderr + part.stderr
    assert (tmp_path / "part" / "checkpoint.ckpt").is_file()
    resumed = run_cli("train", "--resume", "--epochs", "6", "--out", "part", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    h_full = json.loads((tmp_path / "full" / "history.json").read_text())
    h_res = json.loads((tmp_path / "part" / "history.json").read_text())
    assert [e["loss"] for e in h_res["epochs"]] == [e["loss"] for e in h_full["epochs"]]
    assert h_res["best_epoch"] == h_full["best_epoch"]
    assert accuracy_of(resumed.stdout) == accuracy_of(full.stdout)


def test_python_dash_m_deltaprop_cli_also_works(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "deltaprop.cli.main", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"deltaprop {dp.__version__}"


# ------------------------------------------------------------------------ user errors
def _not_utf8(tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    return ["train", "--dataset", "bin.csv"]


USER_ERRORS = {
    "unknown dataset": (["train", "--dataset", "nosuchset"], "unknown dataset 'nosuchset'"),
    "missing CSV": (["train", "--dataset", "missing.csv"], "cannot read CSV file missing.csv"),
    "CSV not UTF-8": (_not_utf8, "bin.csv is not UTF-8 text"),
    "CSV target absent": (["train", "--dataset", "ok.csv", "--target", "zz"],
                          "target column 'zz' not found"),
    "bad --layers": (["train", "--layers", "12,x"], "argument --layers"),
    "bad --batch-size": (["train", "--batch-size", "0"], "argument --batch-size"),
    "bad --learning-rate": (["train", "--learning-rate", "-1"], "argument --learning-rate"),
    "bad --epochs": (["train", "--epochs", "many"], "argument --epochs"),
    "bad --optimizer": (["train", "--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    "bad --activation": (["train", "--activation", "swish"], "unknown activation 'swish'"),
    "bad --schedule": (["train", "--schedule", "zigzag"], "unknown schedule 'zigzag'"),
    "bad --augment": (["train", "--augment", "blur=2"], "unknown key 'blur'"),
    "--target on built-in": (["train", "--dataset", "iris", "--target", "x"],
                             "--target only applies to CSV files"),
    "resume without a run": (["train", "--resume", "--out", "empty"], "nothing to resume"),
    "model file missing": (["predict", "nomodel.npz", "ok.csv"], "nomodel.npz"),
    "not a model file": (["predict", "ok.csv", "ok.csv"], "not a valid deltaprop model file"),
    "missing subcommand": ([], "required"),
}


@pytest.mark.parametrize("name", list(USER_ERRORS))
def test_user_errors_print_one_line_and_exit_2(tmp_path, name):
    args, message = USER_ERRORS[name]
    write_csv(tmp_path / "ok.csv", ["a", "b", "y"], [[1, 2, 0], [3, 4, 1]] * 5)
    if callable(args):
        args = args(tmp_path)
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("deltaprop") and "error: " in lines[0]
    assert message in lines[0]


def test_wrong_feature_count_for_a_model(digits_run, tmp_path):
    _, out = digits_run
    write_csv(tmp_path / "three.csv", ["a", "b", "c"], [[1, 2, 3]])
    for args, message in [
        (["predict", out / "model.npz", "three.csv"], "has 3 columns, the model expects 64"),
        (["evaluate", out / "model.npz", "--dataset", "iris"], "iris has 4 features, the "
                                                              "model expects 64"),
    ]:
        proc = run_cli(*args, cwd=tmp_path)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert lines[0].startswith("deltaprop: error: ") and message in lines[0]


# ------------------------------------------------------------------------------ MNIST
def _readme_mnist_command():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"^(deltaprop train --dataset mnist[^\n]*)$", text, flags=re.M)
    assert found, "README.md has no 'deltaprop train --dataset mnist ...' command line"
    return found[0].split("#")[0].split()[1:]  # a shell comment may follow the command


@pytest.mark.slow
def test_mnist_with_the_readme_settings_reaches_98_percent(tmp_path):
    from deltaprop.data.datasets import MNIST_FILES, mnist_dir

    if not all((mnist_dir() / f).is_file() for f in MNIST_FILES):
        pytest.skip(f"MNIST files not in {mnist_dir()} (set DELTAPROP_DATA)")
    proc = run_cli(*_readme_mnist_command(), "--out", "mnist", "--quiet", cwd=tmp_path,
                   timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "mnist test set (10000 samples)" in proc.stdout
    assert accuracy_of(proc.stdout) >= 0.98
    assert_png(tmp_path / "mnist" / "learning_curves.png")


def test_explain_and_plot_subcommands(tmp_path):
    grounded = run_cli("explain", "--example", "grounded", cwd=tmp_path)
    assert grounded.returncode == 0, grounded.stderr
    for value in ("0.550, 0.711", "[0.512]", "[-0.488]", "-0.140   0.310", "ŷ = [0.722]"):
        assert value in grounded.stdout
    xor = run_cli("explain", "--example", "xor", cwd=tmp_path)
    assert xor.returncode == 0, xor.stderr
    assert "xor" in xor.stdout.lower()
    bad = run_cli("explain", "--example", "nope", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    help_ = run_cli("plot", "--help", cwd=tmp_path)
    assert help_.returncode == 0 and "usage: deltaprop plot" in help_.stdout


# ---------------------------------------------------------------- reliability (issue 15)
@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """A small iris model (a built-in data set: no CSV schema in the model file)."""
    cwd = tmp_path_factory.mktemp("iris")
    proc = run_cli("train", "--dataset", "iris", "--epochs", "60", "--layers", "8", "--quiet",
                   "--out", "iris", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd / "iris" / "model.npz"


def one_error(proc):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and len(lines) == 1
    assert lines[0].startswith(("deltaprop: error: ", "deltaprop train: error: "))
    return lines[0]


def test_one_class_target_is_refused(tmp_path):
    write_csv(tmp_path / "one.csv", ["a", "b", "y"], [[i, i % 3, "x"] for i in range(30)])
    line = one_error(run_cli("train", "--dataset", "one.csv", "--out", "run", cwd=tmp_path))
    assert "every row has the class 'x'; a classifier needs at least 2 classes" in line
    assert not (tmp_path / "run" / "model.npz").exists()


def test_task_is_said_when_inferred_and_can_be_given(tmp_path):
    rows = [[i, (i * 7) % 13, i % 25] for i in range(200)]  # 25 integer labels
    write_csv(tmp_path / "ints.csv", ["a", "b", "y"], rows)
    common = ("train", "--dataset", "ints.csv", "--epochs", "1", "--layers", "4", "--quiet")
    inferred = run_cli(*common, "--out", "r", cwd=tmp_path)
    assert inferred.returncode == 0, inferred.stderr
    assert ("CSV file ints.csv: regression (inferred: 25 distinct integer values"
            in inferred.stderr and "pass --task classification" in inferred.stderr)
    given = run_cli(*common, "--task", "classification", "--out", "c", cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    assert "CSV file ints.csv: classification (given)" in given.stderr
    assert "accuracy:" in given.stdout
    info = ModelInfo.from_network(dp.load(tmp_path / "c" / "model.npz"))
    assert info.task == "classification" and len(info.class_names) == 25
    line = one_error(run_cli("train", "--dataset", "iris", "--task", "regression",
                             cwd=tmp_path))
    assert "the built-in dataset 'iris' is a classification dataset" in line


def test_values_near_the_float64_limit_are_standardized_not_zeroed(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.uniform(-1.0, 1.0, size=120) * 1.7e308
    rows = [[repr(float(v)), i % 5, "pos" if v > 0 else "neg"] for i, v in enumerate(a)]
    write_csv(tmp_path / "big.csv", ["a", "b", "y"], rows)
    proc = run_cli("train", "--dataset", "big.csv", "--epochs", "40", "--layers", "4",
                   "--learning-rate", "0.05", "--quiet", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr
    info = ModelInfo.from_network(dp.load(tmp_path / "run" / "model.npz"))
    scale = info.preprocessor.steps[0].scale_
    assert np.isfinite(scale).all() and scale[0] > 1e307  # column a keeps its information
    assert accuracy_of(proc.stdout) >= 0.8  # the sign of a decides the class (zeroed: ~0.5)


def test_an_overflowing_cell_is_named_by_line_and_column(tmp_path):
    rows = [[i, i % 3, i % 2] for i in range(40)]
    rows[30][1] = "1e999"
    write_csv(tmp_path / "ovf.csv", ["a", "b", "y"], rows)
    line = one_error(run_cli("train", "--dataset", "ovf.csv", cwd=tmp_path))
    assert "ovf.csv, line 32, column 'b': value '1e999' is beyond the range of a float64" in line


def test_evaluate_matches_classes_by_name_on_a_subset(iris_run, tmp_path):
    data = datasets.load_dataset("iris")
    keep = data.y > 0  # versicolor and virginica only
    names = [data.target_names[k] for k in data.y[keep]]
    write_csv(tmp_path / "two.csv", [*data.feature_names, "species"],
              [[*x, n] for x, n in zip(data.X[keep].tolist(), names, strict=True)])
    proc = run_cli("evaluate", iris_run, "--dataset", "two.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert accuracy_of(proc.stdout) >= 0.8  # re-indexed labels gave about 0
    write_csv(tmp_path / "alien.csv", [*data.feature_names, "species"],
              [[*data.X[0].tolist(), "rose"], [*data.X[1].tolist(), "setosa"]])
    line = one_error(run_cli("evaluate", iris_run, "--dataset", "alien.csv", cwd=tmp_path))
    assert "has classes ['rose'] that the model does not know" in line


def test_evaluate_takes_target(tmp_path):
    rows = [[i % 9, (i * 5) % 7, "hi" if i % 9 > 4 else "lo"] for i in range(140)]
    write_csv(tmp_path / "train.csv", ["a", "b", "y"], rows)
    write_csv(tmp_path / "eval.csv", ["a", "b", "label"], rows[:30])
    proc = run_cli("train", "--dataset", "train.csv", "--epochs", "2", "--layers", "4",
                   "--quiet", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ev = run_cli("evaluate", "run/model.npz", "--dataset", "eval.csv", "--target", "label",
                 cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert "eval.csv (all rows) (30 samples)" in ev.stdout
    line = one_error(run_cli("evaluate", "run/model.npz", "--dataset", "eval.csv", "--target",
                             "nope", cwd=tmp_path))
    assert "target column 'nope' not found" in line


def test_messages_point_to_the_right_thing(iris_run, tmp_path):
    line = one_error(run_cli("evaluate", iris_run, "--dataset", "digits", cwd=tmp_path))
    assert "digits has 64 features, the model expects 4" in line  # not a class problem
    line = one_error(run_cli("evaluate", iris_run.parent, "--dataset", "iris", cwd=tmp_path))
    assert "is a directory, not a deltaprop model file" in line
    (tmp_path / "data.csv").mkdir()
    line = one_error(run_cli("train", "--dataset", "data.csv", cwd=tmp_path))
    assert "data.csv is a directory, not a CSV file" in line
    write_csv(tmp_path / "x.csv", ["a", "b", "c", "d"], [[1, 2, 3, 4]])
    (tmp_path / "afile").write_text("")
    line = one_error(run_cli("predict", iris_run, "x.csv", "-o", "afile/pred.csv",
                             cwd=tmp_path))
    assert line.startswith("deltaprop: error: afile/pred.csv: ") and ".tmp" not in line
    write_csv(tmp_path / "inf.csv", ["a", "b", "c", "d"], [[1, 2, 3, 4], [1, "1e999", 3, 4]])
    line = one_error(run_cli("predict", iris_run, "inf.csv", cwd=tmp_path))
    assert "data row 2, column 2: value '1e999' is not a finite number" in line


def test_hostile_arguments_are_clean_errors(iris_run, tmp_path):
    line = one_error(run_cli("train", "--seed", "-1", cwd=tmp_path))
    assert "argument --seed: expected an integer >= 0, got '-1'" in line
    line = one_error(run_cli("plot", "hinton", iris_run, "-o", "h.png", "--layer", "99",
                             cwd=tmp_path))
    assert "layer 99 is out of range: the network has 2 trainable layers" in line
    line = one_error(run_cli("plot", "hinton", iris_run, "-o", "h.png", "--dpi", "0",
                             cwd=tmp_path))
    assert "dpi must be a number >= 1" in line
    line = one_error(run_cli("plot", "templates", iris_run, "-o", "t.png", "--shape", "2x",
                             cwd=tmp_path))
    assert "--shape '2x': expected ROWSxCOLS" in line


# ------------------------------------------------------- applying a model file's preprocessing
@pytest.fixture(scope="module")
def spiral_run(tmp_path_factory):
    """The spiral model of the README's plotting example (standardized inputs)."""
    cwd = tmp_path_factory.mktemp("spiral")
    proc = run_cli("train", "--dataset", "spiral", "--layers", "32,32", "--epochs", "150",
                   "--learning-rate", "0.01", "--out", "spir", "--quiet", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd


@pytest.mark.parametrize("kind", ["decision-regions", "confusion", "activations", "landscape"])
def test_plot_applies_the_stored_preprocessing_and_matches_evaluate(spiral_run, kind):
    cwd = spiral_run
    evaluated = run_cli("evaluate", "spir/model.npz", "--dataset", "spiral", cwd=cwd)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = accuracy_of(evaluated.stdout)
    assert accuracy > 0.9
    n_rows = int(re.search(r"\((\d+) samples\)", evaluated.stdout).group(1))
    proc = run_cli("plot", kind, "spir/model.npz", "--data", "spiral", "-o", f"{kind}.png",
                   "--points", "5", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert len(line.splitlines()) == 1
    found = re.fullmatch(rf"wrote {kind}\.png \(accuracy (\d\.\d{{4}}) on (.+), (\d+) rows\)",
                         line)
    assert found, line
    assert float(found.group(1)) == accuracy and int(found.group(3)) == n_rows
    assert "spiral" in found.group(2)
    assert_png(cwd / f"{kind}.png")


def test_explain_applies_the_stored_preprocessing_and_shows_both_inputs(spiral_run):
    from deltaprop.data.pipeline import load_model

    proc = run_cli("explain", "--model", "spir/model.npz", "--x", "0.5,0.1", "--y", "1,0,0",
                   cwd=spiral_run)
    assert proc.returncode == 0, proc.stderr
    _, info = load_model(spiral_run / "spir" / "model.npz")
    x = info.transform(np.array([[0.5, 0.1]]), "x")[0]
    assert "raw x          = 0.5, 0.1" in proc.stdout
    assert f"preprocessed x = {x[0]:.4g}, {x[1]:.4g}" in proc.stdout
    assert "standardize" in proc.stdout


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="error")
    proc = subprocess.Popen([sys.executable, "-m", "deltaprop", "explain", "--example", "xor"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the command writes (`| head -0`)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=60)
    assert err == "" and code in (0, 141), (code, err)


def test_plot_help_is_plain_text(tmp_path):
    proc = run_cli("plot", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "``" not in proc.stdout


# ------------------------------------------------------------------------ train options
def _history_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("keep", ["best", "last"])
def test_train_keeps_the_best_epochs_weights_unless_told_otherwise(tmp_path, keep):
    from deltaprop.data import pipeline as pl

    args = ["--keep", keep] if keep == "last" else []
    proc = run_cli("train", "--dataset", "spiral", "--layers", "32,32", "--epochs", "150",
                   "--learning-rate", "0.01", "--out", "s", "--quiet", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    hist = _history_json(tmp_path / "s" / "history.json")
    best, last = hist["best_epoch"], len(hist["epochs"])
    assert best < last  # this run's best epoch is not its last
    saved = best if keep == "best" else last
    summary = proc.stdout.strip().splitlines()[-1]
    assert f"saved the weights of {'epoch ' if keep == 'best' else 'the last epoch, '}{saved}" \
        in summary, summary
    net, info = pl.load_model(tmp_path / "s" / "model.npz")
    split = pl.split_data(pl.load_data("spiral"), info.seed)
    Y = pl.encode_targets(split.y_val, info.task, net.n_outputs, None, net.dtype)
    val_loss = net.evaluate(info.transform(split.X_val, "val").astype(net.dtype), Y)
    assert val_loss == pytest.approx(hist["epochs"][saved - 1]["val_loss"], rel=1e-5)


def test_scaled_tanh_output_gets_its_targets_scaled(tmp_path):
    from deltaprop.data import pipeline as pl

    proc = run_cli("train", "--dataset", "diabetes", "--output-activation", "scaled_tanh",
                   "--epochs", "5", "--out", "d", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^r2: ", proc.stdout, flags=re.M)
    _, info = pl.load_model(tmp_path / "d" / "model.npz")
    y = pl.split_data(pl.load_data("diabetes"), info.seed).y_train.reshape(-1, 1)
    scaled = info.target_scaler.transform(y)  # the training targets, on which it was fitted
    assert scaled.min() >= -1.0 - 1e-9 and scaled.max() <= 1.0 + 1e-9  # 002 §4: φ(±1) = ±1


def test_missing_csv_cell_names_the_cli_option(tmp_path):
    write_csv(tmp_path / "gap.csv", ["a", "b", "y"], [[1, 2, 0], [3, "", 1]] * 10)
    proc = run_cli("train", "--dataset", "gap.csv", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--impute mean" in proc.stderr and "impute=" not in proc.stderr, proc.stderr
    ok = run_cli("train", "--dataset", "gap.csv", "--impute", "mean", "--epochs", "1",
                 "--quiet", "--out", "g", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_tiny_data_sets_train_on_every_row(tmp_path):
    proc = run_cli("train", "--dataset", "xor", "--layers", "8", "--epochs", "300",
                   "--learning-rate", "0.05", "--batch-size", "full", "--out", "x", "--quiet",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "np.float64" not in proc.stderr + proc.stdout
    assert "note: xor has 4 rows" in proc.stderr and "--split none" in proc.stderr
    assert "all rows of xor" in proc.stdout and accuracy_of(proc.stdout) == 1.0
    evaluated = run_cli("evaluate", "x/model.npz", "--dataset", "xor", cwd=tmp_path)
    assert evaluated.returncode == 0 and "(4 samples)" in evaluated.stdout
    explicit = run_cli("train", "--dataset", "iris", "--split", "none", "--epochs", "2",
                       "--out", "i", "--quiet", cwd=tmp_path)
    assert explicit.returncode == 0, explicit.stderr
    assert "all rows of iris" in explicit.stdout and "(150 samples)" in explicit.stdout
    stopping = run_cli("train", "--dataset", "iris", "--split", "none", "--early-stopping",
                       cwd=tmp_path)
    assert stopping.returncode == 2 and "validation rows" in stopping.stderr


def test_every_registry_option_takes_name_key_value(tmp_path):
    proc = run_cli("train", "--dataset", "iris", "--epochs", "2", "--layers", "6",
                   "--activation", "leaky_relu:beta=0.2", "--init", "normal:std=0.1",
                   "--optimizer", "momentum:mu=0.5", "--schedule", "step:every=1,drop=0.5",
                   "--learning-rate", "0.1", "--out", "r", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    net = dp.load(tmp_path / "r" / "model.npz")
    assert net.layers[0].activation.config() == {"name": "leaky_relu", "beta": 0.2}
    lrs = [e["learning_rate"] for e in _history_json(tmp_path / "r" / "history.json")["epochs"]]
    assert lrs == [0.1, 0.05]
    bad = run_cli("train", "--optimizer", "adam:beta_9=1", cwd=tmp_path)
    assert bad.returncode == 2 and "bad options for optimizer" in bad.stderr


def test_library_training_options_have_flags(tmp_path):
    proc = run_cli("train", "--dataset", "iris", "--epochs", "4", "--layers", "6",
                   "--activation", "maxout", "--maxout-pieces", "3", "--clip-norm", "1",
                   "--max-norm", "0.5", "--sampling", "hard", "--layer-learning-rates",
                   "fan_in", "--tol", "1e-12", "--grad-tol", "1e-12", "--monitor",
                   "grad_norm,weight_norm", "--optimizer", "sgd", "--momentum", "0.5",
                   "--out", "o", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    net = dp.load(tmp_path / "o" / "model.npz")
    assert net.layers[0].activation.pieces == 3
    for layer in net.trainable_layers:
        assert np.linalg.norm(layer.W, axis=1).max() <= 0.5 + 1e-5
    keys = _history_json(tmp_path / "o" / "history.json")["epochs"][-1]
    assert "grad_norm/layer0" in keys and "weight_norm/layer0" in keys
    ignored = run_cli("train", "--optimizer", "adam", "--momentum", "0.5", cwd=tmp_path)
    assert ignored.returncode == 2
    assert "--momentum applies to sgd, momentum and nesterov, not to adam" in ignored.stderr


def test_image_augmentation_needs_image_rows(tmp_path):
    proc = run_cli("train", "--dataset", "iris", "--augment", "shift=1", cwd=tmp_path)
    assert proc.returncode == 2 and "not images" in proc.stderr, proc.stderr
    write_csv(tmp_path / "img.csv", [f"p{i}" for i in range(4)] + ["y"],
              [[i % 2, 1, 0, i % 3, i % 2] for i in range(40)])
    shaped = run_cli("train", "--dataset", "img.csv", "--augment", "shift=1", "--image-shape",
                     "2x2", "--epochs", "1", "--out", "m", "--quiet", cwd=tmp_path)
    assert shaped.returncode == 0, shaped.stderr
    digits = run_cli("train", "--augment", "shift=1", "--epochs", "1", "--layers", "16",
                     "--out", "dg", "--quiet", cwd=tmp_path)
    assert digits.returncode == 0, digits.stderr
    assert "\n1 epoch (max_epochs)" in digits.stdout  # not "1 epochs"


def test_train_deskews_images_and_every_command_applies_it(tmp_path):
    """--preprocess deskew: stored in the model file, so evaluate (and predict, plot, explain,
    which share its path) straighten the raw images the same way; augmentation distorts the
    deskewed images directly."""
    proc = run_cli("train", "--dataset", "digits", "--preprocess", "deskew", "--epochs", "12",
                   "--augment", "shift=1", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    info = ModelInfo.from_network(dp.load(tmp_path / "run" / "model.npz"))
    assert [type(s).__name__ for s in info.preprocessor.steps] == ["Deskewer"]
    assert info.describe_preprocessing() == "deskew"
    ev = run_cli("evaluate", tmp_path / "run" / "model.npz", "--dataset", "digits", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert accuracy_of(ev.stdout) == accuracy_of(proc.stdout) > 0.8
    line = one_error(run_cli("train", "--dataset", "iris", "--preprocess", "deskew",
                             "--out", "iris", cwd=tmp_path))
    assert "--preprocess deskew straightens images" in line and "--image-shape HxW" in line
