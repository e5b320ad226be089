"""Honest class probabilities: a temperature and a floor learned out of fold.

A blend's probabilities can be too sure or not sure enough, and a wrong answer with a probability near 0 for
the true class costs more log loss than a hundred right ones gain.  (Measured on the benchmark's multiclass
tables, Caruana blends are slightly *under*-confident out of fold: averaging members softens them.)  After the
ensemble is chosen, its out-of-fold probabilities ``p`` (rows no member saw) teach two numbers:

* a **temperature** ``T``: ``q ∝ p ** (1 / T)`` (``T > 1`` softens, ``T < 1`` sharpens; the order of the
  classes in a row never changes);
* a **floor** ``ε``: ``q ← (1 − ε) q + ε π``, a share of the training class frequencies ``π``, so that
  no class is ever ruled out with certainty.

Both are chosen to minimise the out-of-fold log loss, and kept only when that choice, cross-fitted (learned
on the other folds, applied to each fold), beats the raw probabilities.  Whatever is learned, every
probability is at least :data:`MIN_PROB` (``q ← MIN_PROB + (1 − k·MIN_PROB) q`` for ``k`` classes): one row
can cost at most ``−log(MIN_PROB)`` ≈ 9.2, a certain row costs ``k·MIN_PROB`` more.  The maps keep each row's
order of classes; for two classes they are monotone, so ROC AUC is unchanged.

Package: numpy and scipy only; used by the ensemble stage (:mod:`mlwright.automl.assemble`), by
:class:`~mlwright.automl.fitted.FittedModel` when it scores, and by the ONNX export.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["MIN_PROB", "apply_tempering", "fit_tempering", "floor_only", "tempering_gain"]

MIN_PROB = 1e-4
FLOORS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
LOG_T_RANGE = (np.log(0.2), np.log(5.0))


def _as_matrix(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return p if p.ndim == 2 else np.column_stack([1.0 - p, p])


def apply_tempering(t: dict[str, Any] | None, p: np.ndarray) -> np.ndarray:
    """Probabilities ``p`` (n × k) through a fitted tempering ``t``: its temperature and floor when it has them,
    then the minimum probability ``min_prob`` (every map :func:`floor_only` / :func:`fit_tempering` makes has it).
    None (models saved before tempering existed): ``p`` as it is."""
    if t is None:
        return np.asarray(p, dtype=float)
    p = _as_matrix(p)
    if "temperature" in t:
        logp = np.log(np.clip(p, 1e-300, None)) / float(t["temperature"])
        logp -= logp.max(axis=1, keepdims=True)
        q = np.exp(logp)
        q /= q.sum(axis=1, keepdims=True)
        eps = float(t["floor"])
        p = (1.0 - eps) * q + eps * np.asarray(t["prior"], dtype=float)
    m = float(t.get("min_prob", 0.0))
    return m + (1.0 - p.shape[1] * m) * p if m else p


def floor_only() -> dict[str, Any]:
    """The map that only keeps every probability at least :data:`MIN_PROB`."""
    return {"min_prob": MIN_PROB}


def _nll(y: np.ndarray, p: np.ndarray) -> float:
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def fit_tempering(p: np.ndarray, y: np.ndarray, prior: np.ndarray | None = None) -> dict[str, Any]:
    """The temperature and floor with the lowest log loss on ``p`` (n × k probabilities) for labels ``y``."""
    p = _as_matrix(p)
    y = np.asarray(y, dtype=int)
    k = p.shape[1]
    pi = np.bincount(y, minlength=k) / len(y) if prior is None else np.asarray(prior, dtype=float)
    base = {"prior": pi.tolist(), "min_prob": MIN_PROB}
    best: dict[str, Any] = {"temperature": 1.0, "floor": 0.0, **base}
    best_loss = _nll(y, apply_tempering(best, p))
    for eps in FLOORS:

        def loss(log_t: float, eps: float = eps) -> float:
            return _nll(y, apply_tempering({**base, "temperature": np.exp(log_t), "floor": eps}, p))

        res = minimize_scalar(loss, bounds=LOG_T_RANGE, method="bounded", options={"xatol": 1e-3})
        if res.fun < best_loss - 1e-12:
            best_loss = float(res.fun)
            best = {"temperature": float(np.exp(res.x)), "floor": eps, **base}
    return best


def tempering_gain(p: np.ndarray, y: np.ndarray, groups: list[np.ndarray]) -> tuple[float, float]:
    """Cross-fitted log loss of ``p`` raw (floored) and tempered: each group tempered by a map learned on the
    other groups' rows.  Returns ``(raw, tempered)``."""
    p = _as_matrix(p)
    y = np.asarray(y, dtype=int)
    k = p.shape[1]
    prior = np.bincount(y, minlength=k) / len(y)
    out = np.empty_like(p)
    for g in groups:
        rest = np.ones(len(y), dtype=bool)
        rest[g] = False
        out[g] = apply_tempering(fit_tempering(p[rest], y[rest], prior), p[g])
    return _nll(y, apply_tempering(floor_only(), p)), _nll(y, out)
