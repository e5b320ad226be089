"""MLflow tracking against a real local MLflow store (SQLite): the run, a child run per trial, the report,
and the model as a pyfunc that MLflow's own loader runs — giving exactly mlwright's predictions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import mlwright

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra (mlflow-skinny) is not installed")


def test_mlflow_tracking_logs_trials_report_and_a_pyfunc(tmp_path, binary_df, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)  # a SQLite MLflow store keeps its artifacts in ./mlruns
    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = mlwright.AutoML(time_budget=60, families=["lightgbm", "linear"], max_trials=3, report_seconds=10,
                            tracking=f"mlflow:{uri}").fit(binary_df, target="label")  # fmt: skip
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("mlwright")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("mlwright.run_id") == m.run_id_]
    assert parent.info.status == "FINISHED" and parent.data.metrics["score_val"] == pytest.approx(m.score_val_)
    assert parent.data.params["time_budget"] == "60" and parent.data.params["metric"] == "roc_auc"
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert set(children) == {t["model"] for t in m.trials_}
    for t in m.trials_:
        child = children[t["model"]]
        assert child.data.tags["mlwright.family"] == t["family"] and child.data.tags["mlwright.status"] == t["status"]
        assert all(child.data.params[k] == str(v) for k, v in t["params"].items())
        if t["status"] == "ok":
            assert child.data.metrics["roc_auc"] == pytest.approx(t["score"])
    logged = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"report.html"} <= logged
    # MLflow's own loader runs the logged model: the same predictions as mlwright's
    uri_of_model = parent.data.tags["mlwright.model_uri"]
    pyfunc = mlflow.pyfunc.load_model(uri_of_model)
    X = binary_df.drop(columns="label")
    np.testing.assert_array_equal(np.asarray(pyfunc.predict(X)), np.asarray(m.predict(X)))
    # the store tracker ran on the same progress stream
    from mlwright.tracking import run_detail

    assert len(run_detail(m.run_id_)["trial_records"]) == len(m.trials_)


def test_mlflow_tracking_value_is_checked():
    from mlwright.errors import ConfigError

    with pytest.raises(ConfigError, match="'mlflow:<tracking URI>'"):
        mlwright.AutoML(tracking="wandb").fit(np.zeros((30, 2)), np.arange(30) % 2)


def test_opening_the_mlflow_run_is_not_charged_to_the_time_budget(tmp_path, binary_df, monkeypatch):
    """A fresh MLflow store takes seconds to create: the search's clock starts after it (issue: a 5-s fit
    once spent its budget on MLflow's migrations and served a 1-trial model)."""
    monkeypatch.chdir(tmp_path)
    seen = []
    t_call = time.monotonic()
    uri = f"sqlite:///{(tmp_path / 'fresh.db').as_posix()}"
    automl = mlwright.AutoML(
        time_budget=30, families=["lightgbm"], max_trials=1, report_seconds=0, tracking=f"mlflow:{uri}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = automl.fit(
            binary_df, target="label", callbacks=[lambda s: seen.append((time.monotonic() - t_call, s.elapsed))]
        )
    opening = m.timings_["tracking"]
    assert opening > 0
    wall, charged = seen[0]  # at the first trial: the budget's clock ran for the wall time less the opening
    assert charged <= wall - opening + 0.001


def test_cli_keeps_mlflow_logs_warnings_and_progress_bars_off_the_console(tmp_path, binary_df):
    binary_df.to_csv(tmp_path / "train.csv", index=False)
    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONWARNINGS", "MLFLOW_", "TQDM_"))}
    env["MLWRIGHT_HOME"] = str(tmp_path / "home")
    r = subprocess.run(
        [sys.executable, "-m", "mlwright.cli", "fit", "train.csv", "-t", "label", "--time-budget", "60",
         "--max-trials", "2", "--families", "lightgbm", "--tracking", f"mlflow:{uri}", "--out", "model"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    console = r.stdout + r.stderr
    assert "fitted in" in console and "model saved to" in console
    for noise in ("Downloading artifacts", "mlflow.store", "INFO", "type hints"):
        assert noise not in console, noise
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("mlwright").experiment_id])
    assert any(run.data.tags.get("mlwright.model_uri") for run in runs)  # the model was still logged


def test_cli_shows_other_libraries_warnings_only_when_verbose(capsys):
    from mlwright.cli import console
    from mlwright.errors import MlwrightWarning

    def warn_both():
        warnings.warn("ours", MlwrightWarning, stacklevel=1)
        warnings.warn("theirs", UserWarning, stacklevel=1)

    original = warnings.showwarning  # run_command installs the CLI's own
    try:
        for verbose in (False, True):
            console.quiet_third_parties(verbose)
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                console.run_command(warn_both)
            shown = capsys.readouterr().err
            assert "ours" in shown and ("theirs" in shown) is verbose
    finally:
        console.quiet_third_parties(False)
        warnings.showwarning = original
