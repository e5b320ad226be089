"""The model families a forecaster tries, and running one over the backtest windows and the full history.

Local models (statsforecast: one fit per series) and global gradient-boosted models (mlforecast on LightGBM,
one model over all series on lag, rolling, calendar, covariate and static features).  A run returns the
family's forecasts on every backtest window and — when it needs no future covariates — on the future; a
global model also keeps its fitted state to forecast once the future covariates are given.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlwright.errors import TrialOutOfTimeError
from mlwright.forecast.frame import ID, SeriesFrame

__all__ = [
    "Candidate",
    "Run",
    "Windows",
    "candidates",
    "levels_for",
    "make_windows",
    "run_local",
]

INTERMITTENT_ZEROS = 0.3  # share of zeros from which a series counts as intermittent demand
ETS_MAX_SEASON = 24  # statsforecast's ETS (like R's) does not model longer seasons
ARIMA_MAX_SEASON = 52  # seasonal ARIMA beyond a weekly-of-year season is too slow for a budget
ARIMA_MAX_POINTS = 2_000  # per series: longer histories make the order search too slow for a budget


@dataclass
class Windows:
    """Rolling-origin backtest windows: window ``w`` trains series ``i`` on its first ``ends[w, i]`` points and
    tests on the next ``h`` (``ends < 0``: the series is too short for that window)."""

    h: int
    ends: np.ndarray  # (W, S) int

    @property
    def n(self) -> int:
        return int(self.ends.shape[0])


def make_windows(lengths: np.ndarray, h: int, m: int, max_windows: int) -> Windows:
    """Up to ``max_windows`` windows of ``h`` steps ending at each series' end, each series keeping at least
    ``max(3m, 16)`` training points (two seasons when that leaves no window; fewer windows for short series)."""
    min_train = max(3 * m if m > 1 else 0, 16)
    if not (lengths - h >= min_train).any():
        min_train = max(2 * m if m > 1 else 0, 8)
    ends = np.full((max_windows, len(lengths)), -1, dtype=int)
    for w in range(max_windows):
        back = (max_windows - w) * h
        e = lengths - back
        ends[w] = np.where(e >= min_train, e, -1)
    keep = (ends >= 0).any(axis=1)
    return Windows(h=h, ends=ends[keep])


def levels_for(quantiles: list[float]) -> list[int]:
    """statsforecast interval levels (percent) that give these quantiles."""
    return sorted({round(abs(2 * q - 1) * 100) for q in quantiles} - {0})


@dataclass
class Candidate:
    """One family with its settings."""

    name: str
    kind: str  # "local" | "global"
    make: Callable[[], Any]
    uses_covariates: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """What one candidate produced."""

    name: str
    kind: str
    backtest: np.ndarray  # (W, S, h) point forecasts, NaN where a series has no window
    backtest_q: np.ndarray | None  # (W, S, h, Q) its own quantiles, or None
    future: np.ndarray | None  # (S, h), None until the future covariates are known
    future_q: np.ndarray | None
    seconds: float
    state: Any = None  # a global model's fitted MLForecast (forecasts once the future covariates are given)
    fallbacks: int = 0  # series where the model failed and the seasonal naive stood in
    params: dict[str, Any] = field(default_factory=dict)


def _positive(frame: SeriesFrame) -> bool:
    return bool((frame.df["y"] > 0).all())


def candidates(frame: SeriesFrame, h: int) -> list[Candidate]:
    """The families worth trying on this frame, cheapest first."""
    from statsforecast.models import (
        MSTL,
        AutoARIMA,
        AutoETS,
        AutoTheta,
        CrostonOptimized,
        Naive,
        SeasonalNaive,
    )

    m, seasons = frame.m, frame.seasons
    lengths = frame.lengths().to_numpy()
    out = [Candidate("SeasonalNaive", "local", lambda: SeasonalNaive(season_length=m))] if m > 1 else []
    out.append(Candidate("Naive", "local", Naive))
    zeros = float((frame.df["y"] == 0).mean())
    if zeros >= INTERMITTENT_ZEROS:
        out.append(Candidate("CrostonOptimized", "local", CrostonOptimized))
    out.append(Candidate("AutoTheta", "local", lambda: AutoTheta(season_length=m)))
    positive = _positive(frame)
    if positive and m > 1:
        out.append(Candidate("AutoTheta-log", "local", lambda: AutoTheta(season_length=m), params={"log": True}))
    out.append(Candidate("LightGBM", "global", lambda: None, bool(frame.known), {"style": "recursive"}))
    ets_m = m if m <= ETS_MAX_SEASON else 1  # longer seasons: a non-seasonal ETS, as R's ets does
    out.append(Candidate("AutoETS", "local", lambda: AutoETS(season_length=ets_m)))
    if positive:
        out.append(Candidate("AutoETS-damped", "local", lambda: AutoETS(season_length=ets_m, damped=True)))
    if m > ETS_MAX_SEASON or len(seasons) > 1:
        out.append(
            Candidate("MSTL", "local", lambda: MSTL(season_length=list(seasons), trend_forecaster=AutoETS(model="ZZN")))
        )
    if h >= 2 and len(lengths) and np.median(lengths) > 2 * h:
        out.append(Candidate("LightGBM-seasonal", "global", lambda: None, bool(frame.known), {"style": "seasonal"}))
    arima_m = m if m <= ARIMA_MAX_SEASON else 1
    if np.median(lengths) <= ARIMA_MAX_POINTS:
        out.append(Candidate("AutoARIMA", "local", lambda: AutoARIMA(season_length=arima_m)))
        if positive and arima_m > 1:
            out.append(
                Candidate("AutoARIMA-log", "local", lambda: AutoARIMA(season_length=arima_m), params={"log": True})
            )
    return out


def _series(frame: SeriesFrame) -> list[np.ndarray]:
    return [g.to_numpy(dtype=float) for _, g in frame.df.groupby(ID, sort=False)["y"]]


def run_local(
    cand: Candidate, frame: SeriesFrame, windows: Windows, quantiles: list[float], deadline: float, n_jobs: int
) -> Run:
    from mlwright.forecast.local import MIN_PARALLEL_SERIES, run_local_chunks

    ys = _series(frame)
    job = {
        "name": cand.name,
        "make": cand.make,
        "h": windows.h,
        "m": frame.m,
        "quantiles": quantiles,
        "levels": levels_for(quantiles),
        "deadline": deadline,
        "log": bool(cand.params.get("log")),
    }
    expected = 0.0
    if n_jobs > 1 and len(ys) >= MIN_PARALLEL_SERIES:
        # a first fit on the longest series tells whether splitting the work over two processes is worth it
        if time.monotonic() > deadline:
            raise TrialOutOfTimeError(f"{cand.name} did not start within the time budget")
        t0 = time.monotonic()
        longest = int(np.argmax([len(y) for y in ys]))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with contextlib.suppress(Exception):  # the run's own fallback handles a series the model cannot fit
                cand.make().forecast(ys[longest], windows.h)
        expected = (time.monotonic() - t0) * len(ys) * (windows.n + 1)
    bt, btq, fut, futq, fallbacks = run_local_chunks(job, ys, windows.ends, n_jobs, expected)
    return Run(cand.name, "local", bt, btq, fut, futq, 0.0, fallbacks=int(fallbacks[0]))
