"""A fitted model measured per sensitive group on its out-of-fold predictions (``AutoML.fairness_``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.fairness import group_metrics

__all__ = ["oof_fairness"]


def oof_fairness(fitted: Any, sensitive: pd.DataFrame, y_enc: np.ndarray, splits: Any) -> dict[str, Any]:
    """:func:`~mlwright.fairness.group_metrics` of the served ensemble's out-of-fold outputs, as served
    (tempered, thresholded), on the rows validated exactly once."""
    from mlwright.predictor import decide

    mask = splits.oof_mask
    p = fitted.oof_blend(mask)
    y = y_enc[mask]
    groups = sensitive.reset_index(drop=True).loc[np.asarray(mask, dtype=bool)]
    task = fitted.task
    scores = None
    if task == "regression":
        pred = np.asarray(p, dtype=float)
    else:
        p = fitted.tempered(p)
        p, pred = decide(p, task, fitted.threshold)
        if task == "binary":
            scores = p[:, 1] if np.ndim(p) == 2 else p
    out = group_metrics(y, pred, groups, task, scores=scores, seed=0)
    out["sensitive"] = list(sensitive.columns)
    out["on"] = "out-of-fold predictions"
    if task == "binary":
        out["positive"] = str(fitted.schema.classes[1])
    return out
