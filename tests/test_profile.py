"""The profile: exact statistics, stated sampling, correlations, a JSON twin and an HTML page that never crashes."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mlwright
from mlwright.cli import app
from mlwright.data.profile import ProfileConfig

runner = CliRunner()


def _table(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "grade": rng.choice(list("ABC"), n),
            "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 500, n), "D"),
            "note": [" ".join(rng.choice(["good", "bad", "fine", "slow", "fast"], 6)) for _ in range(n)],
        }
    )
    df["x2"] = df.x * 2 + rng.normal(scale=0.01, size=n)
    df["g2"] = df.grade.map({"A": "a", "B": "b", "C": "c"})
    df["by_grade"] = df.grade.map({"A": 1.0, "B": 5.0, "C": 9.0})
    df.loc[rng.random(n) < 0.1, "x"] = np.nan
    df["y"] = np.where(df.x2.fillna(0) + rng.normal(size=n) > 0, "up", "down")
    return df


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_profile_statistics_are_exact_and_sampling_is_stated():
    df = _table()
    p = mlwright.profile(df, target="y", config=ProfileConfig(sample_rows=500))
    d = p.to_dict()
    cols = {c["name"]: c for c in d["columns"]}
    assert cols["x"]["missing_count"] == int(df.x.isna().sum())  # exact, not from the sample
    assert cols["x"]["stats"]["median"] == pytest.approx(df.x.median())
    assert sum(cols["x"]["histogram"]["counts"]) == df.x.notna().sum()
    assert cols["grade"]["levels"]["counts"] == df.grade.value_counts().tolist()
    assert d["table"]["rows"] == 2000 and d["sampling"]["sample_rows"] == 500
    assert "correlations" in d["sampling"]["sampled"] and "500 of 2,000 rows" in d["sampling"]["note"]
    assert d["target"]["classes"]["values"] == df.y.value_counts().index.tolist()
    rel = {r["column"]: r for r in d["target"]["relation"]}
    assert rel["x2"]["score"] > rel["grade"]["score"]


def test_correlations_of_every_kind():
    d = mlwright.profile(_table(), target="y").to_dict()["correlations"]
    assoc = d["association"]
    idx = {c: i for i, c in enumerate(assoc["columns"])}

    def a(u, v):
        return assoc["matrix"][idx[u]][idx[v]], assoc["method"][idx[u]][idx[v]]

    assert a("x", "x2")[0] > 0.99 and a("x", "x2")[1] == "spearman"
    assert a("grade", "g2") == (1.0, "cramér's v")
    assert a("by_grade", "grade")[0] == pytest.approx(1.0) and a("by_grade", "grade")[1] == "correlation ratio"
    assert abs(a("x", "grade")[0]) < 0.15
    p = d["pearson"]
    i, j = p["columns"].index("x"), p["columns"].index("x2")
    df = _table()
    assert p["matrix"][i][j] == pytest.approx(df.x.corr(df.x2), abs=1e-4)


def test_json_twin_is_strict_json_and_html_is_self_contained(tmp_path):
    p = mlwright.profile(_table(), target="y")
    text = p.to_json(tmp_path / "p.json")
    data = json.loads(text)  # allow_nan=False on writing: NaN would have raised
    assert data["findings"] is not None and data["table"]["columns"] == 8
    html = p.to_html(tmp_path / "p.html")
    for section in ("Overview", "Findings", "Target: y", "Columns", "Missing values", "Correlations"):
        assert section in html
    imgs = _images(html)
    assert len(imgs) >= 10 and all(img.startswith(b"\x89PNG") for img in imgs)
    assert "http://" not in html and "https://" not in html  # nothing fetched from a network


def test_bad_input_still_renders_with_findings(tmp_path):
    rng = np.random.default_rng(1)
    odd = pd.DataFrame(
        {
            "名前 (name)": rng.choice(["太郎", "花子", "Ελένη"], 300),
            "<script>alert(1)</script>": rng.normal(size=300),
            "tab\tand\nnewline": rng.normal(size=300),
            "": rng.normal(size=300),
            "all_missing": np.nan,
            "levels_10k": [f"L{i}" for i in rng.integers(0, 10_000, 300)],
            "huge": ["x" * 200_000] * 299 + ["y"],
        }
    )
    cases = {
        "empty": pd.DataFrame(),
        "no_rows": pd.DataFrame({"a": pd.Series([], dtype=float)}),
        "one_column": pd.DataFrame({"a": [1, 2, 3]}),
        "one_row": pd.DataFrame({"a": [1], "b": ["x"]}),
        "all_missing": pd.DataFrame({"a": [np.nan] * 10, "b": [None] * 10}),
        "odd": odd,
        "dup_names": pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"]),
    }
    for name, df in cases.items():
        p = mlwright.profile(df)
        html = p.to_html(tmp_path / f"{name}.html")
        json.loads(p.to_json())
        assert "<html" in html and "Findings" in html, name
    p = mlwright.profile(odd)
    html = p.to_html()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "名前 (name)" in html
    msgs = " ".join(f.message for f in p.findings)
    assert "'all_missing' is entirely missing" in msgs
    assert len(html) < 5_000_000, "huge strings are not copied into the page"
    assert [f.message for f in mlwright.profile(pd.DataFrame()).findings] == ["the table has no columns"]


def test_cli_profile_and_check(tmp_path):
    df = _table()
    df["status_after"] = np.where(df.y == "up", "closed", "open")
    src = tmp_path / "t.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["profile", str(src), "--target", "y", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.exists() and (tmp_path / "report.json").exists()
    assert "status_after" in r.output and "critical" in r.output
    r = runner.invoke(app, ["check", str(src), "--target", "y", "--json"])
    assert r.exit_code == 0
    assert any(f["check"] == "leakage" and f["column"] == "status_after" for f in json.loads(r.output))
    assert runner.invoke(app, ["check", str(src), "--target", "y", "--fail-on", "critical"]).exit_code == 1
    ok = runner.invoke(app, ["check", str(src), "--target", "y", "--fail-on", "sometimes"])
    assert ok.exit_code == 2 and "--fail-on must be" in ok.output
    bad = runner.invoke(app, ["profile", str(src), "--target", "Y"])
    assert bad.exit_code == 2 and "did you mean 'y'" in bad.output
