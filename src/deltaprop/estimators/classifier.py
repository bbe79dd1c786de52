"""The classifier: :class:`MLPClassifier`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d, validate_data

from deltaprop.data.chunks import is_chunked
from deltaprop.estimators.base import _BaseMLP, _dense, _stochastic


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer-perceptron classifier, a drop-in for ``sklearn.neural_network.MLPClassifier``.

    Binary problems get one logistic output with binary cross-entropy, multiclass problems
    softmax with categorical cross-entropy, multilabel indicator targets one logistic output
    per label (004 table). The parameters are scikit-learn's (same names, meanings and
    defaults) followed by deltaprop's own; see :mod:`deltaprop.estimators` for how ``alpha``,
    the rate schedules and stopping map onto deltaprop's trainer.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
    activation : str, default "relu"
        Hidden-layer activation: scikit-learn's "identity", "logistic", "tanh", "relu", or any
        other differentiable deltaprop activation ("scaled_tanh", "leaky_relu", "elu") or
        "maxout".
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
    alpha : float, default 1e-4
        L2 penalty (scikit-learn's scaling, see :mod:`deltaprop.estimators`).
    batch_size : int or "auto", default "auto"
        "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Rate schedule for solver="sgd".
    learning_rate_init, power_t : float
    max_iter : int, default 200
        Epochs (sgd, adam) or L-BFGS iterations.
    shuffle : bool, default True
    random_state : int, RandomState or None
        Seeds initialization, batching, dropout and the validation split: a fixed value gives
        bit-identical fits.
    tol : float, default 1e-4
    verbose : bool
        Print the loss (and validation score) after every epoch.
    warm_start : bool
        Continue from the previous fit's weights (with a fresh optimizer state).
    momentum, nesterovs_momentum : float, bool
        Momentum method for solver="sgd".
    early_stopping : bool
        Hold out ``validation_fraction`` of the data (stratified) and stop on its accuracy.
    validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn.
    init : str or dict, optional
        Weight initializer of :mod:`deltaprop.engine.init`. The default is scikit-learn's: Glorot
        (Xavier) uniform for every layer, U[-r, r] with r = sqrt(6 / (fan_in + fan_out)).
        Pass e.g. "he_normal" for the notes' choice for ReLU units (000 Table 2).
    output_activation : {"logistic", "softmax"}, optional
        Default: logistic for binary and multilabel targets, softmax for multiclass.
    loss : str, optional
        Loss name of :mod:`deltaprop.engine.losses` (default: the output activation's canonical
        loss).
    dropout : float, default 0
        Dropout probability after every hidden layer (stochastic solvers).
    l1 : float, default 0
        L1 penalty lambda ||W||_1 added to the trainer's gradient (weights only).
    max_norm, clip_value, clip_norm : float, optional
        Max-norm constraint per neuron, component-wise and global-norm gradient clipping.
    schedule : str or Schedule, optional
        A deltaprop learning-rate schedule; overrides ``learning_rate``.
    layer_learning_rates : None, "fan_in" or list of float
    sampling : {"uniform", "hard"}, default "uniform"
        "hard" draws pairs with probability increasing with their loss (002 §4).
    augment : callable, optional
        ``augment(X_batch, rng) -> X_batch`` applied to every training batch.
    dtype : {"float32", "float64"}, default "float32"
    callbacks : list of deltaprop Callback, optional
        Extra training-loop callbacks (used as given, not copied).

    Attributes
    ----------
    classes_ : ndarray
    loss_, best_loss_ : float
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    coefs_, intercepts_ : list of ndarray
        Views of the network's weights (scikit-learn's (n_in, n_out) orientation) and biases.
    n_iter_, t_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
    history_ : deltaprop.training.callbacks.History
        Per-epoch logs of the training loop.
    network_ : deltaprop.Network

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), solver="lbfgs", max_iter=2000, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.out_activation_
    ((2, 3), 'softmax')
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _output_activation(self) -> str:
        if self.output_activation is not None:
            if self.output_activation not in ("logistic", "softmax", "sigmoid"):
                raise ValueError("MLPClassifier's output_activation must be 'logistic' or "
                                 f"'softmax', got {self.output_activation!r}")
            return self.output_activation
        return "softmax" if self._n_codes > 2 and not self._multilabel else "logistic"

    def _val_key(self) -> str:
        return "val_accuracy"

    def _encode(self, y: Any, classes: Any = None) -> tuple[np.ndarray, Any]:
        """Targets as rows of 0/1 for the network, and the labels to stratify on."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self._multilabel = type_of_target(y) == "multilabel-indicator"
        if self._multilabel:
            if classes is None:
                classes = np.arange(y.shape[1])
            self._n_codes = y.shape[1]
            return np.asarray(y, dtype=self._np_dtype()), None
        if classes is None:
            classes = np.unique(y)
        classes = np.asarray(classes)
        if len(classes) < 2:
            raise ValueError("MLPClassifier needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        codes = np.searchsorted(classes, y)
        unseen = (codes >= len(classes)) | (classes[np.minimum(codes, len(classes) - 1)] != y)
        if unseen.any():
            raise ValueError(f"y has labels {np.unique(y[unseen]).tolist()} not in classes "
                             f"{classes.tolist()}")
        self._n_codes = len(classes)
        if len(classes) == 2 and self._output_activation() != "softmax":
            Y = codes[:, None]
        else:
            Y = np.eye(len(classes))[codes]
        return np.asarray(Y, dtype=self._np_dtype()), codes

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the network to data ``X`` and class labels (or label indicators) ``y``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Or a dask array or memmap, trained chunk by chunk (solvers 'sgd' and 'adam',
            docs/big-data.md); ``y`` and ``sample_weight`` then in memory, memmaps or dask
            arrays.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if is_chunked(X):
            return self._fit_chunked(X, y, sample_weight, None, incremental=False)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc", "coo"], multi_output=True,
                             dtype=[self._np_dtype(), np.float64, np.float32])
        X = np.asarray(_dense(X), dtype=self._np_dtype())
        old = getattr(self, "classes_", None) if self.warm_start else None
        Y, strat = self._encode(y)
        if old is not None and hasattr(self, "_network") and not np.array_equal(
                old, self._classes_of(y)):
            raise ValueError("warm_start can only be used where `y` has the same classes as in "
                             "the previous call to fit. Previously got "
                             f"{old}, `y` has {self._classes_of(y)}")
        self.classes_ = self._classes_of(y)
        return self._fit(X, Y, sample_weight, strat)

    def _fit_chunked(self, X: Any, y: Any, sample_weight: Any, classes: Any,
                     incremental: bool) -> MLPClassifier:
        """fit/partial_fit on chunked X: the classes from one pass over ``y`` (or ``classes``),
        then every chunk's labels encoded as it is read."""
        more = incremental and hasattr(self, "_network")
        data = self._chunked(X, y, sample_weight, reset=not more, encode=None)
        multilabel = len(data.Y.shape) == 2 and data.Y.shape[1] > 1
        if more:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={list(classes)}` is not the same as on the last "
                                 f"call to partial_fit, was: {list(self.classes_)}")
            classes = self.classes_
        elif multilabel:
            classes = np.arange(data.Y.shape[1])
        elif classes is not None:
            classes = np.unique(classes)
        elif incremental:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        else:
            classes = data.unique_targets()
        old = getattr(self, "classes_", None) if self.warm_start and not incremental else None
        if old is not None and hasattr(self, "_network") and not np.array_equal(old, classes):
            raise ValueError("warm_start can only be used where `y` has the same classes as in "
                             f"the previous call to fit. Previously got {old}, `y` has "
                             f"{classes}")
        known = None if multilabel else np.asarray(classes)
        data.transform_y = lambda labels: self._encode(np.asarray(labels), known)[0]
        head = data.head()[1]
        self.classes_ = classes
        return self._fit(data, head, None, None, incremental=incremental)

    def _classes_of(self, y: np.ndarray) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        return np.arange(y.shape[1]) if type_of_target(y) == "multilabel-indicator" \
            else np.unique(y)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> MLPClassifier:
        """One epoch over (X, y), keeping the optimizer state (solvers 'sgd' and 'adam').

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like, optional
            Every class label; required on the first call (unless y is multilabel).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if is_chunked(X):
            return self._fit_chunked(X, y, sample_weight, classes, incremental=True)
        first = not hasattr(self, "_network")
        X, y = validate_data(self, X, y, reset=first, accept_sparse=["csr", "csc", "coo"],
                             multi_output=True, dtype=[self._np_dtype(), np.float64, np.float32])
        X = np.asarray(_dense(X), dtype=self._np_dtype())
        if first:
            if classes is None and type_of_target(y) != "multilabel-indicator":
                raise ValueError("classes must be passed on the first call to partial_fit.")
            Y, _ = self._encode(y, None if classes is None else np.unique(classes))
            self.classes_ = (np.arange(y.shape[1]) if self._multilabel
                             else np.unique(classes))
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={list(classes)}` is not the same as on the last "
                                 f"call to partial_fit, was: {list(self.classes_)}")
            Y, _ = self._encode(y, None if self._multilabel else self.classes_)
        return self._fit(X, Y, sample_weight, None, incremental=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes) (or (n_samples, n_labels)).

        Returns
        -------
        ndarray of float64; rows sum to 1 except for multilabel targets.
        """
        out = self._forward(X)
        if self._multilabel:
            return out
        if out.shape[1] == 1:
            return np.hstack([1.0 - out, out])
        return out / out.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba` (-inf where a probability is exactly 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels (or label-indicator rows for multilabel targets)."""
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def _save_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        cfg["multilabel"], cfg["n_codes"] = bool(self._multilabel), int(self._n_codes)
        if self.classes_.dtype.kind in "iub" or (self.classes_.dtype.kind == "f"):
            arrays["classes"] = np.asarray(self.classes_, dtype=(
                np.int64 if self.classes_.dtype.kind in "iu" else self.classes_.dtype
                if self.classes_.dtype.kind == "b" else np.float64))
            cfg["classes_dtype"] = str(self.classes_.dtype)
        else:  # strings (or other objects): JSON in the config, not a unicode array
            cfg["classes_json"] = [c if isinstance(c, str) else c.item() if hasattr(c, "item")
                                   else c for c in self.classes_.tolist()]
            cfg["classes_dtype"] = "object" if self.classes_.dtype == object else "str"

    def _load_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._multilabel, self._n_codes = bool(cfg["multilabel"]), int(cfg["n_codes"])
        if "classes" in arrays:
            self.classes_ = arrays["classes"].astype(cfg["classes_dtype"])
        else:
            self.classes_ = np.asarray(cfg["classes_json"],
                                       dtype=object if cfg["classes_dtype"] == "object" else None)

