"""What each series looks like before any model: length, level and spread, trend and seasonal strength (STL,
as in Hyndman's tsfeatures: 1 − Var(remainder) / Var(component + remainder)), and intermittency (the share of
zeros, the average interval between demands and the squared coefficient of variation of the demand sizes,
classed as Syntetos & Boylan do: smooth, erratic, intermittent, lumpy)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlwright.forecast.frame import ID, SeriesFrame

__all__ = ["demand_class", "profile_series", "strengths"]

MAX_POINTS = 2000  # the newest points each decomposition reads (a long half-hourly series: its last weeks)


def strengths(y: np.ndarray, m: int) -> tuple[float | None, float | None]:
    """(trend strength, seasonal strength) in [0, 1] from an STL decomposition with period ``m``; the seasonal
    one is None without a season (``m`` < 2) or fewer than two seasons of data; both None for < 8 points."""
    y = y[np.isfinite(y)][-MAX_POINTS:]
    if len(y) < 8 or np.ptp(y) == 0:
        return None, None
    if m >= 2 and len(y) >= 2 * m + 1:
        from statsmodels.tsa.seasonal import STL

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = STL(y, period=m).fit()
        trend, seasonal, rest = fit.trend, fit.seasonal, fit.resid
    else:
        k = max(3, min(13, len(y) // 5) | 1)
        trend = pd.Series(y).rolling(k, center=True, min_periods=1).mean().to_numpy()
        seasonal, rest = None, y - trend

    def strength(part: np.ndarray) -> float:
        denom = np.var(part + rest)
        return float(max(0.0, 1 - np.var(rest) / denom)) if denom > 0 else 0.0

    return strength(trend), (strength(seasonal) if seasonal is not None else None)


def demand_class(y: np.ndarray) -> tuple[float, float | None, str]:
    """(average demand interval, CV² of the non-zero demands, class): smooth (ADI < 1.32, CV² < 0.49),
    erratic (ADI < 1.32), intermittent (CV² < 0.49) or lumpy."""
    nz = y[np.isfinite(y) & (y != 0)]
    if len(nz) == 0:
        return float("inf"), None, "no demand"
    adi = float(np.isfinite(y).sum() / len(nz))
    cv2 = float((nz.std() / nz.mean()) ** 2) if len(nz) > 1 and nz.mean() != 0 else 0.0
    if adi < 1.32:
        return adi, cv2, "smooth" if cv2 < 0.49 else "erratic"
    return adi, cv2, "intermittent" if cv2 < 0.49 else "lumpy"


def profile_series(frame: SeriesFrame) -> pd.DataFrame:
    """One row per series: ``series``, ``points``, ``start``, ``end``, ``mean``, ``cv``, ``zeros``,
    ``trend_strength``, ``seasonal_strength``, ``adi``, ``cv2``, ``demand``."""
    rows: list[dict[str, Any]] = []
    for uid, g in frame.df.groupby(ID, sort=False):
        y = g["y"].to_numpy(dtype=float)
        trend, season = strengths(y, frame.m)
        adi, cv2, cls = demand_class(y)
        mean = float(np.nanmean(y))
        rows.append({
            "series": uid, "points": len(y), "start": g["ds"].iloc[0], "end": g["ds"].iloc[-1], "mean": mean,
            "cv": float(np.nanstd(y) / abs(mean)) if mean else None, "zeros": float(np.mean(y == 0)),
            "trend_strength": trend, "seasonal_strength": season, "adi": adi, "cv2": cv2, "demand": cls,
        })  # fmt: skip
    return pd.DataFrame(rows)
