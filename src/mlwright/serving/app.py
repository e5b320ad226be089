"""The FastAPI application: native prediction API, health, readiness, Prometheus metrics, auth and limits.

Every request to predict is checked against the model's Schema (missing, unknown or mistyped columns →
422 with a report per column), bounded in body size, rows and time, and counted; when more requests
are in flight than the concurrency cap, the next one gets 429 at once with ``Retry-After``.  A token
(``Authorization: Bearer …`` or ``X-Mlwright-Token``) is required for predictions unless the service
was started with ``public_predict``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from mlwright._version import __version__
from mlwright.errors import MlwrightError
from mlwright.monitoring.feedback import record_feedback
from mlwright.serving.core import JSON, Core, CountRequests, ServeConfig, ServedModel, error_response, frame
from mlwright.serving.forecasts import forecast_records, forecast_rows
from mlwright.serving.payloads import (
    BadRequest,
    parse_json,
)

__all__ = ["JSON", "Core", "ServeConfig", "ServedModel", "create_app", "frame"]

logger = logging.getLogger("mlwright.serving")


def create_app(
    models: list[ServedModel],
    config: ServeConfig | None = None,
    log=None,
    store: str | None = None,
    dashboard: bool = True,
) -> FastAPI:
    """The service app over ``models`` (looked up by name in the URL), with every protocol adapter.

    ``log``: a :class:`~mlwright.serving.predlog.PredictionLog` that receives every scored request
    (closed, after writing what it holds, when the app shuts down).  ``store``: the registry's store URL,
    for models that follow an alias (hot swap, see :mod:`mlwright.serving.reload`), the dashboard's runs,
    registry and monitoring.  ``dashboard``: serve the web dashboard at ``/ui`` (see :mod:`mlwright.ui`).
    """
    from mlwright.serving.reload import Reloader

    core = Core(models, config or ServeConfig(), log)
    core.store_url = store
    core.reloader = Reloader(core, store, core.cfg.reload_seconds)

    @asynccontextmanager
    async def lifespan(_app):
        import gc

        gc.collect()
        gc.freeze()  # the loaded models are long-lived: keep them out of every later collection (no GC pauses)
        core.reloader.start()
        yield
        await core.reloader.stop()
        if core.log is not None:
            await run_in_threadpool(core.log.close)

    app = FastAPI(
        title="mlwright", version=__version__, description="Predictions from mlwright models.", lifespan=lifespan
    )
    app.state.core = core

    app.add_middleware(CountRequests, core=core)

    _add_operations(app, core)
    _add_native(app, core)

    from mlwright.serving.protocols import add_protocols

    add_protocols(app, core)
    if dashboard:
        from mlwright.ui import add_dashboard

        add_dashboard(app, core)
    _route_errors(app)
    return app


def _add_operations(app: FastAPI, core: Core) -> None:
    """Health, readiness, Prometheus metrics and the list of served models."""

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        """Readiness: at least one model is loaded."""
        if not core.models:
            return error_response(503, "not_ready", "no model is loaded")
        return JSONResponse({"status": "ready", "models": sorted(core.models)})

    @app.get("/metrics")
    async def prom() -> Response:
        """Prometheus text: request counts by endpoint and status, latency histogram, rows, errors."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(core.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        """The models served, with their input columns."""
        if (denied := core.denied(request)) is not None:
            return denied
        return JSONResponse({"models": [m.describe() for m in core.models.values()]})


def _add_native(app: FastAPI, core: Core) -> None:
    """The native API: predict, feedback on logged predictions, and reload."""

    @app.post("/v1/models/{name}/predict")
    async def predict(name: str, request: Request) -> Response:
        """Score rows: JSON ``{"records": […]}`` / ``{"columns": {…}}`` or a CSV body."""
        if (denied := core.denied(request)) is not None:
            return denied
        try:
            served = core.model(name)
            df = frame(await core.body(request), request.headers.get("content-type", ""))
            res = await core.predict(served, df)
        except MlwrightError as exc:
            return core.failure(exc, model=name)
        out: dict[str, Any] = {
            "model": served.name, "version": served.version, "request_id": res["request_id"],
            "prediction_ids": res["ids"], "predictions": res["predictions"],
        }  # fmt: skip
        if res.get("quantiles") is not None:
            out["quantiles"] = res["quantiles"]
        if res.get("scores") is not None:  # an anomaly detector's score behind each flag
            out["scores"] = res["scores"]
        if res["probabilities"] is not None:
            keys = [str(k) for k in res["labels"]]
            out["probabilities"] = [dict(zip(keys, map(float, row))) for row in res["probabilities"]]
        return JSON(out)

    @app.post("/v1/models/{name}/forecast")
    async def forecast(name: str, request: Request) -> Response:
        """A forecaster's next steps: ``{"series": [ids or {id column: value}] (default: all), "horizon": k
        (default: the model's), "future": [{ids, time, known covariates}, …] (when the model uses them)}`` →
        the mean and quantiles of each series' steps, one record each, with a prediction id for feedback."""
        if (denied := core.denied(request)) is not None:
            return denied
        try:
            served = core.model(name)
            rows = await run_in_threadpool(forecast_rows, served, parse_json(await core.body(request)))
            res = await core.predict(served, rows)
        except MlwrightError as exc:
            return core.failure(exc, model=name)
        return JSON({"model": served.name, "version": served.version, "request_id": res["request_id"],
                     "forecasts": forecast_records(served, rows, res)})  # fmt: skip

    @app.post("/v1/models/{name}/feedback")
    async def feedback(name: str, request: Request) -> Response:
        """Ground truth for earlier predictions: ``{"feedback": [{"prediction_id": …, "actual": …}, …]}``
        (or one such object); token required.  The monitor turns it into live metrics."""
        if (denied := core.denied(request, write=True)) is not None:
            return denied
        try:
            served = core.model(name)
            obj = parse_json(await core.body(request))
            items = obj.get("feedback", [obj]) if isinstance(obj, dict) else obj
            if not isinstance(items, list):
                raise BadRequest('send {"feedback": [{"prediction_id": "…", "actual": …}, …]}')
            stored = await run_in_threadpool(
                record_feedback, core.store(), served.name, served.model.schema_, items, "api",
                core.log.flush if core.log is not None else None,
            )  # fmt: skip
        except MlwrightError as exc:
            return core.failure(exc)
        return JSONResponse({"stored": stored})

    @app.post("/v1/models/{name}/reload")
    async def reload(name: str, request: Request) -> Response:
        """Check the registry now: serve the version the model's alias (and its shadow's) names (token required)."""
        if (denied := core.denied(request, write=True)) is not None:
            return denied
        try:
            core.model(name)
        except MlwrightError as exc:
            return core.failure(exc)
        res = await core.reloader.check(name)
        if core.models[name].shadow is not None:
            res["shadow"] = await core.reloader.check(f"{name}:shadow")
        refused = "refused" in res or "refused" in res.get("shadow", {})
        return JSONResponse(res, status_code=409 if refused else 200)


def _route_errors(app: FastAPI) -> None:
    """Unknown routes and methods answer in the service's error format; a 405 lists in ``Allow`` every method
    the path takes (Starlette's own lists only those of the first route of the path)."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def route_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            path = request.scope["path"]
            allowed = sorted({m for r in app.routes if getattr(r, "path_regex", None) is not None
                              and r.path_regex.match(path) for m in (getattr(r, "methods", None) or ())})  # fmt: skip
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {path}; use "
                          f"{', '.join(allowed)}", headers={"Allow": ", ".join(allowed)})  # fmt: skip
        if exc.status_code == 404:
            return error_response(404, "not_found", f"no endpoint at {request.scope['path']}; see /docs")
        return error_response(exc.status_code, "http_error", str(exc.detail), headers=dict(exc.headers or {}))
