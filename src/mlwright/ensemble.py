"""Greedy (Caruana) ensemble selection over out-of-fold predictions."""

from __future__ import annotations

import numpy as np

from .metrics import Metric

__all__ = ["caruana"]


def caruana(
    preds: list[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    n_classes: int = 0,
    rounds: int = 40,
) -> tuple[np.ndarray, float]:
    """Select models greedily with replacement to minimise the metric's loss.

    Parameters
    ----------
    preds : list of arrays
        Out-of-fold predictions of each candidate (same rows as ``y``).
    y : array
    metric : Metric
    n_classes : int
    rounds : int
        Number of greedy additions.

    Returns
    -------
    weights : array
        One non-negative weight per candidate, summing to 1.
    score : float
        The ensemble's score in the metric's own units.
    """
    m = len(preds)
    if m == 0:
        raise ValueError("no candidates")
    counts = np.zeros(m)
    current = np.zeros_like(preds[0], dtype=float)
    best_loss, best_counts = np.inf, None
    for r in range(1, rounds + 1):
        losses = [metric.loss(y, (current * (r - 1) + p) / r, n_classes) for p in preds]
        j = int(np.argmin(losses))
        counts[j] += 1
        current = (current * (r - 1) + preds[j]) / r
        if losses[j] < best_loss - 1e-12:
            best_loss, best_counts = losses[j], counts.copy()
    w = best_counts / best_counts.sum()
    score = -best_loss if metric.greater_is_better else best_loss
    return w, float(score)
