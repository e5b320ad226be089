"""Dashboard page: monitoring — drift and live-metric charts per window, alerts, retraining outcomes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from mlwright.errors import ConfigError, MlwrightError, ModelNotFoundError
from mlwright.ui.charts import line_chart
from mlwright.ui.web import UI

__all__ = ["add_monitor_pages"]

# alert rules shown by default (threshold per rule; the page's form changes them)
DEFAULT_ALERTS = {"drift_share": 0.5, "output_psi": 0.25, "error_rate": 0.05}


def _label(w: dict[str, Any], width: str) -> str:
    s = str(w["start"])
    return s[5:10] if width.endswith("d") else s[5:16].replace("T", " ")


def _charts(windows: list[dict[str, Any]], width: str) -> list[str]:
    labels = [_label(w, width) for w in windows]

    def get(key, sub=None):
        return [((w.get(key) or {}).get(sub) if sub else w.get(key)) for w in windows]

    live = next((w["live"].get("metric") for w in windows if w.get("live")), None)
    charts = [
        line_chart(labels, {"drifted share": get("drift_share")}, "Share of features drifting", threshold=None),
        line_chart(labels, {"prediction PSI": get("output", "psi")}, "Drift of the predictions (PSI)", threshold=0.2),
        line_chart(labels, {live or "metric": [(w.get("live") or {}).get("value") for w in windows]},
                   f"Live {live or 'metric'} (from feedback)"),
        line_chart(labels, {"p50": get("latency_p50_ms"), "p99": get("latency_p99_ms")}, "Latency (ms)"),
        line_chart(labels, {"rows": [float(w["rows"]) for w in windows],
                            "errors": [float(w.get("errors") or 0) for w in windows]}, "Rows scored and error answers"),
    ]  # fmt: skip
    shares = [(w.get("output") or {}).get("shares") for w in windows]
    ref = next(
        ((w.get("output") or {}).get("shares_ref") for w in windows if (w.get("output") or {}).get("shares")), None
    )
    if ref:  # a clusterer's segments or a detector's flags: each one's share per window (training's in the legend)
        lines = {f"{k} (training {100 * v:.0f}%)": [(sh or {}).get(k) for sh in shares] for k, v in ref.items()}
        charts.insert(2, line_chart(labels, lines, "Share of each output per window"))
    cover = [((w.get("live") or {}).get("scores") or {}).get("coverage") for w in windows]
    if any(v is not None for v in cover):  # a forecaster: how many actuals its interval held, against its level
        target = next((w["live"].get("coverage_target") for w in windows if w.get("live")), None)
        charts.insert(3, line_chart(labels, {"covered": cover}, "Actuals inside the forecast interval", target))
    return charts


def add_pick_page(app: FastAPI, ui: UI, base: str, title: str, intro: str) -> None:
    """``base``: the models with logged predictions, each a link to ``base/{name}``."""

    @app.get(base, include_in_schema=False)
    @ui.page
    def pick(request: Request) -> Response:
        return ui.render(request, "pick.j2", title=title, models=logged_models(ui), base=base, intro=intro)


def add_monitor_pages(app: FastAPI, ui: UI) -> None:
    """``/ui/monitoring`` and ``/ui/monitoring/{name}``."""

    add_pick_page(app, ui, "/ui/monitoring", "Monitoring",
                  "Models with logged predictions: choose one for its drift, live metrics and alerts.")  # fmt: skip

    @app.get("/ui/monitoring/{name}", include_in_schema=False)
    @ui.page
    def monitoring_page(request: Request, name: str) -> Response:
        from mlwright.loop.retrain import outcomes
        from mlwright.monitoring import MonitorConfig, monitor_model

        q = request.query_params
        window = q.get("window") or "1h"
        since = q.get("since") or "7d"  # the whole log can be large: a week unless asked
        alerts = {}
        for rule, default in DEFAULT_ALERTS.items():
            raw = q.get(rule, str(default))
            try:
                alerts[rule] = float(raw) if raw != "" else None
            except ValueError:
                raise ConfigError(f"the {rule} threshold must be a number, got {raw!r}") from None
        cfg = MonitorConfig(window=window, alerts={k: v for k, v in alerts.items() if v is not None})
        problem = None
        try:
            result = monitor_model(name, cfg, since=None if since == "all" else since, store=ui.core.store_url)
            windows, fired = result.windows, result.alerts
        except ModelNotFoundError:
            raise
        except MlwrightError as exc:  # nothing logged yet, no reference: say so on the page
            windows, fired, problem = [], [], str(exc)
        latest = windows[-1] if windows else None
        drifted = sorted((latest.get("features") or {}).items(), key=lambda kv: -(kv[1].get("psi") or 0))[:15] \
            if latest else []  # fmt: skip
        try:
            retrains = outcomes(name, ui.core.store_url)[:20]
        except MlwrightError:
            retrains = []
        return ui.render(request, "monitoring.j2", title=f"Monitoring {name}", name=name, window=window, since=since,
                         alerts=alerts, windows=list(reversed(windows))[:50], fired=list(reversed(fired))[:50],
                         charts=_charts(windows, window) if windows else [], problem=problem, latest=latest,
                         drifted=drifted, retrains=retrains)  # fmt: skip


def logged_models(ui: UI) -> list[dict[str, Any]]:
    from mlwright.store.predictions import logged_models as names_in_log

    names = names_in_log(ui.store())
    return [{"name": n, "version": "", "served": n in ui.core.models, "task": None}
            for n in sorted(names) if not n.endswith(":shadow")]  # fmt: skip
