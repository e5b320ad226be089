"""Global gradient-boosted forecasters: one LightGBM model over all series (mlforecast), on lags, a rolling
mean, calendar features, the known covariates, the past covariates ``h`` steps back (``<name>_lag<h>``:
known for every step of the horizon, since each looks back to the history) and the static columns.

Two styles: ``recursive`` (short lags, the target log-transformed when positive, differenced and scaled per
series; each step's forecast feeds the next) and ``seasonal`` (lags of whole seasons at least ``h`` back, so
no forecast feeds another — in effect a direct model; the level scaled per series).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import TrialOutOfTimeError
from mlwright.forecast.frame import ID, SeriesFrame, future_stamps
from mlwright.forecast.local import fallback_forecast as _fallback
from mlwright.forecast.members import Candidate, Run, Windows

__all__ = [
    "build_forecaster",
    "feature_plan",
    "future_grid",
    "past_lags",
    "predict_global",
    "restore_global",
    "run_global",
    "with_past",
]


def _week(dates: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(dates.isocalendar().week, dtype=np.int32)


def _calendar(freq: str) -> list[Any]:
    base = freq.split("-")[0].lstrip("0123456789")
    if base in ("MS", "ME", "M"):
        return ["month"]
    if base in ("QS", "QE", "Q"):
        return ["quarter"]
    if base == "W":
        return [_week]
    if base in ("D", "B"):
        return ["dayofweek", "month", "dayofyear"]
    if base in ("h", "H"):
        return ["hour", "dayofweek"]
    if base in ("min", "T", "s"):
        return ["hour", "minute", "dayofweek"]
    return []


def feature_plan(style: str, m: int, h: int, min_len: int) -> dict[str, Any]:
    """Lags and transforms of a style, fitted to the season, horizon and the shortest series."""
    if style == "seasonal":
        base = max(m, 1)
        lags = [k * base for k in range(1, 100) if k * base >= h][:2]
        lags = [x for x in lags if x < max(min_len // 2, 2)] or [max(h, 1)]
        return {"lags": lags, "rolling": None, "log": False, "diff": False}
    short = list(range(1, min(max(m, 4), 12) + 1))
    extra = [x for x in (m, 2 * m) if m > 1 and x not in short]
    lags = [x for x in short + extra if x < max(min_len // 2, 2)] or [1]
    return {"lags": lags, "rolling": max(m, 4), "log": True, "diff": True}


def build_forecaster(plan: dict[str, Any], freq: str, n_jobs: int, seed: int, n_rows: int, positive: bool) -> Any:
    """An unfitted MLForecast with one LightGBM model."""
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import Differences, GlobalSklearnTransformer, LocalStandardScaler
    from sklearn.preprocessing import FunctionTransformer

    transforms: list[Any] = []
    if plan["log"] and positive:
        transforms.append(GlobalSklearnTransformer(FunctionTransformer(np.log, np.exp)))
    if plan["diff"]:
        transforms.append(Differences([1]))
    transforms.append(LocalStandardScaler())
    model = lgb.LGBMRegressor(
        n_estimators=300 if n_rows > 2000 else 150,
        learning_rate=0.05,
        num_leaves=31 if n_rows > 2000 else 15,
        min_child_samples=max(5, min(20, n_rows // 50)),
        subsample=0.9,
        subsample_freq=1,
        colsample_bytree=0.9,
        random_state=seed,
        n_jobs=n_jobs,
        verbosity=-1,
    )
    lag_transforms = {1: [RollingMean(window_size=plan["rolling"])]} if plan["rolling"] and plan["diff"] else None
    return MLForecast(
        models={"lgb": model},
        freq=freq,
        lags=plan["lags"],
        lag_transforms=lag_transforms,
        date_features=_calendar(freq),
        target_transforms=transforms,
        num_threads=1,
    )


def past_lags(frame: SeriesFrame, h: int) -> list[str]:
    """The names of the past covariates' lag-``h`` features."""
    return [f"{c}_lag{h}" for c in frame.past]


def with_past(frame: SeriesFrame, X: pd.DataFrame | None, grid: pd.DataFrame, h: int) -> pd.DataFrame | None:
    """The future's exogenous rows (``X``: the known covariates on ``grid``, or None) with the past covariates'
    lag-``h`` values added: step ``k`` after a series' end reads the value ``h - k`` steps before it."""
    if not frame.past:
        return X
    base = grid[[ID, "ds"]] if X is None else X
    parts = []
    for uid, g in frame.df.groupby(ID, sort=False):
        stamps = future_stamps(g["ds"].iloc[-1], frame.freq, h)
        part = pd.DataFrame({ID: uid, "ds": stamps})
        for c, name in zip(frame.past, past_lags(frame, h)):
            tail = g[c].to_numpy(dtype=float)[-h:]
            part[name] = np.r_[np.full(h - len(tail), np.nan), tail]
        parts.append(part)
    return base.merge(pd.concat(parts, ignore_index=True), on=[ID, "ds"], how="left")


