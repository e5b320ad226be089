"""The forecast model's report: one self-contained HTML page from plain values (see
:func:`mlwright.forecast.summary.report_data`)."""

from __future__ import annotations

from typing import Any

from mlwright.report import figures as fg
from mlwright.report.html import page

__all__ = ["render_forecast"]


def render_forecast(data: dict[str, Any], title: str | None = None) -> str:
    """HTML of a forecaster's report data: overview, findings, leaderboard and ensemble, backtest by step and by
    series, and a chart per series (the worst and the best first)."""
    charts = []
    for c in data["charts"]:
        mase = c.get("mase")
        label = f"{c['series']}" + (f" — backtest MASE {mase:.3g}" if mase is not None else "")
        img = fg.forecast_chart(c["history"], c.get("future"), c.get("band"), "", data["target"],
                                data.get("band") or "interval")  # fmt: skip
        charts.append({**c, "img": img, "label": label})
    steps = data.get("steps") or []
    figs = {
        "steps": fg.lines([("ensemble", list(range(1, len(steps) + 1)), [v if v is not None else float("nan")
                                                                          for v in steps])],
                          "Backtest MASE by step ahead", "steps ahead", "MASE", markers=True) if steps else None,
    }  # fmt: skip
    n = data["series_count"]
    ahead = f", {data['horizon']} steps ahead" if data.get("horizon") else ""
    kind = "Forecast" if data.get("leaderboard") else "Series profile"
    return page(
        "forecast.html.j2",
        title=title or f"{kind}: {data['target']}",
        subtitle=f"{n:,} series, every {data['freq']}{ahead}",
        nav=[
            ("overview", "Overview"),
            ("charts", "Series"),
            ("backtest", "Backtest"),
            ("models", "Models"),
            ("profile", "Profile"),
            ("findings", "Findings"),
        ],
        d=data,
        charts=charts,
        figs=figs,
    )
