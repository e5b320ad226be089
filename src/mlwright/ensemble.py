"""Greedy (Caruana) ensemble selection over out-of-fold predictions."""

from __future__ import annotations

import numpy as np

from .budget import Deadline
from .metrics import Metric

__all__ = ["caruana"]


def caruana(
    preds: list[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    n_classes: int = 0,
    rounds: int = 40,
    tolerance: float = 0.001,
    deadline: Deadline | None = None,
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
    tolerance : float
        Members are pruned (lightest first) while the loss stays within this relative margin.
    deadline : Deadline, optional
        Stop adding rounds (and skip pruning) once it has passed; at least one round always runs.

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
        if deadline is not None and deadline.expired():
            break
    w = best_counts / best_counts.sum()
    if deadline is None or not deadline.expired():
        w, best_loss = _prune(preds, y, metric, n_classes, w, best_loss, tolerance, deadline)
    score = -best_loss if metric.greater_is_better else best_loss
    return w, float(score)


def _prune(preds, y, metric, n_classes, w, loss, tolerance, deadline):
    """Drop the lightest members while the loss stays within ``tolerance`` (relative) of the best.

    Fewer members predict faster; tiny weights rarely carry real signal.
    """
    limit = loss + abs(loss) * tolerance
    while (w > 0).sum() > 1 and (deadline is None or not deadline.expired()):
        j = int(np.argmin(np.where(w > 0, w, np.inf)))
        w2 = w.copy()
        w2[j] = 0.0
        w2 /= w2.sum()
        blend = sum(wi * p for wi, p in zip(w2, preds) if wi > 0)
        l2 = metric.loss(y, blend, n_classes)
        if l2 > limit:
            break
        w, loss = w2, l2
    return w, loss
