"""The hostile HTTP corpus: one row per case — id, method, path, request, expected status and error code.

Every route and protocol of ``mlwright serve``; each row was a 500, a wrong 200 or a traceback before it
was fixed, or guards a path that must stay a clear 4xx.  ``code`` None: a success (or an error body with
no code to pin, e.g. 404 of an unknown route); the harness checks every error answer is a one-line JSON
message and never a 5xx.
"""

from __future__ import annotations

import json
import struct

OK = {"age": 30, "owner": "bob", "usage": 0.5, "joined": "2021-05-01"}


def rec(**change) -> dict:
    return {"records": [OK | change]}


def raw(content: bytes, ctype: str = "application/json", **headers: str) -> dict:
    return {"content": content, "headers": {"content-type": ctype, **headers}}


def v2(*tensors: dict, binary: bytes = b"", **extra) -> dict:
    """A v2 infer request; with ``binary``, the JSON header followed by the binary tensor data."""
    head = json.dumps({"inputs": list(tensors), **extra}).encode()
    if not binary:
        return raw(head)
    return raw(head + binary, "application/octet-stream", **{"inference-header-content-length": str(len(head))})


def tensor(name: str, data, datatype: str = "FP64", shape=None, **params) -> dict:
    t = {"name": name, "datatype": datatype, "shape": shape if shape is not None else [len(data)], "data": data}
    if params:
        t["parameters"] = params
    return t


GOOD_TENSORS = (
    tensor("age", [30], "INT64"),
    tensor("owner", ["bob"], "BYTES"),
    tensor("usage", [0.5]),
    tensor("joined", ["2021-05-01"], "BYTES"),
)


def bin_tensor(name: str, datatype: str, size) -> dict:
    return {"name": name, "datatype": datatype, "shape": [1], "parameters": {"binary_data_size": size}}


def others(*skip: str) -> tuple:
    return tuple(t for t in GOOD_TENSORS if t["name"] not in skip)


P = "/v1/models/churn/predict"
NOAUTH = {"auth": False}
DEEP = b"[" * 100_000 + b"]" * 100_000
BIGINT = b'{"records": [{"age": ' + b"9" * 5000 + b', "owner": "bob", "usage": 0.5, "joined": "2021-05-01"}]}'
BYTES_EL = struct.pack("<I", 3) + b"bob"

