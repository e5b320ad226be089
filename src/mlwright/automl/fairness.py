"""A fitted model measured per sensitive group on its out-of-fold predictions (``AutoML.fairness_``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import ConfigError
from mlwright.fairness.measure import model_fairness
from mlwright.fairness.thresholds import GroupThresholds, fit_group_thresholds

__all__ = ["measure_and_mitigate"]


def measure_and_mitigate(
    fitted: Any, sensitive: pd.DataFrame, y_enc: np.ndarray, splits: Any, constraint: dict[str, Any] | None, seed: int
) -> Any:
    """``fitted`` measured per group on its out-of-fold outputs as served (tempered, thresholded; rows validated
    exactly once) and, with a ``constraint``, given a threshold per group that meets it
    (:mod:`mlwright.fairness.thresholds`; then measured with each row's cross-fitted threshold)."""
    mask = np.asarray(splits.oof_mask, dtype=bool)
    p = fitted.oof_blend(mask)
    groups = sensitive.reset_index(drop=True).loc[mask].reset_index(drop=True)
    y = y_enc[mask]
    if fitted.task != "regression":
        p = fitted.tempered(p)
    positive = fitted.schema.classes[1] if fitted.task == "binary" else None
    on = "out-of-fold predictions"
    if constraint is None:
        return fitted.replace(fairness=model_fairness(fitted.task, p, y, groups, fitted.threshold, positive, on))
    if fitted.task != "binary":
        raise ConfigError(f"fairness mitigation (per-group thresholds) is for binary classification, not "
                          f"{fitted.task}; drop fairness= to measure the model per group only")  # fmt: skip
    gt, t_rows = fit_group_thresholds(p[:, 1], y, groups, constraint, fitted.threshold, seed)
    fairness = model_fairness(fitted.task, p, y, groups, t_rows, positive, on + " (thresholds cross-fitted)")
    fairness["mitigation"] = mitigation_text(gt)
    fairness["mitigation_summary"] = gt.summary
    return fitted.replace(fairness=fairness, group_thresholds=gt.to_dict() if gt.thresholds else None)


def mitigation_text(gt: GroupThresholds) -> str:
    """What the mitigation did and cost, in one sentence."""
    s = gt.summary
    before, after = s["before"], s["after"]
    asked = f"{gt.metric.replace('_', ' ')} within {gt.max_difference:g} asked"
    if s["outcome"] == "met":
        return (f"{asked}: already met on the out-of-fold rows (gap {before['difference']:.3f}); the model's own "
                "threshold is kept and the group column is not needed to predict.")  # fmt: skip
    if s["outcome"] == "no gain":
        rej = s["rejected_after"]["difference"]
        return (f"{asked}: NOT met (gap {before['difference']:.3f}, {s['missed_by']:.3f} over). Thresholds per group "
                f"narrowed it on the rows they were chosen on, but not on rows left out ({rej:.3f} cross-fitted), so "
                "the model's own threshold is kept.")  # fmt: skip
    head = (
        f"{asked}: a threshold per group of {', '.join(gt.columns)} "
        + ", ".join(f"{k} {v:.3f}" for k, v in list(gt.thresholds.items())[:6])
        + f" (others {gt.default:.3f})"
    )
    if s["met"]:
        verdict = f"met on the out-of-fold rows (in sample {s['in_sample']['difference']:.3f})"
    else:
        verdict = (f"NOT met: the closest thresholds reach {s['reached']:.3f}, {s['missed_by']:.3f} over; "
                   "they are used")  # fmt: skip
    gap = f"gap {before['difference']:.3f} → {after['difference']:.3f}"
    acc = f"accuracy {before['accuracy']:.3f} → {after['accuracy']:.3f} (cost {s['accuracy_cost']:+.3f})"
    return f"{head}; {verdict}. Cross-fitted: {gap}, {acc}."
