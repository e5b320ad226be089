"""The prediction service over a real uvicorn server on loopback: native API, auth, validation, limits, metrics."""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings

import httpx
import numpy as np
import pandas as pd
import pytest

import mlwright
from mlwright.serving import ServeConfig, create_app, load_models
from mlwright.serving.auth import service_token, token_path

TOKEN = "test-token-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, app):
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "plan": rng.choice(["basic", "pro"], n),
            "usage": rng.normal(size=n),
        }
    )
    df["churn"] = np.where(df.usage + (df.plan == "basic") + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=1, report_seconds=0).fit(
            df, target="churn"
        )
    return a.save(tmp_path_factory.mktemp("m") / "churn"), df


@pytest.fixture()
def client(model_dir):
    path, _ = model_dir
    app = create_app(load_models([str(path)]), ServeConfig(token=TOKEN, max_rows=1000, max_body_bytes=200_000))
    with Server(app) as c:
        yield c


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_predict_records_columns_and_csv(client, model_dir):
    path, df = model_dir
    X = df.drop(columns="churn").head(3)
    want = mlwright.load(path).predict_proba(X)
    r = client.post("/v1/models/churn/predict", json={"records": X.to_dict(orient="records")}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "churn" and body["version"] == "local" and len(body["prediction_ids"]) == 3
    got = np.array([[p[c] for c in want.columns] for p in body["probabilities"]])
    np.testing.assert_allclose(got, want.to_numpy(), atol=1e-9)
    assert body["predictions"] == list(mlwright.load(path).predict(X))
    r2 = client.post("/v1/models/churn/predict", json={"columns": X.to_dict(orient="list")}, headers=AUTH)
    assert r2.json()["probabilities"] == body["probabilities"]
    r3 = client.post(
        "/v1/models/churn/predict", content=X.to_csv(index=False), headers=AUTH | {"Content-Type": "text/csv"}
    )
    assert r3.status_code == 200 and r3.json()["predictions"] == body["predictions"]
    models = client.get("/v1/models", headers=AUTH).json()["models"]
    assert models[0]["name"] == "churn" and {i["name"] for i in models[0]["inputs"]} == {"age", "plan", "usage"}


def test_auth_is_required_and_checked(client, model_dir):
    _, df = model_dir
    rec = {"records": df.drop(columns="churn").head(1).to_dict(orient="records")}
    assert client.post("/v1/models/churn/predict", json=rec).status_code == 401
    assert (
        client.post("/v1/models/churn/predict", json=rec, headers={"Authorization": "Bearer nope"}).status_code == 403
    )
    assert client.post("/v1/models/churn/predict", json=rec, headers={"X-Mlwright-Token": TOKEN}).status_code == 200
    assert client.get("/health").json() == {"status": "ok"}  # liveness needs no token


def test_bad_input_gets_the_right_4xx(client, model_dir):
    _, df = model_dir
    url = "/v1/models/churn/predict"
    row = df.drop(columns="churn").head(1).to_dict(orient="records")[0]

    def post(**kw):
        kw.setdefault("headers", AUTH)
        return client.post(url, **kw)

    cases = {
        "malformed JSON": (post(content=b"{not json", headers=AUTH | {"Content-Type": "application/json"}), 400),
        "empty body": (post(content=b"", headers=AUTH | {"Content-Type": "application/json"}), 400),
        "wrong type": (post(content=b"<x/>", headers=AUTH | {"Content-Type": "application/xml"}), 415),
        "NaN": (
            post(
                content=b'{"records": [{"age": NaN, "plan": "pro", "usage": 1}]}',
                headers=AUTH | {"Content-Type": "application/json"},
            ),
            400,
        ),
        "too big": (post(content=b"x" * 300_000, headers=AUTH | {"Content-Type": "application/json"}), 413),
        "unknown model": (client.post("/v1/models/chrun/predict", json={"records": [row]}, headers=AUTH), 404),
        "too many rows": (post(json={"records": [row] * 1001}), 413),
        "nested": (post(json={"records": [row | {"age": {"x": 1}}]}), 400),
        "beyond a double": (
            post(
                content=b'{"records": [{"age": 1e999, "plan": "pro", "usage": 1}]}',
                headers=AUTH | {"Content-Type": "application/json"},
            ),
            400,
        ),
        "Infinity": (
            post(
                content=b'{"records": [{"age": -Infinity, "plan": "pro", "usage": 1}]}',
                headers=AUTH | {"Content-Type": "application/json"},
            ),
            400,
        ),
        "not UTF-8": (
            post(content=b'{"records": "\xff\xfe"}', headers=AUTH | {"Content-Type": "application/json"}),
            400,
        ),
        "records not objects": (post(json={"records": [row, 3]}), 400),
    }
    for name, (r, status) in cases.items():
        assert r.status_code == status, (name, r.status_code, r.text)
        assert r.json()["error"] and r.json()["message"], name
    assert "did you mean 'churn'" in cases["unknown model"][0].json()["message"]
    assert "NaN" in cases["NaN"][0].json()["message"] and "UTF-8" in cases["not UTF-8"][0].json()["message"]
    # numbers sent as text are read as numbers (as in a CSV), in any mix with real numbers, and logged
    mixed = post(json={"records": [row | {"age": "41"}, row | {"age": 41}, row | {"age": None}]})
    assert mixed.status_code == 200, mixed.text
    p = mixed.json()["probabilities"]
    assert p[0] == p[1]  # "41" and 41 are the same age
    bad = post(json={"records": [{"age": "old", "plan": "pro", "extra": 1}]})
    assert bad.status_code == 422
    cols = bad.json()["columns"]
    assert set(cols) == {"age", "usage", "extra"}
    assert "missing" in cols["usage"] and "unknown" in cols["extra"] and "numeric" in cols["age"]
    sql = post(json={"records": [row | {"plan": "'; DROP TABLE mlw_models; --"}]})
    assert sql.status_code == 200  # an unseen category is just an unseen category
    metrics = client.get("/metrics").text
    assert 'mlwright_requests_total{endpoint="/v1/models/{name}/predict",status="422"}' in metrics
    assert "mlwright_request_seconds_bucket" in metrics and 'status="500"' not in metrics


def test_concurrency_cap_answers_429(model_dir):
    path, _df = model_dir
    app = create_app(load_models([str(path)]), ServeConfig(token=TOKEN, max_concurrency=0))
    with Server(app) as c:
        r = c.post("/v1/models/churn/predict", json={"records": [{"age": 1, "plan": "pro", "usage": 0}]}, headers=AUTH)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"


def test_public_predict_and_token_file(model_dir, tmp_path, monkeypatch):
    path, _df = model_dir
    monkeypatch.delenv("MLWRIGHT_TOKEN", raising=False)
    first = service_token()
    assert service_token() == first and len(first) >= 32
    assert oct(token_path().stat().st_mode & 0o777) == "0o600"
    app = create_app(load_models([str(path)]), ServeConfig(token=first, public_predict=True))
    with Server(app) as c:
        r = c.post("/v1/models/churn/predict", json={"records": [{"age": 30, "plan": "pro", "usage": 0.1}]})
        assert r.status_code == 200
        assert json.loads(c.get("/ready").text)["models"] == ["churn"]


def test_every_prediction_is_logged_off_the_request_path(model_dir, tmp_path):
    from mlwright.serving.predlog import PredictionLog, read_log
    from mlwright.store import Store

    path, df = model_dir
    store = Store(f"sqlite:///{tmp_path / 'log.db'}")
    log = PredictionLog(store, interval=0.05)
    app = create_app(load_models([str(path)]), ServeConfig(token=TOKEN), log)
    X = df.drop(columns="churn")
    ids = []
    with Server(app) as c:
        for k in (1, 20, 5):  # small requests are kept as lists, big ones as frames: rows must stay in order
            r = c.post("/v1/models/churn/predict", json={"records": X.head(k).to_dict(orient="records")}, headers=AUTH)
            ids += r.json()["prediction_ids"]
        log.flush()
        assert "mlwright_prediction_log_written 3.0" in c.get("/metrics").text
    inputs, outputs = read_log(store, "churn")
    assert len(inputs) == len(outputs) == 26 and list(outputs["prediction_id"]) == ids
    np.testing.assert_allclose(inputs["usage"].to_numpy(), np.r_[X.usage[:1], X.usage[:20], X.usage[:5]])
    assert set(outputs.columns) >= {"prediction", "p_no", "p_yes", "request_id", "latency_ms", "version"}
    assert outputs["request_id"].nunique() == 3 and (inputs["request_id"] == outputs["request_id"]).all()


def test_a_full_log_queue_drops_visibly(model_dir, tmp_path):
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    path, df = model_dir
    log = PredictionLog(Store(f"sqlite:///{tmp_path / 'log.db'}"), max_queue=2, start=False)  # no writer yet
    app = create_app(load_models([str(path)]), ServeConfig(token=TOKEN), log)
    row = {"records": df.drop(columns="churn").head(1).to_dict(orient="records")}
    with Server(app) as c:
        for _ in range(5):
            assert c.post("/v1/models/churn/predict", json=row, headers=AUTH).status_code == 200  # answers go on
        assert "mlwright_prediction_log_dropped 3.0" in c.get("/metrics").text
    assert log.dropped == 3


def _wait_ready(url: str, proc, seconds: float) -> None:
    """Until the service process answers ``/ready`` (it must not exit meanwhile)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.2)


def test_cli_serve_answers_and_shuts_down_cleanly(model_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    path, df = model_dir
    port = _free_port()
    env = os.environ | {"MLWRIGHT_TOKEN": TOKEN, "MLWRIGHT_HOME": str(tmp_path / "home")}
    exe = Path(sys.executable).with_name("mlwright")
    proc = subprocess.Popen(
        [str(exe), "serve", str(path), "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc, 60)
        row = {"records": df.drop(columns="churn").head(1).to_dict(orient="records")}
        r = httpx.post(f"http://127.0.0.1:{port}/v1/models/churn/predict", json=row, headers=AUTH)
        assert r.status_code == 200 and r.json()["predictions"][0] in ("yes", "no")
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(20)
    err = proc.stderr.read()
    assert rc == 0, err
    assert f"http://127.0.0.1:{port}" in err and "Traceback" not in err


def test_demo_serves_one_request_and_stops(model_dir, capsys):
    from mlwright.cli import _serve_once

    path, df = model_dir
    _serve_once(path, df.drop(columns="churn").head(1))
    printed = capsys.readouterr().out
    assert '"predictions": [' in printed and "service stopped" in printed


def test_path_traversal_in_model_names_is_just_an_unknown_model(client):
    row = {"records": [{"age": 30, "plan": "pro", "usage": 0.1}]}
    for name in ("..%2F..%2Fetc%2Fpasswd", "..", "churn%00", "churn;DROP TABLE mlw_models"):
        r = client.post(f"/v1/models/{name}/predict", json=row, headers=AUTH)
        assert r.status_code in (404, 405), (name, r.status_code)
        assert r.status_code != 500
    r = client.post("/v2/models/..%2Fchurn/infer", json={"inputs": []}, headers=AUTH)
    assert r.status_code == 404


def _children(pid: int) -> set[int]:
    from pathlib import Path

    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out


@pytest.mark.slow
def test_workers_share_the_port_merge_metrics_replace_a_dead_one_and_stop_cleanly(model_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from mlwright.serving.predlog import read_log
    from mlwright.serving.workers import balanced_workers_supported
    from mlwright.store import Store

    if not balanced_workers_supported():
        pytest.skip("SO_REUSEPORT balancing is Linux-only; elsewhere --workers runs uvicorn's own workers")
    path, df = model_dir
    port, home = _free_port(), tmp_path / "home"
    env = os.environ | {"MLWRIGHT_TOKEN": TOKEN, "MLWRIGHT_HOME": str(home)}
    exe = str(Path(sys.executable).with_name("mlwright"))
    serve = [exe, "serve", str(path), "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(serve, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    row = {"records": df.drop(columns="churn").head(1).to_dict(orient="records")}

    def requests(n: int) -> None:  # each on a new connection: the kernel spreads them over the workers
        for _ in range(n):
            r = httpx.post(f"{url}/v1/models/churn/predict", json=row, headers=AUTH, timeout=30)
            assert r.status_code == 200, r.text

    try:
        _wait_ready(url, proc, 90)
        workers = _children(proc.pid)
        assert len(workers) == 2
        requests(20)
        metrics = httpx.get(f"{url}/metrics").text  # one worker answers, counting for both
        assert 'mlwright_requests_total{endpoint="/v1/models/{name}/predict",status="200"} 20.0' in metrics
        assert 'mlwright_rows_scored_total{model="churn"} 20.0' in metrics
        # a second service on the same port is refused, not silently joined to this one
        second = subprocess.run(serve, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode != 0 and "cannot listen" in second.stderr and "Traceback" not in second.stderr
        time.sleep(1.0)  # the prediction log writes every 0.25 s
        dead = min(workers)
        os.kill(dead, signal.SIGKILL)  # a worker dies: another takes its place, the port keeps answering
        deadline = time.monotonic() + 60
        while len(_children(proc.pid) - {dead}) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)
        _wait_ready(url, proc, 60)
        requests(10)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    err = proc.stderr.read()
    assert rc == 0, err
    assert "starting another" in err and "Traceback" not in err
    assert not _children(proc.pid)
    _, outputs = read_log(Store())  # the test's MLWRIGHT_HOME is the service's
    assert len(outputs) == 30  # every answered prediction was logged, by whichever worker answered it
