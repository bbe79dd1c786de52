"""ONNX export (deltaprop.export): onnxruntime and onnx's reference evaluator give deltaprop's
own predictions, for networks, estimators, model files, the command line and skl2onnx
pipelines; unexportable models and a missing onnx package give clear errors.

onnx and onnxruntime are optional (``pip install "deltaprop[onnx]"``; both are in the dev
extra): without them these tests are skipped, except under CI=true, where they must run.
"""

import csv
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import activations
from deltaprop.errors import InputError, MissingDependencyError
from deltaprop.export._network import EXPORTABLE_ACTIVATIONS


def _need(module: str):
    """The module; a skip when it is missing, a failure when it is missing under CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is not installed "
                               '(pip install "deltaprop[onnx]" or the dev extra)')


onnx = _need("onnx")
ort = _need("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402  (after the optional-import check)

# The estimators stop after a few iterations here on purpose (fast tests); that is deltaprop's
# own ConvergenceWarning, as in test_estimators.py.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ATOL = RTOL = 1e-5
# every activation of the engine but the forward-only perceptron units, softmax included
HIDDEN = [name for name in activations.names() if name not in ("step", "sign")]
ESTIMATOR_HIDDEN = [a for a in HIDDEN if a != "softmax"] + ["maxout"]


def run_both(proto, X, dtype=np.float32):
    """Outputs of onnxruntime and of onnx's reference evaluator for inputs ``X``."""
    X = np.asarray(X, dtype=dtype)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    # onnx's reference Sigmoid evaluates both branches, exp(x) / (1 + exp(x)) included, on
    # every entry before picking the stable one: large logits give inf / inf there, harmlessly
    # (NumPy's floating-point warnings from onnx's code, not from deltaprop's)
    with np.errstate(over="ignore", invalid="ignore"):
        reference = ReferenceEvaluator(proto).run(None, {"input": X})
    return session.run(None, {"input": X}), reference


def assert_close(got, expected):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(expected, np.float64),
                               rtol=RTOL, atol=ATOL)


def features(n=48, d=5, seed=0):
    return np.random.default_rng(seed).normal(scale=2.0, size=(n, d)).astype(np.float32)


# ---------------------------------------------------------------------------- networks
def test_every_differentiable_activation_is_exportable():
    assert sorted(EXPORTABLE_ACTIVATIONS) == sorted(HIDDEN)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_network_parity_every_activation(hidden, task):
    spec = {"leaky_relu": {"name": "leaky_relu", "beta": 0.1},
            "elu": {"name": "elu", "beta": 0.7}}.get(hidden, hidden)
    out = "softmax" if task == "classification" else "identity"
    net = dp.mlp([5, 7, 6, 3], activation=spec, output_activation=out, dropout=0.2, seed=1)
    X = features()
    proto = dp.to_onnx(net)
    onnx.checker.check_model(proto, full_check=True)
    for outputs in run_both(proto, X):
        if task == "classification":
            label, proba = outputs
            assert_close(proba, net.predict_proba(X))
            np.testing.assert_array_equal(label, net.predict(X))
        else:
            (pred,) = outputs
            assert_close(pred, net.predict(X))


@pytest.mark.parametrize("output, k", [("logistic", 1), ("logistic", 3), ("softmax", 2),
                                       ("tanh", 2), ("identity", 1)])
def test_network_output_heads(output, k):
    net = dp.mlp([5, 8, k], activation="tanh", output_activation=output, seed=2)
    X = features(seed=3)
    proto = dp.to_onnx(net)
    for outputs in run_both(proto, X):
        if net.is_classifier:
            label, proba = outputs
            assert_close(proba, net.predict_proba(X))
            np.testing.assert_array_equal(label, net.predict(X))
        else:
            assert_close(outputs[0], net.predict(X))


@pytest.mark.parametrize("opset", [17, 18, 21])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_maxout_network(opset, task):
    """Maxout as Reshape + ReduceMax; from opset 18 ReduceMax takes its axes as an input."""
    out = "softmax" if task == "classification" else "identity"
    net = dp.mlp([5, 6, 4, 3], activation="maxout", maxout_pieces=3, output_activation=out,
                 seed=4)
    X = features(seed=5)
    proto = dp.to_onnx(net, opset=opset)
    assert proto.opset_import[0].version == opset
    assert "ReduceMax" in {n.op_type for n in proto.graph.node}
    expected = net.predict_proba(X) if task == "classification" else net.predict(X)
    for outputs in run_both(proto, X):
        assert_close(outputs[-1], expected)


