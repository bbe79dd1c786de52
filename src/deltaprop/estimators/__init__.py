"""scikit-learn compatible estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take scikit-learn's parameter names with scikit-learn's meanings (a drop-in for
``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``), build a :class:`deltaprop.Network`
with :func:`deltaprop.mlp` and train it with :class:`deltaprop.training.Trainer` ('sgd',
'adam') or with SciPy's L-BFGS-B over the flat parameter vector ('lbfgs'). On top of that they
expose deltaprop's own options: every activation and initializer of the engine, output
activation and loss, dropout, L1, max-norm, gradient clipping, learning-rate schedules,
per-layer learning rates, hard-example sampling, dtype (float32 by default), callbacks and the
training :class:`~deltaprop.callbacks.History`.

This is the only deltaprop package that imports scikit-learn's estimator machinery (public API
only). Its private modules: ``_base`` (parameters, their validation and mapping, network
construction), ``_solvers`` (the Trainer path for 'sgd'/'adam' and L-BFGS-B), ``_callbacks``
(scikit-learn's stopping rule and 'adaptive' rate), ``_files`` (model files);
``classifier`` and ``regressor`` hold the two estimators.

Mapping of scikit-learn semantics
---------------------------------
- ``alpha`` is scikit-learn's L2 penalty: its loss adds ``alpha / (2 n) ||W||²`` where ``n`` is
  the number of samples in the batch the gradient is computed on. deltaprop's trainer adds
  ``l2 / 2 ||W||²``, so the estimators pass ``l2 = alpha / batch_size`` to the trainer (sgd,
  adam) and use ``alpha / n_samples`` (sum of sample weights) with 'lbfgs': the same objective
  as scikit-learn, biases excluded.
- ``learning_rate='invscaling'`` is ``eta_0 / (samples seen + 1) ** power_t``, updated after
  every epoch as in scikit-learn; ``'adaptive'`` divides the rate by 5 whenever the stopping
  rule below fires, and stops once it is below 1e-6 (sgd only, as in scikit-learn).
- Stopping (scikit-learn's rule): after every epoch, if the training loss (or, with
  ``early_stopping``, the validation accuracy/R² on a ``validation_fraction`` hold-out, stratified
  for single-label classification, 002 §5) has not improved by ``tol`` for more than
  ``n_iter_no_change`` consecutive epochs, training stops; with early stopping the weights of
  the best validation epoch are restored.
- The regression loss is deltaprop's ``squared_error`` ½‖ŷ − y‖² per sample (scikit-learn
  divides it also by the number of outputs; identical for one output).
- ``shuffle=False`` is passed to the trainer: mini-batches in the data's order every epoch.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from deltaprop.estimators import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=2000, random_state=0)
>>> clf.fit(X, y).score(X, y) > 0.9
True
"""

from deltaprop.estimators._files import load_estimator
from deltaprop.estimators.classifier import MLPClassifier
from deltaprop.estimators.regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "load_estimator"]


def _register_with_skl2onnx() -> None:
    # skl2onnx already imported: make pipelines with these estimators convertible right away
    # (importing deltaprop.export, or calling deltaprop.export.register_skl2onnx(), does it too)
    from deltaprop.export.skl2onnx import register_if_imported

    register_if_imported()


_register_with_skl2onnx()
