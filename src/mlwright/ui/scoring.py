"""Predict page helpers: why one prediction came out as it did, and scoring an uploaded file."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["explain_row", "scored_csv"]

TOP = 8  # contributions shown for one prediction


def explain_row(model: Any, row: pd.DataFrame) -> dict[str, Any] | None:
    """The input columns that moved this prediction most (TreeSHAP of the ensemble's heaviest tree booster,
    summed per input column), or None when the model has no tree booster to explain it with."""
    from mlwright.evaluation.explain import served_tree_shap

    if getattr(model, "kind", None) == "anomaly":
        return _unusual_columns(model, row)
    fitted = getattr(model, "fitted_", None)  # an AutoML; a wrapped sklearn/ONNX model has no members to explain
    if fitted is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = served_tree_shap(fitted, row)
    except Exception as exc:  # an explanation is an extra: its failure must not hide the prediction
        import logging

        logging.getLogger("mlwright.ui").warning("no explanation for a prediction of %s: %s: %s",
                                                 type(model).__name__, type(exc).__name__, exc)  # fmt: skip
        return None
    if found is None:
        return None
    member, out = found
    if out is None:
        return None
    items = [(c, float(v[0])) for c, v in out["values"].items()]
    items.sort(key=lambda kv: -abs(kv[1]))
    items = items[:TOP]
    peak = max((abs(v) for _, v in items), default=0.0) or 1.0
    shown = []
    for c, v in items:
        x = row.iloc[0][c] if c in row.columns else None
        shown.append({"column": c, "value": "" if x is None or (isinstance(x, float) and np.isnan(x)) else x,
                      "effect": v, "width": round(100 * abs(v) / peak, 1)})  # fmt: skip
    total = len(fitted.members)
    return {"member": member.name, "weight": float(member.weight), "members": total,
            "signed": out["signed"], "scale": out["scale"], "items": shown}  # fmt: skip


def scored_csv(df: pd.DataFrame, res: dict[str, Any]) -> bytes:
    """The uploaded rows with the prediction id, the prediction and (classification) each class's probability."""
    out = df.copy()
    out.insert(0, "prediction_id", res["ids"])
    out["prediction"] = res["predictions"]
    if res.get("probabilities") is not None:
        p = np.asarray(res["probabilities"], dtype=float)
        for j, label in enumerate(res["labels"]):
            out[f"p_{label}"] = p[:, j]
    return out.to_csv(index=False).encode("utf-8")


def _unusual_columns(model: Any, row: pd.DataFrame) -> dict[str, Any]:
    """An anomaly detector's reasons for one row: the columns whose values are rarest in training (ECOD's
    tail probability per column), as bars of −log10 of that probability."""
    reasons = model.explain(row, top=TOP)[0]
    rarity = [float(-np.log10(max(r["tail_probability"], 1e-12))) for r in reasons]
    peak = max(rarity, default=0.0) or 1.0
    items = [{"column": r["column"], "value": "" if r["value"] is None else r["value"], "effect": v,
              "width": round(100 * v / peak, 1)} for r, v in zip(reasons, rarity)]  # fmt: skip
    scale = "rarity: −log10 of the share of training rows as far out"
    return {"member": "the training rows' distribution of each column", "weight": 1.0, "members": 1,
            "signed": False, "scale": scale, "items": items}  # fmt: skip
