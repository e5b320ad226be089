"""Fairness mitigation by a decision threshold per group, chosen on out-of-fold predictions.

``AutoML(fairness={"metric": "equalized_odds", "max_difference": 0.05})`` asks that a binary model's
decisions differ between the groups of the sensitive columns by at most ``max_difference`` in the named
metric, measured as fairlearn measures it:

- ``demographic_parity``: selection rates (fairlearn's ``DemographicParity``);
- ``equalized_odds``: true and false positive rates, the larger gap counts (``EqualizedOdds``);
- ``true_positive_rate_parity`` (equal opportunity) and ``false_positive_rate_parity``.

**How.** The model's probabilities stay as they are; each group (the intersection of the sensitive columns'
values) gets its own threshold on P(positive).  The thresholds are the most accurate set meeting the
constraint on the out-of-fold rows: every group's candidate thresholds give a point of (selection rate,
TPR, FPR) and a count of errors; a box of width ``max_difference`` is slid over the constrained rates, each
group takes its most accurate point inside the box, and the box with the fewest errors in total wins
(errors add up over groups, so this is exact on the candidate grid).  When no box holds a point of every
group, the smallest width that does is found by bisection and those thresholds are used: the result says
that the constraint was not met and by how much.

**Why not fairlearn's ThresholdOptimizer.**  It reaches equalized odds by *randomising* between two
thresholds per group: the same request can get two different answers, which a service cannot explain to
the person it decided about, nor reproduce in an audit.  These thresholds are deterministic (equalized odds
is met within the tolerance asked, not exactly), stored as plain JSON and applied per row at predict time.

**Honest numbers.**  Choosing thresholds on the same rows they are judged on flatters them, so the
disparity and accuracy reported "after" are cross-fitted: thresholds chosen on four fifths of the
out-of-fold rows decide the fifth left out.

**The trade-off.**  The group column becomes an input of the served model: requests must carry it
(a missing column is a typed error).  A group never seen in training, or with fewer than
:data:`~mlwright.fairness.groups.MIN_GROUP_ROWS` out-of-fold rows, keeps the model's own threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import ColumnsMismatchError, ConfigError
from mlwright.fairness.groups import MIN_GROUP_ROWS, group_key

__all__ = ["CONSTRAINTS", "GroupThresholds", "constraint_from", "fit_group_thresholds"]

# constraint → the rates that must agree between groups
CONSTRAINTS: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equalized_odds": ("tpr", "fpr"),
    "true_positive_rate_parity": ("tpr",),
    "false_positive_rate_parity": ("fpr",),
}
CANDIDATES = 200  # candidate thresholds per group (quantiles of its scores)
GRID = 100  # lower corners of the box per rate, at most


def constraint_from(value: Any) -> dict[str, Any] | None:
    """``AutoML(fairness=…)`` checked: ``{"metric", "max_difference"}`` or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"metric", "max_difference"}:
        raise ConfigError(f"fairness must be a dict like {{'metric': 'equalized_odds', 'max_difference': 0.05}}, "
                          f"got {value!r}")  # fmt: skip
    metric = value.get("metric", "demographic_parity")
    if metric not in CONSTRAINTS:
        raise ConfigError(f"fairness metric {metric!r} is not one of {', '.join(CONSTRAINTS)}")
    d = value.get("max_difference", 0.05)
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 < d < 1:
        raise ConfigError(f"fairness max_difference must be a number between 0 and 1, got {d!r}")
    return {"metric": metric, "max_difference": float(d)}


@dataclass(frozen=True)
class GroupThresholds:
    """A decision threshold per group of ``columns`` (their values joined by " · "), and the one for the rest."""

    columns: list[str]
    thresholds: dict[str, float]
    default: float
    metric: str = ""
    max_difference: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GroupThresholds:
        return cls(**d)

    def keys(self, X: Any) -> list[str]:
        """Each row's group in ``X`` (a DataFrame, the service's Columns, or a path)."""
        if isinstance(X, (str, Path)):
            from mlwright.data.sources import read_table

            X = read_table(X)
        have = [str(c) for c in getattr(X, "columns", [])]
        missing = [c for c in self.columns if c not in have]
        if missing or not hasattr(X, "columns"):
            raise ColumnsMismatchError(
                f"column(s) {', '.join(map(repr, missing or self.columns))} missing: this model decides with a "
                f"threshold per group of {', '.join(self.columns)} (fairness mitigation), so each row must say "
                "its group; pass a DataFrame or records with the column(s)"
            )
        data = getattr(X, "data", None)
        return row_keys([list(data[c]) if data is not None else X[c].tolist() for c in self.columns])

    def for_rows(self, X: Any) -> np.ndarray:
        """The threshold of each row of ``X``."""
        return np.array([self.thresholds.get(k, self.default) for k in self.keys(X)], dtype=float)


