"""Each serving protocol answers its ecosystem's documented payloads; KServe v2 through the real tritonclient."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlwright
from mlwright.serving import ServeConfig, create_app, load_models

from .test_serving import AUTH, TOKEN, Server


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "plan": rng.choice(["basic", "pro"], n),
            "usage": rng.normal(size=n),
            "promo": rng.random(n) < 0.5,
        }
    )
    df["churn"] = np.where(df.usage + (df.plan == "basic") + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
    df["spend"] = 20 + 5 * df.usage + rng.normal(size=n)
    out = {}
    for target, drop in (("churn", "spend"), ("spend", "churn")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=1, report_seconds=0)
            a.fit(df.drop(columns=[drop]), target=target)
        out[target] = a.save(tmp_path_factory.mktemp("m") / target)
    return out, df.drop(columns=["churn", "spend"])


@pytest.fixture()
def server(models):
    paths, X = models
    app = create_app(load_models([str(paths["churn"]), str(paths["spend"])]), ServeConfig(token=TOKEN))
    with Server(app) as c:
        yield c, paths, X


def _want(paths, X):
    churn, spend = mlwright.load(paths["churn"]), mlwright.load(paths["spend"])
    return churn.predict(X), churn.predict_proba(X), spend.predict(X)


def test_mlflow_invocations_formats(models):
    paths, X = models
    app = create_app(load_models([str(paths["churn"])]), ServeConfig(token=TOKEN))
    X3 = X.head(3)
    labels, _, _ = _want(paths, X3)
    bodies = [
        {"dataframe_split": {"columns": list(X3.columns), "data": X3.to_numpy().tolist()}},
        {"dataframe_records": X3.to_dict(orient="records")},
        {"instances": X3.to_dict(orient="records")},
        {"inputs": X3.to_dict(orient="list")},
    ]
    with Server(app) as c:
        assert c.get("/ping").status_code == 200
        for body in bodies:
            r = c.post("/invocations", json=body, headers=AUTH)
            assert r.status_code == 200, (body, r.text)
            assert r.json() == {"predictions": list(labels)}
        # SageMaker sends CSV, often without a header row
        for csv in (X3.to_csv(index=False), X3.to_csv(index=False, header=False)):
            r = c.post("/invocations", content=csv, headers=AUTH | {"Content-Type": "text/csv"})
            assert r.json() == {"predictions": list(labels)}, r.text
        bad = c.post("/invocations", json={"records": []}, headers=AUTH)
        assert bad.status_code == 400 and "dataframe_split" in bad.json()["message"]


def test_tf_serving_rest(server):
    c, paths, X = server
    X3 = X.head(3)
    labels, proba, values = _want(paths, X3)
    r = c.post("/v1/models/churn:predict", json={"instances": X3.to_dict(orient="records")}, headers=AUTH)
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["label"] for p in preds] == list(labels)
    np.testing.assert_allclose([p["probabilities"] for p in preds], proba.to_numpy(), atol=1e-9)
    rows = X3[["age", "plan", "usage", "promo"]].to_numpy().tolist()
    r2 = c.post("/v1/models/spend:predict", json={"instances": rows}, headers=AUTH)
    np.testing.assert_allclose(r2.json()["predictions"], values, rtol=1e-9)
    r3 = c.post("/v1/models/spend:predict", json={"inputs": X3.to_dict(orient="list")}, headers=AUTH)
    np.testing.assert_allclose(r3.json()["outputs"]["predictions"], values, rtol=1e-9)
    assert c.get("/v1/models/churn").json()["model_version_status"][0]["state"] == "AVAILABLE"
    assert c.post("/v1/models/churn:explain", json={"instances": []}, headers=AUTH).status_code == 404  # no such verb


@pytest.mark.parametrize("binary", [False, True])
def test_kserve_v2_with_tritonclient(server, binary):
    import tritonclient.http as httpclient

    c, paths, X = server
    X5 = X.head(5)
    labels, proba, values = _want(paths, X5)
    url = str(c.base_url).replace("http://", "")
    client = httpclient.InferenceServerClient(url=url)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.is_server_live(headers=headers) and client.is_model_ready("churn", headers=headers)
    meta = client.get_model_metadata("churn", headers=headers)
    types = {i["name"]: i["datatype"] for i in meta["inputs"]}
    assert types == {"age": "INT64", "plan": "BYTES", "usage": "FP64", "promo": "BOOL"}
    inputs = []
    for col, dt in types.items():
        arr = X5[col].to_numpy()
        arr = (
            arr.astype(object)
            if dt == "BYTES"
            else arr.astype({"INT64": np.int64, "FP64": np.float64, "BOOL": bool}[dt])
        )
        t = httpclient.InferInput(col, [len(arr)], dt)
        t.set_data_from_numpy(arr, binary_data=binary)
        inputs.append(t)
    res = client.infer("churn", inputs, headers=headers, request_id="req-1")
    got = [v.decode() if isinstance(v, bytes) else v for v in res.as_numpy("predictions")]
    assert got == list(labels)
    np.testing.assert_allclose(res.as_numpy("probabilities"), proba.to_numpy(), atol=1e-9)
    assert res.get_response()["id"] == "req-1"
    reg = client.infer(
        "spend", inputs, headers=headers, outputs=[httpclient.InferRequestedOutput("predictions", binary_data=False)]
    )
    np.testing.assert_allclose(reg.as_numpy("predictions"), values, rtol=1e-9)


def test_v2_errors_and_auth(server):
    c, _, _ = server
    ok = {"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [30]}]}
    assert c.post("/v2/models/churn/infer", json=ok).status_code == 401
    r = c.post("/v2/models/churn/infer", json=ok, headers=AUTH)
    assert r.status_code == 422 and set(r.json()["columns"]) == {"plan", "usage", "promo"}
    bad = {"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [30]}]}
    r = c.post("/v2/models/churn/infer", json=bad, headers=AUTH)
    assert r.status_code == 400 and "shape" in r.json()["message"]
    assert c.get("/v2/models/nope/ready").status_code == 404


def test_vertex_routes(models, monkeypatch):
    paths, X = models
    monkeypatch.setenv("AIP_PREDICT_ROUTE", "/v1/endpoints/123/deployedModels/456:predict")
    monkeypatch.setenv("AIP_HEALTH_ROUTE", "/healthz")
    app = create_app(load_models([str(paths["spend"])]), ServeConfig(token=TOKEN))
    _, _, values = _want(paths, X.head(2))
    with Server(app) as c:
        assert c.get("/healthz").status_code == 200
        body = {"instances": X.head(2).to_dict(orient="records")}
        r = c.post("/v1/endpoints/123/deployedModels/456:predict", json=body, headers=AUTH)
        np.testing.assert_allclose(r.json()["predictions"], values, rtol=1e-9)
