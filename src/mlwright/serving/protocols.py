"""Protocol adapters: each ecosystem's documented request and response format on the same core.

- MLflow scoring server: ``POST /invocations`` (``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs``; or CSV) → ``{"predictions": […]}``; ``GET /ping``.
- SageMaker: ``GET /ping``, ``POST /invocations`` (the same handler; CSV with or without a header row).
- TF-Serving REST: ``POST /v1/models/{name}:predict`` with ``instances`` (row format →
  ``{"predictions": …}``) or ``inputs`` (columnar → ``{"outputs": …}``); ``GET /v1/models/{name}``.
- KServe / Open Inference Protocol v2: ``/v2/health/live|ready``, ``GET /v2/models/{name}``
  (metadata), ``GET /v2/models/{name}/ready``, ``POST /v2/models/{name}/infer`` — one input tensor
  per column (FP64 / INT64 / BOOL / BYTES), outputs ``predictions`` and, for classifiers,
  ``probabilities``; JSON tensors and the binary-data extension on input.
- Vertex AI: the routes named by ``AIP_PREDICT_ROUTE`` / ``AIP_HEALTH_ROUTE`` (``instances`` →
  ``predictions``); ``mlwright serve`` listens on ``AIP_HTTP_PORT`` when set.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from mlwright.errors import BadRequest, MlwrightError, ModelNotFoundError
from mlwright.predictor import returns_values
from mlwright.serving.core import JSON, Core, ServedModel, group_columns
from mlwright.serving.openapi import document, vertex_routes
from mlwright.serving.payloads import parse_json, read_csv_body, records_frame

__all__ = ["add_protocols", "v2_datatype"]


def _columns(served: ServedModel) -> list[str]:
    return [c.name for c in served.model.schema_.columns if c.used]


def _from_instances(served: ServedModel, instances: Any) -> pd.DataFrame:
    """TF-Serving / Vertex / MLflow ``instances``: a list of objects, or of lists in the model's column order."""
    if not isinstance(instances, list) or not instances:
        raise BadRequest("'instances' must be a non-empty list of rows")
    if all(isinstance(r, dict) for r in instances):
        return records_frame(instances)
    if all(isinstance(r, list) for r in instances):
        cols = _columns(served)
        bad = {len(r) for r in instances} - {len(cols)}
        if bad:
            raise BadRequest(f"each instance must hold {len(cols)} values, in this order: {', '.join(cols)}")
        return pd.DataFrame(instances, columns=cols)
    raise BadRequest("'instances' must be all objects (column → value) or all lists of values")


def _from_inputs(served: ServedModel, inputs: Any) -> pd.DataFrame:
    """``inputs`` in the columnar format (column → list), or a list of rows."""
    if isinstance(inputs, dict):
        return records_frame({"columns": inputs})
    return _from_instances(served, inputs)


