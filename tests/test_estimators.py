"""scikit-learn compatible estimators (deltaprop.estimators): scikit-learn's own estimator
checks, the meta-estimator integrations, deltaprop's extras, model files and pickling."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_methods_sample_order_invariance,
    check_methods_subset_invariance,
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
    parametrize_with_checks,
)

import deltaprop as dp
from deltaprop.errors import InputError
from deltaprop.estimators import MLPClassifier, MLPRegressor, load_estimator
from deltaprop.training.callbacks import Callback

# The estimators' own ConvergenceWarning (scikit-learn's behaviour at max_iter): the fits
# here stop after a few epochs on purpose, to keep the suite fast. Tests that want the
# warning catch it with pytest.warns, which records it regardless of this filter.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_FLOAT32 = ("float32 arithmetic: BLAS computes a row's product with different blocking for "
            "different batch sizes, so predictions can differ in the last float32 bits (~1e-7 "
            "relative; data-dependent, so it may also pass) - the check's rtol=1e-7 is below "
            "float32 resolution. Run in float64 by test_invariance_checks_in_float64 below.")
_STOCHASTIC_SW = ("mini-batch SGD/Adam: repeating a row changes the batches and the random "
                  "permutation, so the fits cannot be equal. Passes with the deterministic "
                  "full-batch solver='lbfgs', see test_sample_weight_equivalence_lbfgs below.")


def _expected_failed_checks(estimator):
    return {
        "check_methods_subset_invariance": _FLOAT32,
        "check_sample_weight_equivalence_on_dense_data": _STOCHASTIC_SW,
        "check_sample_weight_equivalence_on_sparse_data": _STOCHASTIC_SW,
    }


@parametrize_with_checks([MLPClassifier(max_iter=100, random_state=0),
                          MLPRegressor(max_iter=100, random_state=0)],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("check", [check_sample_weight_equivalence_on_dense_data,
                                   check_sample_weight_equivalence_on_sparse_data])
def test_sample_weight_equivalence_lbfgs(cls, check):
    check(cls.__name__, cls(solver="lbfgs", dtype="float64", random_state=0))


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("check", [check_methods_subset_invariance,
                                   check_methods_sample_order_invariance])
def test_invariance_checks_in_float64(cls, check):
    check(cls.__name__, cls(max_iter=100, dtype="float64", random_state=0))


# -- data ------------------------------------------------------------------------------------
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def regression(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3 * np.sin(3 * X[:, 0])


# -- classification ---------------------------------------------------------------------------
def test_multiclass_attributes_and_accuracy():
    X, y = iris()
    clf = MLPClassifier((16,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3 and clf.n_layers_ == 3
    assert [c.shape for c in clf.coefs_] == [(4, 16), (16, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (3,)]
    assert clf.coefs_[0].dtype == np.float32  # float32 by default
    assert len(clf.loss_curve_) == clf.n_iter_ and clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.n_features_in_ == 4 and clf.t_ == 150 * clf.n_iter_
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.history_["loss"] == clf.loss_curve_


def test_binary_string_labels_one_logistic_output():
    X, y = make_classification(100, 4, random_state=0)
    labels = np.where(y == 1, "spam", "ham")
    clf = MLPClassifier((8,), max_iter=200, random_state=0).fit(X, labels)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert list(clf.classes_) == ["ham", "spam"]
    assert clf.predict_proba(X).shape == (100, 2)
    assert set(clf.predict(X)) <= {"ham", "spam"} and clf.score(X, labels) > 0.85


def test_multilabel():
    X, Y = make_multilabel_classification(120, 6, n_classes=3, random_state=0)
    clf = MLPClassifier((32,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and list(clf.classes_) == [0, 1, 2]
    assert clf.predict(X).shape == (120, 3) and clf.predict_proba(X).shape == (120, 3)
    assert clf.score(X, Y) > 0.6  # subset accuracy


def test_sample_weight_ones_is_no_weight_and_zero_weight_matters():
    X, y = iris()
    a = MLPClassifier((8,), max_iter=30, random_state=1).fit(X, y)
    b = MLPClassifier((8,), max_iter=30, random_state=1).fit(X, y, sample_weight=np.ones(150))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)
    w = np.where(y == 0, 0.0, 1.0)
    c = MLPClassifier((8,), max_iter=30, random_state=1).fit(X, y, sample_weight=w)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_deterministic_given_random_state():
    X, y = iris()
    a = MLPClassifier((8,), max_iter=20, random_state=3, early_stopping=True).fit(X, y)
    b = MLPClassifier((8,), max_iter=20, random_state=3, early_stopping=True).fit(X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.validation_scores_ == b.validation_scores_


def test_partial_fit_needs_classes_and_continues():
    X, y = iris()
    clf = MLPClassifier((8,), random_state=0, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(30):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 30 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X, y) > 0.8
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    reg = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    Xr, yr = regression()
    for _ in range(5):
        reg.partial_fit(Xr, yr)
    assert reg.n_iter_ == 5


def test_warm_start_keeps_weights():
    X, y = iris()
    clf = MLPClassifier((8,), max_iter=10, warm_start=True, random_state=0).fit(X, y)
    before = clf.coefs_[0].copy()
    first_loss = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 20 and clf.loss_curve_[10] < clf.loss_curve_[0]
    assert clf.loss_curve_[-1] < first_loss and not np.array_equal(before, clf.coefs_[0])
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 2], y[y < 2])


# -- stopping, schedules, early stopping ------------------------------------------------------
def test_n_iter_no_change_stops_like_sklearn():
    X, y = iris()
    clf = MLPClassifier((8,), max_iter=500, tol=1e-1, n_iter_no_change=3, random_state=0)
    clf.fit(X, y)
    assert clf.n_iter_ < 500
    curve = clf.loss_curve_
    # the last n_iter_no_change + 1 epochs never beat the best loss before them by tol
    best_before = min(curve[:-4])
    assert all(v > best_before - 1e-1 for v in curve[-4:])


def test_early_stopping_restores_best_validation_weights():
    X, y = iris()
    clf = MLPClassifier((8,), max_iter=300, early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=5, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_adaptive_rate_divides_by_five():
    X, y = iris()
    clf = MLPClassifier((8,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.1,
                        tol=10.0, n_iter_no_change=2, max_iter=40, random_state=0).fit(X, y)
    rates = clf.history_["learning_rate"]
    assert rates[0] == pytest.approx(0.1) and min(rates) == pytest.approx(0.1 / 5**8)
    assert clf.n_iter_ < 40  # stopped once the rate fell below 1e-6


def test_invscaling_matches_sklearn_formula():
    X, y = iris()
    clf = MLPClassifier((8,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                        power_t=0.5, max_iter=5, tol=0, random_state=0).fit(X, y)
    expected = [0.5 / (150 * t + 1) ** 0.5 for t in range(5)]
    np.testing.assert_allclose(clf.history_["learning_rate"], expected)


# -- deltaprop's own options -----------------------------------------------------------------
def test_deltaprop_extras_reach_the_trainer():
    X, y = iris()
    seen = []

    class Count(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(epoch)

    clf = MLPClassifier((8, 8), activation="elu", init="xavier_normal", dropout=0.1, l1=1e-4,
                        max_norm=1.0, clip_value=5.0, schedule="step",
                        layer_learning_rates="fan_in", sampling="hard", dtype="float64",
                        callbacks=[Count()], max_iter=15, random_state=0).fit(X, y)
    assert seen == list(range(1, 16))
    assert clf.coefs_[0].dtype == np.float64
    assert any(isinstance(la, dp.Dropout) for la in clf.network_.layers)
    for W in clf.coefs_:
        assert np.all(np.linalg.norm(W, axis=0) <= 1.0 + 1e-9)  # per-neuron incoming norm


def test_regressor_output_activation_and_multioutput():
    X, y = regression()
    Y = np.column_stack([y, -y])
    reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (120, 2) and reg.score(X, Y) > 0.95
    reg = MLPRegressor(hidden_layer_sizes=(16,), output_activation="tanh", solver="lbfgs",
                       random_state=0)
    reg.fit(X, y / 10)
    assert reg.out_activation_ == "tanh" and reg.predict(X).shape == (120,)


def test_lbfgs_matches_sklearn_quality():
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    X, y = regression()
    kw = dict(hidden_layer_sizes=(16,), solver="lbfgs", alpha=1e-3, random_state=0, max_iter=500)
    ours, theirs = MLPRegressor(**kw), SkMLPRegressor(**kw)
    assert ours.fit(X, y).score(X, y) > theirs.fit(X, y).score(X, y) - 0.01


@pytest.mark.parametrize("params, match", [
    ({"solver": "newton"}, "'solver' parameter must be one of"),
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes must be > 0"),
    ({"activation": "step"}, "'activation' parameter must be one of"),
    ({"learning_rate_init": 0.0}, "learning_rate_init must be a number > 0"),
    ({"validation_fraction": 1.0}, r"validation_fraction must be a number in \(0, 1\)"),
    ({"solver": "lbfgs", "dropout": 0.5}, "only apply to the stochastic solvers"),
])
def test_invalid_parameters(params, match):
    X, y = iris()
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, y)


def test_shuffle_false_is_passed_to_the_trainer(monkeypatch):
    from deltaprop import training

    seen = []
    real = training.Trainer.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("shuffle"))
        real(self, *args, **kwargs)

    monkeypatch.setattr(training.Trainer, "__init__", spy)
    X, y = iris()
    MLPClassifier((4,), shuffle=False, max_iter=3, tol=1.0, random_state=0).fit(X, y)
    assert seen == [False]


# -- scikit-learn integration -----------------------------------------------------------------
def test_pipeline_gridsearch_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=100, learning_rate_init=0.01,
                                                         random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
                               "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"mlpclassifier__hidden_layer_sizes",
                                      "mlpclassifier__alpha"}
    assert grid.best_score_ > 0.85 and grid.predict(X).shape == (150,)


def test_get_set_params_clone():
    clf = MLPClassifier((5,), alpha=0.1, dropout=0.2, schedule="step")
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (5,) and params["dropout"] == 0.2
    assert clf.set_params(alpha=0.5) is clf and clf.alpha == 0.5
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()


# -- model files and pickle -------------------------------------------------------------------
@pytest.mark.parametrize("make", ["strings", "ints", "multilabel", "regressor"])
def test_save_load_roundtrip(tmp_path, make):
    X, y = iris()
    if make == "strings":
        est, y = MLPClassifier((8,), max_iter=20, random_state=0), np.array(["a", "b", "c"])[y]
    elif make == "ints":
        est = MLPClassifier((8,), max_iter=20, random_state=0, schedule="exponential")
    elif make == "multilabel":
        X, y = make_multilabel_classification(60, 5, n_classes=3, random_state=0)
        est = MLPClassifier((8,), max_iter=20, random_state=0)
    else:
        X, y = regression()
        est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0,
                           early_stopping=True)
    est.fit(X, y)
    path = tmp_path / "est.dpm"
    est.save(path)
    back = load_estimator(path)
    assert type(back) is type(est) and back.get_params().keys() == est.get_params().keys()
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.n_iter_ == est.n_iter_ and back.loss_curve_ == est.loss_curve_
    if make != "regressor":
        np.testing.assert_array_equal(back.classes_, est.classes_)
        assert back.classes_.dtype.kind == est.classes_.dtype.kind
    assert type(est).load(path).n_features_in_ == est.n_features_in_
    assert b"pickle" not in path.read_bytes().lower()


def test_load_rejects_plain_network_and_wrong_class(tmp_path):
    dp.mlp([2, 3, 1], seed=0).save(tmp_path / "net.dpm")
    with pytest.raises(InputError, match="no scikit-learn estimator state"):
        load_estimator(tmp_path / "net.dpm")
    X, y = regression()
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
    reg.save(tmp_path / "r.dpm")
    with pytest.raises(InputError, match="not a MLPClassifier"):
        MLPClassifier.load(tmp_path / "r.dpm")


def test_pickle_roundtrip_and_partial_fit_after():
    X, y = iris()
    clf = MLPClassifier((8,), max_iter=10, random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    back.partial_fit(X, y)
    assert back.n_iter_ == 11


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_pickles_naming_the_pre_package_path_still_load(cls):
    # Until the module became a package, pickles named deltaprop.estimators.<class>; the
    # package re-exports the classes, so such pickles must keep loading.
    X, y = iris()
    est = cls(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20, random_state=0).fit(X, y)
    data = pickle.dumps(est, protocol=2)  # protocol 2: no frames, so the names can be edited
    here = f"{cls.__module__}\n{cls.__name__}".encode()
    assert cls.__module__ != "deltaprop.estimators" and here in data
    old = pickle.loads(data.replace(here, f"deltaprop.estimators\n{cls.__name__}".encode()))
    assert type(old) is cls
    np.testing.assert_array_equal(old.predict(X), est.predict(X))


def test_convergence_warning_at_max_iter():
    X, y = iris()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)


def test_feature_names_from_a_dataframe_survive_the_model_file(tmp_path):
    pd = pytest.importorskip("pandas")  # a dev dependency: installed by `make test`
    X, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    clf.save(tmp_path / "iris.npz")
    again = load_estimator(tmp_path / "iris.npz")
    np.testing.assert_array_equal(again.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(again.predict(frame), clf.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame.rename(columns={"petal_w": "other"}))
