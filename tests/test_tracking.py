"""fit records its run and trials in the store (SQLite, PostgreSQL, MariaDB); runs are listed from the CLI."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import mlwright
from mlwright.cli import app
from mlwright.errors import BudgetExhaustedError, ConfigError
from mlwright.registry import Registry
from mlwright.store import Store
from mlwright.tracking import run_detail, runs

from .conftest import make_table
from .test_registry import store_url  # noqa: F401  (fixture)

runner = CliRunner()


def _fit(df, **kw):
    params = {"time_budget": 8, "families": ["lightgbm", "linear"], "max_trials": 4, "report_seconds": 0}
    params.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlwright.AutoML(**params).fit(df, target="label")


def test_fit_records_run_trials_and_model(store_url, tmp_path):  # noqa: F811
    a = _fit(make_table(300), tracking=f"store:{store_url}")
    r = run_detail(a.run_id_, store_url)
    assert r["status"] == "finished" and r["task"] == "binary" and r["target"] == "label"
    assert r["score"] == pytest.approx(a.score_val_) and r["params"]["max_trials"] == 4
    assert r["data"] == {"rows": 300, "columns": 10, "features": len(a.schema_.features)}
    got = {t["model"]: t for t in r["trial_records"]}
    assert set(got) == {t["model"] for t in a.trials_}
    for t in a.trials_:
        assert got[t["model"]]["status"] == t["status"]
        if t["status"] == "ok":
            assert got[t["model"]]["score"] == pytest.approx(t["score"])
            assert got[t["model"]]["params"] == json.loads(json.dumps(t["params"], default=str))
    assert r["run_dir"] and (a._run_dir() / "trials.jsonl").exists()
    assert runs(store_url)[0]["id"] == a.run_id_ and runs(store_url)[0]["trials"] == len(a.trials_)

    path = a.save(tmp_path / "m")
    assert run_detail(a.run_id_, store_url)["model_path"] == str(path.resolve())
    v = Registry(store_url).register(path, "tracked")
    assert v.run_id == a.run_id_  # the registered version points back at the run that made it
    assert mlwright.load(path).run_id_ == a.run_id_


def test_a_failed_fit_is_recorded_with_its_reason(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(BudgetExhaustedError):
        _fit(make_table(300), tracking=f"store:{url}", time_budget=0.01, families=["svm"])
    (r,) = runs(url)
    assert r["status"] == "failed" and "BudgetExhaustedError" in run_detail(r["id"], url)["error"]


def test_default_store_and_no_tracking(tmp_path, monkeypatch):
    home = tmp_path / "home"
    _fit(make_table(200), tracking=None)
    assert not (home / "mlwright.db").exists()  # nothing written when tracking is off
    a = _fit(make_table(200))  # the default: the SQLite store in MLWRIGHT_HOME
    assert (home / "mlwright.db").exists() and runs()[0]["id"] == a.run_id_
    with pytest.raises(ConfigError, match="tracking"):
        mlwright.AutoML(tracking="elsewhere").fit(make_table(100), target="label")


def test_upgrading_an_older_store_keeps_its_runs(tmp_path):
    from alembic import command
    from alembic.config import Config

    from mlwright.store import _MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.exec_driver_sql(
            "INSERT INTO mlw_runs (id, created, status, task, score) VALUES ('old-run', ?, 'finished', 'binary', 0.9)",
            (dt.datetime(2026, 1, 1),),
        )
    engine.dispose()
    Store(url)  # opening migrates to the newest schema
    (r,) = runs(url)
    assert (r["id"], r["score"], r["error"], r["trials"]) == ("old-run", 0.9, None, 0)


def test_cli_runs_list_and_show(tmp_path):
    a = _fit(make_table(200))
    res = runner.invoke(app, ["runs", "list"])
    assert res.exit_code == 0 and a.run_id_ in res.output and "finished" in res.output
    res = runner.invoke(app, ["runs", "show", a.run_id_[:17], "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["id"] == a.run_id_
    res = runner.invoke(app, ["runs", "show", "no-such-run"])
    assert res.exit_code != 0 and "matches no recorded run" in res.output
