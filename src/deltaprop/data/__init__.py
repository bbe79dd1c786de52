"""Data: built-in and CSV data sets, MNIST, splits, preprocessing (standardisation, whitening,
target scaling, one-hot encoding) and augmentation (002 §4-§6)."""
