"""The service's core: what is served (:class:`ServedModel`), how (:class:`ServeConfig`), and :class:`Core` —
auth, limits, counting and scoring shared by the native API, the protocol adapters and the dashboard."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mlwright.data.schema import Columns
from mlwright.errors import (
    BadRequest,
    BodyTooLargeError,
    BusyError,
    ColumnsMismatchError,
    ColumnTypeError,
    FeedbackError,
    MlwrightError,
    ModelNotFoundError,
    ScoringTimeoutError,
    TooManyRowsError,
    UnprocessableRequest,
    UnsupportedMediaTypeError,
    did_you_mean,
)
from mlwright.jsonsafe import plain
from mlwright.predictor import decide, decision_threshold
from mlwright.serving.auth import check_token
from mlwright.serving.payloads import (
    csv_frame,
    parse_json,
    records_columns,
    validated,
)

__all__ = ["INLINE_ROWS", "JSON", "Core", "CountRequests", "ServeConfig", "ServedModel", "error_response", "frame"]

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
        """Name, version, task and input columns (for ``GET /v1/models``); a forecaster's horizon, quantile
        levels, frequency and number of series too."""
        s = self.model.schema_
        extra: dict[str, Any] = {}
        if s.task == "forecast":
            fr = self.model.frame_
            extra = {"horizon": self.model.horizon_, "quantiles": [f"{q:g}" for q in self.model.quantiles_],
                     "freq": fr.freq, "series": len(fr.ids), "known_covariates": list(fr.known)}  # fmt: skip
        return extra | {
            "name": self.name,
            "version": self.version,
            "task": s.task,
            "target": s.target,
            "classes": [str(c) for c in s.classes],
            "inputs": [{"name": c.name, "kind": c.kind} for c in s.columns if c.used]
            + [{"name": c, "kind": "group"} for c in group_columns(self.model)],
            "source": self.source,
            "follows": self.ref or None,
        }


def group_columns(model: Any) -> list[str]:
    """The sensitive columns a model needs in each request to pick its per-group threshold (fairness)."""
    return list((getattr(model, "group_thresholds_", None) or {}).get("columns", []))


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


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
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
            from mlwright.store import Store

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
            return error_response(
                401, "unauthorized", "this endpoint needs the service token: send 'Authorization: Bearer <token>'"
            )
        if not check_token(given, self.cfg.token):
            self.metrics.errors.labels("forbidden").inc()
            return error_response(403, "forbidden", "the token is not valid for this service")
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
            raise BodyTooLargeError(int(declared))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.cfg.max_body_bytes:
                raise BodyTooLargeError(size)
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
            raise TooManyRowsError(len(df), self.cfg.max_rows)
        if self.inflight >= self.cfg.max_concurrency:
            raise BusyError(self.cfg.max_concurrency)
        self.inflight += 1
        self.metrics.inflight.inc()
        t0 = time.perf_counter()
        try:
            if len(df) <= INLINE_ROWS:  # a few rows score in about a millisecond: no thread hop
                out = _score(served, df)
            else:
                out = await asyncio.wait_for(self._score_batch(served, df), timeout=self.cfg.timeout_seconds)
        except TimeoutError:
            raise ScoringTimeoutError(self.cfg.timeout_seconds) from None
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
        r = error_response(exc.http_status, exc.code, str(exc), **extra)
        if isinstance(exc, BusyError):
            r.headers["Retry-After"] = "1"
        return r


class CountRequests:
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
    quantiles = None
    try:
        if model.task_ == "forecast":  # the mean and the quantiles of each (series, time stamp) row
            raw, quantiles = model.predict_quantiles(batch)
        else:
            raw = model.predict_scores(batch)
        threshold = decision_threshold(model, batch) if model.task_ == "binary" else None
    except (ColumnTypeError, ColumnsMismatchError):
        validated(schema, _frame(batch))  # the full report of what is wrong, column by column
        raise
    req = uuid.uuid4().hex
    ids = [f"{req}-{i}" for i in range(len(batch))]
    if quantiles is not None:
        levels = [f"{lv:g}" for lv in model.quantiles_]
        return {"predictions": np.asarray(raw, dtype=float).tolist(), "ids": ids, "labels": None,
                "probabilities": None, "request_id": req,
                "quantiles": dict(zip(levels, quantiles.T.tolist()))}  # fmt: skip
    if model.task_ == "regression":
        return {"predictions": np.asarray(raw, dtype=float).tolist(), "ids": ids, "labels": None,
                "probabilities": None, "request_id": req}  # fmt: skip
    if model.task_ == "anomaly":  # the flag at the model's threshold, and the score in [0, 1] it came from
        scores = np.asarray(raw, dtype=float)
        return {"predictions": (scores >= model.threshold_).astype(int).tolist(), "scores": scores.tolist(),
                "ids": ids, "labels": None, "probabilities": None, "request_id": req}  # fmt: skip
    p, pick = decide(raw, model.task_, threshold)
    labels = [plain(c) for c in schema.classes]
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
    raise UnsupportedMediaTypeError(ctype)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