def test_graph_interface_and_metadata(tmp_path):
    net = dp.mlp([5, 4, 3], activation="relu", seed=0)
    proto = dp.to_onnx(net, tmp_path / "net.onnx", name="tiny")
    assert onnx.load(tmp_path / "net.onnx") == proto
    (inp,) = proto.graph.input
    assert inp.name == "input" and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["N", 5]
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    assert proto.graph.name == "tiny" and proto.producer_name == "deltaprop"
    assert {p.key: p.value for p in proto.metadata_props}["deltaprop.task"] == "classification"
    assert {n.op_type for n in proto.graph.node} >= {"Gemm", "Relu", "Softmax", "ArgMax",
                                                      "Gather"}
    assert all(n.attribute[0].i == 1 for n in proto.graph.node if n.op_type == "Gemm")


def test_float64_network_exports_in_float32():
    net = dp.mlp([5, 6, 2], activation="elu", output_activation="identity", dtype="float64",
                 seed=6)
    X = features(seed=7)
    for (pred,) in run_both(dp.to_onnx(net), X):
        assert pred.dtype == np.float32
        assert_close(pred, net.predict(X))


# --------------------------------------------------------------------------- estimators
def _classification_data(n_classes, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 4))
    codes = (np.digitize(X[:, 0] + 0.5 * X[:, 1], np.linspace(-1, 1, n_classes - 1)))
    return X, codes if labels is None else np.asarray(labels)[codes]


@pytest.mark.parametrize("hidden", ESTIMATOR_HIDDEN)
def test_estimators_every_activation(hidden):
    X, y = _classification_data(3, labels=[10, 20, 30])
    clf = dp.MLPClassifier((6,), activation=hidden, solver="lbfgs", max_iter=15,
                           random_state=0).fit(X, y)
    target = np.column_stack([X @ [1.0, -2.0, 0.5, 0.0], np.sin(X[:, 0])]) * 30 + 100
    reg = dp.MLPRegressor(hidden_layer_sizes=(6,), activation=hidden, solver="lbfgs",
                          max_iter=15, random_state=0).fit(X, target)
    for label, proba in run_both(dp.to_onnx(clf), X):
        assert label.dtype == np.int64
        assert_close(proba, clf.predict_proba(X))
        np.testing.assert_array_equal(label, clf.predict(X))
    for (pred,) in run_both(dp.to_onnx(reg), X):
        assert_close(pred, reg.predict(X))


@pytest.mark.parametrize("kind", ["binary_strings", "logistic_multiclass", "multilabel",
                                  "float_classes", "single_output_regressor"])
def test_estimator_heads(kind):
    X, y = _classification_data(2, seed=1, labels=["no", "yes"])
    est = dp.MLPClassifier((5,), activation="tanh", solver="lbfgs", max_iter=15,
                           random_state=1)
    if kind == "logistic_multiclass":
        X, y = _classification_data(4, seed=2)
        est.set_params(output_activation="logistic")
    elif kind == "multilabel":
        y = (np.abs(X[:, :3]) > 0.6).astype(int)
    elif kind == "float_classes":
        X, y = _classification_data(3, seed=3, labels=[1.0, 2.0, 4.0])
    elif kind == "single_output_regressor":
        y = X @ [1.0, 2.0, 0.0, -1.0]
        est = dp.MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15,
                              random_state=1)
    est.fit(X, y)
    for outputs in run_both(dp.to_onnx(est), X):
        if kind == "single_output_regressor":
            assert outputs[0].shape == (len(X), 1)
            assert_close(outputs[0][:, 0], est.predict(X))
            continue
        label, proba = outputs
        assert_close(proba, est.predict_proba(X))
        np.testing.assert_array_equal(label, est.predict(X))


def test_estimator_model_file(tmp_path):
    X, y = _classification_data(3, seed=4, labels=["ant", "bee", "cow"])
    clf = dp.MLPClassifier((6,), activation="leaky_relu", solver="lbfgs", max_iter=15,
                           random_state=2).fit(X, y)
    clf.save(tmp_path / "clf.npz")
    for source in (tmp_path / "clf.npz", str(tmp_path / "clf.npz"), dp.load(tmp_path / "clf.npz")):
        for label, proba in run_both(dp.to_onnx(source), X):
            assert_close(proba, clf.predict_proba(X))
            assert label.tolist() == clf.predict(X).tolist()


