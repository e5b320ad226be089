"""The service's OpenAPI document, complete: every request body and every answer each route gives.

The endpoints read their bodies themselves (orjson straight into columns: no pydantic on the hot path, and
CSV or binary tensors on the same routes), so FastAPI cannot see what they accept.  The pydantic models here
say it for the document — and so for clients, code generators and schemathesis — and :data:`ROUTES` lists,
per route, the body, the success answer and the error answers with their content types.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = ["ROUTES", "document", "vertex_routes"]

Value = float | str | bool | None  # a JSON scalar (integers are numbers)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Records(_Model):
    """Rows as objects of column → value."""

    records: Annotated[list[dict[str, Value]], Field(min_length=1)]


class ColumnLists(_Model):
    """Columns as lists of values, all of one length."""

    columns: Annotated[dict[str, Annotated[list[Value], Field(min_length=1)]], Field(min_length=1)]


PredictBody = Records | ColumnLists | Annotated[list[dict[str, Value]], Field(min_length=1)]


class FeedbackItem(_Model):
    """The true label (or value) of one earlier prediction."""

    prediction_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}-\d{1,9}$")]
    actual: float | str | bool
    comment: Annotated[str, Field(max_length=4000)] | None = None
    reviewer: Annotated[str, Field(max_length=128)] | None = None


class Feedback(_Model):
    feedback: Annotated[list[FeedbackItem], Field(min_length=1)]


class ForecastRequest(_Model):
    """A forecaster's next steps: which series (ids joined by ``|``, or objects of the id columns; all when
    omitted), how many steps (at most the model's horizon), and the known covariates' future values."""

    series: Annotated[list[str | dict[str, Value]], Field(min_length=1)] | None = None
    horizon: Annotated[int, Field(ge=1)] | None = None
    future: Annotated[list[dict[str, Value]], Field(min_length=1)] | Records | ColumnLists | None = None


class DataframeSplit(_Model):
    columns: list[str] | None = None
    data: Annotated[list[list[Value]], Field(min_length=1)]


class MlflowSplit(_Model):
    dataframe_split: DataframeSplit


class MlflowRecords(_Model):
    dataframe_records: Annotated[list[dict[str, Value]], Field(min_length=1)]


class Instances(_Model):
    """Rows: objects of column → value, or lists of values in the model's column order."""

    instances: Annotated[list[dict[str, Value]] | list[list[Value]], Field(min_length=1)]


class Inputs(_Model):
    """Columns: column → list of values."""

    inputs: Annotated[dict[str, Annotated[list[Value], Field(min_length=1)]], Field(min_length=1)]


InvocationsBody = MlflowSplit | MlflowRecords | Instances | Inputs
TfBody = Instances | Inputs


class Tensor(_Model):
    """One input column as a v2 tensor (``data`` inline, or ``parameters.binary_data_size`` bytes after the
    JSON header when the request uses the binary extension)."""

    name: str
    shape: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]
    datatype: Literal["FP64", "FP32", "INT64", "INT32", "INT16", "INT8", "UINT8", "BOOL", "BYTES"]
    data: list[Value] | list[list[Value]] | None = None
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(_Model):
    id: str | None = None
    inputs: Annotated[list[Tensor], Field(min_length=1)]
    outputs: list[RequestedOutput] | None = None
    parameters: dict[str, Any] | None = None


class Error(BaseModel):
    """Every error answer: a code, one line saying what was wrong and how to fix it, and (422) the problem of
    each column or feedback item."""

    error: str
    message: str
    columns: dict[str, str] | None = None


OBJ: dict[str, Any] = {"type": "object"}
TEXT = "text/plain"
JSON = "application/json"
AUTH = (401, 403)
MODEL = (404,)
SCORE = (400, 413, 415, 422, 429, 503, 504)

# (path, method) → (request body type or None, success status, success content type, error statuses, needs token)
ROUTES: dict[tuple[str, str], tuple[Any, int, str, tuple[int, ...], bool]] = {
    ("/health", "get"): (None, 200, JSON, (), False),
    ("/ready", "get"): (None, 200, JSON, (503,), False),
    ("/metrics", "get"): (None, 200, TEXT, (), False),
    ("/v1/models", "get"): (None, 200, JSON, AUTH, True),
    ("/v1/models/{name}/predict", "post"): (PredictBody, 200, JSON, AUTH + MODEL + SCORE, True),
    ("/v1/models/{name}/feedback", "post"): (Feedback, 200, JSON, AUTH + MODEL + (400, 413, 422, 503), True),
    ("/v1/models/{name}/forecast", "post"): (ForecastRequest, 200, JSON, AUTH + MODEL + SCORE, True),
    ("/v1/models/{name}/reload", "post"): (None, 200, JSON, AUTH + MODEL + (409, 503), True),
    ("/ping", "get"): (None, 200, TEXT, (503,), False),
    ("/invocations", "post"): (InvocationsBody, 200, JSON, AUTH + MODEL + SCORE, True),
    ("/v1/models/{spec}", "get"): (None, 200, JSON, MODEL, False),
    ("/v1/models/{spec}", "post"): (TfBody, 200, JSON, AUTH + MODEL + SCORE, True),
    ("/v2/health/live", "get"): (None, 200, JSON, (), False),
    ("/v2/health/ready", "get"): (None, 200, JSON, (503,), False),
    ("/v2", "get"): (None, 200, JSON, (), False),
    ("/v2/models/{name}", "get"): (None, 200, JSON, AUTH + MODEL, True),
    ("/v2/models/{name}/versions/{version}", "get"): (None, 200, JSON, AUTH + MODEL, True),
    ("/v2/models/{name}/ready", "get"): (None, 200, JSON, MODEL, False),
    ("/v2/models/{name}/versions/{version}/ready", "get"): (None, 200, JSON, MODEL, False),
    ("/v2/models/{name}/infer", "post"): (InferRequest, 200, JSON, AUTH + MODEL + SCORE, True),
    ("/v2/models/{name}/versions/{version}/infer", "post"): (InferRequest, 200, JSON, AUTH + MODEL + SCORE, True),
}

