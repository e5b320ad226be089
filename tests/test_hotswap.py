"""Hot swap over a real server: moving an alias switches the served version without dropping a request,
and a version whose artifact fails verification is refused while the old one keeps serving."""

from __future__ import annotations

import threading
import time

import numpy as np

import mlwright
from mlwright.registry import Registry
from mlwright.serving import ServeConfig, create_app, load_models

from .test_registry import saved_models  # noqa: F401  (fixture)
from .test_serving import AUTH, TOKEN, Server


def _hammer(client, rows, stop, seen):
    while not stop.is_set():
        r = client.post("/v1/models/churn/predict", json={"records": rows}, headers=AUTH)
        seen.append((r.status_code, r.json().get("version"), r.json().get("probabilities")))


def _wait(cond, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_alias_move_swaps_without_dropping_and_bad_hash_is_refused(saved_models, tmp_path):  # noqa: F811
    (m0, m1), df = saved_models
    url = f"sqlite:///{tmp_path / 'store.db'}"
    reg = Registry(url)  # the default artifact root (MLWRIGHT_HOME/artifacts), which the service also reads
    reg.register(m0, "churn", alias="champion")
    reg.register(m1, "churn")
    rows = df.drop(columns="y").head(2).to_dict(orient="records")
    want1 = mlwright.load(m1).predict_proba(df.drop(columns="y").head(2))

    app = create_app(load_models(["churn@champion"], url), ServeConfig(token=TOKEN, reload_seconds=0.1), store=url)
    with Server(app) as client:
        assert client.get("/v1/models", headers=AUTH).json()["models"][0]["follows"] == "churn@champion"
        stop, seen = threading.Event(), []
        worker = threading.Thread(target=_hammer, args=(client, rows, stop, seen))
        worker.start()
        try:
            assert _wait(lambda: len(seen) > 20)
            reg.promote("churn", 2)
            assert _wait(lambda: seen and seen[-1][1] == "2"), "the service never switched to version 2"
            n_after_swap = len(seen)
            assert _wait(lambda: len(seen) > n_after_swap + 20)

            # a tampered version: promoted, refused, version 2 keeps answering
            v3 = reg.register(m0, "churn")
            (v3.path / "manifest.json").write_text((v3.path / "manifest.json").read_text() + " ")
            reg.promote("churn", 3)
            assert _wait(lambda: 'outcome="refused"' in client.get("/metrics").text)
            n_after_refusal = len(seen)
            assert _wait(lambda: len(seen) > n_after_refusal + 20)
        finally:
            stop.set()
            worker.join(30)

        statuses = {s for s, _, _ in seen}
        assert statuses == {200}, f"requests failed during the swap: {statuses}"
        versions = [v for _, v, _ in seen]
        first2 = versions.index("2")
        assert set(versions[:first2]) == {"1"} and set(versions[first2:]) == {"2"}  # one clean switch, never back
        got = np.array([[p[c] for c in want1.columns] for p in seen[-1][2]])
        np.testing.assert_allclose(got, want1.to_numpy(), atol=1e-9)  # it is really model 1's file answering

        assert client.post("/v1/models/churn/reload").status_code == 401  # a write endpoint
        r = client.post("/v1/models/churn/reload", headers=AUTH)
        assert r.status_code == 409 and r.json()["refused"]["version"] == 3
        assert "changed since it was registered" in r.json()["refused"]["reason"]
        metrics = client.get("/metrics").text
        assert 'mlwright_model_reloads_total{model="churn",outcome="swapped"} 1.0' in metrics

        reg.rollback("churn")  # champion back to 2: nothing to do, and the refusal is forgotten
        r = client.post("/v1/models/churn/reload", headers=AUTH)
        assert r.status_code == 200 and r.json() == {"model": "churn", "version": "2", "changed": False}
        reg.promote("churn", 1)  # an explicit reload acts at once (or finds the watcher already did)
        r = client.post("/v1/models/churn/reload", headers=AUTH)
        assert r.status_code == 200 and r.json()["version"] == "1"
        assert client.post("/v1/models/churn/predict", json={"records": rows}, headers=AUTH).json()["version"] == "1"