def test_unfitted_estimator_and_foreign_objects():
    with pytest.raises(InputError, match="not fitted"):
        dp.to_onnx(dp.MLPClassifier())
    with pytest.raises(InputError, match="cannot export a dict"):
        dp.to_onnx({"W": 1})


# ------------------------------------------------------------------- what cannot be exported
class _Cube(activations.Activation):
    name = "cube"

    def value(self, a):
        return a**3

    def derivative(self, a, h):
        return 3 * a**2


@pytest.mark.parametrize("bad, words", [("step", ["'step'", "forward-only"]),
                                        ("sign", ["'sign'"]),
                                        (_Cube(), ["custom activation _Cube", "'cube'"])])
def test_unexportable_activation_names_layer_and_activation(bad, words):
    net = dp.Network([dp.Dense(3, 4, "tanh", rng=0), dp.Dropout(0.1),
                      dp.Dense(4, 4, bad, rng=1), dp.Dense(4, 2, "softmax", rng=2)])
    with pytest.raises(InputError, match=r"^layer 2 \(Dense 4→4") as info:
        dp.to_onnx(net)
    for word in words:
        assert word in str(info.value)
    assert "exportable activations are identity, logistic" in str(info.value)


def test_opset_out_of_range():
    net = dp.mlp([2, 2, 1], seed=0)
    for opset in (16, 10_000, "17", True):
        with pytest.raises(InputError, match="opset must be an integer from 17"):
            dp.to_onnx(net, opset=opset)


def test_missing_onnx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "deltaprop\[onnx\]"'):
        dp.to_onnx(dp.mlp([2, 2, 1], seed=0))


# -------------------------------------------------------------------------- command line
ROOT = Path(__file__).resolve().parents[1]


def _env():
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return dict(os.environ, PYTHONWARNINGS="error", PYTHONPATH=os.pathsep.join(paths))


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=300)


