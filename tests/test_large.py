"""Streaming reads and the stratified sample for tables larger than memory (real files on disk)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlwright.data.large import sample_rows, scan, stratified_sample, table_rows
from mlwright.errors import DataReadError, TargetNotFoundError


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 60_000
    y = np.where(rng.random(n) < 0.01, "rare", np.where(rng.random(n) < 0.3, "b", "a"))
    df = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["p", "q"], n), "y": y,
                       "v": rng.gamma(2.0, 3.0, n), "part": np.arange(n) % 3})  # fmt: skip
    d = tmp_path_factory.mktemp("big")
    df.to_csv(d / "t.csv", index=False)
    df.to_parquet(d / "t.parquet", index=False)
    df.to_parquet(d / "parts", partition_cols=["part"], index=False)
    return df, d


@pytest.mark.parametrize("name", ["t.csv", "t.parquet", "parts"])
def test_scan_streams_every_row_in_bounded_batches(big, name):
    df, d = big
    sizes, xs = [], []
    for b in scan(d / name, batch_rows=7_000):
        sizes.append(len(b))
        xs.append(b["x"].to_numpy())
    assert sum(sizes) == len(df) == table_rows(d / name) and max(sizes) <= 7_000 and len(sizes) >= 9
    np.testing.assert_allclose(np.sort(np.concatenate(xs)), np.sort(df["x"].to_numpy()))


def test_stratified_sample_keeps_class_shares_and_rare_classes(big):
    df, d = big
    sample, info = stratified_sample(d / "t.parquet", "y", n_rows=3_000, seed=1, batch_rows=10_000)
    assert info["rows"] == len(df) and info["classes"] == 3
    assert 2_600 < len(sample) < 3_500
    share = sample["y"].value_counts(normalize=True)
    truth = df["y"].value_counts(normalize=True)
    assert abs(share["b"] - truth["b"]) < 0.03
    assert (sample["y"] == "rare").sum() >= 40  # ~600 in the table; a plain 5 % sample would keep ~30
    again, _ = stratified_sample(d / "t.parquet", "y", n_rows=3_000, seed=1, batch_rows=10_000)
    pd.testing.assert_frame_equal(sample, again)  # seeded
    num, info = stratified_sample(d / "t.csv", "v", n_rows=6_000, seed=0)
    assert info["classes"] == 0 and 5_400 < len(num) < 6_600
    assert abs(num["v"].median() - df["v"].median()) < 0.2


def test_sample_size_follows_the_memory_budget_and_bad_input_is_clear(big, tmp_path):
    _, d = big
    first = next(scan(d / "t.parquet", batch_rows=5_000))
    per_row = first.memory_usage(deep=True).sum() / len(first)
    assert sample_rows(first, 100_000_000) == int(100_000_000 * 0.1 / per_row)
    with pytest.raises(TargetNotFoundError, match="'yy' is not in"):
        next(scan(d / "t.parquet", columns=["yy"]))
    with pytest.raises(DataReadError, match="does not exist"):
        next(scan(tmp_path / "nope.csv"))
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(DataReadError, match="cannot stream"):
        next(scan(tmp_path / "t.json"))


# ---------------------------------------------------------------------------------------------- fit out of core
def _table(n: int, seed: int) -> pd.DataFrame:
    """A binary task whose signal keeps paying off with more rows (interactions, a periodic term, categories)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    c = rng.integers(0, 12, n)
    effect = np.random.default_rng(99).normal(0, 1, 12)
    logit = np.sin(3 * x[:, 0]) * x[:, 1] + effect[c] + x[:, 2] * x[:, 3] - 0.5 * x[:, 4] ** 2 + 0.3 * x[:, 5]
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)])
    df["c"] = [f"k{v}" for v in c]
    df["y"] = np.where(y, "yes", "no")
    return df


@pytest.mark.slow
def test_fit_on_a_table_larger_than_the_budget_trains_on_all_rows(tmp_path, monkeypatch):
    """The library path, on a hive-partitioned Parquet directory.  The share of ``memory_limit`` above which a
    table counts as large is lowered so that 240,000 rows are "large" here (the CLI test below and the 20M-row
    benchmark meet the real threshold)."""
    from sklearn.metrics import roc_auc_score

    import mlwright
    import mlwright.automl.outofcore as oc

    n = 240_000
    df = _table(n, 0)
    df["part"] = np.arange(n) % 4
    df.loc[df.index % 997 == 5, "y"] = None  # rows without a target are never trained or judged on
    df.to_parquet(tmp_path / "parts", partition_cols=["part"], index=False)
    monkeypatch.setattr(oc, "LARGE_SHARE", 0.002)
    m = mlwright.AutoML(time_budget=20, max_trials=2, families=["lightgbm"], limits={"memory": "3GB"}, tracking=None,
                        seed=0, report_seconds=0)  # fmt: skip
    m.fit(tmp_path / "parts", target="y")
    big = m.large_
    labelled = int(df["y"].notna().sum())
    assert big["rows"] == n and big["sample_rows"] < n / 5
    assert big["rows_read"] == labelled and big["rows_trained"] + big["holdout_rows"] == labelled
    assert big["used"] == "all_rows" and big["holdout_score_all_rows"] > big["holdout_score_sample"]
    lb = m.leaderboard()
    assert lb.iloc[0]["model"].endswith("_all_rows") and lb.iloc[0]["estimate"] == "holdout"
    assert m.score_val_ == pytest.approx(big["holdout_score_all_rows"])
    # fresh rows: the DataFrame path predicts through the same category codes the blocks were trained on
    test = _table(20_000, 1)
    test["part"] = np.arange(len(test)) % 4  # the partition column is a feature like any other
    auc = roc_auc_score(test["y"] == "yes", m.predict_proba(test.drop(columns="y"))["yes"])
    assert auc == pytest.approx(big["holdout_score_all_rows"], abs=0.02)
    one = m.predict_proba(test.drop(columns="y").head(3))  # few rows: the array fast path
    many = m.predict_proba(test.drop(columns="y").head(500)).head(3)
    np.testing.assert_allclose(one.to_numpy(), many.to_numpy(), rtol=1e-9)
    m.save(tmp_path / "model")
    back = mlwright.load(tmp_path / "model")
    assert back.large_["used"] == "all_rows"
    np.testing.assert_allclose(back.predict_proba(test.drop(columns="y")).to_numpy(),
                               m.predict_proba(test.drop(columns="y")).to_numpy())  # fmt: skip
    assert not list(tmp_path.glob("mlwright-rows-*"))  # the staged blocks are removed


