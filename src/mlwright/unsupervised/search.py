"""Trying clusterings under a time budget and choosing one.

Every algorithm is tried for every k (k-means, Gaussian mixtures, Ward agglomerative; HDBSCAN finds its
own k), cheapest first, until the budget runs out; each is scored on one sample of rows (see
:mod:`mlwright.unsupervised.partition`).  The choice is made by measurement, in two steps, and both are
reported: the silhouette ranks the candidates, and among those within :data:`SILHOUETTE_SLACK` of the best
the most stable under resampling wins (a partition that a different sample of the same data would not
reproduce is not a finding).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlwright.unsupervised.partition import Scored, fit_partition, score, stability

__all__ = ["Choice", "choose", "search"]

SCORE_ROWS = 2_000  # rows the candidates are scored on
SILHOUETTE_SLACK = 0.05  # candidates this close to the best silhouette compete on stability
STABILITY_CHECKED = 6  # at most this many candidates are refitted on resamples


@dataclass
class Choice:
    """The chosen candidate, every candidate tried, and how the choice was made."""

    best: Scored
    tried: list[Scored]
    rule: str
    log: list[dict[str, Any]]


def _cov(d: int) -> str:
    return "full" if d <= 12 else "diag"


def search(
    X: np.ndarray,
    n_clusters: int | None,
    algorithms: tuple[str, ...],
    max_clusters: int,
    seed: int,
    deadline: float,
) -> tuple[list[Scored], np.ndarray, list[dict[str, Any]]]:
    """Fit and score candidates until ``deadline``: the scored candidates, the scoring sample, the log."""
    rng = np.random.default_rng(seed)
    S = X if len(X) <= SCORE_ROWS else X[rng.choice(len(X), SCORE_ROWS, replace=False)]
    ks = [n_clusters] if n_clusters else list(range(2, max(2, min(max_clusters, len(X) - 1)) + 1))
    plan: list[tuple[str, int | None, dict[str, Any]]] = []
    for algo in algorithms:
        if algo == "hdbscan":
            if not n_clusters:
                plan.append((algo, None, {}))
            continue
        extra = {"covariance": _cov(X.shape[1])} if algo == "gmm" else {}
        plan += [(algo, k, extra) for k in ks]
    tried: list[Scored] = []
    log: list[dict[str, Any]] = []
    for algo, k, extra in plan:
        if tried and time.monotonic() > deadline:
            log.append({"algorithm": algo, "k": k, "status": "out of time"})
            continue
        part = fit_partition(X, algo, k, seed, **extra)
        if part is None:
            log.append({"algorithm": algo, "k": k, "status": "fewer than two clusters"})
            continue
        if n_clusters and part.k != n_clusters:
            continue
        tried.append(score(part, S))
        log.append({"algorithm": algo, "k": part.k, "status": "ok", "seconds": round(part.seconds, 3)})
    return tried, S, log


def choose(tried: list[Scored], X: np.ndarray, S: np.ndarray, seed: int, deadline: float) -> Choice:
    """The best silhouette, or among candidates within :data:`SILHOUETTE_SLACK` of it the most stable."""
    ranked = sorted(tried, key=lambda s: -s.silhouette)
    top = ranked[0].silhouette
    close = [s for s in ranked if s.silhouette >= top - SILHOUETTE_SLACK][:STABILITY_CHECKED]
    log: list[dict[str, Any]] = []
    if len(close) == 1:
        return Choice(close[0], tried, "silhouette", log)
    for s in close:
        if time.monotonic() > deadline and s is not close[0]:
            break
        s.stability = stability(s.partition, X, S, seed)
    checked = [s for s in close if s.stability is not None]
    best = max(checked, key=lambda s: (round(s.stability, 2), s.silhouette))
    return Choice(best, tried, "silhouette, then stability", log)
