"""Executors: the same contract over every backend (inline, local worker processes, a real Dask
LocalCluster), trials that crash / hang / run out of memory failing alone, and the same leaderboard
whichever backend ran a fixed number of trials."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import mlwright
from mlwright.data.schema import coerce, infer_schema
from mlwright.execution import InlineExecutor, TrialData, TrialTask
from mlwright.execution.local import LocalExecutor
from mlwright.search.splits import make_splits

from . import faulty  # noqa: F401  (registers the faulty_* families; tasks carry them to the workers)
from .conftest import make_table

distributed = pytest.importorskip("distributed", reason="the Dask backend needs the dask extra")


@pytest.fixture(scope="module")
def dask_client():
    import dask
    from distributed import Client, LocalCluster

    # a crashing trial fails at once instead of being retried on the other worker
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        yield client
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def trial_data():
    df = make_table(300, "binary", seed=3).drop(columns=["when", "review"])
    schema = infer_schema(df, "label")
    X = coerce(df.drop(columns="label"), schema)
    y = (df["label"] == schema.classes[1]).to_numpy().astype(int)
    return TrialData(schema, X, y, make_splits(y, "binary", n_folds=3, seed=0), seed=0)


def _executor(kind: str, client=None):
    if kind == "inline":
        return InlineExecutor()
    if kind == "local":
        return LocalExecutor(trial_timeout=20, trial_memory="1.5GB")
    from mlwright.execution.dask import DaskExecutor

    return DaskExecutor(client)


def _task(family: str, params: dict, seconds: float = 30.0, name: str = "t_1") -> TrialTask:
    from mlwright.execution.trial import family_blob
    from mlwright.models import get

    blob = family_blob(get(family))  # None for mlwright's own families
    return TrialTask(name, family, params, "roc_auc", 0, 1, seconds, family_blob=blob)


@pytest.mark.parametrize("kind", ["inline", "local", "dask"])
def test_executor_contract(kind, trial_data, tmp_path, request):
    """Every backend: the same score and out-of-fold predictions for the same trial, fold models on disk
    that load back, and a failing configuration returned as a failed result (never raised)."""
    client = request.getfixturevalue("dask_client") if kind == "dask" else None
    ex = _executor(kind, client)
    ex.prepare()
    ex.start(trial_data, tmp_path)
    try:
        ok = ex.run(_task("lightgbm", {"n_estimators": 30, "num_leaves": 7}))
        again = ex.run(_task("lightgbm", {"n_estimators": 30, "num_leaves": 7}, name="t_2"))
        bad = ex.run(_task("faulty_raise", {"mode": "raise"}, name="t_3"))
    finally:
        ex.close()
    reference = InlineExecutor()
    reference.start(trial_data, None)
    expected = reference.run(_task("lightgbm", {"n_estimators": 30, "num_leaves": 7}))
    assert ok.status == "ok" and ok.score == pytest.approx(expected.score, rel=1e-9)
    np.testing.assert_allclose(ok.oof, expected.oof, rtol=1e-9)
    assert again.score == ok.score  # the worker's fold cache gives the same folds
    assert len(ok.spilled) == 3 and all((tmp_path / f).exists() for s in ok.spilled for f in s["files"])
    from mlwright.execution.trial import family
    from mlwright.search import Spilled

    s = ok.spilled[0]
    model = Spilled(family("lightgbm"), tmp_path, s["stem"], s["files"], s["meta"], "binary", 2).load()
    _, _, Xva = trial_data.fold(family("lightgbm").style, 0)
    assert model.predict_raw(Xva).shape == (len(Xva), 2)
    assert bad.status == "failed" and "this family always fails" in bad.error and not bad.spilled


def _children() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


@pytest.mark.slow
def test_local_worker_faults_fail_only_their_trial(trial_data, tmp_path):
    """A segfault, a hang, runaway memory and a sudden exit each fail their trial with the reason; the
    worker is replaced, the next trial runs, and no process is left behind."""
    before = _children()
    ex = LocalExecutor(trial_timeout=4, trial_memory="700MB")
    ex.start(trial_data, tmp_path)
    results = {}
    t0 = time.monotonic()
    try:
        for mode in ("segfault", "hang", "memory", "exit"):
            results[mode] = ex.run(_task(f"faulty_{mode}", {"mode": mode}, seconds=2.0, name=f"f_{mode}"))
            assert ex.run(_task("faulty_ok", {"mode": "ok"}, name=f"ok_{mode}")).status == "ok"
    finally:
        ex.close()
    assert time.monotonic() - t0 < 60
    assert "SIGSEGV" in results["segfault"].error
    assert "time limit" in results["hang"].error
    assert "memory limit" in results["memory"].error and "700 MB" in results["memory"].error
    assert "exited (code 3)" in results["exit"].error
    assert all(r.status == "failed" for r in results.values())
    from mlwright.execution.local import shutdown_pool

    shutdown_pool()
    deadline = time.monotonic() + 10
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (_children() - before)  # killed workers reaped, the pooled one stopped


def test_fit_goes_on_past_crashing_trials(binary_df):
    """Through AutoML: crashing and hanging families fail alone; the fit finishes with the good ones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = mlwright.AutoML(
            families=["lightgbm", "faulty_segfault", "faulty_hang"], time_budget=25, max_trials=3, n_jobs=1,
            report_seconds=0, tracking=None, cluster=LocalExecutor(trial_timeout=3),
        ).fit(binary_df.drop(columns=["when", "review"]), target="label")  # fmt: skip
    by_family = {t["family"]: t for t in m.trials_}
    assert by_family["lightgbm"]["status"] == "ok" and by_family["lightgbm"]["worker"].startswith("pid ")
    assert "SIGSEGV" in by_family["faulty_segfault"]["error"]
    assert "time limit" in by_family["faulty_hang"]["error"]
    assert m.best_model_.startswith("lightgbm") and m.predict(binary_df.head(3)).shape == (3,)


