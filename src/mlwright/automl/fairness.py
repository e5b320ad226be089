"""A fitted model measured per sensitive group on its out-of-fold predictions (``AutoML.fairness_``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.fairness.measure import model_fairness

__all__ = ["oof_fairness"]


def oof_fairness(fitted: Any, sensitive: pd.DataFrame, y_enc: np.ndarray, splits: Any) -> dict[str, Any]:
    """:func:`~mlwright.fairness.measure.model_fairness` of the served ensemble's out-of-fold outputs, as served
    (tempered, thresholded), on the rows validated exactly once."""
    mask = np.asarray(splits.oof_mask, dtype=bool)
    p = fitted.oof_blend(mask)
    groups = sensitive.reset_index(drop=True).loc[mask]
    if fitted.task != "regression":
        p = fitted.tempered(p)
    positive = fitted.schema.classes[1] if fitted.task == "binary" else None
    return model_fairness(fitted.task, p, y_enc[mask], groups, fitted.threshold, positive, "out-of-fold predictions")