@pytest.mark.slow
def test_cli_fit_under_memory_limit_reads_a_large_csv_in_batches(tmp_path):
    """The real threshold: 1,000,000 rows (~80 MB as a DataFrame) over 10 % of a 640 MB ``--memory-limit``."""
    import subprocess
    import sys

    df = _table(1_000_000, 2)
    df.to_csv(tmp_path / "big.csv", index=False, float_format="%.4f")
    r = subprocess.run([sys.executable, "-m", "mlwright.cli", "fit", str(tmp_path / "big.csv"), "--target", "y",
                        "--memory-limit", "640MB", "--time-budget", "20", "--max-trials", "2", "--families", "lightgbm",
                        "--out", str(tmp_path / "model"), "--tracking", "none", "--report-seconds", "0", "--quiet"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "1,000,000 rows: searched on a" in r.stderr
    import mlwright

    m = mlwright.load(tmp_path / "model")
    assert m.large_["rows"] == 1_000_000 and m.large_["rows_read"] == 1_000_000
    assert m.large_["used"] in ("all_rows", "sample")  # all rows unless they did not beat the sample's model
    if m.large_["used"] == "all_rows":  # 640 MB is tight: a share of the blocks when all would not fit, and it says so
        assert m.large_["holdout_rows"] == 100_000
        if m.large_["row_share"] == 1.0:
            assert m.large_["rows_trained"] == 900_000
        else:
            assert 0 < m.large_["rows_trained"] < 900_000


def test_a_table_under_the_threshold_is_fitted_whole(tmp_path):
    import mlwright

    _table(3_000, 3).to_csv(tmp_path / "small.csv", index=False)
    m = mlwright.AutoML(time_budget=5, limits={"memory": "3GB"}, tracking=None, families=["lightgbm"])
    m.fit(tmp_path / "small.csv", target="y")
    assert m.large_ is None and m.estimate_kind_ != "holdout"
    from mlwright.errors import TargetNotFoundError

    with pytest.raises(TargetNotFoundError, match="'yy' is not in the data"):
        mlwright.AutoML(limits={"memory": "3GB"}, tracking=None).fit(tmp_path / "small.csv", target="yy")


@pytest.mark.slow
def test_on_a_dask_cluster_the_final_model_trains_on_all_rows_with_xgboost_dask(tmp_path, monkeypatch):
    """A real LocalCluster (2 worker processes): the workers read the Parquet file with dask.dataframe, apply the
    sample's preprocessing per partition and train with ``xgboost.dask``; only the held-out rows come back."""
    import dask
    from distributed import Client, LocalCluster

    import mlwright
    import mlwright.automl.outofcore as oc

    n = 200_000
    _table(n, 4).to_parquet(tmp_path / "t.parquet", index=False, row_group_size=40_000)
    monkeypatch.setattr(oc, "LARGE_SHARE", 0.002)  # 200,000 rows count as large here (see the test above)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        try:
            m = mlwright.AutoML(time_budget=120, max_trials=2, limits={"memory": "3GB"}, tracking=None, cluster=client,
                                families=["xgboost", "lightgbm"], report_seconds=0)  # fmt: skip
            m.fit(tmp_path / "t.parquet", target="y")
        finally:
            client.close()
            cluster.close()
    big = m.large_
    assert big["where"] == "dask" and big["workers"] == 2 and big["trial"].startswith("xgboost")
    assert big["rows_read"] == n and big["rows_trained"] + big["holdout_rows"] == n
    assert big["holdout_rows"] == len(range(0, n, big["holdout_every"]))  # the same rows the local path holds out
    if big["used"] == "all_rows":
        assert m.leaderboard().iloc[0]["model"] == f"{big['trial']}_all_rows"
    m.save(tmp_path / "model")
    test = _table(2_000, 5).drop(columns="y")
    np.testing.assert_allclose(mlwright.load(tmp_path / "model").predict_proba(test).to_numpy(),
                               m.predict_proba(test).to_numpy())  # fmt: skip