@pytest.mark.slow
def test_dask_leaderboard_equals_local(binary_df, dask_client):
    """A fixed number of trials with no time budget: the same trials, scores and model on both backends."""
    df = binary_df.drop(columns=["when", "review"])
    boards = {}
    for name, cluster in (("local", "local"), ("dask", dask_client)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = mlwright.AutoML(families=["lightgbm", "linear"], time_budget=None, max_trials=6, n_jobs=1, seed=1,
                                report_seconds=0, tracking=None, cluster=cluster).fit(df, target="label")  # fmt: skip
        board = m.leaderboard()
        boards[name] = (list(board["model"]), list(board["score_val"]), m.predict_proba(df.head(20)).to_numpy())
        if name == "dask":
            assert all(t["worker"].startswith("dask") for t in m.trials_)
    assert boards["local"][0] == boards["dask"][0]
    assert boards["local"][1] == pytest.approx(boards["dask"][1], rel=1e-9)
    np.testing.assert_allclose(boards["local"][2], boards["dask"][2], rtol=1e-9)
    assert not math.isnan(boards["local"][1][0])


@pytest.mark.slow
def test_cluster_value_is_checked():
    from mlwright.errors import ConfigError

    with pytest.raises(ConfigError, match="cluster='somewhere' is not known"):
        mlwright.AutoML(cluster="somewhere").fit(make_table(50, "binary"), target="label")
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        mlwright.AutoML(cluster="tcp://127.0.0.1:9", tracking=None).fit(make_table(50, "binary"), target="label")


def test_partitioned_parquet_directory_is_a_source(tmp_path):
    """The layout Spark writes (col=value/part-*.parquet): read whole, partition columns typed as their values."""
    from mlwright.data.sources import read_table

    df = make_table(300, "binary", seed=8).drop(columns=["when"])
    df["year"] = np.where(np.arange(300) % 2, 2024, 2025)
    df.to_parquet(tmp_path / "ds", partition_cols=["year", "color"], index=False)
    back = read_table(tmp_path / "ds")
    assert len(back) == 300 and set(back.columns) == set(df.columns)
    assert back["year"].dtype.kind == "i" and set(back["color"]) == set(df["color"])
    key = ["row_id"] if "row_id" in df.columns else ["x1"]
    a, b = df.sort_values(key).reset_index(drop=True), back[df.columns].sort_values(key).reset_index(drop=True)
    np.testing.assert_allclose(a["x1"], b["x1"])
    from typer.testing import CliRunner

    from mlwright.cli import app as cli

    r = CliRunner().invoke(cli, ["fit", str(tmp_path / "ds"), "-t", "label", "--time-budget", "60",
                                 "--max-trials", "2", "--families",
                                 "lightgbm", "--cluster", "inline", "--out", str(tmp_path / "m"), "--quiet",
                                 "--report-seconds", "0"])  # fmt: skip
    assert r.exit_code == 0, r.output
    m = mlwright.load(tmp_path / "m")
    assert all(t["worker"] == "inline" for t in m.trials_) and "year" in [c.name for c in m.schema_.columns]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_n_jobs_minus_one_uses_the_cores_this_process_may_run_on():
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "from mlwright.budget import usable_cores; print(usable_cores())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "1"  # pinned to one core (taskset, a container): one thread, not cpu_count()
