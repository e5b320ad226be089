"""Batch scoring: chunked CSV/Parquet/SQL in, CSV/Parquet/SQL table/stdout out, equal to scoring at once;
outputs appear whole or not at all; fit --sql and predict --input-sql on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import io
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import mlwright
from mlwright.cli import app
from mlwright.errors import ColumnTypeError, ConfigError
from mlwright.registry import Registry
from mlwright.serving.batch import BatchInput, score_batch

from .conftest import make_table
from .test_registry import store_url  # noqa: F401  (fixture)

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlwright.AutoML(time_budget=60, families=["lightgbm", "linear"], max_trials=3, report_seconds=0,
                            tracking=None).fit(make_table(400), target="label")  # fmt: skip
    return a.save(tmp_path_factory.mktemp("m") / "model")


@pytest.fixture(scope="module")
def rows():
    df = make_table(3000, seed=5).drop(columns="label")
    df.loc[:999, "x2"] = np.nan  # a column with no value at all in the first chunks: inferred differently there
    df.loc[1500:1700, "color"] = np.nan
    return df


def _expected(model, df):
    want = pd.DataFrame({"row_id": df["row_id"].to_numpy(), "prediction": model.predict(df)})
    proba = model.predict_proba(df)
    for c in proba.columns:
        want[f"proba_{c}"] = proba[c].to_numpy()
    return want


def test_chunked_files_equal_scoring_at_once(saved, rows, tmp_path):
    model = mlwright.load(saved)
    want = _expected(model, rows)
    rows.assign(ticket=[f"t{i}" for i in range(len(rows))]).to_csv(tmp_path / "in.csv", index=False)
    rows.to_parquet(tmp_path / "in.parquet", index=False)
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = score_batch(model, BatchInput(tmp_path / "in.csv", chunk_rows=700), tmp_path / "out.parquet",
                          keep=["row_id", "ticket", "x1"], progress=lambda n, f: seen.append((n, f)))  # fmt: skip
    assert not [w for w in caught if "not trained on" in str(w.message)]  # a kept id is no "unknown column"
    assert res == {"rows": 3000, "chunks": 5, "total_rows": None}
    assert [n for n, _ in seen] == [700, 1400, 2100, 2800, 3000] and seen[-1][1] == pytest.approx(1.0)
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert got.pop("ticket").tolist() == [f"t{i}" for i in range(len(rows))]  # a kept id the model never saw
    pd.testing.assert_series_equal(got.pop("x1"), rows["x1"], check_names=False, check_index=False)
    pd.testing.assert_frame_equal(got, want, check_exact=False, atol=1e-9, check_dtype=False)
    score_batch(model, BatchInput(tmp_path / "in.parquet", chunk_rows=1000), tmp_path / "out.csv", keep=["row_id"])
    got = pd.read_csv(tmp_path / "out.csv")
    pd.testing.assert_frame_equal(got, want, check_exact=False, atol=1e-9, check_dtype=False)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_a_failing_job_leaves_no_output(saved, rows, tmp_path):
    model = mlwright.load(saved)
    bad = rows.copy()
    bad["x1"] = bad["x1"].astype(object)
    bad.loc[2500, "x1"] = "not a number"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    (tmp_path / "out.csv").write_text("earlier results\n")
    with pytest.raises(ColumnTypeError, match="x1"):
        score_batch(model, BatchInput(tmp_path / "bad.csv", chunk_rows=1000), tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "earlier results\n"  # the old file is untouched
    assert not list(tmp_path.glob(".*tmp"))
    with pytest.raises(ConfigError, match="not both"):
        score_batch(model, BatchInput(tmp_path / "bad.csv", query="SELECT 1", db="sqlite://"))
    with pytest.raises(ConfigError, match="positive"):
        score_batch(model, BatchInput(tmp_path / "bad.csv", chunk_rows=0))


def test_cli_predict_stdout_and_registered_model(saved, rows, tmp_path, monkeypatch):
    rows.head(50).to_csv(tmp_path / "in.csv", index=False)
    res = runner.invoke(app, ["predict", str(saved), str(tmp_path / "in.csv"), "--chunk-rows", "20"])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout))
    assert len(got) == 50 and list(got.columns[:1]) == ["prediction"]  # one header, however many chunks
    Registry().register(saved, "churn", alias="champion")
    res = runner.invoke(app, ["predict", "churn@champion", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "o.csv")["prediction"].tolist() == got["prediction"].tolist()
    res = runner.invoke(app, ["predict", "nosuch", str(tmp_path / "in.csv")])
    assert res.exit_code == 2 and "no model directory named 'nosuch'" in res.output


def test_sql_in_and_out_and_fit_from_sql(store_url, saved, rows, tmp_path):  # noqa: F811
    engine = sa.create_engine(store_url)
    rows.to_sql("to_score", engine, index=False)
    make_table(300).to_sql("training", engine, index=False)
    engine.dispose()
    model = mlwright.load(saved)
    want = _expected(model, rows)
    args = ["predict", str(saved), "--input-sql", "SELECT * FROM to_score ORDER BY row_id", "--db", store_url,
            "--output-table", "scores", "--keep", "row_id", "--chunk-rows", "1000"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    engine = sa.create_engine(store_url)
    got = pd.read_sql("SELECT * FROM scores ORDER BY row_id", engine)
    pd.testing.assert_frame_equal(got, want, check_exact=False, atol=1e-9, check_dtype=False)
    res = runner.invoke(app, args)  # the table exists: refused, with the way out
    assert res.exit_code == 2 and "--if-exists" in res.output
    assert runner.invoke(app, [*args, "--if-exists", "append"]).exit_code == 0
    assert pd.read_sql("SELECT COUNT(*) AS n FROM scores", engine)["n"][0] == 6000
    # a failing job (a bad value in the third chunk) leaves the existing table as it was, and no staging table
    bad = rows.assign(x1=rows["x1"].astype(object))
    bad.loc[2500, "x1"] = "oops"
    bad.to_sql("bad_rows", engine, index=False)
    bad_args = ["predict", str(saved), "--input-sql", "SELECT * FROM bad_rows", "--db", store_url,
                "--output-table", "scores", "--if-exists", "replace", "--chunk-rows", "1000"]  # fmt: skip
    res = runner.invoke(app, bad_args)
    assert res.exit_code == 2 and "x1" in res.output
    assert pd.read_sql("SELECT COUNT(*) AS n FROM scores", engine)["n"][0] == 6000
    assert not [t for t in sa.inspect(engine).get_table_names() if "__mlw_" in t]
    res = runner.invoke(app, ["predict", str(saved), "--input-sql", "SELECT * FROM nowhere", "--db", store_url])
    assert res.exit_code == 2 and "[data_read_error]" in res.output
    engine.dispose()

    res = runner.invoke(app, ["fit", "--sql", "SELECT * FROM training", "--db", store_url, "--target", "label",
                              "--time-budget", "60", "--max-trials", "3",
                              "--report-seconds", "0", "--out", str(tmp_path / "m"),
                              "--register", "from_sql", "--alias", "champion", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    v = Registry().get("from_sql", "champion")
    assert v.version == 1 and v.run_id and v.task == "binary"


def test_fit_needs_one_source(tmp_path):
    res = runner.invoke(app, ["fit", "--target", "y"])
    assert res.exit_code == 2 and "--sql" in res.output
    res = runner.invoke(app, ["fit", "--sql", "SELECT 1 AS y", "--target", "y"])
    assert res.exit_code == 2 and "--db" in res.output


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("POSIX paths", allow_module_level=True)
