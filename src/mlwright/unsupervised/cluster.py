"""``Cluster``: find the segments in rows without a label — the algorithm and the number of clusters chosen
by measurement under one time budget — and describe each one in plain words."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import ConfigError, DataError
from mlwright.unsupervised.base import RowsModel, lazy
from mlwright.unsupervised.framing import pca_map
from mlwright.unsupervised.partition import ALGORITHMS, Partition, nearest
from mlwright.unsupervised.persist import cluster_entries, write_cluster

__all__ = ["Cluster"]


def _check(n_clusters: Any, time_budget: Any, algorithms: Any, max_clusters: Any) -> tuple[str, ...]:
    if n_clusters is not None and (isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer))
                                   or n_clusters < 2):  # fmt: skip
        raise ConfigError(f"n_clusters must be a whole number ≥ 2 (or None to choose it), got {n_clusters!r}")
    if not isinstance(time_budget, (int, float)) or isinstance(time_budget, bool) or time_budget <= 0:
        raise ConfigError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    if isinstance(max_clusters, bool) or not isinstance(max_clusters, (int, np.integer)) or max_clusters < 2:
        raise ConfigError(f"max_clusters must be a whole number ≥ 2, got {max_clusters!r}")
    algos = tuple(algorithms or ALGORITHMS)
    bad = [a for a in algos if a not in ALGORITHMS]
    if bad:
        raise ConfigError(f"unknown clustering algorithm(s) {bad}; choose from {', '.join(ALGORITHMS)}")
    return algos


class Cluster(RowsModel):
    """Segment rows: k-means, Gaussian mixtures, Ward agglomerative clustering and HDBSCAN tried under one
    time budget; the algorithm and k chosen by silhouette and stability under resampling (see
    :mod:`mlwright.unsupervised.search`); every cluster described by the columns that set it apart.

    Parameters
    ----------
    n_clusters : int or None
        Fix the number of clusters (None: choose it, 2 … ``max_clusters``).
    time_budget : float
        Seconds for the whole search.
    seed : int
    algorithms : list of str or None
        Restrict the algorithms tried (``kmeans``, ``gmm``, ``agglomerative``, ``hdbscan``).
    max_clusters : int
        The largest k tried when ``n_clusters`` is None.
    column_types : dict or None
        ``{column: kind}`` overrides of the inferred column kinds.
    """

    kind = "cluster"
    _FITTED = "partition_"
    _entries = staticmethod(cluster_entries)
    _write = staticmethod(write_cluster)
    _render = staticmethod(lazy("mlwright.report.unsupervised", "render_cluster"))

    def __init__(
        self,
        n_clusters: int | None = None,
        time_budget: float = 60.0,
        seed: int = 0,
        algorithms: list[str] | None = None,
        max_clusters: int = 10,
        column_types: dict[str, str] | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.time_budget = time_budget
        self.seed = seed
        self.algorithms = algorithms
        self.max_clusters = max_clusters
        self.column_types = column_types

    def get_params(self) -> dict[str, Any]:
        """The constructor's settings."""
        return {
            "n_clusters": self.n_clusters,
            "time_budget": float(self.time_budget),
            "seed": self.seed,
            "algorithms": self.algorithms,
            "max_clusters": int(self.max_clusters),
            "column_types": self.column_types,
        }

    # ------------------------------------------------------------------------------------------ fitting
    def fit(self, data: Any, columns: list[str] | None = None, exclude: list[str] | None = None) -> Cluster:
        """Choose and fit the clustering.

        Parameters
        ----------
        data : DataFrame, path or SqlSource
            The rows to segment.
        columns : list of str, optional
            Use only these columns.
        exclude : list of str, optional
            Leave these columns out (a label, an identifier the inference missed).

        Returns
        -------
        Cluster
            ``self``, fitted.
        """
        from mlwright.unsupervised.describe import describe_clusters
        from mlwright.unsupervised.framing import frame_rows
        from mlwright.unsupervised.search import choose, search

        start = time.monotonic()
        algos = _check(self.n_clusters, self.time_budget, self.algorithms, self.max_clusters)
        framed = frame_rows(data, "cluster", columns, exclude, self.column_types, self.seed)
        X = framed.X
        distinct = len(np.unique(X, axis=0)) if len(X) <= 100_000 else len(X)
        if self.n_clusters is not None and self.n_clusters > distinct:
            raise DataError(
                f"n_clusters={self.n_clusters} is more than the {distinct} distinct rows in the data; "
                f"choose at most {distinct}"
            )
        deadline = start + float(self.time_budget) * 0.85
        tried, S, log = search(X, self.n_clusters, algos, min(self.max_clusters, distinct), self.seed, deadline)
        if not tried:
            raise DataError("no clustering found two or more clusters in the data; check that the rows differ")
        choice = choose(tried, X, S, self.seed, start + float(self.time_budget) * 0.95)
        part = choice.best.partition
        labels = part.assign(X)
        self.schema_ = framed.schema
        self.schema_.classes = list(range(part.k))  # a request's answer: the cluster, with its membership
        self.prep_ = framed.prep
        self.partition_ = part
        self.labels_ = labels
        self.spread_ = float(np.mean(nearest(X, part.centroids)[1] ** 2)) or 1.0
        self.choice_ = {"rule": choice.rule, "silhouette": choice.best.silhouette,
                        "stability": choice.best.stability}  # fmt: skip
        self.leaderboard_ = _board(choice.tried, choice.best)
        self.fit_log_ = log
        self.findings_ = framed.findings
        self.clusters_ = describe_clusters(framed.df, framed.schema, X, labels, part.centroids)
        self.reference_data_ = _reference(framed, labels, part.k)
        self.map_ = pca_map(X, labels, self.seed)
        self.n_rows_ = len(X)
        self.fit_seconds_ = time.monotonic() - start
        return self

    # ------------------------------------------------------------------------------------------ predicting
    def assign(self, X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass over request rows: the cluster of each row, its distance to that cluster's centre (in the
        scaled feature space) and the membership probabilities ``(n, k)``."""
        _, M = self._rows(X)
        part: Partition = self.partition_
        c = part.centroids
        d2 = np.maximum((M**2).sum(1)[:, None] - 2 * M @ c.T + (c**2).sum(1)[None, :], 0.0)
        if part.model is not None:
            proba = np.asarray(part.model.predict_proba(M), dtype=float)
            labels = proba.argmax(1)
        else:
            z = -(d2 - d2.min(1, keepdims=True)) / (2 * self.spread_ / max(M.shape[1], 1))
            proba = np.exp(z)
            proba /= proba.sum(1, keepdims=True)
            labels = d2.argmin(1)
        return labels, np.sqrt(d2[np.arange(len(M)), labels]), proba

    def predict(self, X: Any) -> np.ndarray:
        """The cluster (0 … k−1) of each row."""
        return self.assign(X)[0]

    def transform(self, X: Any) -> np.ndarray:
        """Each row's distance to every cluster's centre ``(n, k)`` (in the scaled feature space)."""
        _, M = self._rows(X)
        c = self.partition_.centroids
        return np.sqrt(np.maximum((M**2).sum(1)[:, None] - 2 * M @ c.T + (c**2).sum(1)[None, :], 0.0))

    def predict_scores(self, X: Any) -> np.ndarray:
        """Membership probabilities ``(n, k)``: a mixture's posterior, else a soft assignment by distance
        (``exp(−d²/2σ²)`` normalised, σ² the training rows' mean squared distance to their centre per
        feature); the predicted cluster is the most probable."""
        return self.assign(X)[2]

    # ------------------------------------------------------------------------------------------ views
    @property
    def n_clusters_(self) -> int:
        """The number of clusters."""
        self._check_fitted()
        return int(self.partition_.k)

    @property
    def threshold_(self) -> None:
        """No decision threshold."""
        return None

    @classmethod
    def load(cls, path: str | Path, manifest: dict[str, Any]) -> Cluster:
        """Rebuild a clusterer from its model directory (verified by SHA-256; use :func:`mlwright.load`)."""
        from mlwright.unsupervised.persist import read_cluster

        parts = read_cluster(Path(path), manifest)
        spec = manifest["cluster"]
        model = cls.restored(manifest, parts)
        model.partition_ = parts["partition"]
        model.spread_ = float(spec["spread"])
        model.choice_ = dict(spec["choice"])
        model.clusters_ = list(spec["clusters"])
        model.map_ = dict(spec["map"])
        model.leaderboard_ = pd.DataFrame(manifest["leaderboard"])
        return model

    def leaderboard(self) -> pd.DataFrame:
        """Every candidate tried, best first: algorithm, k, silhouette, Calinski–Harabasz, Davies–Bouldin,
        stability (where measured), BIC (mixtures), chosen."""
        self._check_fitted()
        return self.leaderboard_.copy()

    def describe(self) -> list[dict[str, Any]]:
        """Each cluster: size, share, the columns that set it apart (effect sizes), a one-line summary and a
        representative row."""
        self._check_fitted()
        return list(self.clusters_)

    def summary(self) -> str:
        """The clusters in a few lines of plain text."""
        self._check_fitted()
        head = (
            f"{self.n_clusters_} clusters by {self.partition_.algorithm} in {self.n_rows_} rows "
            f"(chosen by {self.choice_['rule']}; silhouette {self.choice_['silhouette']:.2f})"
        )
        return "\n".join([head, *(c["summary"] for c in self.clusters_)])


def _reference(framed: Any, labels: np.ndarray, k: int) -> dict[str, Any]:
    from mlwright.monitoring.reference import build_reference

    ref = build_reference(framed.df, framed.schema, {"labels": labels.astype(str)})
    shares = np.bincount(labels, minlength=k) / max(len(labels), 1)
    return ref | {"kind": "cluster", "k": int(k), "shares": [float(v) for v in shares]}


def _board(tried: list, best: Any) -> pd.DataFrame:
    rows = []
    for s in tried:
        p = s.partition
        rows.append(
            {
                "algorithm": p.algorithm,
                "k": p.k,
                "silhouette": round(s.silhouette, 4),
                "calinski_harabasz": round(s.calinski_harabasz, 2),
                "davies_bouldin": round(s.davies_bouldin, 4),
                "stability": None if s.stability is None else round(s.stability, 4),
                "bic": p.params.get("bic"),
                "smallest_share": round(min(s.sizes) / max(sum(s.sizes), 1), 4),
                "fit_seconds": round(p.seconds, 3),
                "chosen": s is best,
            }
        )
    board = pd.DataFrame(rows).sort_values(["chosen", "silhouette"], ascending=False, kind="stable")
    return board.reset_index(drop=True)
