"""A forecaster's live accuracy: its logged forecasts against the actuals sent back later, per window.

The same measures as its backtest — MASE (each error over its series' in-sample seasonal-naive error, from the
reference saved with the model), WQL over the logged quantiles, sMAPE, and the coverage of the central
interval (0.1 – 0.9 when those levels are forecast) against its nominal level — pooled over the window's rows
that have an actual.  Each logged row is one forecast of one step; a step forecast from several origins counts
once per forecast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import Schema

__all__ = ["forecast_live", "series_of"]


def series_of(X: pd.DataFrame, schema: Schema) -> pd.Series:
    """The series each logged row forecast: its id columns joined by ``|`` (``"series"`` without ids)."""
    ids = [c.name for c in schema.columns if c.kind == "categorical"]
    if not ids:
        return pd.Series("series", index=X.index, dtype=object)
    return X[ids].astype(str).agg("|".join, axis=1)


def _interval(levels: list[float]) -> tuple[float, float] | None:
    """The central interval to check: (0.1, 0.9) when forecast, else the widest symmetric pair."""
    have = set(levels)
    pairs = [(lo, round(1 - lo, 10)) for lo in sorted(levels) if lo < 0.5 and round(1 - lo, 10) in have]
    if (0.1, 0.9) in pairs:
        return 0.1, 0.9
    return pairs[0] if pairs else None


def forecast_live(ref: dict[str, Any] | None, schema: Schema, X: pd.DataFrame, out: pd.DataFrame,
                  y: pd.Series) -> dict[str, Any]:  # fmt: skip
    """MASE, WQL, sMAPE and interval coverage of a window's forecasts that have an actual ``y``."""
    actual = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    mean = out["value"].to_numpy(dtype=float)
    scales = (ref or {}).get("series_scale", {})
    scale = series_of(X, schema).map(scales).to_numpy(dtype=float)
    ok = np.isfinite(scale) & (scale > 0)
    err = np.abs(actual - mean)
    scores: dict[str, float | None] = {
        "mase": float(np.mean(err[ok] / scale[ok])) if ok.any() else None,
        "smape": float(np.mean(np.where(np.abs(actual) + np.abs(mean) > 0,
                                        2 * err / np.maximum(np.abs(actual) + np.abs(mean), 1e-12), 0.0))),
        "mae": float(err.mean()),
    }  # fmt: skip
    qcols = [c for c in out.columns if c.startswith("q_")]
    levels = [float(c[2:]) for c in qcols]
    coverage_target = None
    if qcols:
        q = out[qcols].to_numpy(dtype=float)
        e = actual[:, None] - q
        lv = np.asarray(levels)[None, :]
        pinball = np.maximum(lv * e, (lv - 1) * e).sum(axis=0)
        denom = np.abs(actual).sum()
        scores["wql"] = float(np.mean(2 * pinball / denom)) if denom > 0 else None
        pair = _interval(levels)
        if pair is not None:
            lo, hi = (q[:, levels.index(p)] for p in pair)
            scores["coverage"] = float(np.mean((actual >= lo) & (actual <= hi)))
            coverage_target = round(pair[1] - pair[0], 10)
    metric = "mase" if scores["mase"] is not None else "smape"
    return {"rows": len(actual), "metric": metric, "value": scores[metric], "scores": scores,
            "coverage_target": coverage_target, "estimate": (ref or {}).get("estimate")}  # fmt: skip
