"""A components step a model family may put in front of its estimator: principal components (PCA),
independent components (FastICA) or a truncated SVD of the encoded columns, keeping the components that
explain :data:`VARIANCE` of the variation.  Whether it helps is left to the search: the step is one more
hyper-parameter (``components``: none / pca / svd / ica), judged by the same cross-validation as the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["COMPONENT_METHODS", "ComponentStep"]

COMPONENT_METHODS = ("none", "pca", "svd", "ica")
VARIANCE = 0.95
MAX_COMPONENTS = 64
FIT_ROWS = 20_000  # the components are learnt on at most this many rows


class ComponentStep(TransformerMixin, BaseEstimator):
    """Project rows onto their first components.

    Parameters
    ----------
    method : {"pca", "svd", "ica"}
        Principal components (centred), a truncated SVD (uncentred; sparse input stays sparse on the way in),
        or independent components (FastICA on as many components as PCA keeps).
    seed : int
    """

    def __init__(self, method: str = "pca", seed: int = 0) -> None:
        self.method = method
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> ComponentStep:
        """Learn the components on (a sample of) ``X``."""
        from sklearn.decomposition import PCA, FastICA, TruncatedSVD

        if self.method not in COMPONENT_METHODS[1:]:
            raise ValueError(f"method must be one of {COMPONENT_METHODS[1:]}, got {self.method!r}")
        rows = X
        if X.shape[0] > FIT_ROWS:
            rows = X[np.random.default_rng(self.seed).choice(X.shape[0], FIT_ROWS, replace=False)]
        dense = rows.toarray() if sp.issparse(rows) else np.asarray(rows, dtype=float)
        width = min(dense.shape[1], dense.shape[0] - 1, MAX_COMPONENTS)
        probe = PCA(n_components=max(width, 1), random_state=self.seed).fit(dense)
        k = int(np.searchsorted(np.cumsum(probe.explained_variance_ratio_), VARIANCE) + 1)
        k = max(1, min(k, width))
        if self.method == "pca":
            self.model_ = PCA(n_components=k, random_state=self.seed).fit(dense)
        elif self.method == "svd":
            self.model_ = TruncatedSVD(n_components=min(k, max(dense.shape[1] - 1, 1)), random_state=self.seed)
            self.model_.fit(rows)
        else:
            self.model_ = FastICA(n_components=k, random_state=self.seed, whiten="unit-variance", max_iter=400)
            self.model_.fit(dense)
        self.n_components_ = int(k)
        self.n_features_in_ = int(X.shape[1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The rows' coordinates on the components."""
        check_is_fitted(self, "model_")
        if self.method != "svd" and sp.issparse(X):
            X = X.toarray()
        return np.asarray(self.model_.transform(X), dtype=float)
