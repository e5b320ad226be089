"""A model's outputs, as served, measured per sensitive group: probabilities become decisions at the model's
threshold (one for all rows, or one per row when the threshold depends on the group), then
:func:`~mlwright.fairness.groups.group_metrics`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.fairness.groups import group_metrics
from mlwright.predictor import decide

__all__ = ["model_fairness"]


def model_fairness(
    task: str,
    outputs: np.ndarray,
    y: np.ndarray,
    groups: pd.DataFrame,
    threshold: float | np.ndarray | None = None,
    positive: Any = None,
    on: str = "",
) -> dict[str, Any]:
    """Group metrics of a model's outputs.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    outputs : ndarray
        Class probabilities as served (tempered, calibrated), or predicted values (regression).
    y : ndarray
        Encoded truth (class positions; 1 is the positive class of a binary task) or values.
    groups : DataFrame
        The sensitive columns, one row per output.
    threshold : float or ndarray, optional
        A binary model's decision threshold on P(positive): one, or one per row.
    positive : optional
        The positive class's label (recorded in the result).
    on : str
        Which rows these are, in words ("out-of-fold predictions", "test rows").

    Returns
    -------
    dict
        :func:`~mlwright.fairness.groups.group_metrics`' result with ``sensitive``, ``on`` and, for a binary
        task, ``positive``.
    """
    scores = None
    if task == "regression":
        pred = np.asarray(outputs, dtype=float)
    else:
        p, pred = decide(np.asarray(outputs, dtype=float), task, threshold)
        if task == "binary":
            scores = p[:, 1]
    out = group_metrics(y, pred, groups, task, scores=scores, seed=0)
    out["sensitive"] = [str(c) for c in groups.columns]
    out["on"] = on
    if task == "binary" and positive is not None:
        out["positive"] = str(positive)
    return out