# fmt: off
CASES: list[tuple] = [
    # ---- native predict: bodies that are not a table
    ("predict-empty-body", "POST", P, raw(b""), 400, "bad_request"),
    ("predict-whitespace-body", "POST", P, raw(b"   \n"), 400, "bad_request"),
    ("predict-not-json", "POST", P, raw(b"{records: 1}"), 400, "bad_request"),
    ("predict-truncated-json", "POST", P, raw(b'{"records": [{"age": 3'), 400, "bad_request"),
    ("predict-nan-literal", "POST", P, raw(b'{"records": [{"age": NaN}]}'), 400, "bad_request"),
    ("predict-infinity-literal", "POST", P, raw(b'{"records": [{"age": Infinity}]}'), 400, "bad_request"),
    ("predict-json-nested-100k", "POST", P, raw(DEEP), 400, "bad_request"),
    ("predict-5000-digit-int", "POST", P, raw(BIGINT), 400, "bad_request"),
    ("predict-not-utf8", "POST", P, raw(b'{"records": [{"owner": "\xff\xfe"}]}'), 400, "bad_request"),
    ("predict-json-scalar", "POST", P, {"json": 3}, 400, "bad_request"),
    ("predict-json-string", "POST", P, {"json": "records"}, 400, "bad_request"),
    ("predict-json-null", "POST", P, raw(b"null"), 400, "bad_request"),
    ("predict-empty-records", "POST", P, {"json": {"records": []}}, 400, "bad_request"),
    ("predict-empty-list", "POST", P, {"json": []}, 400, "bad_request"),
    ("predict-records-not-objects", "POST", P, {"json": {"records": [1, 2]}}, 400, "bad_request"),
    ("predict-records-mixed", "POST", P, {"json": {"records": [OK, [1]]}}, 400, "bad_request"),
    ("predict-columns-unequal", "POST", P, {"json": {"columns": {"age": [1, 2], "owner": ["a"]}}}, 400, "bad_request"),
    ("predict-columns-not-lists", "POST", P, {"json": {"columns": {"age": 1}}}, 400, "bad_request"),
    ("predict-columns-empty", "POST", P, {"json": {"columns": {}}}, 400, "bad_request"),
    ("predict-columns-zero-rows", "POST", P, {"json": {"columns": {"age": []}}}, 400, "bad_request"),
    ("predict-nested-object-value", "POST", P, {"json": rec(age={"v": 1})}, 400, "bad_request"),
    ("predict-nested-list-value", "POST", P, {"json": rec(owner=["bob"])}, 400, "bad_request"),
    ("predict-unknown-keys", "POST", P, {"json": {"rows": [OK]}}, 400, "bad_request"),
    ("predict-xml", "POST", P, raw(b"<r/>", "application/xml"), 415, None),
    ("predict-csv-empty", "POST", P, raw(b"", "text/csv"), 400, "bad_request"),
    ("predict-csv-not-utf8", "POST", P, raw(b"age,owner\n1,\xff\n", "text/csv"), 400, "bad_request"),
    ("predict-csv-ragged", "POST", P, raw(b"age,owner,usage,joined\n1,bob,2,2020-01-01,9,9\n", "text/csv"), 400,
     "bad_request"),
    ("predict-csv-header-only", "POST", P, raw(b"age,owner,usage,joined\n", "text/csv"), 400, "bad_request"),
    # ---- native predict: tables the model cannot score
    ("predict-missing-column", "POST", P, {"json": {"records": [{"age": 3, "owner": "bob", "usage": 1.0}]}}, 422,
     "invalid_columns"),
    ("predict-unknown-column", "POST", P, {"json": rec(extra=1)}, 422, "invalid_columns"),
    ("predict-text-in-number", "POST", P, {"json": rec(age="thirty")}, 422, "invalid_columns"),
    ("predict-bad-date", "POST", P, {"json": rec(joined="not a date")}, 422, "invalid_columns"),
    ("predict-bool-in-date", "POST", P, {"json": rec(joined=True)}, 422, "invalid_columns"),
    ("predict-too-many-rows", "POST", P, {"json": {"records": [OK] * 1001}}, 413, None),
    # ---- native predict: odd values that score (a clear answer, not a crash)
    ("predict-ok", "POST", P, {"json": rec()}, 200, None),
    ("predict-number-as-text", "POST", P, {"json": rec(age="30.5")}, 200, None),
    ("predict-number-in-category", "POST", P, {"json": rec(owner=1)}, 200, None),
    ("predict-bool-in-category", "POST", P, {"json": rec(owner=True)}, 200, None),
    ("predict-unseen-level", "POST", P, {"json": rec(owner="zed")}, 200, None),
    ("predict-null-everywhere", "POST", P, {"json": rec(age=None, owner=None, usage=None, joined=None)}, 200, None),
    ("predict-1e308", "POST", P, {"json": rec(usage=1e308)}, 200, None),
    ("predict-minus-1e308", "POST", P, {"json": rec(usage=-1e308)}, 200, None),
    ("predict-3.5e38", "POST", P, {"json": rec(usage=3.5e38)}, 200, None),
    ("predict-float32-max", "POST", P, {"json": rec(usage=3.4e38)}, 200, None),
    ("predict-int64-max", "POST", P, {"json": rec(age=2**63 - 1)}, 200, None),
    ("predict-tiny-float", "POST", P, {"json": rec(usage=5e-324)}, 200, None),
    ("predict-inf-as-text", "POST", P, {"json": rec(usage="inf")}, 200, None),
    ("predict-minus-inf-text", "POST", P, {"json": rec(usage="-Infinity")}, 200, None),
    ("predict-nan-as-text", "POST", P, {"json": rec(usage="nan")}, 200, None),
    ("predict-empty-string-number", "POST", P, {"json": rec(age="")}, 200, None),
    ("predict-empty-string-category", "POST", P, {"json": rec(owner="")}, 200, None),
    ("predict-unicode-level", "POST", P, {"json": rec(owner="Zoë 🚀 \u202e")}, 200, None),
    ("predict-long-text", "POST", P, {"json": rec(owner="x" * 100_000)}, 200, None),
    ("predict-date-with-offset", "POST", P, {"json": rec(joined="2021-05-01T10:00:00+05:30")}, 200, None),
    ("predict-date-dayfirst-text", "POST", P, {"json": rec(joined="13/01/2021")}, 200, None),
    ("predict-columns-format", "POST", P, {"json": {"columns": {k: [v, v] for k, v in OK.items()}}}, 200, None),
    ("predict-csv-ok", "POST", P, raw(b"age,owner,usage,joined\n30,bob,0.5,2021-05-01\n", "text/csv"), 200, None),
    ("predict-csv-inf", "POST", P, raw(b"age,owner,usage,joined\n30,bob,inf,2021-05-01\n", "text/csv"), 200, None),
    ("predict-csv-1e308", "POST", P, raw(b"age,owner,usage,joined\n30,bob,1e308,2021-05-01\n", "text/csv"), 200,
     None),
    ("predict-bare-list", "POST", P, {"json": [OK]}, 200, None),
    # ---- auth and routing
    ("predict-no-token", "POST", P, {"json": rec(), **NOAUTH}, 401, "unauthorized"),
    ("predict-wrong-token", "POST", P, {"json": rec(), "headers": {"Authorization": "Bearer nope"}}, 403, "forbidden"),
    ("predict-token-basic-scheme", "POST", P, {"json": rec(), "headers": {"Authorization": "Basic eA=="}}, 401,
     "unauthorized"),
    ("predict-unknown-model", "POST", "/v1/models/nope/predict", {"json": rec()}, 404, "model_not_found"),
    ("predict-traversal-name", "POST", "/v1/models/..%2F..%2Fetc/predict", {"json": rec()}, 404, None),
    ("predict-get-method", "GET", P, {}, 405, None),
    ("unknown-route", "GET", "/v1/nothing-here", {}, 404, None),
    ("models-no-token", "GET", "/v1/models", NOAUTH, 401, "unauthorized"),
    ("models-list", "GET", "/v1/models", {}, 200, None),
    ("health", "GET", "/health", NOAUTH, 200, None),
    ("ready", "GET", "/ready", NOAUTH, 200, None),
    ("metrics", "GET", "/metrics", {}, 200, None),
    ("reload-no-token", "POST", "/v1/models/churn/reload", NOAUTH, 401, "unauthorized"),
    ("reload-unknown-model", "POST", "/v1/models/nope/reload", {}, 404, "model_not_found"),
    ("reload-ok", "POST", "/v1/models/churn/reload", {}, 200, None),
    # ---- feedback: only the model's own logged predictions
    ("feedback-no-token", "POST", "/v1/models/churn/feedback", {"json": {"feedback": []}, **NOAUTH}, 401,
     "unauthorized"),
    ("feedback-empty", "POST", "/v1/models/churn/feedback", {"json": {"feedback": []}}, 422, "invalid_feedback"),
    ("feedback-not-list", "POST", "/v1/models/churn/feedback", {"json": {"feedback": 3}}, 400, "bad_request"),
    ("feedback-bad-id", "POST", "/v1/models/churn/feedback",
     {"json": {"feedback": [{"prediction_id": "x", "actual": "yes"}]}}, 422, "invalid_feedback"),
    ("feedback-made-up-id", "POST", "/v1/models/churn/feedback",
     {"json": {"feedback": [{"prediction_id": "0" * 32 + "-0", "actual": "yes"}]}}, 422, "invalid_feedback"),
    ("feedback-10000-made-up-ids", "POST", "/v1/models/churn/feedback",
     {"json": {"feedback": [{"prediction_id": f"{i:032x}-0", "actual": "yes"} for i in range(10_000)]}}, 422,
     "invalid_feedback"),
    ("feedback-missing-actual", "POST", "/v1/models/churn/feedback",
     {"json": {"feedback": [{"prediction_id": "0" * 32 + "-0"}]}}, 422, "invalid_feedback"),
    ("feedback-item-not-object", "POST", "/v1/models/churn/feedback", {"json": {"feedback": [1]}}, 422,
     "invalid_feedback"),
    ("feedback-unknown-model", "POST", "/v1/models/nope/feedback", {"json": {"feedback": []}}, 404,
     "model_not_found"),
    ("feedback-not-json", "POST", "/v1/models/churn/feedback", raw(b"{"), 400, "bad_request"),
    ("feedback-deep-json", "POST", "/v1/models/churn/feedback", raw(DEEP), 400, "bad_request"),
    # ---- MLflow / SageMaker /invocations
    ("invocations-no-token", "POST", "/invocations", {"json": {"dataframe_records": [OK]}, **NOAUTH}, 401,
     "unauthorized"),
    ("invocations-several-models", "POST", "/invocations", {"json": {"dataframe_records": [OK]}}, 404,
     "model_not_found"),
    ("ping", "GET", "/ping", NOAUTH, 200, None),
]
# fmt: on