def _write_csv(path, task, n=60, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x1", "x2", "colour", "size", "target"])
        for _ in range(n):
            x1, x2 = rng.normal(size=2) * [3.0, 50.0] + [10.0, 500.0]
            colour = rng.choice(["red", "green", "blue"])
            size = int(rng.integers(1, 5))
            if task == "classification":
                target = "cat" if x1 > 10 else ("dog" if colour == "red" else "bird")
            else:
                target = f"{2 * x1 - 0.01 * x2 + size + rng.normal(scale=0.1):.5f}"
            w.writerow([f"{x1:.4f}", f"{x2:.3f}", colour, size, target])


def _read_predictions(text):
    rows = list(csv.reader(text.splitlines()))
    return rows[0], rows[1:]


@pytest.mark.parametrize("task, options", [
    ("classification", ["--preprocess", "standardize", "--activation", "elu"]),
    ("regression", ["--preprocess", "whiten", "--activation", "scaled_tanh",
                    "--output-activation", "tanh"]),
])
def test_cli_train_predict_export(tmp_path, task, options):
    """`deltaprop train` on a CSV with a categorical column, then `predict` (with --proba for
    the classifier) and `export`: the ONNX graph on the encoded features gives the same
    numbers, labels being the class names."""
    from deltaprop.data.pipeline import ModelInfo
    from deltaprop.data.tabular import encode_csv

    data = tmp_path / "data.csv"
    _write_csv(data, task)
    train = run_cli("train", "--dataset", data, "--layers", "6", "--epochs", "3", "--quiet",
                    "--out", "run", *options, cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    model = tmp_path / "run" / "model.npz"
    predict = run_cli("predict", model, data, *(["--proba"] if task == "classification"
                                                 else []), cwd=tmp_path)
    assert predict.returncode == 0, predict.stderr
    export = run_cli("export", model, "--format", "onnx", "-o", "model.onnx", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert "wrote model.onnx" in export.stderr

    proto = onnx.load(tmp_path / "model.onnx")
    onnx.checker.check_model(proto, full_check=True)
    info = ModelInfo.from_network(dp.load(model))
    X, _ = encode_csv(data, info.schema)  # one-hot colour columns: the graph's raw input
    assert proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value == X.shape[1] == 6
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["deltaprop.feature_names"]) == [
        "x1", "x2", "colour=blue", "colour=green", "colour=red", "size"]
    header, rows = _read_predictions(predict.stdout)
    for outputs in run_both(proto, X):
        if task == "classification":
            label, proba = outputs
            assert header == ["prediction", "p_bird", "p_cat", "p_dog"]
            assert label.astype(str).tolist() == [r[0] for r in rows]
            assert_close(proba, [[float(v) for v in r[1:]] for r in rows])
        else:
            (pred,) = outputs
            assert header == ["target"]
            assert_close(pred, [[float(v) for v in r] for r in rows])


def test_cli_export_default_output_and_errors(tmp_path):
    net = dp.mlp([3, 4, 2], activation="relu", seed=0)
    net.save(tmp_path / "plain.npz")
    ok = run_cli("export", "plain.npz", "--opset", "18", "--input-dtype", "float64",
                 cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    proto = onnx.load(tmp_path / "plain.onnx")  # the default output: MODEL with .onnx
    assert proto.opset_import[0].version == 18
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    X = features(d=3)
    for label, proba in run_both(proto, X, dtype=np.float64):
        assert_close(proba, net.predict_proba(X))
        np.testing.assert_array_equal(label, net.predict(X))

    dp.Network([dp.Dense(3, 4, "step", rng=0), dp.Dense(4, 2, "softmax", rng=1)]).save(
        tmp_path / "step.npz")
    bad = run_cli("export", "step.npz", "-o", "step.onnx", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deltaprop: error: layer 0 (Dense 3→4")
    assert "'step'" in lines[0] and not (tmp_path / "step.onnx").exists()

    wrong = run_cli("export", "plain.npz", "--format", "tflite", cwd=tmp_path)
    assert wrong.returncode == 2 and "invalid choice: 'tflite'" in wrong.stderr


def test_target_standardizer_undone_in_graph():
    """A regression model as `deltaprop train` stores it for a linear output: standardized
    inputs and targets; the graph answers in the targets' units. The third feature's spread
    (0.01) is tiny next to its mean (5): float32 inputs lose digits there that float64 keep."""
    from deltaprop.data.pipeline import ModelInfo, make_preprocessor, make_target_scaler

    rng = np.random.default_rng(8)
    X = rng.normal(size=(40, 3)) * [1.0, 100.0, 0.01] + [0.0, 1000.0, 5.0]
    Y = np.column_stack([X[:, 0] * 50 + 300, X[:, 1] - 1000])
    pre = make_preprocessor("standardize")
    scaler = make_target_scaler("identity")
    net = dp.mlp([3, 5, 2], activation="tanh", output_activation="identity", seed=8)
    dp.train(net, pre.fit_transform(X), scaler.fit_transform(Y), epochs=3, verbose=0)
    info = ModelInfo("regression", None, ["a", "b"], "table", 0, 3, pre, scaler)
    net.extras = info.to_extras()
    expected = info.outputs_to_targets(net.forward(info.transform(X, "X")))
    proto = dp.to_onnx(net, input_dtype="float64")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    for (pred,) in run_both(proto, X, dtype=np.float64):
        assert pred.dtype == np.float32
        assert_close(pred, expected)
    X[:, 2] = 5.0  # well-conditioned columns: float32 inputs agree as well
    expected = info.outputs_to_targets(net.forward(info.transform(X, "X")))
    for (pred,) in run_both(dp.to_onnx(net), X):
        assert_close(pred, expected)


# ------------------------------------------------------------------------------ skl2onnx
@pytest.fixture(scope="module")
def skl2onnx():
    module = _need("skl2onnx")
    from deltaprop.export import register_skl2onnx

    register_skl2onnx()
    return module


def _run_pipeline_model(proto, X):
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: X})


@pytest.mark.parametrize("options", [None, {"zipmap": False},
                                     {"zipmap": False, "nocl": True}])
def test_skl2onnx_classifier_pipeline(skl2onnx, options):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _classification_data(3, seed=9, labels=["a", "b", "c"])
    X = X * [1.0, 10.0, 100.0, 0.1] + 5
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", dp.MLPClassifier((6,), activation="relu", solver="lbfgs",
                                              max_iter=20, random_state=0))]).fit(X, y)
    X32 = X.astype(np.float32)
    proto = skl2onnx.to_onnx(pipe, X32[:1],
                             options=options and {dp.MLPClassifier: options})
    label, proba = _run_pipeline_model(proto, X32)
    if options is None:  # ZipMap: a list of {class: probability} dicts
        proba = [[row[c] for c in pipe.classes_] for row in proba]
    expected = pipe.predict(X32)
    if options and options.get("nocl"):  # class indices instead of the classes
        expected = np.searchsorted(pipe.classes_, expected)
    assert label.tolist() == expected.tolist()
    assert_close(proba, pipe.predict_proba(X32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skl2onnx_regressor_and_binary_pipelines(skl2onnx, dtype):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _classification_data(2, seed=10, labels=[0, 1])
    Xd = X.astype(dtype)
    reg = make_pipeline(StandardScaler(), dp.MLPRegressor(
        hidden_layer_sizes=(5,), activation="maxout", solver="lbfgs", max_iter=20,
        random_state=0)).fit(X, X @ [3.0, -1.0, 0.0, 2.0])
    (pred,) = _run_pipeline_model(skl2onnx.to_onnx(reg, Xd[:1]), Xd)
    assert pred.dtype == dtype
    assert_close(pred[:, 0], reg.predict(X.astype(np.float32)))
    clf = make_pipeline(StandardScaler(), dp.MLPClassifier(
        (5,), activation="elu", solver="lbfgs", max_iter=20, random_state=0)).fit(X, y)
    proto = skl2onnx.to_onnx(clf, Xd[:1], options={dp.MLPClassifier: {"zipmap": False}})
    label, proba = _run_pipeline_model(proto, Xd)
    assert_close(proba, clf.predict_proba(X.astype(np.float32)))
    np.testing.assert_array_equal(label, clf.predict(X.astype(np.float32)))


def test_lazy_import_and_automatic_registration():
    """`import deltaprop` and `dp.to_onnx` import neither onnx nor skl2onnx; with skl2onnx
    imported, the estimators register their converters when first used."""
    _need("skl2onnx")
    code = ("import sys\nimport deltaprop as dp\ndp.to_onnx\n"
            "assert not {'onnx', 'skl2onnx'} & set(sys.modules), 'onnx imported'\n"
            "import skl2onnx\n"
            "from skl2onnx._supported_operators import sklearn_operator_name_map as m\n"
            "assert m.get(dp.MLPClassifier) == 'DeltapropMLPClassifier'\n"
            "assert m.get(dp.MLPRegressor) == 'DeltapropMLPRegressor'\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), timeout=120)


def test_skl2onnx_multilabel_is_refused(skl2onnx):
    X, _ = _classification_data(2, seed=11)
    Y = (np.abs(X[:, :2]) > 0.5).astype(int)
    clf = dp.MLPClassifier((4,), solver="lbfgs", max_iter=5, random_state=0).fit(X, Y)
    with pytest.raises(InputError, match="multilabel"):
        skl2onnx.to_onnx(clf, X[:1].astype(np.float32),
                         options={dp.MLPClassifier: {"zipmap": False}})



@pytest.mark.parametrize("opset", [17, 20])
def test_deskewing_model_exports_with_gridsample(opset):
    """`--preprocess deskew` as `deltaprop train` stores it: the graph straightens the raw
    images itself (moments, skew, GridSample) and answers as deltaprop does."""
    from deltaprop.data.pipeline import ModelInfo, make_preprocessor
    from deltaprop.data.preprocessing import one_hot

    data = dp.datasets.load_dataset("digits")
    X = data.X[:200].astype(np.float32) / 16.0
    pre = make_preprocessor("deskew", (8, 8))
    net = dp.mlp([64, 16, 10], seed=3)
    dp.train(net, pre.fit_transform(X), one_hot(data.y[:200], 10), epochs=2, verbose=0)
    info = ModelInfo("classification", [str(i) for i in range(10)],
                     [str(i) for i in range(10)], "digits", 0, 64, pre, None)
    net.extras = info.to_extras()
    expected = net.forward(info.transform(X, "X"))
    assert [n.op_type for n in dp.to_onnx(net, opset=opset).graph.node].count("GridSample") == 1
    session = ort.InferenceSession(dp.to_onnx(net, opset=opset).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    label, proba = session.run(None, {"input": X})
    assert_close(proba, expected)
    assert np.array_equal(label.astype(str), np.argmax(expected, axis=1).astype(str))
    if opset >= 20:  # onnx's reference knows GridSample's "linear" spelling only
        assert_close(ReferenceEvaluator(dp.to_onnx(net, opset=opset)).run(
            None, {"input": X})[1], expected)


def test_deskewing_needs_gridsample_opset():
    from deltaprop.data.deskew import Deskewer
    from deltaprop.export._builder import GraphBuilder
    from deltaprop.export._transforms import emit_transform

    with pytest.raises(InputError, match=r"opset >= 16 \(GridSample\), got 15"):
        emit_transform(GraphBuilder(15), Deskewer((8, 8)), "x")
