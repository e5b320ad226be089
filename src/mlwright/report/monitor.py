"""The monitoring page: the latest window, trends over windows, every window, features (see monitoring.drift)."""

from __future__ import annotations

from typing import Any

from mlwright.report import figures as fg
from mlwright.report.html import page

__all__ = ["render_monitor"]


def _series(windows: list[dict[str, Any]], get) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for i, w in enumerate(windows):
        v = get(w)
        if v is not None:
            xs.append(float(i))
            ys.append(float(v))
    return xs, ys


def render_monitor(result: dict[str, Any]) -> str:
    """One self-contained HTML page of a :class:`~mlwright.monitoring.drift.MonitorResult` (as a dict)."""
    windows = result["windows"]
    x = "window (oldest → newest)"
    peak: dict[str, float] = {}
    for w in windows:
        for k, f in (w.get("features") or {}).items():
            peak[k] = max(peak.get(k, 0.0), f.get("psi") or 0.0)
    top = sorted(peak, key=lambda k: -peak[k])[:6]

    def feature_psi(k: str):
        return lambda w: ((w.get("features") or {}).get(k) or {}).get("psi")

    psi_lines = [(k, *_series(windows, feature_psi(k))) for k in top]
    live_name = next((w["live"].get("metric") for w in windows if w.get("live")), "metric")
    figs = {
        "psi": fg.lines(psi_lines, "PSI by window", x, "PSI", markers=True),
        "output": fg.lines([("predictions", *_series(windows, lambda w: (w.get("output") or {}).get("psi")))],
                           "Prediction PSI", x, "PSI", markers=True),
        "live": fg.lines([(live_name, *_series(windows, lambda w: (w.get("live") or {}).get("value")))],
                         f"Live {live_name}", x, live_name, markers=True),
        "latency": fg.lines([("p50", *_series(windows, lambda w: w.get("latency_p50_ms"))),
                             ("p99", *_series(windows, lambda w: w.get("latency_p99_ms")))],
                            "Latency", x, "ms", markers=True),
        "quality": fg.lines([("missing", *_series(windows, lambda w: w.get("missing"))),
                             ("missing in training", *_series(windows, lambda w: w.get("missing_ref"))),
                             ("unseen levels", *_series(windows, lambda w: w.get("unseen")))],
                            "Data quality", x, "share", markers=True),
    }  # fmt: skip
    fair_names = sorted({k for w in windows for k in ((w.get("fairness") or {}).get("disparities") or {})})
    figs["fairness"] = fg.lines(
        [(k.replace("_", " "), *_series(windows, lambda w, k=k: ((w.get("fairness") or {}).get("disparities") or {})
                                         .get(k))) for k in fair_names if not k.endswith("_ratio")],
        "Disparities between groups", x, "difference", markers=True,
    )  # fmt: skip
    return page(
        "monitor.html.j2",
        title=f"Monitoring: {result['model']}",
        subtitle=f"{len(windows)} window(s) of {result['window']}, {sum(w['rows'] for w in windows):,} logged rows",
        nav=[("summary", "Latest"), ("trends", "Over time"), ("windows", "Windows"), ("features", "Features")]
        + ([("fairness", "Groups")] if fair_names else []),
        fair_names=fair_names,
        windows=windows,
        features=sorted((windows[-1].get("features") or {}).items(), key=lambda kv: -(kv[1].get("psi") or 0)),
        alerts=result.get("alerts") or [],
        config=result["config"],
        figs=figs,
    )