S = "solo:"  # rows for the one-model service (/invocations serves "the" model)
INV = S + "/invocations"
SPLIT = {"columns": list(OK), "data": [list(OK.values())]}

# fmt: off
CASES += [
    ("invocations-records", "POST", INV, {"json": {"dataframe_records": [OK]}}, 200, None),
    ("invocations-split", "POST", INV, {"json": {"dataframe_split": SPLIT}}, 200, None),
    ("invocations-split-dup-column", "POST", INV,
     {"json": {"dataframe_split": {"columns": ["age", "age", "usage", "joined"], "data": [[1, 2, 0.5, "2021-01-01"]]}}},
     400, "bad_request"),
    ("invocations-split-ragged", "POST", INV, {"json": {"dataframe_split": {"columns": list(OK), "data": [[1]]}}},
     400, "bad_request"),
    ("invocations-split-no-data", "POST", INV, {"json": {"dataframe_split": {"columns": list(OK)}}}, 400,
     "bad_request"),
    ("invocations-split-columns-not-list", "POST", INV, {"json": {"dataframe_split": {"columns": 5, "data": [[1]]}}},
     400, "bad_request"),
    ("invocations-split-not-object", "POST", INV, {"json": {"dataframe_split": [1]}}, 400, "bad_request"),
    ("invocations-instances-rows", "POST", INV, {"json": {"instances": [list(OK.values())]}}, 200, None),
    ("invocations-instances-short", "POST", INV, {"json": {"instances": [[1, 2]]}}, 400, "bad_request"),
    ("invocations-instances-empty", "POST", INV, {"json": {"instances": []}}, 400, "bad_request"),
    ("invocations-instances-mixed", "POST", INV, {"json": {"instances": [OK, [1]]}}, 400, "bad_request"),
    ("invocations-inputs-columns", "POST", INV, {"json": {"inputs": {k: [v] for k, v in OK.items()}}}, 200, None),
    ("invocations-unknown-key", "POST", INV, {"json": {"data": [OK]}}, 400, "bad_request"),
    ("invocations-not-object", "POST", INV, {"json": [OK]}, 400, "bad_request"),
    ("invocations-deep-json", "POST", INV, raw(DEEP), 400, "bad_request"),
    ("invocations-bigint", "POST", INV, raw(b'{"instances": [[' + b"1" * 5000 + b', "bob", 1, "2021-01-01"]]}'), 400,
     "bad_request"),
    ("invocations-1e308", "POST", INV, {"json": {"dataframe_records": [OK | {"usage": 1e308}]}}, 200, None),
    ("invocations-csv-header", "POST", INV, raw(b"age,owner,usage,joined\n30,bob,0.5,2021-05-01\n", "text/csv"), 200,
     None),
    ("invocations-csv-headerless", "POST", INV, raw(b"30,bob,0.5,2021-05-01\n", "text/csv"), 200, None),
    ("invocations-csv-empty", "POST", INV, raw(b"", "text/csv"), 400, "bad_request"),
    ("invocations-csv-not-utf8", "POST", INV, raw(b"30,\xff,0.5,2021-05-01\n", "text/csv"), 400, "bad_request"),
    ("invocations-xml", "POST", INV, raw(b"<r/>", "application/xml"), 400, "bad_request"),
    ("invocations-text-in-number", "POST", INV, {"json": {"dataframe_records": [OK | {"age": "x"}]}}, 422,
     "invalid_columns"),
    ("solo-ping", "GET", S + "/ping", NOAUTH, 200, None),
    # ---- TF-Serving REST
    ("tf-status", "GET", "/v1/models/churn", {}, 200, None),
    ("tf-status-unknown", "GET", "/v1/models/nope", {}, 404, "model_not_found"),
    ("tf-predict-instances", "POST", "/v1/models/churn:predict", {"json": {"instances": [OK]}}, 200, None),
    ("tf-predict-inputs", "POST", "/v1/models/churn:predict", {"json": {"inputs": {k: [v] for k, v in OK.items()}}},
     200, None),
    ("tf-predict-both", "POST", "/v1/models/churn:predict", {"json": {"instances": [OK], "inputs": {}}}, 400,
     "bad_request"),
    ("tf-predict-neither", "POST", "/v1/models/churn:predict", {"json": {}}, 400, "bad_request"),
    ("tf-bad-verb", "POST", "/v1/models/churn:classify", {"json": {"instances": [OK]}}, 404, "model_not_found"),
    ("tf-no-verb", "POST", "/v1/models/churn", {"json": {"instances": [OK]}}, 404, "model_not_found"),
    ("tf-bad-verb-no-token", "POST", "/v1/models/churn:classify", {"json": {}, **NOAUTH}, 401, "unauthorized"),
    ("v2-metadata-no-token", "GET", "/v2/models/churn", NOAUTH, 401, "unauthorized"),
    ("v2-ready-no-token", "GET", "/v2/models/churn/ready", NOAUTH, 200, None),
    ("tf-status-no-token", "GET", "/v1/models/churn", NOAUTH, 200, None),
    ("invocations-csv-headerless-short", "POST", INV, raw(b"30,bob\n", "text/csv"), 400, "bad_request"),
    ("invocations-csv-null", "POST", INV, raw(b"null", "text/csv"), 400, "bad_request"),
    ("tf-unknown-model", "POST", "/v1/models/nope:predict", {"json": {"instances": [OK]}}, 404, "model_not_found"),
    ("tf-no-token", "POST", "/v1/models/churn:predict", {"json": {"instances": [OK]}, **NOAUTH}, 401,
     "unauthorized"),
    ("tf-instances-ragged", "POST", "/v1/models/churn:predict", {"json": {"instances": [[1], [1, 2]]}}, 400,
     "bad_request"),
    ("tf-inputs-unequal", "POST", "/v1/models/churn:predict", {"json": {"inputs": {"age": [1, 2], "owner": ["a"]}}},
     400, "bad_request"),
    ("tf-1e308", "POST", "/v1/models/churn:predict", {"json": {"instances": [OK | {"usage": -1e308}]}}, 200, None),
    # ---- KServe / Open Inference Protocol v2
    ("v2-live", "GET", "/v2/health/live", NOAUTH, 200, None),
    ("v2-ready", "GET", "/v2/health/ready", NOAUTH, 200, None),
    ("v2-server", "GET", "/v2", NOAUTH, 200, None),
    ("v2-metadata", "GET", "/v2/models/churn", {}, 200, None),
    ("v2-metadata-unknown", "GET", "/v2/models/nope", {}, 404, "model_not_found"),
    ("v2-metadata-version-1", "GET", "/v2/models/churn/versions/1", {}, 200, None),
    ("v2-metadata-version-99", "GET", "/v2/models/churn/versions/99", {}, 404, "model_not_found"),
    ("v2-metadata-version-abc", "GET", "/v2/models/churn/versions/abc", {}, 404, "model_not_found"),
    ("v2-model-ready", "GET", "/v2/models/churn/ready", {}, 200, None),
    ("v2-version-99-ready", "GET", "/v2/models/churn/versions/99/ready", {}, 404, "model_not_found"),
    ("v2-infer-json", "POST", "/v2/models/churn/infer", v2(*GOOD_TENSORS), 200, None),
    ("v2-infer-version-1", "POST", "/v2/models/churn/versions/1/infer", v2(*GOOD_TENSORS), 200, None),
    ("v2-infer-version-99", "POST", "/v2/models/churn/versions/99/infer", v2(*GOOD_TENSORS), 404, "model_not_found"),
    ("v2-infer-version-abc", "POST", "/v2/models/churn/versions/abc/infer", v2(*GOOD_TENSORS), 404,
     "model_not_found"),
    ("v2-infer-unknown-model", "POST", "/v2/models/nope/infer", v2(*GOOD_TENSORS), 404, "model_not_found"),
    ("v2-infer-no-token", "POST", "/v2/models/churn/infer", {**v2(*GOOD_TENSORS), **NOAUTH}, 401, "unauthorized"),
    ("v2-infer-no-inputs", "POST", "/v2/models/churn/infer", {"json": {"inputs": []}}, 400, "bad_request"),
    ("v2-infer-inputs-not-list", "POST", "/v2/models/churn/infer", {"json": {"inputs": {"age": 1}}}, 400,
     "bad_request"),
    ("v2-infer-tensor-not-object", "POST", "/v2/models/churn/infer", {"json": {"inputs": [1]}}, 400, "bad_request"),
    ("v2-infer-tensor-no-shape", "POST", "/v2/models/churn/infer",
     {"json": {"inputs": [{"name": "age", "datatype": "FP64", "data": [1]}]}}, 400, "bad_request"),
    ("v2-infer-shape-null", "POST", "/v2/models/churn/infer",
     v2(tensor("usage", [1.0], shape=[None]), *others("usage")), 400, "bad_request"),
    ("v2-infer-shape-text", "POST", "/v2/models/churn/infer",
     v2(tensor("usage", [1.0], shape=["a"]), *others("usage")), 400, "bad_request"),
    ("v2-infer-shape-negative", "POST", "/v2/models/churn/infer",
     v2(tensor("usage", [1.0], shape=[-1]), *others("usage")), 400, "bad_request"),
    ("v2-infer-shape-empty", "POST", "/v2/models/churn/infer", v2(tensor("usage", [1.0], shape=[]), *others("usage")),
     400, "bad_request"),
    ("v2-infer-shape-mismatch", "POST", "/v2/models/churn/infer",
     v2(tensor("usage", [1.0], shape=[3]), *others("usage")), 400, "bad_request"),
    ("v2-infer-shape-2d", "POST", "/v2/models/churn/infer", v2(tensor("usage", [[1.0]], shape=[1, 1]),
                                                               *others("usage")), 200, None),
    ("v2-infer-ragged-rows", "POST", "/v2/models/churn/infer", v2(tensor("usage", [[1.0], 2.0], shape=[2]),
                                                                 *others("usage")), 400, "bad_request"),
    ("v2-infer-parameters-list", "POST", "/v2/models/churn/infer",
     v2({**tensor("usage", [1.0]), "parameters": [1]}, *others("usage")), 400, "bad_request"),
    ("v2-infer-datatype-list", "POST", "/v2/models/churn/infer", v2(tensor("usage", [1.0], ["FP64"]),
                                                                   *others("usage")), 400, "bad_request"),
    ("v2-infer-datatype-unknown", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP16", 2), *others("usage"), binary=b"\x00\x00"), 400, "bad_request"),
    ("v2-infer-no-data", "POST", "/v2/models/churn/infer",
     v2({"name": "usage", "datatype": "FP64", "shape": [1]}, *others("usage")), 400, "bad_request"),
    ("v2-infer-unequal-rows", "POST", "/v2/models/churn/infer", v2(tensor("usage", [1.0, 2.0]), *others("usage")),
     400, "bad_request"),
    ("v2-infer-duplicate-tensor", "POST", "/v2/models/churn/infer", v2(*GOOD_TENSORS, tensor("usage", [2.0])), 400,
     "bad_request"),
    ("v2-infer-missing-column", "POST", "/v2/models/churn/infer", v2(*others("usage")), 422, "invalid_columns"),
    ("v2-infer-text-in-number", "POST", "/v2/models/churn/infer", v2(tensor("usage", ["x"], "BYTES"),
                                                                    *others("usage")), 422, "invalid_columns"),
    ("v2-infer-1e308", "POST", "/v2/models/churn/infer", v2(tensor("usage", [1e308]), *others("usage")), 200, None),
    ("v2-bin-fp64", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", 8), *others("usage"), binary=struct.pack("<d", 0.5)), 200, None),
    ("v2-bin-fp64-1e308", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", 8), *others("usage"), binary=struct.pack("<d", 1e308)), 200, None),
    ("v2-bin-fp64-inf", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", 8), *others("usage"), binary=struct.pack("<d", float("inf"))), 200, None),
    ("v2-bin-fp64-7-bytes", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", 7), *others("usage"), binary=b"\x00" * 7), 400, "bad_request"),
    ("v2-bin-size-text", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", "abc"), *others("usage"), binary=b"\x00" * 8), 400, "bad_request"),
    ("v2-bin-size-negative", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", -8), *others("usage"), binary=b"\x00" * 8), 400, "bad_request"),
    ("v2-bin-size-float", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", 8.0), *others("usage"), binary=b"\x00" * 8), 400, "bad_request"),
    ("v2-bin-size-past-end", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("usage", "FP64", 800), *others("usage"), binary=b"\x00" * 8), 400, "bad_request"),
    ("v2-bin-bytes-ok", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("owner", "BYTES", len(BYTES_EL)), *others("owner"), binary=BYTES_EL), 200, None),
    ("v2-bin-bytes-not-utf8", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("owner", "BYTES", 6), *others("owner"), binary=struct.pack("<I", 2) + b"\xff\xfe"), 400,
     "bad_request"),
    ("v2-bin-bytes-short-blob", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("owner", "BYTES", 2), *others("owner"), binary=b"\x03\x00"), 400, "bad_request"),
    ("v2-bin-bytes-length-past-end", "POST", "/v2/models/churn/infer",
     v2(bin_tensor("owner", "BYTES", 5), *others("owner"), binary=struct.pack("<I", 99) + b"b"), 400, "bad_request"),
    ("v2-bin-header-length-text", "POST", "/v2/models/churn/infer",
     raw(b'{"inputs": []}', "application/octet-stream", **{"inference-header-content-length": "abc"}), 400,
     "bad_request"),
    ("v2-bin-header-length-past-end", "POST", "/v2/models/churn/infer",
     raw(b'{"inputs": []}', "application/octet-stream", **{"inference-header-content-length": "9999"}), 400,
     "bad_request"),
    ("v2-bin-header-not-json", "POST", "/v2/models/churn/infer",
     raw(b"\xff\xfe\x00", "application/octet-stream", **{"inference-header-content-length": "3"}), 400,
     "bad_request"),
    ("v2-infer-deep-json", "POST", "/v2/models/churn/infer", raw(DEEP), 400, "bad_request"),
    ("v2-infer-bigint", "POST", "/v2/models/churn/infer",
     raw(b'{"inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [' + b"7" * 5000 + b"]}]}"), 400,
     "bad_request"),
]
# fmt: on