_WHY = {400: "the body is not a table (malformed JSON/CSV, wrong shape)", 401: "no token", 403: "a wrong token",
        404: "no such model (or version)", 409: "the registry cannot give that version", 413: "body or rows over the "
        "limit", 415: "a content type the route does not read", 422: "a table the model cannot score (per-column "
        "report) or feedback that cannot be stored (per item)", 429: "too many requests at once (Retry-After)",
        503: "no model, or the store is unavailable", 504: "scoring took longer than the timeout"}  # fmt: skip


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of ``tp``; named models go to the components (``defs``) and are referred to."""
    schema = TypeAdapter(tp).json_schema(ref_template="#/components/schemas/{model}")
    defs.update(schema.pop("$defs", {}))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        defs[tp.__name__] = schema
        return {"$ref": f"#/components/schemas/{tp.__name__}"}
    return schema


def _csv_pattern(path: str, n_columns: int | None) -> str:
    """What a CSV body must look like: a header row and rows (native routes); at ``/invocations`` (SageMaker)
    also rows alone, each with the model's number of fields."""
    if path == "/invocations" and n_columns:
        line = rf"([^,\n]*,){{{n_columns - 1}}}[^,\n]*"
        return rf"^{line}(\r?\n{line})*\r?\n?$"
    return r"^[^\n]+\r?\n[^\n]+(\r?\n[^\n]*)*$"


def _complete(doc: dict[str, Any], extra_routes: dict[tuple[str, str], tuple], n_columns: int | None) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    error = {"content": {JSON: {"schema": _schema(Error, defs)}}}
    for (path, method), (body, ok, ctype, errors, token) in {**ROUTES, **extra_routes}.items():
        op = doc["paths"].get(path, {}).get(method)
        if op is None:
            continue
        op["parameters"] = [p for p in op.get("parameters", []) if p["in"] == "path"]  # no stray query params
        for p in op["parameters"]:
            p["schema"] = {"type": "string", "minLength": 1}
        if body is not None:
            content = {JSON: {"schema": _schema(body, defs)}}
            if path.endswith("/infer"):
                content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
            elif not path.startswith("/v2") and not path.endswith("/forecast"):  # JSON only
                content["text/csv"] = {"schema": {"type": "string", "pattern": _csv_pattern(path, n_columns)}}
            op["requestBody"] = {"required": True, "content": content}
        responses = {str(ok): {"description": "OK", "content": {ctype: {"schema": {"type": "string"} if ctype == TEXT
                                                                                 else OBJ}}}}  # fmt: skip
        for status in errors:
            responses[str(status)] = {"description": _WHY[status], **error}
        op["responses"] = responses
        if token:
            op["security"] = [{"bearer": []}]
    doc.setdefault("components", {}).setdefault("schemas", {}).update(defs)
    for unused in ("HTTPValidationError", "ValidationError"):
        doc["components"]["schemas"].pop(unused, None)
    bearer = {"type": "http", "scheme": "bearer", "description": "the service token (MLWRIGHT_HOME/token)"}
    doc["components"]["securitySchemes"] = {"bearer": bearer}
    return doc


class VertexInstances(_Model):
    instances: Annotated[list[dict[str, Value]] | list[list[Value]], Field(min_length=1)]
    parameters: dict[str, Any] | None = None


def vertex_routes(predict: str | None, health: str | None) -> dict[tuple[str, str], tuple]:
    """The Vertex AI routes named by ``AIP_PREDICT_ROUTE`` / ``AIP_HEALTH_ROUTE`` (when set)."""
    out: dict[tuple[str, str], tuple] = {}
    if health:
        out[(health, "get")] = (None, 200, TEXT, (503,), False)
    if predict:
        out[(predict, "post")] = (VertexInstances, 200, JSON, AUTH + MODEL + SCORE, True)
    return out


def document(app: FastAPI, extra_routes: dict[tuple[str, str], tuple] | None = None,
             n_columns: int | None = None) -> None:  # fmt: skip
    """Make ``app.openapi()`` return the complete document (built once, on first request); ``n_columns``: the
    served model's input columns, when one model is served (what a header-less CSV row holds)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = _complete(doc, extra_routes or {}, n_columns)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
