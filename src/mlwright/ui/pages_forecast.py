"""Dashboard pages for forecasting: start a forecaster from "New run", its report and registration when it
finishes, and the report (history, forecast, intervals per series) of a registered or served forecast model."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from mlwright.errors import ConfigError, MlwrightError, ModelNotFoundError
from mlwright.ui.web import HEADERS, UI, redirect

__all__ = ["add_forecast_pages", "form_names", "form_number"]


def form_names(value: Any, columns: list[str], what: str) -> list[str]:
    """Comma-separated column names from a form field, each checked against the table's columns."""
    names = [v.strip() for v in str(value or "").split(",") if v.strip()]
    unknown = [n for n in names if n not in columns]
    if unknown:
        from mlwright.errors import did_you_mean

        raise ConfigError(f"{what}: {unknown[0]!r} is not a column of this table{did_you_mean(unknown[0], columns)}")
    return names


def form_number(value: Any, what: str, default: str, low: float, high: float, whole: bool = False) -> float:
    text = str(value or default).strip()
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"{what} must be a number, got {text!r}") from None
    if not low <= v <= high or (whole and not v.is_integer()):
        raise ConfigError(f"{what} must be a {'whole ' if whole else ''}number from {low:g} to {high:g}, got {text}")
    return v


def forecast_spec(form: Any, columns: list[str]) -> tuple[str, float, dict[str, Any]]:
    """The target, budget and forecast settings of the "Forecast" form (typed errors for what does not fit)."""
    target = str(form.get("target") or "")
    time_column = str(form.get("time_column") or "")
    for what, name in (("the target", target), ("the time column", time_column)):
        if name not in columns:
            raise ConfigError(f"choose {what} among the table's columns ({', '.join(columns[:20])})")
    if target == time_column:
        raise ConfigError("the target and the time column must be different columns")
    ids = form_names(form.get("id_columns"), columns, "series id columns")
    known = form_names(form.get("known"), columns, "known covariates")
    clash = {target, time_column} & set(ids + known)
    if clash:
        raise ConfigError(
            f"{sorted(clash)[0]!r} is the target or the time column; it cannot also be an id or covariate"
        )
    horizon = int(form_number(form.get("horizon"), "the horizon", "12", 1, 10_000, whole=True))
    budget = form_number(form.get("time_budget"), "the time budget", "60", 1, 24 * 3600)
    return target, budget, {"time_column": time_column, "id_columns": ids, "known": known, "horizon": horizon}


def add_forecast_pages(app: FastAPI, ui: UI) -> None:
    """Start a forecast run, its report and registration, a forecast model's report and its forecast page."""
    add_forecast_view(app, ui)

    @app.post("/ui/new/{uid}/forecast", include_in_schema=False)
    @ui.action
    def start_forecast(request: Request, uid: str) -> Response:
        columns = ui.jobs.meta(uid).get("columns") or []
        target, budget, spec = forecast_spec(request.state.form, columns)
        jid = ui.jobs.start(uid, target, budget, "mase", forecast=spec)
        return redirect(f"/ui/jobs/{jid}")

    @app.get("/ui/jobs/{jid}/report", include_in_schema=False)
    @ui.page
    def job_report(request: Request, jid: str) -> Response:
        page = ui.jobs.folder(jid) / "report.html"
        if not page.is_file():
            raise ModelNotFoundError("this run has no report yet (it is still running, or it failed)")
        return HTMLResponse(page.read_text(encoding="utf-8"), headers=HEADERS)

    @app.post("/ui/jobs/{jid}/register", include_in_schema=False)
    @ui.action
    def job_register(request: Request, jid: str) -> Response:
        st = ui.jobs.status(jid)
        model_dir = Path(st.get("model_dir") or "")
        if st.get("state") != "finished" or not (model_dir / "manifest.json").is_file():
            raise ModelNotFoundError("this run has no saved model to register (it is running, failed, or was moved)")
        name = str(request.state.form.get("name") or "").strip()
        kind = {"forecast": "forecaster", "cluster": "clusterer", "anomaly": "anomaly detector"}.get(
            st.get("kind"), "model"
        )
        v = ui.registry().register(model_dir, name, description=f"{kind} from dashboard run {jid}")
        return redirect(f"/ui/models/{quote(v.name)}?msg=registered+as+version+{v.version}")

    @app.get("/ui/models/{name}/forecast", include_in_schema=False)
    @ui.page
    def model_forecast(request: Request, name: str) -> Response:
        from mlwright.report.forecast import render_forecast

        served = ui.core.models.get(name)
        version = request.query_params.get("version")
        if served is not None and getattr(served.model, "kind", None) == "forecast" and version is None:
            model, label = served.model, f"{name} (served version {served.version})"
        else:
            ref = f"{name}@{int(version)}" if version and version.isdigit() else name
            v = ui.registry().resolve(ref)
            model, label = ui.registry().load(v.ref), f"{name} version {v.version}"
        if getattr(model, "kind", None) != "forecast":
            raise ConfigError(f"{label} is not a forecast model; its report is on its run's page")
        data = model.report_data()  # with known covariates (their future unknown here): history and backtest
        return HTMLResponse(render_forecast(data, title=f"Forecast: {label}"), headers=HEADERS)


