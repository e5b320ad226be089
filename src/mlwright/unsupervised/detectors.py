"""Anomaly detectors on a dense matrix, each turned into one comparable score.

A detector's raw score (higher = more unusual) on a row becomes its *percentile* among the training rows'
scores: 0.99 means "more unusual than 99 % of the rows it learned from".  Percentiles of several detectors
are combined by averaging (rank averaging), which needs no assumption about how each detector's raw scores
are scaled.

Detectors: isolation forest, local outlier factor (novelty mode, on at most :data:`LOF_ROWS` rows), robust
covariance (the Mahalanobis distance under a minimum-covariance-determinant fit, on at most
:data:`ROBUST_DIMS` principal components), a one-class SVM on a sample, ECOD (Li et al., 2022: the sum
over columns of −log of each value's tail probability under the training rows' empirical distribution) and
COPOD (Li et al., 2020: the same empirical tails combined as an empirical copula — per column the larger of
the skewness-chosen tail and the mean of both tails).  ECOD and COPOD are scored here against the
*training* distribution only: pyod's ``decision_function`` re-ranks new rows together with the training
rows, so a row's score would depend on the other rows of its request — a served model must not do that.
On training rows they agree with pyod (tests check both).  ECOD's per-column tail probabilities also say
which columns made a row unusual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DETECTORS", "Detector", "copod_columns", "ecod_columns", "ecod_tails", "fit_detector", "percentiles"]

DETECTORS = ("iforest", "lof", "robust_cov", "ocsvm", "ecod", "copod")
LOF_ROWS = 10_000
SVM_ROWS = 2_000
ROBUST_DIMS = 10
ROBUST_ROWS = 20_000
ECOD_ROWS = 20_000  # training rows whose columns ECOD keeps (sorted) to rank new values against


@dataclass
class Detector:
    """A fitted detector: its models, and its training rows' raw scores (sorted) to turn scores into
    percentiles."""

    name: str
    models: dict[str, Any]
    train_scores: np.ndarray  # sorted raw scores of the training rows
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores of new rows (higher = more unusual)."""
        m = self.models
        if self.name == "iforest":
            return -m["model"].score_samples(X)
        if self.name == "lof":
            return -m["model"].score_samples(X)
        if self.name == "ocsvm":
            return -m["model"].decision_function(X)
        if self.name == "robust_cov":
            Z = m["pca"].transform(X) if "pca" in m else X
            return m["model"].mahalanobis(Z)
        if self.name == "ecod":
            return ecod_columns(X, m["sorted"], m["skew"]).sum(1)
        if self.name == "copod":
            return copod_columns(X, m["sorted"], m["skew"]).sum(1)
        raise ValueError(f"unknown detector {self.name!r}")

    def percentile(self, X: np.ndarray) -> np.ndarray:
        """Each row's share of training rows with a lower raw score."""
        return percentiles(self.raw(X), self.train_scores)


def ecod_tails(X: np.ndarray, sorted_cols: np.ndarray) -> np.ndarray:
    """``(n, d, 2)``: −log of each value's left and right tail probability among the training column
    (``sorted_cols``: each column sorted), ``(count + 1) / (n + 1)`` so that a value beyond every training
    value stays finite."""
    n = sorted_cols.shape[0]
    out = np.empty((*X.shape, 2))
    for j in range(X.shape[1]):
        col = sorted_cols[:, j]
        out[:, j, 0] = -np.log((np.searchsorted(col, X[:, j], side="right") + 1) / (n + 1))
        out[:, j, 1] = -np.log((n - np.searchsorted(col, X[:, j], side="left") + 1) / (n + 1))
    return out


def ecod_columns(X: np.ndarray, sorted_cols: np.ndarray, skew: np.ndarray) -> np.ndarray:
    """``(n, d)``: ECOD's outlyingness of each value, as pyod computes it: the larger of its left tail, its
    right tail and the skewness-chosen tail (``−sign(s − 1)·left + sign(s + 1)·right``)."""
    left, right, chosen = _tails(X, sorted_cols, skew)
    return np.maximum(np.maximum(left, right), chosen)


def copod_columns(X: np.ndarray, sorted_cols: np.ndarray, skew: np.ndarray) -> np.ndarray:
    """``(n, d)``: COPOD's outlyingness of each value, as pyod computes it: the larger of the
    skewness-chosen tail (by the skewness's sign: the right tail when positive, the left when negative,
    both when zero) and the mean of the left and right tails."""
    left, right, chosen = _tails(X, sorted_cols, np.sign(skew))
    return np.maximum(chosen, (left + right) / 2)


def _tails(X: np.ndarray, sorted_cols: np.ndarray, skew: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left tail, right tail and the skewness-chosen tail (``−sign(s − 1)·left + sign(s + 1)·right``)."""
    t = ecod_tails(X, sorted_cols)
    left, right = t[..., 0], t[..., 1]
    return left, right, left * -np.sign(skew[None, :] - 1) + right * np.sign(skew[None, :] + 1)


def percentiles(raw: np.ndarray, sorted_train: np.ndarray) -> np.ndarray:
    """Share of ``sorted_train`` strictly below each value of ``raw`` (ties count half)."""
    lo = np.searchsorted(sorted_train, raw, side="left")
    hi = np.searchsorted(sorted_train, raw, side="right")
    return (lo + hi) / (2.0 * max(len(sorted_train), 1))


def _sample(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return X if len(X) <= n else X[rng.choice(len(X), n, replace=False)]


def fit_detector(name: str, X: np.ndarray, seed: int) -> Detector:
    """Fit detector ``name`` on ``X``; its training scores are those of every row of ``X``."""
    t0 = time.monotonic()
    rng = np.random.default_rng(seed)
    models: dict[str, Any] = {}
    train: np.ndarray | None = None
    if name == "iforest":
        from sklearn.ensemble import IsolationForest

        models["model"] = IsolationForest(n_estimators=200, random_state=seed).fit(X)
    elif name == "lof":
        from sklearn.neighbors import LocalOutlierFactor

        rows = _sample(X, LOF_ROWS, rng)
        lof = LocalOutlierFactor(n_neighbors=max(2, min(20, len(rows) - 1)), novelty=True).fit(rows)
        models["model"] = lof
        if len(rows) == len(X):  # a training row's own score leaves itself out of its neighbours
            train = -lof.negative_outlier_factor_
    elif name == "robust_cov":
        from sklearn.covariance import MinCovDet
        from sklearn.decomposition import PCA

        Z = X
        if X.shape[1] > ROBUST_DIMS:
            models["pca"] = PCA(n_components=ROBUST_DIMS, random_state=seed).fit(X)
            Z = models["pca"].transform(X)
        models["model"] = MinCovDet(random_state=seed, support_fraction=None).fit(_sample(Z, ROBUST_ROWS, rng))
    elif name == "ocsvm":
        from sklearn.svm import OneClassSVM

        models["model"] = OneClassSVM(nu=0.05, gamma="scale").fit(_sample(X, SVM_ROWS, rng))
    elif name in ("ecod", "copod"):
        from scipy.stats import skew

        rows = _sample(X, ECOD_ROWS, rng)
        models["sorted"] = np.sort(rows, axis=0)
        models["skew"] = np.nan_to_num(skew(rows, axis=0), nan=0.0)
    else:
        raise ValueError(f"unknown detector {name!r}")
    det = Detector(name, models, np.empty(0))
    scores = det.raw(X) if train is None else train
    det.train_scores = np.sort(np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0))
    det.seconds = time.monotonic() - t0
    return det
