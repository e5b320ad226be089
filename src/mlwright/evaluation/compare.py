"""Paired comparison of two models on the same rows: is the challenger really better than the champion?

- :func:`delong` — DeLong's test for the difference of two correlated ROC AUCs (binary), computed with
  the fast midrank algorithm of Sun & Xu (2014);
- :func:`mcnemar` — McNemar's exact test on the rows exactly one of the two models gets right (accuracy);
- :func:`paired_bootstrap` — any metric: the same resampled rows scored for both models.

Each returns the two scores, their difference (challenger − champion, oriented so that positive means
better) and a one-sided p-value for "the challenger is not better".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["delong", "mcnemar", "paired_bootstrap"]


def _delong_parts(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of each row of ``scores`` and their DeLong covariance matrix."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = scores.shape[0]
    tx, ty, tz = np.empty((k, m)), np.empty((k, n)), np.empty((k, m + n))
    for r in range(k):
        tx[r], ty[r], tz[r] = stats.rankdata(pos[r]), stats.rankdata(neg[r]), stats.rankdata(np.r_[pos[r], neg[r]])
    aucs = tz[:, :m].sum(axis=1) / (m * n) - (m + 1.0) / (2.0 * n)
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    cov = np.atleast_2d(np.cov(v01)) / m + np.atleast_2d(np.cov(v10)) / n
    return aucs, cov


def delong(y: np.ndarray, champion: np.ndarray, challenger: np.ndarray) -> dict[str, Any]:
    """DeLong's test of AUC(challenger) > AUC(champion) on the same rows (``y`` in {0, 1}; scores)."""
    y = np.asarray(y).astype(int)
    if y.min() == y.max():
        raise ValueError("DeLong's test needs both classes among the rows")
    aucs, cov = _delong_parts(y, np.vstack([np.asarray(champion, float), np.asarray(challenger, float)]))
    diff = float(aucs[1] - aucs[0])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    if var <= 0:
        z, p = (0.0, 0.5) if diff == 0 else (np.sign(diff) * np.inf, 0.0 if diff > 0 else 1.0)
    else:
        z = diff / np.sqrt(var)
        p = float(stats.norm.sf(z))
    return {"test": "delong", "champion": float(aucs[0]), "challenger": float(aucs[1]), "delta": diff,
            "z": float(z), "pvalue": float(p), "rows": len(y)}  # fmt: skip


def mcnemar(y: np.ndarray, champion: np.ndarray, challenger: np.ndarray) -> dict[str, Any]:
    """McNemar's exact test of accuracy(challenger) > accuracy(champion) (predicted labels)."""
    y = np.asarray(y)
    a, b = np.asarray(champion) == y, np.asarray(challenger) == y
    only_champion, only_challenger = int((a & ~b).sum()), int((~a & b).sum())
    n = only_champion + only_challenger
    p = float(stats.binomtest(only_challenger, n, 0.5, alternative="greater").pvalue) if n else 1.0
    return {"test": "mcnemar", "champion": float(a.mean()), "challenger": float(b.mean()),
            "delta": float(b.mean() - a.mean()), "only_champion_right": only_champion,
            "only_challenger_right": only_challenger, "pvalue": p, "rows": len(y)}  # fmt: skip


def paired_bootstrap(
    y: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    greater_is_better: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Bootstrap of the paired difference: the same resampled rows scored for both models."""
    y, champion, challenger = np.asarray(y), np.asarray(champion), np.asarray(challenger)
    sign = 1.0 if greater_is_better else -1.0
    base = sign * (score(y, challenger) - score(y, champion))
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        diffs[i] = sign * (score(y[idx], challenger[idx]) - score(y[idx], champion[idx]))
    diffs = diffs[np.isfinite(diffs)]
    p = float((np.sum(diffs <= 0) + 1) / (len(diffs) + 1)) if len(diffs) else 1.0
    lo, hi = np.quantile(diffs, [0.025, 0.975]) if len(diffs) else (np.nan, np.nan)
    return {"test": "bootstrap", "champion": float(score(y, champion)), "challenger": float(score(y, challenger)),
            "delta": float(base), "interval": [float(lo), float(hi)], "pvalue": p, "rows": len(y),
            "resamples": len(diffs)}  # fmt: skip