def _forecast_view(ui: UI, served: Any, series: str, horizon: int) -> dict[str, Any]:
    """One series' next ``horizon`` steps through the service (logged, with prediction ids for feedback), and
    its chart: the recent history, the forecast and the widest central interval."""
    from mlwright.forecast.scoring import request_rows, when_text
    from mlwright.forecast.summary import band_columns, recent_points
    from mlwright.report import figures as fg

    model = served.model
    rows = request_rows(model, [series], horizon, None)
    res = ui.call(ui.core.predict, served, rows)
    fr = model.frame_
    hist = fr.df[fr.df["unique_id"] == series].tail(recent_points(fr.m, model.horizon_))
    stamps = rows[fr.time_column].tolist()
    band = band_columns(model.quantiles_)
    lo_hi = (res["quantiles"][band[0]], res["quantiles"][band[1]]) if band else None
    chart = fg.forecast_chart((hist["ds"].tolist(), hist["y"].astype(float).tolist()), (stamps, res["predictions"]),
                              lo_hi, "", fr.target, band[2] if band else "interval")  # fmt: skip
    lo, hi = lo_hi if lo_hi else ([None] * len(stamps), [None] * len(stamps))
    table = [{"when": when_text(t), "mean": m, "lo": lo[i], "hi": hi[i], "id": res["ids"][i]}
             for i, (t, m) in enumerate(zip(stamps, res["predictions"]))]  # fmt: skip
    return {"chart": chart, "table": table, "band": band[2] if band else None}


def add_forecast_view(app: FastAPI, ui: UI) -> None:
    """``/ui/forecast/{name}``: a forecaster's next steps for a series, with its chart."""

    @app.get("/ui/forecast/{name}", include_in_schema=False)
    @ui.page
    def forecast_page(request: Request, name: str) -> Response:
        from mlwright.ui.pages_ops import served_model

        served = served_model(ui, name)
        model = served.model
        if getattr(model, "kind", None) != "forecast":
            return redirect(f"/ui/predict/{quote(name)}")
        ids = model.frame_.ids
        series = request.query_params.get("series") or ids[0]
        horizon = int(form_number(request.query_params.get("horizon"), "the horizon", str(model.horizon_), 1,
                              model.horizon_, whole=True))  # fmt: skip
        view, problem = None, None
        if model.frame_.known:
            problem = (
                f"this model needs the future values of {model.frame_.known}: forecast through the API "
                f'(POST /v1/models/{name}/forecast with "future") or `mlwright forecast predict --future`'
            )
        else:
            try:
                view = _forecast_view(ui, served, series, horizon)
            except MlwrightError as exc:
                problem = str(exc)
        return ui.render(request, "forecast.j2", title=f"Forecast with {name}", served=served, ids=ids[:1000],
                         series=series, horizon=horizon, view=view, problem=problem)  # fmt: skip
