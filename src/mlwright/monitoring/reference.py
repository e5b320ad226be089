"""Reference statistics of a model's training data, saved with the model (``reference.json``).

Built once by ``fit`` on every training row (coerced as the model reads them) and on the out-of-fold
predictions (what the model predicts for rows it did not learn from — the distribution live predictions
should keep): see :mod:`mlwright.monitoring.stats` for what each column's summary holds.  A few hundred
numbers per column; no training rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import Schema
from mlwright.jsonsafe import plain
from mlwright.monitoring.stats import datetime_numbers, level_reference, numeric_reference

__all__ = [
    "LEVEL_OUTPUTS",
    "REFERENCE_FILE",
    "automl_reference",
    "build_reference",
    "calibrated_output",
    "column_values",
    "output_values",
]

REFERENCE_FILE = "reference.json"
NUMBERS = ("numeric", "boolean", "datetime")
LEVELS = ("categorical", "high_cardinality")


LEVEL_OUTPUTS = ("multiclass", "cluster", "anomaly")  # tasks whose monitored output is a level: class, segment, flag


def column_values(s: pd.Series, kind: str) -> np.ndarray | pd.Series:
    """A coerced column as the statistics read it: floats (dates as nanoseconds) or levels."""
    if kind == "datetime":
        return datetime_numbers(s)
    if kind in ("numeric", "boolean"):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return s


def output_values(task: str, classes: list[Any], outputs: dict[str, Any]) -> tuple[str, np.ndarray | pd.Series]:
    """The monitored output: P(positive class) for binary models, the label for multiclass, the value
    for regression.  ``outputs``: ``{"proba": (n, k) array}`` or ``{"labels": …}`` or ``{"values": …}``."""
    if task == "binary":
        return f"p_{classes[1]}", np.asarray(outputs["proba"], float)[:, 1]
    if task in LEVEL_OUTPUTS:
        return "prediction", pd.Series(outputs["labels"], dtype=object).astype(str)
    return "value", np.asarray(outputs["values"], float)


def build_reference(X: pd.DataFrame, schema: Schema, outputs: dict[str, Any] | None) -> dict[str, Any]:
    """Every used column of ``X`` (coerced training rows) and the model's out-of-fold ``outputs``."""
    cols: dict[str, Any] = {}
    for c in schema.columns:
        if not c.used or c.name not in X.columns:
            continue
        if c.kind in NUMBERS:
            cols[c.name] = numeric_reference(column_values(X[c.name], c.kind)) | {"kind": c.kind}
        elif c.kind in LEVELS:
            cols[c.name] = level_reference(X[c.name]) | {"kind": c.kind}
        else:  # text: its missing share only
            cols[c.name] = {"type": "text", "kind": c.kind, "n": len(X), "missing": float(X[c.name].isna().mean())}
    out: dict[str, Any] = {"format": 1, "rows": len(X), "columns": cols, "output": None}
    if outputs is not None:
        name, values = output_values(schema.task, list(schema.classes), outputs)
        summary = level_reference(values) if schema.task in LEVEL_OUTPUTS else numeric_reference(values)
        out["output"] = {"name": name, **summary}
    return plain(out)


def calibrated_output(raw: dict[str, Any], calibration: Any) -> dict[str, Any]:
    """A binary model's output summary after ``calibration`` (monotone: the bins keep their rows, edges
    and quantiles map through it); ``raw`` itself when there is none."""
    if not calibration:
        return raw
    from mlwright.evaluation.diagnose import apply_calibration

    def f(v: list[float]) -> list[float]:
        return apply_calibration(calibration, np.asarray(v, float)).tolist() if v else []

    q = f(raw["quantiles"])
    return raw | {"edges": f(raw["edges"]), "quantiles": q, "std": float(np.std(q)) if q else 0.0,
                  "mean": float(np.mean(q)) if q else None}  # fmt: skip


def automl_reference(fitted: Any, Xc: pd.DataFrame, mask: np.ndarray) -> dict[str, Any]:
    """A fitted model's reference (a :class:`~mlwright.automl.FittedModel` still holding its out-of-fold
    outputs): its training columns and the served ensemble's out-of-fold outputs (as served: thresholded
    labels; binary probabilities also kept uncalibrated, which ``calibrate`` maps)."""
    from mlwright.predictor import decide

    p = fitted.oof_blend(mask)
    schema = fitted.schema
    if fitted.task == "regression":
        return build_reference(Xc, schema, {"values": p})
    p = fitted.tempered(p)  # as served
    _, pick = decide(p, fitted.task, fitted.threshold)
    ref = build_reference(Xc, schema, {"proba": p, "labels": [schema.classes[i] for i in pick]})
    if fitted.task == "binary":
        ref["output_raw"] = ref["output"]
        ref["output"] = calibrated_output(ref["output_raw"], fitted.calibration)
    return ref