def row_keys(columns: list[list[Any]]) -> list[str]:
    """Each row's group: its values in the sensitive columns (given column by column), as one name — the same
    at fit and at predict time, whether the values come from a table or a JSON request."""
    return [" · ".join(group_key(v) for v in vals) for vals in zip(*columns)]


def _points(p: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Candidate thresholds of one group and, for each, its rates and errors (predict 1 when p ≥ t)."""
    qs = np.unique(np.quantile(p, np.linspace(0, 1, CANDIDATES)))
    t = np.r_[qs, np.inf]  # ∞: nobody selected
    order = np.sort(p)
    n, pos = len(p), int(y.sum())
    sel = n - np.searchsorted(order, t, side="left")
    pos_sorted = np.sort(p[y == 1])
    neg_sorted = np.sort(p[y == 0])
    tp = len(pos_sorted) - np.searchsorted(pos_sorted, t, side="left")
    fp = len(neg_sorted) - np.searchsorted(neg_sorted, t, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"t": t, "selection_rate": sel / n, "tpr": tp / pos if pos else np.full(len(t), np.nan),
                "fpr": fp / (n - pos) if n > pos else np.full(len(t), np.nan),
                "errors": (pos - tp) + fp}  # fmt: skip


def _best_box(points: list[dict[str, np.ndarray]], rates: tuple[str, ...], d: float) -> tuple[int, list[int]] | None:
    """The fewest total errors with every group's chosen rates inside one box of width ``d``: (errors, the
    chosen candidate per group), or None when no box holds a point of every group."""
    axes = []
    for r in rates:
        vals = np.concatenate([pt[r][np.isfinite(pt[r])] for pt in points])
        if not len(vals):
            return None
        lows = np.unique(np.r_[vals, np.clip(vals - d, 0, 1)])
        cap = GRID if len(rates) > 1 else 10 * GRID
        if len(lows) > cap:
            lows = np.unique(np.quantile(lows, np.linspace(0, 1, cap)))
        axes.append(lows)
    corners = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(rates))  # (boxes, rates)
    total = np.zeros(len(corners))
    picks = []
    for pt in points:
        inside = np.ones((len(corners), len(pt["t"])), dtype=bool)
        for j, r in enumerate(rates):
            v = pt[r]
            if np.isnan(v).all():  # a group with no positives (or negatives): this rate does not bind it
                continue
            inside &= (v[None, :] >= corners[:, j : j + 1] - 1e-12) & (v[None, :] <= corners[:, j : j + 1] + d + 1e-12)
        err = np.where(inside, pt["errors"][None, :], np.iinfo(np.int64).max)
        pick = err.argmin(1)
        best = err[np.arange(len(corners)), pick]
        total = np.where(best == np.iinfo(np.int64).max, np.inf, total + best)
        picks.append(pick)
    if not np.isfinite(total).any():
        return None
    b = int(np.argmin(total))
    return int(total[b]), [int(pk[b]) for pk in picks]


def _choose(p: np.ndarray, y: np.ndarray, keys: np.ndarray, rates: tuple[str, ...], d: float,
            default: float) -> tuple[dict[str, float], float]:  # fmt: skip
    """Thresholds per group (groups with enough rows) meeting width ``d`` when possible, and the width met."""
    names = [g for g in np.unique(keys) if (keys == g).sum() >= MIN_GROUP_ROWS]
    if len(names) < 2:
        return {}, 0.0
    points = [_points(p[keys == g], y[keys == g]) for g in names]
    width, found = d, _best_box(points, rates, d)
    if found is None:  # the smallest width that some set of thresholds reaches
        lo, hi = d, 1.0
        found = _best_box(points, rates, hi)
        for _ in range(10):
            mid = (lo + hi) / 2
            f = _best_box(points, rates, mid)
            lo, hi, found = (lo, mid, f) if f is not None else (mid, hi, found)
        width = hi
    if found is None:
        return {g: default for g in names}, 1.0
    return {g: float(pt["t"][i]) for g, pt, i in zip(names, points, found[1])}, width


def _measure(p: np.ndarray, y: np.ndarray, keys: np.ndarray, t: np.ndarray, rates: tuple[str, ...]) -> dict[str, float]:
    """Accuracy and the constrained gap (the largest over ``rates``, among groups with enough rows)."""
    pred = (p >= t).astype(int)
    gaps = []
    for r in rates:
        vals = []
        for g in np.unique(keys):
            m = keys == g
            if m.sum() < MIN_GROUP_ROWS:
                continue
            sub = m & (y == 1) if r == "tpr" else m & (y == 0) if r == "fpr" else m
            if sub.any():
                vals.append(pred[sub].mean())
        gaps.append(max(vals) - min(vals) if len(vals) > 1 else 0.0)
    return {"accuracy": float((pred == y).mean()), "difference": float(max(gaps))}


def _summary(before: dict[str, float], after: dict[str, float], in_sample: dict[str, float], d: float, outcome: str,
             width: float | None = None) -> dict[str, Any]:  # fmt: skip
    """What the mitigation found: ``outcome`` "met" (already, no thresholds needed), "thresholds" (chosen) or
    "no gain" (chosen ones did not narrow the gap cross-fitted: the model's own threshold stays)."""
    reached = width if width is not None else before["difference"]
    return {
        "outcome": outcome,
        "before": before,
        "after": after,
        "in_sample": in_sample,
        "met": reached <= d + 1e-9,
        "reached": round(reached, 4),
        "missed_by": round(max(0.0, reached - d), 4),
        "accuracy_cost": before["accuracy"] - after["accuracy"],
        "default_for": [],
    }


def fit_group_thresholds(
    p: np.ndarray,
    y: np.ndarray,
    groups: pd.DataFrame,
    constraint: dict[str, Any],
    default: float | None,
    seed: int = 0,
) -> tuple[GroupThresholds, np.ndarray]:
    """Thresholds per group meeting ``constraint`` on out-of-fold rows (see the module docstring).

    Parameters
    ----------
    p : ndarray
        Out-of-fold P(positive), as served (tempered).
    y : ndarray
        0/1 truth.
    groups : DataFrame
        The sensitive columns of the same rows.
    constraint : dict
        ``{"metric", "max_difference"}`` (:func:`constraint_from`).
    default : float or None
        The model's own threshold (None: 0.5).
    seed : int
        For the cross-fitting folds.

    Returns
    -------
    GroupThresholds
        With ``summary``: accuracy and the constrained gap before (the model's own threshold) and after
        (cross-fitted), whether the constraint was met, and by how much it was missed.
    ndarray
        Each row's cross-fitted threshold (chosen without its fifth): for measuring the mitigated model.
    """
    rates = CONSTRAINTS[constraint["metric"]]
    d = constraint["max_difference"]
    t0 = 0.5 if default is None else float(default)
    cols = [str(c) for c in groups.columns]
    keys = np.array(row_keys([groups[c].tolist() for c in groups.columns]), dtype=object)
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=int)
    before = _measure(p, y, keys, np.full(len(p), t0), rates)
    chosen: dict[str, float] = {}
    t_rows = np.full(len(p), t0)
    if before["difference"] <= d:  # nothing to mend: the model's own threshold stays
        summary = _summary(before, before, before, d, "met")
    else:
        chosen, width = _choose(p, y, keys, rates, d, t0)
        # cross-fitted: thresholds chosen without a fifth of the rows decide that fifth
        fold = np.random.default_rng(seed).permutation(len(p)) % 5
        t_cf = np.full(len(p), t0)
        for f in range(5):
            tr = fold != f
            ch, _ = _choose(p[tr], y[tr], keys[tr], rates, d, t0)
            t_cf[~tr] = [ch.get(k, t0) for k in keys[~tr]]
        after = _measure(p, y, keys, t_cf, rates)
        in_sample = _measure(p, y, keys, np.array([chosen.get(k, t0) for k in keys]), rates)
        if after["difference"] >= before["difference"]:  # they do not carry over to rows they were not chosen on
            summary = _summary(before, before, in_sample, d, "no gain") | {"rejected_after": after}
            chosen = {}
        else:
            summary = _summary(before, after, in_sample, d, "thresholds", width)
            summary["default_for"] = sorted({str(k) for k in keys} - set(chosen))
            t_rows = t_cf
    summary["rows"] = len(p)
    return GroupThresholds(cols, chosen, t0, constraint["metric"], d, summary), t_rows
