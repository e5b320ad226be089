"""Pipelines: a TOML file run once and on a schedule, recorded in the store, never overlapping, and safe
when killed outright (kill -9) in the middle of a step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from mlwright.errors import ConfigError
from mlwright.loop.pipelines import PipelineError, load_pipeline, pipeline_runs, run_pipeline
from mlwright.registry import Registry

from .conftest import make_table


def _write(tmp_path: Path, name: str, steps: str, budget: int = 6, schedule: str | None = None) -> Path:
    head = f'name = "{name}"' + (f'\nschedule = "{schedule}"' if schedule else "")
    f = tmp_path / f"{name}.toml"
    f.write_text(f"""
[pipeline]
{head}

[source]
path = "{tmp_path.as_posix()}/data-*.csv"
target = "label"

[model]
name = "{name}-model"
time_budget = {budget}
families = ["lightgbm"]
report_seconds = 0

[gate]
min_delta = 0.0
{steps}
""")
    return f


STEPS = """
[[steps]]
kind = "check"
[[steps]]
kind = "train"
[[steps]]
kind = "score"
input = "{rows}"
output_table = "scores"
db = "{db}"
keep = ["row_id"]
[[steps]]
kind = "monitor"
window = "1d"
"""


@pytest.mark.slow
def test_run_once_then_again_with_new_data(tmp_path):
    make_table(400, "binary", seed=0).drop(columns=["when", "review"]).to_csv(tmp_path / "data-1.csv", index=False)
    rows = tmp_path / "rows.csv"
    make_table(50, "binary", seed=9).drop(columns=["label", "when", "review"]).to_csv(rows, index=False)
    db = f"sqlite:///{(tmp_path / 'out.db').as_posix()}"
    f = _write(tmp_path, "churn", STEPS.format(rows=rows.as_posix(), db=db))
    first = run_pipeline(f)
    assert first["status"] == "succeeded"
    assert Registry().resolve("churn-model@champion").version == 1
    with create_engine(db).connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM scores")).scalar() == 50
    time.sleep(0.05)
    make_table(400, "binary", seed=3).drop(columns=["when", "review"]).to_csv(tmp_path / "data-2.csv", index=False)
    run_pipeline(f)  # now a champion exists: the train step retrains, gated
    runs = pipeline_runs(pipeline="churn")
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    latest = runs[0]
    assert [s["kind"] for s in latest["steps"]] == ["check", "train", "score", "monitor"]
    train = latest["steps"][1]
    assert train["result"]["outcome"] in ("promoted", "rejected") and "challenger v2" in train["log"]
    assert "data-2.csv" in latest["steps"][0]["log"]  # the newest file matching the glob
    assert "no predictions of 'churn-model' are logged" in latest["steps"][3]["log"]


def test_bad_files_and_overlap_are_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[source]\npath = "x.csv"\n')
    with pytest.raises(ConfigError, match=r"needs target"):
        load_pipeline(bad)
    f = _write(tmp_path, "p", '[[steps]]\nkind = "fit"\n')
    with pytest.raises(ConfigError, match="kind 'fit'; use one of check, train, score, monitor"):
        load_pipeline(f)
    f = _write(tmp_path, "p", '[[steps]]\nkind = "check"\n', schedule="every day")
    with pytest.raises(ConfigError, match="write 5 cron fields"):
        load_pipeline(f)
    # a run of the same pipeline holding the lock (this very process, alive) keeps a second one out
    from mlwright.store import Store
    from mlwright.store.tables import pipeline_locks

    f = _write(tmp_path, "q", '[[steps]]\nkind = "check"\n')
    import datetime as dt
    import socket

    store = Store()
    store.write(lambda c: c.execute(pipeline_locks.insert(), [{"pipeline": "q", "run_id": "x" * 32,
                "host": socket.gethostname(), "pid": os.getpid(), "at": dt.datetime.now(dt.UTC)}]))  # fmt: skip
    with pytest.raises(PipelineError, match="already running"):
        run_pipeline(f)


def test_killed_mid_step_leaves_no_half_state_and_is_marked_failed(tmp_path):
    make_table(400, "binary", seed=0).drop(columns=["when", "review"]).to_csv(tmp_path / "data-1.csv", index=False)
    rows = tmp_path / "rows.csv"
    make_table(50, "binary", seed=9).drop(columns=["label", "when", "review"]).to_csv(rows, index=False)
    db = f"sqlite:///{(tmp_path / 'out.db').as_posix()}"
    f = _write(tmp_path, "slow", STEPS.format(rows=rows.as_posix(), db=db), budget=60)
    proc = subprocess.Popen([sys.executable, "-m", "mlwright", "pipeline", "run", str(f)], env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:  # until the train step (a 60 s search) is under way
            runs = pipeline_runs(pipeline="slow")
            steps = runs[0]["steps"] if runs else []
            if len(steps) >= 2 and steps[1]["status"] == "running":
                break
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
            time.sleep(0.3)
        time.sleep(2.0)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    (run,) = pipeline_runs(pipeline="slow")  # seen after the kill: marked failed, its lock released
    assert run["status"] == "failed" and "interrupted" in run["error"]
    assert [s["status"] for s in run["steps"]] == ["succeeded", "failed"]
    reg = Registry()
    with pytest.raises(Exception, match="slow-model"):
        reg.resolve("slow-model@champion")  # nothing half-registered
    assert "scores" not in inspect(create_engine(db)).get_table_names()  # nothing half-written
    quick = _write(tmp_path, "slow", '[[steps]]\nkind = "check"\n')  # the lock is free again
    assert run_pipeline(quick)["status"] == "succeeded"


@pytest.mark.slow
def test_scheduler_runs_pipelines_on_their_cron(tmp_path):
    make_table(200, "binary", seed=0).drop(columns=["when", "review"]).to_csv(tmp_path / "data-1.csv", index=False)
    f = _write(tmp_path, "tick", '[[steps]]\nkind = "check"\n', schedule="*/3 * * * * *")
    r = subprocess.run([sys.executable, "-m", "mlwright", "scheduler", str(f), "--stop-after", "9"],
                       env=os.environ.copy(), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "scheduled tick: */3 * * * * *" in r.stderr
    runs = pipeline_runs(pipeline="tick")
    assert runs and all(x["status"] == "succeeded" for x in runs)
    assert runs[-1]["steps"][0]["kind"] == "check" and "200 rows" in runs[-1]["steps"][0]["log"]


@pytest.mark.slow
def test_drift_in_served_traffic_triggers_a_gated_retrain(tmp_path):
    """A pipeline reading SQL: the first run fits the champion; live traffic then shifts; the next run's
    monitor step sees the drift alert and retrains (gated)."""
    import json

    import pandas as pd

    from mlwright.serving import ServeConfig, create_app, load_models
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    from .test_serving import AUTH, TOKEN, Server

    db = f"sqlite:///{(tmp_path / 'src.db').as_posix()}"
    train = make_table(400, "binary", seed=0).drop(columns=["when", "review"])
    with create_engine(db).begin() as c:
        train.to_sql("history", c, index=False)
    f = tmp_path / "loop.toml"
    f.write_text(f"""
