"""What a hostile request must not break for later: monitoring reads the log, feedback stays each model's own."""

from __future__ import annotations

import json

import pandas as pd

from mlwright.monitoring.drift import feedback_table, log_tables
from mlwright.serving.predlog import PredictionLog
from mlwright.store import Store

from .conftest import AUTH
from .corpus_http import OK


def _predict(world, model: str, row: dict) -> str:
    r = world.client.post(f"/v1/models/{model}/predict", json={"records": [row]}, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()["prediction_ids"][0]


def test_mixed_value_types_keep_monitoring_working(world, tmp_path):
    for row in (OK, OK | {"age": "30.5"}, OK | {"owner": 1}, OK | {"usage": 1e308}, OK | {"age": True}):
        _predict(world, "churn", row)
    world.client.post("/v1/models/churn/feedback", json={"feedback": []}, headers=AUTH)  # flushes nothing; harmless
    for extra in ([], ["--reference", "first"], ["--window", "5min"]):
        r = world.cli("monitor", "churn", "--json", *extra)
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout)
        assert res["windows"] and sum(w["rows"] for w in res["windows"]) >= 5
    html = tmp_path / "m.html"
    r = world.cli("monitor", "churn", "--html", html)
    assert r.returncode == 0 and html.stat().st_size > 1000, r.stderr


def test_a_log_written_with_mixed_types_before_the_fix_is_still_read(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    log = PredictionLog(store, start=False)
    out = {"ids": ["a" * 32 + "-0"], "predictions": ["yes"], "probabilities": [[0.4, 0.6]], "labels": ["no", "yes"]}
    for i, age in enumerate((30, "30.5", None)):  # no schema: logged as they arrived (int, then text)
        log.put(f"{i:032x}", "m", "1", 1.0, pd.DataFrame({"age": [age], "owner": [1 if i else "bob"]}),
                out | {"ids": [f"{i:032x}-0"]})  # fmt: skip
        log._write([log.queue.get_nowait()])
    ins, outs = log_tables(store, "m")
    assert len(ins) == 3 and len(outs) == 3
    assert pd.to_numeric(ins["age"], errors="coerce").tolist()[:2] == [30.0, 30.5]


def test_feedback_for_one_model_never_touches_another(world):
    pid = _predict(world, "churn", OK)
    r = world.client.post("/v1/models/churn/feedback", json={"feedback": [{"prediction_id": pid, "actual": "yes"}]},
                          headers=AUTH)  # fmt: skip
    assert r.status_code == 200 and r.json() == {"stored": 1}, r.text
    r = world.client.post("/v1/models/other/feedback", json={"feedback": [{"prediction_id": pid, "actual": "no"}]},
                          headers=AUTH)  # fmt: skip
    assert r.status_code == 422 and pid in r.json()["columns"], r.text
    store = Store(f"sqlite:///{world.home / 'mlwright.db'}")
    fb = feedback_table(store, "churn")
    assert fb.set_index("prediction_id").loc[pid, "actual"] == "yes"
    assert pid not in set(feedback_table(store, "other")["prediction_id"])
    # a label sent again replaces the model's own, only
    r = world.client.post("/v1/models/churn/feedback", json={"feedback": [{"prediction_id": pid, "actual": "no"}]},
                          headers=AUTH)  # fmt: skip
    assert r.status_code == 200
    assert feedback_table(store, "churn").set_index("prediction_id").loc[pid, "actual"] == "no"


def test_cli_feedback_refuses_made_up_ids(world, tmp_path):
    pid = _predict(world, "churn", OK)
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"prediction_id": [pid, "f" * 32 + "-7"], "actual": ["yes", "no"]}).to_csv(labels, index=False)
    world.client.post(
        "/v1/models/churn/feedback", json={"feedback": [{"prediction_id": pid, "actual": "yes"}]}, headers=AUTH
    )  # fmt: skip  (also waits for the log to hold pid)
    r = world.cli("feedback", "churn", labels)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "1 feedback item(s) cannot be stored" in r.stderr and "f" * 32 + "-7" in r.stderr
    pd.DataFrame({"prediction_id": [pid], "actual": ["no"]}).to_csv(labels, index=False)
    r = world.cli("feedback", "churn", labels)
    assert r.returncode == 0 and "stored 1" in r.stdout, r.stderr
