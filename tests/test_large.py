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
