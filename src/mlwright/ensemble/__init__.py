"""Greedy (Caruana) ensemble selection over out-of-fold predictions.

Package: may import ``evaluation.metrics`` and ``budget`` only.
"""

from __future__ import annotations

import numpy as np

from mlwright.budget import Deadline
from mlwright.evaluation.metrics import Metric

__all__ = ["caruana", "nested_scores"]

PER_GROUP = {"roc_auc"}  # ranking metrics: see _score
NESTED_MAX_ROWS = 20_000  # above this, fitting weights on the same rows costs next to no optimism


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


def nested_scores(
    preds: list[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    groups: list[np.ndarray],
    n_classes: int = 0,
    rounds: int = 40,
    tolerance: float = 0.001,
    deadline: Deadline | None = None,
    max_rows: int = NESTED_MAX_ROWS,
) -> tuple[float, float] | None:
    """Honest scores of two ways to choose from the candidates: Caruana selection, and the single best.

    Each choice is made on the rows outside one group and scored on that group's rows; the held-out
    predictions of every group are then scored together.  Unlike the score of weights fitted and
    judged on the same out-of-fold rows, this does not reward the choice for fitting noise.

    Parameters
    ----------
    preds, y, metric, n_classes, rounds, tolerance : as in :func:`caruana`
    groups : list of index arrays
        A partition of the rows (the cross-validation folds' validation rows).
    deadline : Deadline, optional
        None is returned when it passes before every group is done.
    max_rows : int
        None is returned above this many rows, where fitting weights on the same rows costs next
        to no optimism and the nested runs would cost real time.

    Returns
    -------
    (ensemble_score, single_score) or None
    """
    if len(y) > max_rows:
        return None
    ens = np.zeros_like(preds[0], dtype=float)
    single = np.zeros_like(preds[0], dtype=float)
    for va in groups:
        tr = np.ones(len(y), bool)
        tr[va] = False
        sub = [p[tr] for p in preds]
        w, _ = caruana(sub, y[tr], metric, n_classes, rounds, tolerance)
        ens[va] = sum(wi * p[va] for wi, p in zip(w, preds) if wi > 0)
        best = int(np.argmin([metric.loss(y[tr], p, n_classes) for p in sub]))
        single[va] = preds[best][va]
        if deadline is not None and deadline.expired():
            return None
    return _score(metric, y, ens, groups, n_classes), _score(metric, y, single, groups, n_classes)


def _score(metric: Metric, y: np.ndarray, pred: np.ndarray, groups: list[np.ndarray], n_classes: int) -> float:
    """Held-out score.  Ranking metrics (AUC) are averaged over the groups: each group's predictions
    come from weights learned without it, and pooling them would charge the served model (one set of
    weights) for differences in scale between those weightings."""
    if metric.name in PER_GROUP:
        with np.errstate(all="ignore"):
            per = [metric(y[g], pred[g], n_classes) for g in groups]
        if all(np.isfinite(per)):
            return float(np.average(per, weights=[len(g) for g in groups]))
    return float(metric(y, pred, n_classes))
