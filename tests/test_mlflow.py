"""MLflow tracking against a real local MLflow store (SQLite): the run, a child run per trial, the report,
and the model as a pyfunc that MLflow's own loader runs — giving exactly mlwright's predictions."""

from __future__ import annotations

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
        m = mlwright.AutoML(time_budget=10, families=["lightgbm", "linear"], max_trials=3, report_seconds=10,
                            tracking=f"mlflow:{uri}").fit(binary_df, target="label")  # fmt: skip
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("mlwright")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("mlwright.run_id") == m.run_id_]
    assert parent.info.status == "FINISHED" and parent.data.metrics["score_val"] == pytest.approx(m.score_val_)
    assert parent.data.params["time_budget"] == "10" and parent.data.params["metric"] == "roc_auc"
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
