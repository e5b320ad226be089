"""Clusterings of a dense matrix and what they are judged by.

Every algorithm's result becomes a :class:`Partition`: labels ``0 … k−1`` and one centroid per cluster (a
Gaussian mixture keeps its fitted model for posterior probabilities).  Density clusterings (HDBSCAN) leave
some rows as noise; those rows join their nearest cluster, so that training rows and new rows are assigned
the same way and every row has a segment — the count is kept and reported.

Candidates are scored on one sample of rows by criteria that apply to every algorithm: the silhouette
(cohesion against separation, −1 … 1), Calinski–Harabasz and Davies–Bouldin; a mixture also has its BIC;
the chosen few are refitted on resamples to measure stability (adjusted Rand index of the resampled fit's
assignment against the full one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ALGORITHMS", "Partition", "Scored", "fit_partition", "nearest", "score", "stability"]

ALGORITHMS = ("kmeans", "gmm", "agglomerative", "hdbscan")
AGGLO_MAX_ROWS = 3_000  # Ward linkage is quadratic in memory
HDBSCAN_MAX_ROWS = 5_000
FIT_MAX_ROWS = 50_000  # k-means and mixtures fit on at most this many rows (centroids barely move beyond)


@dataclass
class Partition:
    """A clustering: ``algorithm``, ``k``, the centroids ``(k, d)``, and the fitted mixture (gmm only)."""

    algorithm: str
    k: int
    centroids: np.ndarray
    model: Any = None  # GaussianMixture for "gmm"
    params: dict[str, Any] = field(default_factory=dict)
    noise: int = 0  # HDBSCAN rows that fitted no dense cluster (assigned to the nearest one)
    seconds: float = 0.0

    def assign(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each row: the mixture's most probable component, else the nearest centroid."""
        if self.model is not None:
            return np.asarray(self.model.predict(X), dtype=int)
        return nearest(X, self.centroids)[0]


def nearest(X: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centroid and its Euclidean distance."""
    d2 = (X**2).sum(1)[:, None] - 2 * X @ centroids.T + (centroids**2).sum(1)[None, :]
    j = np.argmin(d2, axis=1)
    return j, np.sqrt(np.maximum(d2[np.arange(len(X)), j], 0.0))


def _centroids(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    ks = np.unique(labels[labels >= 0])
    return np.stack([X[labels == k].mean(0) for k in ks])


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0 … k−1 by first appearance of each kept label (noise −1 stays)."""
    out = np.full(len(labels), -1)
    for i, k in enumerate(np.unique(labels[labels >= 0])):
        out[labels == k] = i
    return out


def fit_partition(X: np.ndarray, algorithm: str, k: int | None, seed: int, **params: Any) -> Partition | None:
    """Fit one algorithm on ``X`` (k clusters; HDBSCAN finds its own); None when it yields fewer than two."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # duplicate rows, a mixture that stops early: judged by the scores, not warned
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _fit(X, algorithm, k, seed, **params)


def _fit(X: np.ndarray, algorithm: str, k: int | None, seed: int, **params: Any) -> Partition | None:
    t0 = time.monotonic()
    rng = np.random.default_rng(seed)
    if algorithm == "kmeans":
        from sklearn.cluster import KMeans

        fit_rows = X if len(X) <= FIT_MAX_ROWS else X[rng.choice(len(X), FIT_MAX_ROWS, replace=False)]
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(fit_rows)
        part = Partition("kmeans", int(k), km.cluster_centers_)
    elif algorithm == "gmm":
        from sklearn.mixture import GaussianMixture

        cov = params.get("covariance", "full")
        fit_rows = X if len(X) <= FIT_MAX_ROWS else X[rng.choice(len(X), FIT_MAX_ROWS, replace=False)]
        gm = GaussianMixture(
            n_components=k, covariance_type=cov, n_init=2, reg_covar=1e-4, random_state=seed, max_iter=200
        ).fit(fit_rows)
        part = Partition("gmm", int(k), gm.means_, model=gm, params={"covariance": cov, "bic": float(gm.bic(X))})
    elif algorithm == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        rows = X if len(X) <= AGGLO_MAX_ROWS else X[rng.choice(len(X), AGGLO_MAX_ROWS, replace=False)]
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(rows)
        part = Partition("agglomerative", int(k), _centroids(rows, labels), params={"linkage": "ward"})
    elif algorithm == "hdbscan":
        from sklearn.cluster import HDBSCAN

        rows = X if len(X) <= HDBSCAN_MAX_ROWS else X[rng.choice(len(X), HDBSCAN_MAX_ROWS, replace=False)]
        size = int(params.get("min_cluster_size") or max(5, len(rows) // 50))
        labels = _relabel(HDBSCAN(min_cluster_size=size, copy=True).fit_predict(rows))
        if labels.max() < 1:
            return None
        part = Partition(
            "hdbscan",
            int(labels.max() + 1),
            _centroids(rows, labels),
            params={"min_cluster_size": size},
            noise=int((labels < 0).sum() * len(X) / len(rows)),
        )
    else:
        raise ValueError(f"unknown clustering algorithm {algorithm!r}")
    if len(np.unique(part.assign(X))) < 2:
        return None
    part.seconds = time.monotonic() - t0
    return part


@dataclass
class Scored:
    """A partition and its scores on the scoring sample."""

    partition: Partition
    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float
    sizes: list[int]
    stability: float | None = None


def score(part: Partition, S: np.ndarray) -> Scored:
    """The partition judged on the scoring sample ``S``."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    labels = part.assign(S)
    sizes = np.bincount(labels, minlength=part.k).tolist()
    if len(np.unique(labels)) < 2:
        return Scored(part, -1.0, 0.0, float("inf"), sizes)
    return Scored(
        part,
        float(silhouette_score(S, labels)),
        float(calinski_harabasz_score(S, labels)),
        float(davies_bouldin_score(S, labels)),
        sizes,
    )


def stability(part: Partition, X: np.ndarray, S: np.ndarray, seed: int, rounds: int = 3, share: float = 0.8) -> float:
    """Mean adjusted Rand index, on ``S``, between the partition and the same algorithm refitted on random
    ``share`` subsamples of ``X`` (1: the same segments whatever the sample; near 0: chance)."""
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(seed + 1)
    base = part.assign(S)
    out = []
    for r in range(rounds):
        rows = X[rng.choice(len(X), max(int(share * len(X)), part.k + 1), replace=False)]
        again = fit_partition(rows, part.algorithm, part.k, seed + 1 + r, **part.params)
        out.append(adjusted_rand_score(base, again.assign(S)) if again is not None else 0.0)
    return float(np.mean(out))
