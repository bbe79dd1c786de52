"""Model selection (002 §5): data splits, cross-validation and hyperparameter search.

The 5:1:1 training/validation/test split of the notes comes from :mod:`deltaprop.data.splits`;
K-fold and leave-one-out from scikit-learn's splitters; every (candidate, fold) fit runs
through joblib, locally or on a Dask cluster; :func:`data_parallel_fit` spreads one large fit
over a Dask cluster (model averaging per round).
"""

from deltaprop.data.splits import split_indices, train_test_split, train_val_test_split
from deltaprop.model_selection.parallel import data_parallel_fit
from deltaprop.model_selection.search import (
    CVResult,
    GridSearch,
    RandomSearch,
    cross_validate,
    make_splits,
    search,
)
from deltaprop.model_selection.splits import kfold, leave_one_out

__all__ = ["split_indices", "train_val_test_split", "train_test_split", "kfold",
           "leave_one_out", "cross_validate", "CVResult", "GridSearch", "RandomSearch",
           "search", "make_splits", "data_parallel_fit"]
