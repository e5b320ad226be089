"""The FastAPI application: native prediction API, health, readiness, Prometheus metrics, auth and limits.

Every request to predict is checked against the model's Schema (missing, unknown or mistyped columns →
422 with a report per column), bounded in body size, rows and time, and counted; when more requests
are in flight than the concurrency cap, the next one gets 429 at once with ``Retry-After``.  A token
(``Authorization: Bearer …`` or ``X-Mlwright-Token``) is required for predictions unless the service
was started with ``public_predict``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..data.schema import Columns
from ..errors import ColumnsMismatchError, ColumnTypeError, MlwrightError, ModelNotFoundError, did_you_mean
from ..monitoring.feedback import FeedbackError, record_feedback
from ..predictor import decide
from .auth import check_token
from .payloads import BadRequest, UnprocessableRequest, csv_frame, parse_json, records_columns, validated

__all__ = ["JSON", "Core", "ServeConfig", "ServedModel", "create_app", "frame"]

logger = logging.getLogger("mlwright.serving")

INLINE_ROWS = 16  # batches up to this size are scored on the event loop (the model's small-batch path)


@dataclass
class ServeConfig:
    """Limits and access of the service."""

    token: str = ""
    public_predict: bool = False
    max_body_bytes: int = 32 * 1024 * 1024
    max_rows: int = 100_000
    timeout_seconds: float = 30.0
    max_concurrency: int = 64
    reload_seconds: float = 5.0
    score_threads: int = 2  # batches scored at once off the event loop (more only oversubscribe the cores)
    # threads one prediction may use in a serving process (`serve` applies it process-wide; None: the
    # libraries' defaults): requests already run side by side, extra threads per request only contend
    predict_threads: int | None = 1


@dataclass
class ServedModel:
    """A loaded model under a name (and the registry version it came from, if any)."""

    name: str
    model: Any
    version: str
    source: str
    ref: str = ""  # a registry reference the service follows (``name@champion``); "" for fixed models
    loaded_at: float = field(default_factory=time.time)
    shadow: ServedModel | None = None  # scores the same requests off the answer path, logged as "<name>:shadow"

    def describe(self) -> dict[str, Any]:
        """Name, version, task and input columns (for ``GET /v1/models``)."""
        s = self.model.schema_
        return {
            "name": self.name,
            "version": self.version,
            "task": s.task,
            "target": s.target,
            "classes": [str(c) for c in s.classes],
            "inputs": [{"name": c.name, "kind": c.kind} for c in s.columns if c.used],
            "source": self.source,
            "follows": self.ref or None,
        }


class _Metrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("mlwright_requests", "HTTP requests", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram(
            "mlwright_request_seconds", "request latency", ["endpoint"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )  # fmt: skip
        self.rows = Counter("mlwright_rows_scored", "rows scored", ["model"], registry=self.registry)
        self.errors = Counter("mlwright_errors", "requests answered with an error", ["code"], registry=self.registry)
        self.inflight = Gauge("mlwright_inflight_requests", "requests being scored", registry=self.registry,
                              multiprocess_mode="livesum")  # fmt: skip

    def exposition(self) -> bytes:
        """Prometheus text of this process, or of every worker together (``serve --workers N``)."""
        import os

        from prometheus_client import CollectorRegistry, generate_latest

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


class Core:
    """What every endpoint shares: models, limits, auth, metrics, and scoring with the caps applied."""

    def __init__(self, models: list[ServedModel], cfg: ServeConfig, log=None):
        self.cfg = cfg
        self.models = {m.name: m for m in models}
        self.metrics = _Metrics()
        self.inflight = 0
        self.shadow_pending = 0
        self._tasks: set[asyncio.Task] = set()
        self._scoring: asyncio.Semaphore | None = None
        self.log = log
        self.store_url: str | None = None
        self._store = None
        if log is not None:
            from prometheus_client import Gauge

            gauges = {
                what: Gauge(f"mlwright_prediction_log_{what}", f"prediction log records {what}",
                            registry=self.metrics.registry, multiprocess_mode="livesum")
                for what in ("dropped", "written", "failed")
            }  # fmt: skip

            def counted() -> None:  # set values, not callbacks: worker processes share them through files
                for what, g in gauges.items():
                    g.set(getattr(log, what))

            log.on_count = counted

    def store(self):
        """The store predictions and feedback go to (the prediction log's, else ``store_url``'s)."""
        if self.log is not None:
            return self.log.store
        if self._store is None:
            from ..store import Store

            self._store = Store(self.store_url)
        return self._store

    def denied(self, request: Request, write: bool = False) -> JSONResponse | None:
        """None when the request may go on; else the 401/403 answer (predictions are open with public_predict)."""
        if self.cfg.public_predict and not write:
            return None
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-mlwright-token")
        if not given:
            self.metrics.errors.labels("unauthorized").inc()
            return _error(
                401, "unauthorized", "this endpoint needs the service token: send 'Authorization: Bearer <token>'"
            )
        if not check_token(given, self.cfg.token):
            self.metrics.errors.labels("forbidden").inc()
            return _error(403, "forbidden", "the token is not valid for this service")
        return None

    def model(self, name: str | None = None) -> ServedModel:
        """The served model called ``name`` (the only one when None and there is one)."""
        if name is None and len(self.models) == 1:
            return next(iter(self.models.values()))
        if name is None:
            raise ModelNotFoundError(f"several models are served ({', '.join(sorted(self.models))}): name one")
        served = self.models.get(name)
        if served is None:
            raise ModelNotFoundError(
                f"no model named {name!r} is served{did_you_mean(name, self.models)}; "
                f"served: {', '.join(sorted(self.models))}"
            )
        return served

    async def body(self, request: Request) -> bytes:
        """The request body, refused past the size limit (413) without reading it all."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.cfg.max_body_bytes:
            raise _TooLarge(int(declared))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.cfg.max_body_bytes:
                raise _TooLarge(size)
            chunks.append(chunk)
        return b"".join(chunks)

    async def predict(self, served: ServedModel, df: pd.DataFrame | Columns) -> dict[str, Any]:
        """Validate and score the batch ``df`` (off the event loop unless it is a few rows), within the row,
        time and concurrency caps.

        Returns ``{"predictions", "probabilities" (classification, (n, k) array), "labels", "ids"}``.
        """
        if len(df) == 0:
            raise BadRequest("the request holds no rows")
        if len(df) > self.cfg.max_rows:
            raise _TooManyRows(len(df), self.cfg.max_rows)
        if self.inflight >= self.cfg.max_concurrency:
            raise _Busy(self.cfg.max_concurrency)
        self.inflight += 1
        self.metrics.inflight.inc()
        t0 = time.perf_counter()
        try:
            if len(df) <= INLINE_ROWS:  # a few rows score in about a millisecond: no thread hop
                out = _score(served, df)
            else:
                out = await asyncio.wait_for(self._score_batch(served, df), timeout=self.cfg.timeout_seconds)
        except TimeoutError:
            raise _Timeout(self.cfg.timeout_seconds) from None
        finally:
            self.inflight -= 1
            self.metrics.inflight.dec()
        self.metrics.rows.labels(served.name).inc(len(df))
        if self.log is not None:
            self.log.put(out["request_id"], served.name, served.version, 1000 * (time.perf_counter() - t0), df, out,
                         schema=served.model.schema_)  # fmt: skip
            if served.shadow is not None:
                self._shadow(served, df, out)
        return out

    def _shadow(self, served: ServedModel, df: pd.DataFrame | Columns, answered: dict[str, Any]) -> None:
        """Score the request with ``served.shadow`` after the answer, and log it under the same prediction
        ids (feedback then labels both); skipped — and counted — while the service is busy."""
        if self.shadow_pending >= max(1, self.cfg.max_concurrency // 2):
            self.metrics.errors.labels("shadow_skipped").inc()
            return
        self.shadow_pending += 1
        shadow = served.shadow

        async def run() -> None:
            t0 = time.perf_counter()
            try:
                res = await self._score_batch(shadow, df)
                res["ids"], res["request_id"] = answered["ids"], answered["request_id"]
                self.log.put(res["request_id"], f"{served.name}:shadow", shadow.version,
                             1000 * (time.perf_counter() - t0), df, res, schema=shadow.model.schema_)  # fmt: skip
            except Exception as exc:  # a failing shadow never touches the answers; counted and logged
                self.metrics.errors.labels("shadow_failed").inc()
                logger.warning("shadow %s:%s failed: %s", served.name, shadow.version, exc)
            finally:
                self.shadow_pending -= 1

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _score_batch(self, served: ServedModel, df: pd.DataFrame | Columns) -> dict[str, Any]:
        """Score a batch in a worker thread, at most ``score_threads`` at once (the others wait their turn)."""
        if self._scoring is None:
            self._scoring = asyncio.Semaphore(max(1, self.cfg.score_threads))
        async with self._scoring:
            return await run_in_threadpool(_score, served, df)

    def failure(self, exc: MlwrightError, model: str | None = None) -> JSONResponse:
        """The JSON error answer of a typed error (422s carry their per-column report); answers to a
        prediction request (``model``) are also counted in the store, for monitoring's error rate."""
        self.metrics.errors.labels(exc.code).inc()
        if model is not None and self.log is not None:
            self.log.error_answer(model, exc.http_status, exc.code)
        extra = {"columns": exc.columns} if isinstance(exc, (UnprocessableRequest, FeedbackError)) else {}
        r = _error(exc.http_status, exc.code, str(exc), **extra)
        if isinstance(exc, _Busy):
            r.headers["Retry-After"] = "1"
        return r


class _CountRequests:
    """Pure ASGI middleware (no per-request task or body copy): request counts and latency by route."""

    def __init__(self, app, core: Core):
        self.app, self.core = app, core

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 500}

        async def sending(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            endpoint = route.path if route is not None else "unmatched"
            m = self.core.metrics
            m.requests.labels(endpoint, str(status["code"])).inc()
            m.latency.labels(endpoint).observe(time.perf_counter() - t0)


class JSON(JSONResponse):
    """JSON answers encoded by orjson (numpy arrays and scalars included), much faster than json."""

    def render(self, content: Any) -> bytes:
        import orjson

        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def _score(served: ServedModel, batch: pd.DataFrame | Columns) -> dict[str, Any]:
    """Validate (the model's own strict coercion; a full per-column report only when it fails) and score."""
    model = served.model
    schema = model.schema_
    known = {c.name for c in schema.columns}
    have = set(map(str, batch.columns))
    if set(schema.features) - have or have - known:
        validated(schema, _frame(batch))  # raises with the per-column report
    try:
        raw = model.predict_scores(batch)
    except (ColumnTypeError, ColumnsMismatchError):
        validated(schema, _frame(batch))  # the full report of what is wrong, column by column
        raise
    req = uuid.uuid4().hex
    ids = [f"{req}-{i}" for i in range(len(batch))]
    if model.task_ == "regression":
        return {"predictions": np.asarray(raw, dtype=float).tolist(), "ids": ids, "labels": None,
                "probabilities": None, "request_id": req}  # fmt: skip
    p, pick = decide(raw, model.task_, model.threshold_)
    labels = [_plain(c) for c in schema.classes]
    return {"predictions": [labels[i] for i in pick], "probabilities": p, "labels": labels, "ids": ids,
            "request_id": req}  # fmt: skip


def _frame(batch: pd.DataFrame | Columns) -> pd.DataFrame:
    return batch.frame() if isinstance(batch, Columns) else batch


def frame(body: bytes, content_type: str) -> pd.DataFrame | Columns:
    """A native body → the batch to score: JSON records/columns as :class:`Columns`, CSV as a DataFrame;
    415 for other content types."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/csv"):
        return csv_frame(body)
    if ctype in ("application/json", ""):
        return records_columns(parse_json(body))
    raise _Unsupported(ctype)


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
    from .reload import Reloader

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

    app.add_middleware(_CountRequests, core=core)

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        """Readiness: at least one model is loaded."""
        if not core.models:
            return _error(503, "not_ready", "no model is loaded")
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
        if res["probabilities"] is not None:
            keys = [str(k) for k in res["labels"]]
            out["probabilities"] = [dict(zip(keys, map(float, row))) for row in res["probabilities"]]
        return JSON(out)

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

    from .protocols import add_protocols

    add_protocols(app, core)
    if dashboard:
        from ..ui import add_dashboard

        add_dashboard(app, core)
    _route_errors(app)
    return app


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
            return _error(405, "method_not_allowed", f"{request.method} is not allowed on {path}; use "
                          f"{', '.join(allowed)}", headers={"Allow": ", ".join(allowed)})  # fmt: skip
        if exc.status_code == 404:
            return _error(404, "not_found", f"no endpoint at {request.scope['path']}; see /docs")
        return _error(exc.status_code, "http_error", str(exc.detail), headers=dict(exc.headers or {}))


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class _TooLarge(BadRequest):
    code = "body_too_large"
    http_status = 413

    def __init__(self, size: int):
        super().__init__(f"the body ({size:,} bytes) is larger than this service accepts; send fewer rows per request")


class _TooManyRows(BadRequest):
    code = "too_many_rows"
    http_status = 413

    def __init__(self, n: int, limit: int):
        super().__init__(f"{n:,} rows in one request; the limit is {limit:,}: split the batch")


class _Unsupported(BadRequest):
    code = "unsupported_media_type"
    http_status = 415

    def __init__(self, ctype: str):
        super().__init__(f"content type {ctype!r} is not accepted; send application/json or text/csv")


class _Busy(MlwrightError):
    code = "busy"
    http_status = 429

    def __init__(self, cap: int):
        super().__init__(f"{cap} requests are being scored; retry shortly")


class _Timeout(MlwrightError):
    code = "timeout"
    http_status = 503

    def __init__(self, seconds: float):
        super().__init__(f"scoring took longer than {seconds:g} s; send fewer rows per request")
