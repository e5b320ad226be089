"""End-to-end CLI tests: the real `mlwright` command in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

MLWRIGHT = [sys.executable, "-m", "mlwright.cli"]


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*MLWRIGHT, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=240)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, binary_df):
    d = tmp_path_factory.mktemp("cli")
    binary_df.to_csv(d / "train.csv", index=False)
    binary_df.drop(columns=["label"]).head(20).to_parquet(d / "score.parquet", index=False)
    r = run("fit", d / "train.csv", "--target", "label", "--time-budget", "60", "--max-trials", "3",
            "--out", d / "model", cwd=d)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return d, r


@pytest.mark.slow
def test_fit_prints_leaderboard_and_saves(workspace):
    d, r = workspace
    assert "Leaderboard" in r.stdout and "estimated roc_auc" in r.stdout and "the model you get" in r.stdout
    assert (d / "model" / "manifest.json").exists()
    assert "trials" in r.stderr  # the progress bar reported trials and best score
    import mlwright

    assert len(mlwright.load(d / "model").trials_) == 3  # --max-trials


@pytest.mark.slow
def test_predict_to_file_and_stdout(workspace):
    d, _ = workspace
    r = run("predict", d / "model", d / "score.parquet", "--out", d / "pred.csv")
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(d / "pred.csv")
    assert list(pred.columns) == ["prediction", "proba_no", "proba_yes"] and len(pred) == 20
    r2 = run("predict", d / "model", d / "score.parquet")
    assert r2.stdout.splitlines()[0] == "prediction,proba_no,proba_yes"


def test_evaluate_and_info(workspace):
    d, _ = workspace
    r = run("evaluate", d / "model", d / "train.csv", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["roc_auc"] > 0.8 and res["n_rows"] == 400
    r = run("info", d / "model")
    assert r.returncode == 0 and "files verified" in r.stdout and "binary" in r.stdout


def _one_line_error(r, code):
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines and f"[{code}]" in lines[0]
    return r.stderr


@pytest.mark.slow
def test_errors_are_one_line_without_traceback(workspace, tmp_path):
    d, _ = workspace
    err = _one_line_error(run("fit", d / "train.csv", "--target", "lable", "--out", tmp_path / "m"), "target_not_found")
    assert "did you mean 'label'" in err
    (tmp_path / "x.xlsx").write_text("a")
    _one_line_error(run("fit", tmp_path / "x.xlsx", "--target", "a"), "unsupported_format")
    (tmp_path / "latin.csv").write_bytes("a,b\nJosé,1\nZoë,0\n".encode("latin-1"))
    _one_line_error(run("fit", tmp_path / "latin.csv", "--target", "b"), "data_read_error")
    (tmp_path / "empty.csv").write_text("")
    _one_line_error(run("fit", tmp_path / "empty.csv", "--target", "b"), "empty_data")
    err = _one_line_error(run("fit", d / "train.csv", "--target", "label", "--memory-limit", "lots"), "config_error")
    assert "'2GB'" in err
    pd.read_csv(d / "train.csv").drop(columns=["x1"]).to_csv(tmp_path / "short.csv", index=False)
    err = _one_line_error(run("predict", d / "model", tmp_path / "short.csv"), "columns_mismatch")
    assert "'x1'" in err
    _one_line_error(run("predict", tmp_path / "nomodel", tmp_path / "short.csv"), "artifact_error")


def test_tampered_model_is_refused_by_the_cli(workspace, tmp_path):
    import shutil

    d, _ = workspace
    copy = tmp_path / "model"
    shutil.copytree(d / "model", copy)
    victim = next((copy / "models").iterdir())
    victim.write_bytes(b"tampered")
    err = _one_line_error(run("predict", copy, d / "score.parquet"), "artifact_integrity")
    assert victim.name in err


def test_demo_data_ships_with_the_package():
    from mlwright.cli import demo_data_path

    p = Path(demo_data_path())
    assert p.exists() and "card" in pd.read_csv(p).columns