def mlflow_frame(served: ServedModel, body: bytes, content_type: str) -> pd.DataFrame:
    """An MLflow / SageMaker ``/invocations`` body → DataFrame."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/csv"):
        return _csv_maybe_headerless(served, body)
    if ctype not in ("application/json", ""):
        raise BadRequest(f"content type {ctype!r} is not accepted at /invocations; send application/json or text/csv")
    obj = parse_json(body)
    if not isinstance(obj, dict):
        raise BadRequest("send one of dataframe_split, dataframe_records, instances or inputs")
    if "dataframe_split" in obj:
        split = obj["dataframe_split"]
        if not isinstance(split, dict) or "data" not in split:
            raise BadRequest("dataframe_split needs 'columns' and 'data' (a list of rows)")
        cols = split.get("columns") or _columns(served)
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise BadRequest("dataframe_split 'columns' must be a list of column names")
        rows = split["data"]
        if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
            raise BadRequest("dataframe_split 'data' must be a non-empty list of rows, each a list of values")
        if len(set(cols)) < len(cols):
            dup = sorted({c for c in cols if cols.count(c) > 1})
            raise BadRequest(f"dataframe_split names column(s) {', '.join(map(repr, dup[:5]))} more than once")
        try:
            return pd.DataFrame(split["data"], columns=cols)
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"dataframe_split does not form a table: {exc}") from None
    if "dataframe_records" in obj:
        return records_frame(obj["dataframe_records"])
    if "instances" in obj:
        return _from_instances(served, obj["instances"])
    if "inputs" in obj:
        return _from_inputs(served, obj["inputs"])
    raise BadRequest(
        f"unknown keys {sorted(obj)[:5]}: send one of dataframe_split, dataframe_records, instances or inputs"
    )


def _csv_maybe_headerless(served: ServedModel, body: bytes) -> pd.DataFrame:
    if not body.strip():
        raise BadRequest("the CSV body is empty")
    cols = _columns(served)
    first = body.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(",")
    if [c.strip().strip('"') for c in first] == cols or set(cols) <= {c.strip().strip('"') for c in first}:
        return read_csv_body(body)
    df = read_csv_body(body, header=None)  # SageMaker's header-less rows: the model's columns, in order
    if df.shape[1] != len(cols):
        raise BadRequest(f"each header-less CSV row must hold {len(cols)} values, in this order: {', '.join(cols)} "
                         f"(the first holds {df.shape[1]})")  # fmt: skip
    df.columns = cols
    return df


def v2_datatype(kind: str, dtype: str) -> str:
    """The v2 tensor datatype of a column: FP64 numbers (INT64 when trained as integers), BOOL, BYTES."""
    if kind == "numeric":
        return "INT64" if dtype.lower().startswith(("int", "uint")) else "FP64"
    if kind == "boolean":
        return "BOOL"
    return "BYTES"


_NP = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4", "INT16": "<i2", "INT8": "i1", "UINT8": "u1",
       "BOOL": "?"}  # fmt: skip


def _binary_tensor(raw: bytes, datatype: str, name: str) -> list[Any]:
    if datatype == "BYTES":
        out, i = [], 0
        while i < len(raw):
            if i + 4 > len(raw):
                raise BadRequest(f"tensor {name!r}: the BYTES data ends inside a length prefix")
            (n,) = struct.unpack_from("<I", raw, i)
            if i + 4 + n > len(raw):
                raise BadRequest(f"tensor {name!r}: an element says {n} bytes but the data ends before that")
            try:
                out.append(raw[i + 4 : i + 4 + n].decode("utf-8"))
            except UnicodeDecodeError:
                raise BadRequest(f"tensor {name!r}: a BYTES element is not UTF-8 text") from None
            i += 4 + n
        return out
    if datatype not in _NP:
        raise BadRequest(f"tensor {name!r}: datatype {datatype!r} is not supported; use FP64, INT64, BOOL or BYTES")
    width = np.dtype(_NP[datatype]).itemsize
    if len(raw) % width:
        raise BadRequest(f"tensor {name!r}: {len(raw)} bytes of {datatype} data is not a whole number of {width}-byte "
                         "values")  # fmt: skip
    return np.frombuffer(raw, dtype=_NP[datatype]).tolist()


def _tensor_data(t: dict[str, Any], binary: bytes, offset: int) -> tuple[list[Any], int]:
    """One v2 input tensor's values (flattened) and the offset of the next binary block."""
    name = str(t["name"])
    params = t.get("parameters") or {}
    if not isinstance(params, dict):
        raise BadRequest(f"tensor {name!r}: 'parameters' must be an object")
    if not isinstance(t["datatype"], str):
        raise BadRequest(f"tensor {name!r}: 'datatype' must be text such as FP64, INT64, BOOL or BYTES")
    size = params.get("binary_data_size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise BadRequest(f"tensor {name!r}: binary_data_size {size!r} must be a whole number of bytes within "
                             f"the {len(binary) - offset} bytes left after the JSON header")  # fmt: skip
        return _binary_tensor(binary[offset : offset + size], t["datatype"], name), offset + size
    data = t.get("data")
    if isinstance(data, list) and data and isinstance(data[0], list):
        if not all(isinstance(row, list) for row in data):
            raise BadRequest(f"tensor {name!r}: 'data' mixes rows (lists) and single values")
        data = [v for row in data for v in row]
    if not isinstance(data, list):
        raise BadRequest(f"tensor {name!r} has no data")
    shape = t["shape"]
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                           for d in shape):  # fmt: skip
        raise BadRequest(f"tensor {name!r}: shape {shape!r} must be a list of whole numbers ≥ 0")
    if int(np.prod(shape)) != len(data):
        raise BadRequest(f"tensor {name!r}: shape {shape} does not match {len(data)} values")
    return data, offset


def v2_frame(served: ServedModel, body: bytes, header_length: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """An Open Inference Protocol v2 request (JSON, or JSON + binary tensors) → DataFrame and the request."""
    binary = b""
    if header_length:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise BadRequest("Inference-Header-Content-Length does not match the body")
        body, binary = body[: int(header_length)], body[int(header_length) :]
    req = parse_json(body)
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), list) or not req["inputs"]:
        raise BadRequest("a v2 infer request needs 'inputs': a list of tensors (one per column)")
    cols: dict[str, list[Any]] = {}
    offset = 0
    for t in req["inputs"]:
        if not isinstance(t, dict) or "name" not in t or "datatype" not in t or "shape" not in t:
            raise BadRequest("each input tensor needs name, shape, datatype and data")
        if str(t["name"]) in cols:
            raise BadRequest(f"tensor {str(t['name'])!r} is given more than once")
        cols[str(t["name"])], offset = _tensor_data(t, binary, offset)
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise BadRequest("every input tensor must hold the same number of rows")
    return pd.DataFrame(cols), req