def _train_frame(frame: SeriesFrame, h: int | None) -> tuple[pd.DataFrame, list[str]]:
    df = frame.df[[ID, "ds", "y", *frame.known]].copy()
    for c, name in zip(frame.past, past_lags(frame, h) if h else []):  # the value h steps back: known at any origin
        df[name] = frame.df.groupby(ID, sort=False)[c].shift(h).to_numpy()
    statics: list[str] = []
    if frame.statics is not None:
        st = frame.statics.copy()
        for c in st.columns[1:]:
            st[c] = pd.Categorical(st[c].astype(str)).codes.astype(np.int32)
            statics.append(c)
        df = df.merge(st, on=ID, how="left")
    return df, statics


def _fit_predict(
    cand: Candidate, frame: SeriesFrame, train: pd.DataFrame, statics: list[str], h: int, n_jobs: int, seed: int
) -> tuple[Any, dict[str, Any]]:
    min_len = int(train.groupby(ID, sort=False).size().min())
    plan = feature_plan(cand.params["style"], frame.m, h, min_len)
    mlf = build_forecaster(plan, frame.freq, n_jobs, seed, len(train), bool((train["y"] > 0).all()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlf.fit(train, static_features=statics)
    return mlf, plan


def _window_train(train: pd.DataFrame, ends: np.ndarray, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history before each series' window end, and the rows of the window itself."""
    pos = train.groupby(ID, sort=False).cumcount().to_numpy()
    end_of = pd.Series(ends, index=ids)
    e = end_of.reindex(train[ID]).to_numpy()
    hist = train[(e >= 0) & (pos < e)]
    test = train[(e >= 0) & (pos >= e)]
    return hist, test


def run_global(
    cand: Candidate, frame: SeriesFrame, windows: Windows, deadline: float, n_jobs: int = 1, seed: int = 0
) -> Run:
    """Backtest a global model window by window, then fit it on all the history."""
    train, statics = _train_frame(frame, windows.h)
    ids = frame.ids
    h, W, S = windows.h, windows.n, len(ids)
    bt = np.full((W, S, h), np.nan)
    index = {u: i for i, u in enumerate(ids)}
    fallbacks = 0
    for w in range(W):
        if time.monotonic() > deadline:
            raise TrialOutOfTimeError(f"{cand.name} did not finish its backtest within the time budget")
        hist, test = _window_train(train, windows.ends[w], ids)
        test = test.groupby(ID, sort=False).head(h)
        try:
            mlf, _ = _fit_predict(cand, frame, hist, statics, h, n_jobs, seed)
            exog = [*frame.known, *past_lags(frame, h)]
            X = test[[ID, "ds", *exog]] if exog else None
            pred = mlf.predict(h, X_df=X)
        except ValueError:  # too little history left for the lags: the seasonal naive stands in
            fallbacks += 1
            for uid, g in hist.groupby(ID, sort=False):
                bt[w, index[uid]] = _fallback(g["y"].to_numpy(dtype=float), h, frame.m, [])["mean"]
            continue
        for uid, g in pred.groupby(ID, sort=False):
            vals = g["lgb"].to_numpy(dtype=float)
            bt[w, index[uid], : len(vals)] = vals
    if time.monotonic() > deadline:
        raise TrialOutOfTimeError(f"{cand.name} did not finish its backtest within the time budget")
    mlf, plan = _fit_predict(cand, frame, train, statics, h, n_jobs, seed)
    plan["horizon"] = h  # the past covariates' lag
    future = None
    if not frame.known:
        future = predict_global(mlf, frame, with_past(frame, None, future_grid(frame, h), h), h, ids)
    run = Run(cand.name, "global", bt, None, future, None, 0.0, state=mlf, fallbacks=fallbacks)
    run.params = {**cand.params, "plan": plan}
    return run


def restore_global(plan: dict[str, Any], frame: SeriesFrame, model: Any, n_jobs: int = 1) -> Any:
    """A fitted global model rebuilt from its plan, the history and its booster (no refit)."""
    train, statics = _train_frame(frame, plan.get("horizon"))  # None: saved before past covariates were used
    mlf = build_forecaster(plan, frame.freq, n_jobs, 0, len(train), bool((train["y"] > 0).all()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlf.preprocess(train, static_features=statics)
    mlf.models_ = {"lgb": model}
    return mlf


def predict_global(
    mlf: Any, frame: SeriesFrame, known_future: pd.DataFrame | None, h: int, ids: list[str]
) -> np.ndarray:
    """``(S, h)`` forecasts of a fitted global model (the known covariates of the future steps given)."""
    pred = mlf.predict(h, X_df=known_future, ids=list(ids))
    out = np.full((len(ids), h), np.nan)
    index = {u: i for i, u in enumerate(ids)}
    for uid, g in pred.groupby(ID, sort=False):
        if uid in index:
            out[index[uid]] = g["lgb"].to_numpy(dtype=float)[:h]
    return out


def future_grid(frame: SeriesFrame, h: int) -> pd.DataFrame:
    """``unique_id`` and ``ds`` of the ``h`` steps after each series' end."""
    last = frame.df.groupby(ID, sort=False)["ds"].max()
    parts = [pd.DataFrame({ID: uid, "ds": future_stamps(t, frame.freq, h)}) for uid, t in last.items()]
    return pd.concat(parts, ignore_index=True)
