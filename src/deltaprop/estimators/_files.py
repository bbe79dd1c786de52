"""Saving and loading the estimators through deltaprop's safe model file (no pickle)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from deltaprop.callbacks import History
from deltaprop.errors import InputError
from deltaprop.schedules import Schedule

if TYPE_CHECKING:
    from deltaprop.estimators._base import _BaseMLP

_EXTRAS_KEY = "sklearn_estimator"
_FITTED = ("loss_", "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
           "n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_")


class _FilesMixin:
    """:meth:`save` and :meth:`load` of :class:`~deltaprop.estimators._base._BaseMLP`."""

    def save(self, path: Any) -> None:
        """Write the fitted estimator to a deltaprop model file (npz without pickle + JSON).

        The network travels as usual; the estimator's parameters, fitted attributes, class
        labels and feature names go into the file's ``extras["sklearn_estimator"]``. User
        ``callbacks`` and ``augment`` callables are not stored (they come back as None).

        Parameters
        ----------
        path : str or path-like

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from deltaprop.estimators import MLPClassifier, load_estimator
        >>> X = np.array([[0., 0.], [1., 1.], [0., 1.], [1., 0.]]); y = ["a", "b", "b", "a"]
        >>> clf = MLPClassifier((4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "clf.dpm")
        >>> clf.save(path); (load_estimator(path).predict(X) == clf.predict(X)).all()
        np.True_
        """
        check_is_fitted(self, "_network")
        params = self.get_params(deep=False)
        params["callbacks"] = params["augment"] = None
        if isinstance(params["schedule"], Schedule):
            params["schedule"] = {"__schedule__": params["schedule"].get_state()[0]}
        if not isinstance(params["random_state"], int | type(None)):
            params["random_state"] = None
        if isinstance(params["hidden_layer_sizes"], tuple | list):
            params["hidden_layer_sizes"] = [int(s) for s in params["hidden_layer_sizes"]]
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"cannot save {type(self).__name__}: a parameter is not "
                             f"JSON-serializable ({exc}); pass names or dicts") from None
        fitted = {k: getattr(self, k) for k in _FITTED if hasattr(self, k)}
        fitted = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in fitted.items()}
        cfg: dict[str, Any] = {"class": type(self).__name__, "params": params,
                               "fitted": fitted, "history": self.history_.to_dict()}
        arrays: dict[str, np.ndarray] = {}
        if hasattr(self, "feature_names_in_"):
            cfg["feature_names_in"] = [str(f) for f in self.feature_names_in_]
        self._save_classes(cfg, arrays)
        self._network.save(path, extras={_EXTRAS_KEY: (cfg, arrays)})

    def _save_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Classifiers store ``classes_`` here; regressors have none."""

    def _load_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`_save_classes`."""

    @classmethod
    def load(cls, path: Any) -> _BaseMLP:
        """Load an estimator saved with :meth:`save`; it must be of this class."""
        est = load_estimator(path)
        if not isinstance(est, cls):
            raise InputError(f"{path} holds a {type(est).__name__}, not a {cls.__name__}")
        return est


def load_estimator(path: Any) -> _BaseMLP:
    """Load an :class:`MLPClassifier` or :class:`MLPRegressor` saved with ``est.save(path)``.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, tampered with or foreign (see :func:`deltaprop.load`).
    InputError
        If it holds a plain network without estimator state.
    """
    # The estimator classes build on this module (through the base), so they are imported
    # here, when a file is loaded, rather than at import time.
    from deltaprop.estimators.classifier import MLPClassifier
    from deltaprop.estimators.regressor import MLPRegressor
    from deltaprop.modelfile import load

    net = load(path)
    if _EXTRAS_KEY not in net.extras:
        raise InputError(f"{path} holds a deltaprop network but no scikit-learn estimator state; "
                         "load it with deltaprop.load")
    cfg, arrays = net.extras[_EXTRAS_KEY]
    cls = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}.get(cfg.get("class"))
    if cls is None:
        raise InputError(f"{path}: unknown estimator class {cfg.get('class')!r}")
    params = dict(cfg["params"])
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if isinstance(params.get("schedule"), dict) and "__schedule__" in params["schedule"]:
        params["schedule"] = Schedule.from_state(params["schedule"]["__schedule__"], {})
    est = cls(**params)
    for key, value in cfg["fitted"].items():
        setattr(est, key, value)
    if "feature_names_in" in cfg:
        est.feature_names_in_ = np.asarray(cfg["feature_names_in"], dtype=object)
    est.history_ = History.from_dict(cfg["history"])
    est._load_classes(cfg, arrays)
    net.extras = {}
    est._network = net
    return est

