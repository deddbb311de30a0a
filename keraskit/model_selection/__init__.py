"""Searches and cross-validation that train many networks at once.

Drop-in replacements for scikit-learn's ``GridSearchCV``, ``RandomizedSearchCV``,
``cross_validate`` and ``cross_val_score``: same parameters and results, plus ``fuse``.
The keraskit networks of a search that share a shape (MLPs and dense autoencoders, alone or
ending a pipeline) are trained together as one stacked network, each member reproducing its
lone fit; everything else runs as scikit-learn runs it.
"""

from ._search import GridSearchCV, RandomizedSearchCV
from ._validation import cross_val_score, cross_validate

__all__ = ["GridSearchCV", "RandomizedSearchCV", "cross_val_score", "cross_validate"]
