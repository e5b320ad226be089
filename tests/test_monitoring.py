"""Monitoring: drift statistics against scipy, reference statistics saved with models, and the monitor over a
real service's prediction log (drift, errors, latency, feedback → live metrics, alerts to a real webhook)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from typer.testing import CliRunner

import mlwright
from mlwright.monitoring import MonitorConfig, monitor_model
from mlwright.monitoring.stats import level_drift, level_reference, numeric_drift, numeric_reference, psi

from .conftest import make_table
from .test_serving import AUTH, TOKEN, Server


# ------------------------------------------------------------------ statistics against scipy
def test_numeric_drift_matches_scipy():
    rng = np.random.default_rng(0)
    train = rng.normal(size=20_000)
    train[:400] = np.nan
    t = train[np.isfinite(train)]
    ref = numeric_reference(train)
    for cur in (rng.normal(0.3, 1.2, 5_000), rng.normal(size=3_000), rng.exponential(size=4_000)):
        d = numeric_drift(ref, cur)
        ks = stats.ks_2samp(t, cur, method="asymp")
        assert d["ks"] == pytest.approx(ks.statistic, abs=0.004)
        assert d["wasserstein"] == pytest.approx(stats.wasserstein_distance(t, cur), rel=0.02, abs=2e-3)
        if ks.pvalue > 1e-6:
            assert d["ks_pvalue"] == pytest.approx(ks.pvalue, rel=0.5, abs=0.02)
    # ties (a count-like column): the CDF's jumps are kept
    train_i, cur_i = rng.integers(0, 5, 10_000).astype(float), rng.integers(0, 6, 3_000).astype(float)
    d = numeric_drift(numeric_reference(train_i), cur_i)
    assert d["ks"] == pytest.approx(stats.ks_2samp(train_i, cur_i).statistic, abs=0.004)
    assert d["wasserstein"] == pytest.approx(stats.wasserstein_distance(train_i, cur_i), rel=0.02)
    # PSI by hand: the missing values have their own bin
    same = numeric_drift(ref, np.r_[rng.normal(size=9_800), np.full(200, np.nan)])
    assert same["psi"] < 0.02 and same["missing"] == pytest.approx(0.02)
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    assert psi(p, q) == pytest.approx(np.sum((q - p) * np.log(q / p)))


def test_level_drift_matches_scipy():
    rng = np.random.default_rng(1)
    train = pd.Series(rng.choice(list("abcde"), 10_000, p=[0.4, 0.3, 0.2, 0.05, 0.05]), dtype=object)
    train[:100] = None
    cur = pd.Series(rng.choice(list("abcdf"), 4_000, p=[0.2, 0.3, 0.2, 0.2, 0.1]), dtype=object)
    d = level_drift(level_reference(train), cur)
    table = pd.crosstab(np.r_[np.zeros(len(train)), np.ones(len(cur))], pd.concat([train, cur]).fillna("<na>"))
    chi2, pvalue, _, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    # the reference's bins: its levels, "other" (f is unseen), missing — the same split as the crosstab here
    assert d["chi2"] == pytest.approx(chi2, rel=1e-9) and d["chi2_pvalue"] == pytest.approx(pvalue, abs=1e-12)
    counts_ref = table.iloc[0].to_numpy(float)
    counts_cur = table.iloc[1].to_numpy(float)
    assert d["js"] == pytest.approx(jensenshannon(counts_ref / counts_ref.sum(), counts_cur / counts_cur.sum(), base=2))
    assert d["unseen"] == pytest.approx((cur == "f").mean())
    assert d["psi"] > 0.2


# ------------------------------------------------------------------ reference statistics with the model
def test_reference_is_saved_with_the_model_and_follows_calibration(binary_model, tmp_path):
    ref = binary_model.reference_
    assert ref["rows"] == 400 and {"x1", "x2", "color", "city", "flag"} <= set(ref["columns"])
    assert ref["columns"]["x1"]["type"] == "numeric" and ref["columns"]["color"]["type"] == "levels"
    assert ref["columns"]["color"]["missing"] == pytest.approx(0.05, abs=0.03)
    assert ref["output"]["name"] == "p_yes" and len(ref["output"]["quantiles"]) == 501
    path = binary_model.save(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    assert "reference.json" in manifest["files"]  # hashed like every file of the model
    assert mlwright.load(path).reference_ == json.loads(json.dumps(ref))
    raw = ref["output_raw"]
    binary_model.calibrate("sigmoid")
    try:
        calibrated = binary_model.reference_["output"]
        assert calibrated["counts"] == raw["counts"] and calibrated["edges"] != raw["edges"]
    finally:
        binary_model.calibrate(None)
    assert binary_model.reference_["output"]["edges"] == raw["edges"]


# ------------------------------------------------------------------ the monitor over a real service
class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_monitor_over_the_prediction_log(binary_model, binary_df, tmp_path):
    from mlwright.serving import ServeConfig, create_app, load_models
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    path = binary_model.save(tmp_path / "churn")
    store = Store()
    log = PredictionLog(store, interval=0.05)
    app = create_app(load_models([str(path)]), ServeConfig(token=TOKEN), log)
    fresh = make_table(400, "binary", seed=7)  # new rows from the training distribution (not the training rows:
    X = fresh.drop(columns="label")  # a model predicts those more confidently than unseen ones)
    shifted = X.assign(x1=X["x1"] + 3.0, color=X["color"].replace({"red": "purple"}))
    url = "/v1/models/churn/predict"
    with Server(app) as c:
        a = c.post(url, json={"records": json.loads(X.to_json(orient="records"))}, headers=AUTH)
        assert a.status_code == 200
        # just past the next 2-second boundary (windows are cut at multiples of their width): the error and the
        # shifted rows land together in a later window, however long the first request took
        time.sleep(2.0 - time.time() % 2.0 + 0.02)
        assert c.post(url, json={"records": [{"x1": "oops"}]}, headers=AUTH).status_code == 422
        b = c.post(url, json={"records": json.loads(shifted.to_json(orient="records"))}, headers=AUTH)
        assert b.status_code == 200
        # ground truth for the first request's rows (the true labels) and half of the second's
        ids_a, ids_b = a.json()["prediction_ids"], b.json()["prediction_ids"]
        items = [{"prediction_id": i, "actual": y} for i, y in zip(ids_a, fresh["label"])]
        items += [{"prediction_id": i, "actual": "no"} for i in ids_b[:200]]
        r = c.post("/v1/models/churn/feedback", json={"feedback": items}, headers=AUTH)
        assert r.status_code == 200 and r.json() == {"stored": 600}
        assert c.post("/v1/models/churn/feedback", json={"feedback": items[:1]}).status_code == 401
        bad = c.post(
            "/v1/models/churn/feedback",
            json={"feedback": [{"prediction_id": ids_a[0], "actual": "maybe"}, {"prediction_id": "x", "actual": "no"}]},
            headers=AUTH,
        )
        assert bad.status_code == 422 and set(bad.json()["columns"]) == {ids_a[0], "x"}
        log.flush()
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    cfg = MonitorConfig(window="2s", min_rows=50, alerts={"drift_share": 0.3, "unseen": 0.1},
                        webhook=f"http://127.0.0.1:{hook.server_port}/alert")  # fmt: skip
    res = monitor_model(str(path), cfg)
    assert len(res.windows) == 2
    first, second = res.windows
    assert first["rows"] == 400 and not first["dataset_drift"] and first["features"]["x1"]["psi"] < 0.1
    assert second["rows"] == 400 and "x1" in second["drifted"] and second["features"]["x1"]["ks"] > 0.5
    assert second["features"]["color"]["unseen"] == pytest.approx((X["color"] == "red").mean())
    assert second["output"]["psi"] > first["output"]["psi"]
    assert second["errors"] == 1 and first["errors"] == 0 and second["error_rate"] == pytest.approx(0.5)
    live = first["live"]
    assert first["labels"] == 400 and live["metric"] == "roc_auc" and live["value"] > 0.8
    assert second["labels"] == 200 and second["live"]["value"] is None  # one class only: no AUC
    assert [a["rule"] for a in res.alerts if a["window"] == second["start"]] == ["drift_share", "unseen"]
    from mlwright.monitoring.alerts import fire_alerts

    fired = fire_alerts(res, cfg.webhook)
    hook.shutdown()
    assert len(fired) == 2 and _Hook.received[-1]["model"] == "churn"
    assert [a["rule"] for a in _Hook.received[-1]["alerts"]] == ["drift_share", "unseen"]

    # the command line: table, JSON, HTML report; feedback from a file
    runner = CliRunner()
    from mlwright.cli import app as cli

    html = tmp_path / "monitor.html"
    r = runner.invoke(cli, ["monitor", str(path), "--window", "2s", "--html", str(html)])
    assert r.exit_code == 0, r.output
    assert "churn" in r.output and "x1" in r.output
    page = html.read_text()
    assert "Monitoring: churn" in page and "data:image/png;base64" in page
    r = runner.invoke(cli, ["monitor", str(path), "--window", "2s", "--json"])
    assert json.loads(r.stdout)["windows"][1]["drifted"][0] in ("x1", "color")
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"prediction_id": ids_b[200:], "label": ["yes"] * 200}).to_csv(labels, index=False)
    r = runner.invoke(cli, ["feedback", str(path), str(labels)])
    assert r.exit_code == 0 and "stored 200" in r.output
    assert monitor_model(str(path), MonitorConfig(window="2s")).windows[1]["labels"] == 400
    # live traffic as the reference: the first window (of each version), or a period of the log
    live_ref = monitor_model(str(path), MonitorConfig(window="2s", min_rows=50, reference="first")).windows
    assert "reference period" in live_ref[0]["note"] and "features" not in live_ref[0]
    assert "x1" in live_ref[1]["drifted"] and live_ref[1]["features"]["x1"]["psi"] > 1
    assert live_ref[1]["features"]["color"]["unseen"] == pytest.approx((X["color"] == "red").mean())
    period = MonitorConfig(window="2s", min_rows=50, reference=f"{first['start']}/{first['end']}")
    same = monitor_model(str(path), period, since=second["start"]).windows
    assert len(same) == 1 and same[0]["features"]["x1"]["psi"] == pytest.approx(live_ref[1]["features"]["x1"]["psi"])
    r = runner.invoke(cli, ["monitor", str(path), "--window", "2s", "--reference", "first", "--json"])
    assert r.exit_code == 0 and "x1" in json.loads(r.stdout)["windows"][1]["drifted"]
    r = runner.invoke(cli, ["monitor", str(path), "--reference", "last week"])
    assert r.exit_code == 2 and "not 'training', 'first' or a period" in r.output
    pd.DataFrame({"prediction_id": ids_b[:1], "label": ["perhaps"]}).to_csv(labels, index=False)
    r = runner.invoke(cli, ["feedback", str(path), str(labels)])
    assert r.exit_code == 2 and "not one of the model's classes" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["monitor", str(path), "--window", "soon"])
    assert r.exit_code == 2 and "not a duration" in r.output


@pytest.mark.slow
def test_shadow_scores_the_same_requests_without_answering(binary_model, binary_df, tmp_path):
    from mlwright.errors import ConfigError
    from mlwright.registry import Registry
    from mlwright.serving import ServeConfig, create_app, load_models
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    from .conftest import quick_fit

    reg = Registry()
    reg.register(binary_model.save(tmp_path / "a"), "m", alias="champion")
    other = quick_fit(binary_df, families=["rf"], max_trials=1)
    reg.register(other.save(tmp_path / "b"), "m", alias="challenger")
    log = PredictionLog(Store(), interval=0.05)
    app = create_app(load_models(["m@champion"], shadows=["m@challenger"]), ServeConfig(token=TOKEN), log)
    rows = make_table(120, "binary", seed=11)
    with Server(app) as c:
        body = {"records": json.loads(rows.drop(columns="label").to_json(orient="records"))}
        r = c.post("/v1/models/m/predict", json=body, headers=AUTH)
        assert r.status_code == 200 and r.json()["version"] == "1"  # the champion answers
        ids = r.json()["prediction_ids"]
        items = [{"prediction_id": i, "actual": y} for i, y in zip(ids, rows["label"])]
        assert c.post("/v1/models/m/feedback", json={"feedback": items}, headers=AUTH).status_code == 200
        deadline = time.monotonic() + 20
        while log.written < 2 and time.monotonic() < deadline:  # the shadow scores after the answer
            time.sleep(0.05)
        log.flush()
        # a new challenger is shadowed from the next check on; swapping the champion keeps the shadow
        reg.register(tmp_path / "a", "m", alias="challenger")  # version 3
        res = c.post("/v1/models/m/reload", headers=AUTH).json()
        assert not res["changed"] and res["shadow"]["changed"] and res["shadow"]["version"] == "3"
        reg.promote("m", 2)
        res = c.post("/v1/models/m/reload", headers=AUTH).json()
        assert res["changed"] and res["version"] == "2" and not res["shadow"]["changed"]
        r = c.post("/v1/models/m/predict", json={"records": body["records"][:5]}, headers=AUTH)
        assert r.json()["version"] == "2"
        while log.written < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        log.flush()
    champions = monitor_model("m", MonitorConfig(window="1d", min_rows=10)).windows
    shadows = monitor_model("m:shadow", MonitorConfig(window="1d", min_rows=10)).windows
    if champions[0]["start"] != champions[-1]["start"]:  # a test run that crossed midnight
        pytest.skip("the requests fell into two daily windows")
    # one entry per version that served in the window, each judged against its own reference
    assert [(w["version"], w["rows"]) for w in champions] == [("1", 120), ("2", 5)]
    assert [(w["version"], w["rows"]) for w in shadows] == [("2", 120), ("3", 5)]
    champion, shadow = champions[0], shadows[0]
    assert champion["features"] and shadow["features"] and champion["output"] != shadow["output"]
    assert champion["labels"] == shadow["labels"] == 120  # one label serves both: same prediction ids
    assert shadow["live"]["scores"]["log_loss"] != champion["live"]["scores"]["log_loss"]  # two models, same rows
    with pytest.raises(ConfigError, match="no served model is named 'm'"):
        load_models([str(tmp_path / "a")], shadows=["m@challenger"])


def test_log_batches_are_arrow_and_the_first_parquet_ones_still_read():
    import io

    from mlwright.serving.predlog import _encode, decode_table

    df = pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", None, "x"], "c": ["3", 3, None]})
    blob = _encode(df)
    assert blob[:4] != b"PAR1"
    back = decode_table(blob).to_pandas()
    assert back["a"].isna().tolist() == [False, True, False] and back["b"].astype(object).tolist()[::2] == ["x", "x"]
    assert back["c"].astype(object).tolist()[:2] == ["3", "3"]  # mixed "3"/3: one type per column
    buf = io.BytesIO()
    df[["a", "b"]].to_parquet(buf, index=False)
    assert decode_table(buf.getvalue()).to_pandas().equals(df[["a", "b"]])
