"""Each monitoring window measured per sensitive group: what the model decided for each group (without
labels: selection rates or mean predictions, and demographic parity), and, on the rows whose actuals
arrived through feedback, every disparity of :func:`~mlwright.fairness.groups.disparities` (equalized
odds included), each at its worst over the sensitive columns and their intersection.

The sensitive columns are read from the prediction log: a model fitted with ``sensitive=[...]`` does not
need them to predict (unless it was mitigated), so requests must carry them for the groups to be watched;
a window whose log lacks them says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import class_codes
from mlwright.errors import DataError
from mlwright.fairness.groups import FAIRER, as_groups, worst_disparities

__all__ = ["breached", "window_fairness"]

LABEL_FREE = {"binary": ("demographic_parity_difference", "demographic_parity_ratio"),
              "regression": ("mean_prediction_difference", "mean_prediction_ratio")}  # fmt: skip


def window_fairness(
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    actual: pd.Series,
    sensitive: list[str],
    task: str,
    classes: list[Any],
    min_rows: int,
) -> dict[str, Any]:
    """One window's group metrics.

    Parameters
    ----------
    inputs, outputs : DataFrame
        The window's logged inputs (as sent) and outputs (``prediction``, ``value``).
    actual : Series
        The actuals that arrived (NaN where none did).
    sensitive : list of str
    task : {"binary", "multiclass", "regression"}
    classes : list
        The model's classes (the second is a binary model's positive class).
    min_rows : int
        Fewer rows: reported, not judged (no alert).

    Returns
    -------
    dict
        ``{"rows", "judged", "by": {column: {group: {"count", "selection_rate" | "mean_prediction"}}},
        "disparities": {name: value}, "labelled": rows with actuals}`` or ``{"note": why not}``.
    """
    missing = [c for c in sensitive if c not in inputs.columns or inputs[c].isna().all()]
    if missing:
        return {"note": f"the log has no {', '.join(map(repr, missing))}: send the column(s) in requests "
                        "to watch the groups (they are not needed to predict)"}  # fmt: skip
    try:
        groups = as_groups(inputs[sensitive].reset_index(drop=True))
    except DataError as exc:
        return {"note": str(exc)}
    if task == "binary":
        decided = (outputs["prediction"].astype(str) == str(classes[1])).to_numpy(float)
        what = "selection_rate"
    elif task == "regression":
        decided = outputs["value"].to_numpy(float)
        what = "mean_prediction"
    else:
        decided = outputs["prediction"].astype(str).to_numpy()
        what = None
    by: dict[str, Any] = {}
    for c in sensitive:
        g = groups[c].to_numpy()
        by[c] = {str(k): {"count": int((g == k).sum())}
                 | ({what: float(np.mean(decided[g == k]))} if what else {}) for k in pd.unique(g)}  # fmt: skip
    out: dict[str, Any] = {"rows": len(groups), "judged": len(groups) >= min_rows, "by": by, "disparities": {}}
    if task in LABEL_FREE:  # from the decisions alone: every row counts
        dummy = np.zeros(len(decided))
        d = worst_disparities(dummy, decided, groups, task)
        out["disparities"] = {k: v for k, v in d.items() if k in LABEL_FREE[task]}
    has = actual.notna().to_numpy()
    out["labelled"] = int(has.sum())
    if has.sum() >= 2:
        if task == "regression":
            y: np.ndarray = pd.to_numeric(actual[has], errors="coerce").to_numpy(float)
        else:
            codes = class_codes(classes, actual[has])
            y = codes.astype(float) if task == "binary" else np.asarray([str(classes[i]) for i in codes])
            if task == "binary" and (codes < 0).any():
                return out | {"note": "actuals outside the model's classes: no labelled disparities"}
        try:
            labelled = worst_disparities(y, decided[has], groups[has].reset_index(drop=True), task)
        except DataError:  # one group only among the labelled rows
            labelled = {}
        out["disparities"] |= {k: v for k, v in labelled.items() if k not in LABEL_FREE.get(task, ())}
        out["judged_labelled"] = int(has.sum()) >= min_rows
    return out


def breached(w: dict[str, Any], name: str, threshold: float) -> bool:
    """Whether window ``w``'s disparity ``name`` is worse than ``threshold`` (above it for a difference,
    below it for a ratio), on enough rows."""
    f = w.get("fairness") or {}
    v = (f.get("disparities") or {}).get(name)
    enough = f.get("judged_labelled") if name not in sum(LABEL_FREE.values(), ()) else f.get("judged")
    if v is None or not enough:
        return False
    return v <= threshold if FAIRER[name] else v >= threshold
