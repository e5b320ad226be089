"""The model report: evaluation with intervals, diagnosis, explanations, thresholds, model card — and its bounds."""

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mlwright
from mlwright.cli import app
from mlwright.errors import ArtifactIntegrityError, ConfigError
from mlwright.evaluation.explain import tree_shap

runner = CliRunner()


def _binary(n=700, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "strong": rng.normal(size=n),
            "weak": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "kind": rng.choice(["a", "b", "c"], n),
        }
    )
    logit = 2.5 * df.strong + 0.5 * df.weak + np.where(df.kind == "a", 0.8, 0.0)
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


@pytest.fixture(scope="module")
def fitted():
    df = _binary()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # boosters only: the SHAP checks need a tree member, which an ensemble with a linear model may leave out
        a = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=4, seed=0).fit(df.iloc[:500], target="y")
    return a, df.iloc[500:]


def test_report_data_binary(fitted):
    a, test = fitted
    d = a.report_data(test)
    cv = d["cv"]
    assert cv["rows"] == 500 and cv["metric"] == "roc_auc"
    ci = cv["intervals"]["roc_auc"]
    assert ci["low"] < cv["scores"]["roc_auc"] < ci["high"]
    assert len(cv["folds"]["scores"]) == a.n_folds_
    assert sum(map(sum, cv["confusion_matrix"])) == 500
    assert cv["roc"]["fpr"][0] == 0.0 and cv["roc"]["tpr"][-1] == 1.0
    assert 0 <= cv["calibration"]["ece"] <= 1
    th = cv["thresholds"]
    assert th["best_f1"]["f1"] == pytest.approx(max(th["f1"]))
    assert d["test"]["rows"] == 200 and "roc_auc" in d["test"]["scores"]
    imp = [r["column"] for r in d["importance"]["importance"]]
    assert imp[0] == "strong" and d["importance"]["on"] == "test rows"
    assert d["shap"]["columns"][0] == "strong"
    pdp = {p["column"]: p for p in d["pdp"]}
    curve = next(iter(pdp["strong"]["curves"].values()))
    assert curve[-1] > curve[0] + 0.3, "P(yes) rises with the planted strong feature"
    assert {g["model"] for g in d["gaps"]} >= {m["name"] for m in a.members_}
    pts = d["learning_curve"]["points"]
    assert len(pts) >= 2 and pts[0]["rows"] < pts[-1]["rows"]
    assert d["advice"] and all(x["level"] in ("ok", "warn", "bad") for x in d["advice"])
    card = d["model_card"]
    assert "'y'" in card["intended_use"] and card["limitations"]


def test_shap_values_add_up_to_the_booster_output(fitted):
    a, test = fitted
    member = next((m for m in a.fitted_.members if m.family == "lightgbm"), None)
    assert member is not None
    pre = a.preprocessors_[member.preps[0]]
    Xc = a.validate(test.drop(columns="y").head(40))
    out = tree_shap(member, pre, Xc, a.schema_.features, "binary", a.schema_.classes)
    phi = np.column_stack([out["values"][c] for c in out["values"]])
    raw = np.mean([m.booster.predict(pre.transform(Xc), raw_score=True) for m in member.models], axis=0)
    # every column's share + the expected value = the model's log-odds (SHAP's additivity), per row
    total = phi.sum(axis=1) + out["expected_value"]
    assert len(out["values"]) == len(a.schema_.features)
    np.testing.assert_allclose(total, raw, atol=1e-4)


def test_thresholds_set_used_and_saved(fitted, tmp_path):
    a, test = fitted
    X = test.drop(columns="y")
    t = a.set_threshold("f1")
    assert t == pytest.approx(a.report_data()["cv"]["thresholds"]["best_f1"]["threshold"])
    a.set_threshold(0.01)
    assert (a.predict(X) == "yes").mean() > 0.9
    a.set_threshold(0.99)
    assert (a.predict(X) == "yes").mean() < 0.2
    ev = a.evaluate(test)
    assert ev["threshold"] == 0.99 and ev["confusion_matrix"][0][1] <= 5
    cheap_fp = a.set_threshold("cost", cost_ratio=0.1)
    costly_fp = a.set_threshold("cost", cost_ratio=10)
    assert cheap_fp < costly_fp
    b = mlwright.load(a.save(tmp_path / "m"))
    assert b.threshold_ == costly_fp
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    for bad in ("best", 1.5, 0):
        with pytest.raises(ConfigError, match="threshold"):
            a.set_threshold(bad)
    assert a.set_threshold(None) is None and a.threshold_ is None  # back to the most probable class


