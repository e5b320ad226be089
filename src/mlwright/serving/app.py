"""The FastAPI application: native prediction API, health, readiness, Prometheus metrics, auth and limits.

Every request to predict is checked against the model's Schema (missing, unknown or mistyped columns →
422 with a report per column), bounded in body size, rows and time, and counted; when more requests
are in flight than the concurrency cap, the next one gets 429 at once with ``Retry-After``.  A token
(``Authorization: Bearer …`` or ``X-Mlwright-Token``) is required for predictions unless the service
was started with ``public_predict``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..errors import MlwrightError, ModelNotFoundError, did_you_mean
from .auth import check_token
from .payloads import BadRequest, UnprocessableRequest, csv_frame, parse_json, records_frame, validated

__all__ = ["ServeConfig", "ServedModel", "create_app"]


@dataclass
class ServeConfig:
    """Limits and access of the service."""

    token: str = ""
    public_predict: bool = False
    max_body_bytes: int = 32 * 1024 * 1024
    max_rows: int = 100_000
    timeout_seconds: float = 30.0
    max_concurrency: int = 64


@dataclass
class ServedModel:
    """A loaded model under a name (and the registry version it came from, if any)."""

    name: str
    model: Any
    version: str
    source: str
    loaded_at: float = field(default_factory=time.time)

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
        self.inflight = Gauge("mlwright_inflight_requests", "requests being scored", registry=self.registry)


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def create_app(models: list[ServedModel], config: ServeConfig | None = None) -> FastAPI:
    """The service app over ``models`` (looked up by name in the URL)."""
    cfg = config or ServeConfig()
    by_name = {m.name: m for m in models}
    metrics = _Metrics()
    state = {"inflight": 0}
    app = FastAPI(title="mlwright", version=__version__, description="Predictions from mlwright models.")
    app.state.models = by_name
    app.state.config = cfg

    def authorized(request: Request) -> JSONResponse | None:
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-mlwright-token")
        if not given:
            return _error(
                401, "unauthorized", "this endpoint needs the service token: send 'Authorization: Bearer <token>'"
            )
        if not check_token(given, cfg.token):
            return _error(403, "forbidden", "the token is not valid for this service")
        return None

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cfg.max_body_bytes:
            raise _TooLarge(int(declared))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cfg.max_body_bytes:
                raise _TooLarge(size)
            chunks.append(chunk)
        return b"".join(chunks)

    def frame(body: bytes, content_type: str) -> pd.DataFrame:
        ctype = content_type.split(";")[0].strip().lower()
        if ctype in ("text/csv", "application/csv"):
            return csv_frame(body)
        if ctype in ("application/json", ""):
            return records_frame(parse_json(body))
        raise _Unsupported(ctype)

    def score(served: ServedModel, df: pd.DataFrame) -> dict[str, Any]:
        model = served.model
        df = validated(model.schema_, df)
        ids = [uuid.uuid4().hex for _ in range(len(df))]
        out: dict[str, Any] = {"model": served.name, "version": served.version, "prediction_ids": ids}
        if model.task_ == "regression":
            out["predictions"] = [float(v) for v in model.predict(df)]
            return out
        proba = model.predict_proba(df)
        labels = list(proba.columns)
        p = proba.to_numpy()
        threshold = getattr(model, "threshold_", None)
        if threshold is not None and model.task_ == "binary":
            pick = (p[:, 1] >= threshold).astype(int)
        else:
            pick = p.argmax(axis=1)
        out["predictions"] = [_plain(labels[i]) for i in pick]
        out["probabilities"] = [{str(k): float(v) for k, v in zip(labels, row)} for row in np.round(p, 10)]
        return out

    @app.middleware("http")
    async def count(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        endpoint = request.scope.get("route").path if request.scope.get("route") else "unmatched"
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
        return response

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        """Readiness: at least one model is loaded."""
        if not by_name:
            return _error(503, "not_ready", "no model is loaded")
        return JSONResponse({"status": "ready", "models": sorted(by_name)})

    @app.get("/metrics")
    async def prom() -> Response:
        """Prometheus text: request counts by endpoint and status, latency histogram, rows, errors."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        """The models served, with their input columns."""
        if not cfg.public_predict and (denied := authorized(request)) is not None:
            return denied
        return JSONResponse({"models": [m.describe() for m in by_name.values()]})

    @app.post("/v1/models/{name}/predict")
    async def predict(name: str, request: Request) -> Response:
        """Score rows: JSON ``{"records": […]}`` / ``{"columns": {…}}`` or a CSV body."""
        if not cfg.public_predict and (denied := authorized(request)) is not None:
            metrics.errors.labels(denied.status_code).inc()
            return denied
        served = by_name.get(name)
        if served is None:
            return _fail(metrics, ModelNotFoundError(
                f"no model named {name!r} is served{did_you_mean(name, by_name)}; served: {', '.join(sorted(by_name))}"
            ))  # fmt: skip
        if state["inflight"] >= cfg.max_concurrency:
            metrics.errors.labels("busy").inc()
            r = _error(429, "busy", f"{cfg.max_concurrency} requests are being scored; retry shortly")
            r.headers["Retry-After"] = "1"
            return r
        state["inflight"] += 1
        metrics.inflight.inc()
        try:
            body = await read_body(request)
            df = frame(body, request.headers.get("content-type", ""))
            if len(df) > cfg.max_rows:
                raise _TooManyRows(len(df), cfg.max_rows)
            if len(df) == 0:
                raise BadRequest("the request holds no rows")
            out = await asyncio.wait_for(run_in_threadpool(score, served, df), timeout=cfg.timeout_seconds)
            metrics.rows.labels(name).inc(len(df))
            return JSONResponse(out)
        except TimeoutError:
            return _fail(metrics, _Timeout(cfg.timeout_seconds))
        except UnprocessableRequest as exc:
            metrics.errors.labels(exc.code).inc()
            return _error(422, exc.code, str(exc), columns=exc.columns)
        except MlwrightError as exc:
            return _fail(metrics, exc)
        finally:
            state["inflight"] -= 1
            metrics.inflight.dec()

    return app


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _fail(metrics: _Metrics, exc: MlwrightError) -> JSONResponse:
    metrics.errors.labels(exc.code).inc()
    return _error(exc.http_status, exc.code, str(exc))


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


class _Timeout(MlwrightError):
    code = "timeout"
    http_status = 503

    def __init__(self, seconds: float):
        super().__init__(f"scoring took longer than {seconds:g} s; send fewer rows per request")