def _v2_label_type(labels: list[Any]) -> str:
    if all(isinstance(v, (bool, np.bool_)) for v in labels):
        return "BOOL"
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
        return "INT64"
    return "BYTES"


def v2_response(served: ServedModel, res: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    """Outputs ``predictions`` (and ``probabilities`` for classifiers), filtered by the requested outputs."""
    n = len(res["predictions"])
    outputs = []
    if res["probabilities"] is None:
        outputs.append({"name": "predictions", "shape": [n], "datatype": "FP64", "data": res["predictions"]})
    else:
        dt = _v2_label_type(res["labels"])
        data = [str(v) for v in res["predictions"]] if dt == "BYTES" else res["predictions"]
        outputs.append({"name": "predictions", "shape": [n], "datatype": dt, "data": data})
        p = np.asarray(res["probabilities"], dtype=float)
        labels = [str(x) for x in res["labels"]]
        outputs.append(
            {"name": "probabilities", "shape": list(p.shape), "datatype": "FP64", "data": p.ravel().tolist(),
             "parameters": {"labels": labels}}
        )  # fmt: skip
    wanted = [o.get("name") for o in req.get("outputs") or [] if isinstance(o, dict)]
    if wanted:
        outputs = [o for o in outputs if o["name"] in wanted]
    out = {"model_name": served.name, "model_version": served.version, "outputs": outputs}
    if "id" in req:
        out["id"] = req["id"]
    return out


def v2_metadata(served: ServedModel) -> dict[str, Any]:
    """``GET /v2/models/{name}``: inputs (one per column) and outputs."""
    s = served.model.schema_
    inputs = [{"name": c.name, "datatype": v2_datatype(c.kind, c.dtype), "shape": [-1]} for c in s.columns if c.used]
    inputs += [{"name": c, "datatype": "BYTES", "shape": [-1]} for c in group_columns(served.model)]
    outputs = [{"name": "predictions", "datatype": "FP64" if returns_values(s.task) else "BYTES", "shape": [-1]}]
    if not returns_values(s.task):
        outputs.append({"name": "probabilities", "datatype": "FP64", "shape": [-1, len(s.classes)]})
    return {"name": served.name, "versions": [served.version], "platform": "mlwright", "inputs": inputs,
            "outputs": outputs}  # fmt: skip


def _only(core: Core) -> str | None:
    return next(iter(core.models)) if len(core.models) == 1 else None


def add_protocols(app: FastAPI, core: Core) -> None:
    """Mount every adapter on ``app``."""
    run = _runner(core)
    _add_mlflow_sagemaker(app, core, run)
    _add_tf_serving(app, core, run)
    _add_kserve_v2(app, core, run)
    _add_vertex(app, core, run)


def _ping(core: Core):
    async def ping() -> Response:
        """MLflow / SageMaker / Vertex health check."""
        return PlainTextResponse("\n") if core.models else Response(status_code=503)

    return ping


def _runner(core: Core):
    """The request path every adapter shares (auth, model, body, scoring), parameterised by its parsing and answer."""

    async def run(request: Request, served_name: str | None, parse, answer) -> Response:
        """Auth, model lookup, body, ``parse(served, body, request) -> DataFrame``, scoring, ``answer``."""
        if (denied := core.denied(request)) is not None:
            return denied
        try:
            served = core.model(served_name)
            df = parse(served, await core.body(request), request)
            res = await core.predict(served, df)
        except MlwrightError as exc:
            return core.failure(exc, model=served_name or _only(core))
        return JSON(answer(served, res))

    return run


def predictions_only(served: ServedModel, res: dict[str, Any]) -> dict[str, Any]:
    return {"predictions": res["predictions"]}


def _add_mlflow_sagemaker(app: FastAPI, core: Core, run) -> None:
    """MLflow scoring server and SageMaker: ``/ping`` and ``/invocations``."""
    app.add_api_route("/ping", _ping(core), methods=["GET"])

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        """MLflow ``dataframe_split`` / ``dataframe_records`` / ``instances`` / ``inputs`` or CSV (SageMaker)."""
        ctype = request.headers.get("content-type", "")
        return await run(request, None, lambda s, b, r: mlflow_frame(s, b, ctype), predictions_only)


def _add_tf_serving(app: FastAPI, core: Core, run) -> None:
    """TF-Serving REST: ``/v1/models/{name}[:predict]``."""

    @app.get("/v1/models/{spec}")
    async def tf_status(spec: str, request: Request) -> Response:
        """TF-Serving model status."""
        try:
            served = core.model(spec)
        except MlwrightError as exc:
            return core.failure(exc)
        return JSONResponse({"model_version_status": [
            {"version": served.version, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]})  # fmt: skip

    @app.post("/v1/models/{spec}")
    async def tf_predict(spec: str, request: Request) -> Response:
        """TF-Serving ``:predict`` with ``instances`` (row format) or ``inputs`` (columnar)."""
        if (denied := core.denied(request)) is not None:
            return denied
        name, _, verb = spec.rpartition(":")
        if verb != "predict" or not name:
            return core.failure(ModelNotFoundError(f"no TF-Serving endpoint at /v1/models/{spec}: use "
                                                   "/v1/models/NAME:predict"))  # fmt: skip
        columnar: dict[str, bool] = {}

        def parse(served, body, _request):
            obj = parse_json(body)
            if not isinstance(obj, dict) or ("instances" in obj) == ("inputs" in obj):
                raise BadRequest("send exactly one of 'instances' (rows) or 'inputs' (columns)")
            columnar["yes"] = "inputs" in obj
            if "instances" in obj:
                return _from_instances(served, obj["instances"])
            return _from_inputs(served, obj["inputs"])

        def answer(served, res):
            if res["probabilities"] is None:
                preds: Any = res["predictions"]
            else:
                p = np.asarray(res["probabilities"]).tolist()
                preds = [{"label": lab, "probabilities": row} for lab, row in zip(res["predictions"], p)]
            if columnar.get("yes"):
                out = {"predictions": res["predictions"]}
                if res["probabilities"] is not None:
                    out["probabilities"] = np.asarray(res["probabilities"]).tolist()
                return {"outputs": out}
            return {"predictions": preds}

        return await run(request, name, parse, answer)


def _add_kserve_v2(app: FastAPI, core: Core, run) -> None:
    """KServe / Open Inference Protocol v2: ``/v2/...``."""

    @app.get("/v2/health/live")
    async def v2_live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def v2_ready() -> Response:
        return JSONResponse({"ready": bool(core.models)}, status_code=200 if core.models else 503)

    @app.get("/v2")
    async def v2_server() -> dict[str, Any]:
        from mlwright._version import __version__

        return {"name": "mlwright", "version": __version__, "extensions": ["binary_tensor_data"]}

    def versioned(name: str, version: str | None) -> ServedModel:
        """The served model, when ``version`` (if given) is the version it serves (404 otherwise)."""
        served = core.model(name)
        if version is not None and version != str(served.version):
            raise ModelNotFoundError(
                f"version {version!r} of {name!r} is not served; this service serves version {served.version}"
            )
        return served

    @app.get("/v2/models/{name}")
    @app.get("/v2/models/{name}/versions/{version}")
    async def v2_model(name: str, request: Request, version: str | None = None) -> Response:
        """Model metadata (its input columns and types): token required, as for ``/v1/models``; the readiness
        probes stay open."""
        if (denied := core.denied(request)) is not None:
            return denied
        try:
            return JSONResponse(v2_metadata(versioned(name, version)))
        except MlwrightError as exc:
            return core.failure(exc)

    @app.get("/v2/models/{name}/ready")
    @app.get("/v2/models/{name}/versions/{version}/ready")
    async def v2_model_ready(name: str, version: str | None = None) -> Response:
        try:
            versioned(name, version)
        except MlwrightError as exc:
            return core.failure(exc)
        return JSONResponse({"name": name, "ready": True})

    @app.post("/v2/models/{name}/infer")
    @app.post("/v2/models/{name}/versions/{version}/infer")
    async def v2_infer(name: str, request: Request, version: str | None = None) -> Response:
        kept: dict[str, Any] = {}

        def parse(served, body, req):
            versioned(served.name, version)
            df, parsed = v2_frame(served, body, req.headers.get("inference-header-content-length"))
            kept["req"] = parsed
            return df

        return await run(request, name, parse, lambda s, res: v2_response(s, res, kept["req"]))


def _add_vertex(app: FastAPI, core: Core, run) -> None:
    """Vertex AI custom container: the routes named by ``AIP_PREDICT_ROUTE`` / ``AIP_HEALTH_ROUTE``."""
    route, health = os.environ.get("AIP_PREDICT_ROUTE"), os.environ.get("AIP_HEALTH_ROUTE")
    if health:
        app.add_api_route(health, _ping(core), methods=["GET"])
    if route:

        async def vertex(request: Request) -> Response:
            """Vertex ``{"instances": […]}`` → ``{"predictions": […]}``."""

            def parse(served, body, _request):
                obj = parse_json(body)
                if not isinstance(obj, dict) or "instances" not in obj:
                    raise BadRequest("a Vertex request needs 'instances'")
                return _from_instances(served, obj["instances"])

            return await run(request, None, parse, predictions_only)

        app.add_api_route(route, vertex, methods=["POST"])
    only = core.models[_only(core)] if _only(core) else None
    document(app, vertex_routes(route, health), len(_columns(only)) if only is not None else None)