def test_saved_model_carries_a_verified_report(fitted, tmp_path):
    a, _ = fitted
    path = a.save(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    assert {"report.html", "report.json"} <= set(manifest["files"])
    html = (path / "report.html").read_text()
    for section in ("Summary", "Model card", "Diagnosis", "Leaderboard", "Cross-validated evaluation", "Explanations"):
        assert section in html
    b = mlwright.load(path)
    assert b.report_data_["cv"]["scores"] == a.report_data_["cv"]["scores"]
    (path / "report.json").write_text("{}")
    with pytest.raises(ArtifactIntegrityError, match=r"report\.json"):
        mlwright.load(path)


def test_report_opt_out_and_light_report(tmp_path):
    df = _binary(300)
    a = mlwright.AutoML(time_budget=60, families=["linear"], max_trials=1, report_seconds=0).fit(df, target="y")
    path = a.save(tmp_path / "m")
    assert not (path / "report.html").exists()
    html = a.report(tmp_path / "light.html")
    assert "Leaderboard" in html and "Model card" in html and "No diagnosis" in html


def test_report_keeps_its_time_bound():
    rng = np.random.default_rng(1)
    n = 6000
    df = pd.DataFrame(rng.normal(size=(n, 30)), columns=[f"c{i}" for i in range(30)])
    df["y"] = df.c0 + df.c1 * 0.5 + rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=2, report_seconds=3).fit(df, target="y")
        t0 = time.monotonic()
        d = a.report_data()
    took = time.monotonic() - t0
    assert took < 3 * 2.5, f"report took {took:.1f}s for a 3 s bound"
    assert d["limits"]["seconds"] == 3 and d["limits"]["sampled"]
    assert d["cv"]["points"]["actual"] and "residuals" in d["cv"]


def test_diagnosis_says_overfitting_and_no_signal():
    rng = np.random.default_rng(2)
    n = 200
    df = pd.DataFrame(rng.normal(size=(n, 30)), columns=[f"c{i}" for i in range(30)])
    df["y"] = rng.integers(0, 2, n)  # nothing to learn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlwright.AutoML(time_budget=30, families=["rf"], max_trials=1).fit(df, target="y")
    text = " ".join(x["text"] for x in a.report_data()["advice"])
    assert "overfitting" in text and "little signal" in text


def test_multiclass_and_regression_reports_render():
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"u": rng.normal(size=n), "v": rng.normal(size=n)})
    multi = X.assign(y=np.select([X.u < -0.5, X.u < 0.5], ["lo", "mid"], "hi"))
    reg = X.assign(y=3 * X.u + rng.normal(size=n))
    for df, key in ((multi, "roc_per_class"), (reg, "points")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=1).fit(df, target="y")
        d = a.report_data()
        assert d["cv"][key]
        html = a.report()
        assert "Cross-validated evaluation" in html and html.count("data:image/png;base64") >= 5


@pytest.mark.slow
def test_cli_report(tmp_path):
    df = _binary(400)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    df.iloc[:300].to_csv(train, index=False)
    df.iloc[300:].to_csv(test, index=False)
    r = runner.invoke(
        app,
        ["fit", str(train), "-t", "y", "--time-budget", "60", "--max-trials", "3", "--out", str(tmp_path / "m"), "-q"],
    )
    assert r.exit_code == 0, r.output
    assert "model report:" in r.output and (tmp_path / "m" / "report.html").exists()
    out = tmp_path / "rep.html"
    r = runner.invoke(app, ["report", str(tmp_path / "m"), "--data", str(test), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "test roc_auc" in r.output and out.exists() and "Test evaluation" in out.read_text()
    assert json.loads((tmp_path / "rep.json").read_text())["test"]["rows"] == 100
    r = runner.invoke(app, ["report", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_calibration_is_cross_fitted_applied_and_saved(fitted, tmp_path):
    a, test = fitted
    methods = a.report_data()["cv"]["calibration_methods"]
    assert {"none", "isotonic", "sigmoid", "best"} <= set(methods)
    assert methods["best"] == min(("none", "isotonic", "sigmoid"), key=lambda k: methods[k]["log_loss"])
    X = test.drop(columns="y")
    raw = a.predict_proba(X).to_numpy()
    chosen = a.calibrate("sigmoid")
    assert chosen["method"] == "sigmoid" and chosen["log_loss"] == methods["sigmoid"]["log_loss"]
    cal = a.predict_proba(X).to_numpy()
    assert not np.allclose(cal, raw) and np.allclose(cal.sum(axis=1), 1.0)
    order = np.argsort(raw[:, 1])
    assert np.all(np.diff(cal[order, 1]) >= -1e-12), "a sigmoid on the logit keeps the ranking"
    np.testing.assert_allclose(a.predict_proba(X.head(1)).to_numpy(), cal[:1])  # the one-row path agrees
    b = mlwright.load(a.save(tmp_path / "m"))
    np.testing.assert_allclose(b.predict_proba(X).to_numpy(), cal)
    assert a.calibrate(None) is None
    np.testing.assert_allclose(a.predict_proba(X).to_numpy(), raw)
    with pytest.raises(ConfigError, match="'best', 'isotonic', 'sigmoid' or None"):
        a.calibrate("platt")
