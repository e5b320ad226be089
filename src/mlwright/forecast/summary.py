"""A fitted forecaster as plain values for its report (:func:`mlwright.report.forecast.render_forecast`) and
the dashboard: settings, leaderboard, the ensemble, the backtest per series and per step, and the charts of
the worst and best series (history, forecast, interval)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.forecast.frame import ID

__all__ = ["band_columns", "chart_order", "profile_data", "recent_points", "report_data"]

MAX_CHARTS = 12


def chart_order(backtest: dict[str, float | None], ids: list[str], limit: int = MAX_CHARTS) -> list[tuple[str, str]]:
    """Which series to chart, worst backtest first then best: ``(series, "worst" | "best" | "")``; every series
    when there are at most ``limit``, else half the worst and half the best."""
    scored = sorted((u for u in ids if backtest.get(u) is not None), key=lambda u: -float(backtest[u]))  # type: ignore[arg-type]
    rest = [u for u in ids if backtest.get(u) is None]
    if len(ids) <= limit:
        return [(u, "") for u in scored + rest]
    half = limit // 2
    worst = scored[:half]
    best = [u for u in reversed(scored[half:])][:half]
    return [(u, "worst") for u in worst] + [(u, "best") for u in best]


def recent_points(m: int, horizon: int) -> int:
    """How much history a chart shows before the forecast: four seasons, three horizons or 48 points, ≤ 300."""
    return int(min(300, max(4 * m, 3 * horizon, 48)))


def band_columns(levels: list[float]) -> tuple[str, str, str] | None:
    """The quantile columns of the interval to draw — (0.1, 0.9) when forecast, else the widest symmetric
    pair — and its label (``"80% interval"``); None without such a pair."""
    names = {round(q, 10): f"{q:g}" for q in levels}
    pairs = [(lo, round(1 - lo, 10)) for lo in sorted(names) if lo < 0.5 and round(1 - lo, 10) in names]
    if not pairs:
        return None
    lo, hi = (0.1, 0.9) if (0.1, 0.9) in pairs else pairs[0]
    return names[lo], names[hi], f"{100 * (hi - lo):.0f}% interval"


def report_data(model: Any, known_future: pd.DataFrame | None = None) -> dict[str, Any]:
    """The report's content as plain values (JSON-safe but for the chart arrays' time stamps)."""
    frame = model.frame_
    bt = model.backtest_
    table, note = None, None
    if frame.known and known_future is None:
        note = (f"The model uses the known covariates {frame.known}: pass their future values (--future) to chart "
                "the forecast; the history and the backtest are shown.")  # fmt: skip
    else:
        table = model.predict(known_future)
    band = band_columns(model.quantiles_)
    history = frame.df.groupby(ID, sort=False)
    keep = recent_points(frame.m, model.horizon_)
    uid_of = _series_names(model, table) if table is not None else None
    charts = []
    for uid, tag in chart_order(bt.get("series", {}), frame.ids):
        g = history.get_group(uid).tail(keep)
        chart: dict[str, Any] = {"series": uid, "tag": tag, "mase": bt.get("series", {}).get(uid),
                                 "history": (g["ds"].tolist(), g["y"].astype(float).tolist())}  # fmt: skip
        if table is not None:
            f = table[uid_of == uid]
            chart["future"] = (pd.to_datetime(f[frame.time_column]).tolist(), f["mean"].astype(float).tolist())
            if band is not None:
                chart["band"] = (f[band[0]].astype(float).tolist(), f[band[1]].astype(float).tolist())
        charts.append(chart)
    series = [{"series": u, "mase": bt.get("series", {}).get(u), "points": int(n)}
              for u, n in frame.lengths().items()]  # fmt: skip
    series.sort(key=lambda r: -(r["mase"] if r["mase"] is not None else -np.inf))
    strategy = next((e for e in model.fit_log_ if "strategy" in e), None)
    return _frame_facts(frame) | {
        "horizon": model.horizon_,
        "windows": bt.get("windows", 0),
        "estimate": _estimate(model.leaderboard_),
        "quantiles": [f"{q:g}" for q in model.quantiles_],
        "quantile_method": model.blend_.method,
        "band": band[2] if band else None,
        "weights": dict(model.blend_.weights),
        "strategy": strategy,
        "leaderboard": model.leaderboard_.to_dict(orient="records"),
        "steps": bt.get("steps", []),
        "series": series,
        "charts": charts,
        "findings": [f.to_dict() for f in model.findings_],
        "fit_seconds": getattr(model, "fit_seconds_", None),
        "note": note,
    }


def _frame_facts(frame: Any) -> dict[str, Any]:
    from mlwright.forecast.profile import profile_series

    prof = profile_series(frame)
    for c in ("start", "end"):
        prof[c] = prof[c].astype(str)
    prof = prof.astype(object).where(prof.notna(), None)
    return {
        "target": frame.target,
        "freq": frame.freq,
        "seasons": list(frame.seasons),
        "series_count": len(frame.ids),
        "id_columns": frame.id_columns,
        "known": frame.known,
        "profile": prof.to_dict(orient="records"),
        "demand": prof["demand"].value_counts().to_dict(),
    }


def profile_data(frame: Any) -> dict[str, Any]:
    """A framed table's profile before any fit: the facts, findings, per-series features and charts."""
    history = frame.df.groupby(ID, sort=False)
    keep = int(min(300, max(8 * frame.m, 96)))
    charts = [{"series": uid, "tag": "", "mase": None,
               "history": (history.get_group(uid)["ds"].tail(keep).tolist(),
                           history.get_group(uid)["y"].tail(keep).astype(float).tolist())}
              for uid in frame.ids[:MAX_CHARTS]]  # fmt: skip
    return _frame_facts(frame) | {"charts": charts, "findings": [f.to_dict() for f in frame.findings],
                                  "leaderboard": [], "steps": [], "series": [], "horizon": None}  # fmt: skip


def _series_names(model: Any, table: pd.DataFrame) -> pd.Series:
    from mlwright.forecast.frame import series_ids

    cols = model.frame_.id_columns
    return series_ids(table, cols) if cols else table["series"].astype(object)


def _estimate(board: pd.DataFrame) -> float | None:
    if board.empty or not np.isfinite(board["score_val"].iloc[0]):
        return None
    return float(board["score_val"].iloc[0])