[pipeline]
name = "loop"
[source]
sql = "SELECT * FROM history"
db = "{db}"
target = "label"
[model]
name = "loop-model"
time_budget = 6
families = ["lightgbm"]
report_seconds = 0
[gate]
min_delta = 0.0
[[steps]]
kind = "train"
[[steps]]
kind = "monitor"
window = "1h"
min_rows = 50
alerts = {{ drift_share = 0.1 }}
retrain_on = ["drift_share"]
""")
    assert run_pipeline(f)["status"] == "succeeded"  # first run: fits v1; nothing served yet, nothing to judge
    log = PredictionLog(Store(), interval=0.05)
    app = create_app(load_models(["loop-model@champion"]), ServeConfig(token=TOKEN), log)
    live = make_table(300, "binary", seed=5).drop(columns=["when", "review", "label"])
    live = live.assign(x1=live["x1"] + 2.5, x2=live["x2"] * 3)
    with Server(app) as c:
        r = c.post("/v1/models/loop-model/predict", json={"records": json.loads(live.to_json(orient="records"))},
                   headers=AUTH)  # fmt: skip
        assert r.status_code == 200
        log.flush()
    with create_engine(db).begin() as c:  # new labelled rows arrived in the source
        make_table(400, "binary", seed=6).drop(columns=["when", "review"]).to_sql("history", c, index=False,
                                                                                    if_exists="append")  # fmt: skip
    run_pipeline(f)
    latest = pipeline_runs(pipeline="loop")[0]
    monitor = latest["steps"][1]
    assert monitor["status"] == "succeeded"
    assert [a["rule"] for a in monitor["result"]["alerts"]] == ["drift_share"]
    assert {"x1", "x2"} <= set(monitor["result"]["latest"]["drifted"])
    retrained = monitor["result"]["retrain"]
    assert retrained["outcome"] in ("promoted", "rejected") and retrained["challenger_version"] >= 2
    assert "retraining" in monitor["log"] and len(pd.read_sql("SELECT * FROM history", db)) == 800
