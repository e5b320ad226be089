"""Forecast accuracy: MASE, RMSSE, sMAPE, WQL and interval coverage, as the forecasting benchmark defines them.

Arrays are shaped ``(series, steps)`` (a window of a backtest or a test period); NaN marks a point that is
not there (a series too short for a window) and is left out.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "coverage", "mase", "per_series_mase", "recent_scale", "rmsse", "scales", "smape", "wql"]

METRICS = ("mase", "rmsse", "smape", "wql")


def scales(history: list[np.ndarray], m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per series: the in-sample seasonal-naive MAE and MSE with period ``m`` (period 1 when the series is
    shorter than ``m + 1``); NaN when zero (a constant series cannot be scaled)."""
    mae, mse = np.full(len(history), np.nan), np.full(len(history), np.nan)
    for i, y in enumerate(history):
        p = m if len(y) > m else 1
        if len(y) <= p:
            continue
        d = y[p:] - y[:-p]
        d = d[np.isfinite(d)]
        if len(d) and np.mean(np.abs(d)) > 0:
            mae[i], mse[i] = np.mean(np.abs(d)), np.mean(d**2)
    return mae, mse


def recent_scale(y: np.ndarray, m: int) -> float:
    """The seasonal-naive MAE of a series over its last ``max(4m, 24)`` points (the error level a forecast
    from its end is measured against); the mean absolute value, or 1, when that is zero."""
    tail = y[-max(4 * m, 24) :]
    p = m if len(tail) > m else 1
    d = np.abs(tail[p:] - tail[:-p]) if len(tail) > p else np.array([])
    d = d[np.isfinite(d)]
    if len(d) and d.mean() > 0:
        return float(d.mean())
    level = float(np.nanmean(np.abs(tail))) if len(tail) else 0.0
    return level if level > 0 else 1.0


def _series_mean(a: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        n = np.isfinite(a).sum(axis=-1)
        return np.where(n > 0, np.nansum(a, axis=-1) / np.maximum(n, 1), np.nan)


def mase(y: np.ndarray, yhat: np.ndarray, mae_scale: np.ndarray) -> float:
    """Mean over series of ``mean_t |y − ŷ| / scale``."""
    per = _series_mean(np.abs(y - yhat)) / mae_scale
    return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")


def per_series_mase(y: np.ndarray, yhat: np.ndarray, mae_scale: np.ndarray) -> np.ndarray:
    """MASE of each series (NaN where a series has no point or no scale)."""
    return _series_mean(np.abs(y - yhat)) / mae_scale


def rmsse(y: np.ndarray, yhat: np.ndarray, mse_scale: np.ndarray) -> float:
    """Mean over series of ``sqrt(mean_t (y − ŷ)² / scale)``."""
    per = np.sqrt(_series_mean((y - yhat) ** 2) / mse_scale)
    return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Mean over series of ``mean_t 2|y − ŷ| / (|y| + |ŷ|)`` (0/0 counts as 0), in [0, 2]."""
    den = np.abs(y) + np.abs(yhat)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, 2 * np.abs(y - yhat) / np.where(den > 0, den, 1), 0.0)
    r = np.where(np.isfinite(y) & np.isfinite(yhat), r, np.nan)
    return float(np.nanmean(_series_mean(r)))


def wql(y: np.ndarray, q: np.ndarray, levels: list[float] | tuple[float, ...]) -> float:
    """Weighted quantile loss: per level ``2 Σ ρ_q(y, ŷ_q) / Σ |y|``, averaged over the levels; ``q`` has the
    levels on its last axis."""
    ok = np.isfinite(y)
    den = np.abs(y[ok]).sum()
    if den == 0:
        return float("nan")
    out = []
    for j, lv in enumerate(levels):
        e = y[ok] - q[..., j][ok]
        out.append(2 * np.sum(np.maximum(lv * e, (lv - 1) * e)) / den)
    return float(np.mean(out))


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of points with ``lo ≤ y ≤ hi``."""
    ok = np.isfinite(y)
    return float(np.mean((y[ok] >= lo[ok]) & (y[ok] <= hi[ok]))) if ok.any() else float("nan")
