"""``Forecaster``: forecast many series at once under one time budget — statistical models per series and
global gradient-boosted models, backtested on rolling origins, ensembled, with calibrated quantiles."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import Schema
from mlwright.errors import BudgetExhaustedError, ConfigError, NotFittedError, TrialOutOfTimeError
from mlwright.forecast import ensemble
from mlwright.forecast.frame import ID, SEP, SeriesFrame, frame_series
from mlwright.forecast.members import Run, candidates, make_windows
from mlwright.forecast.metrics import METRICS, per_series_mase, recent_scale, scales
from mlwright.forecast.runner import run_candidate

__all__ = ["DEFAULT_QUANTILES", "Forecaster"]

DEFAULT_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
RESERVE = 0.08  # share of the budget kept for choosing the ensemble and the quantiles


def _check_params(horizon: Any, time_budget: Any, quantiles: Any, metric: str) -> list[float]:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"horizon must be a whole number of steps ≥ 1, got {horizon!r}")
    if not isinstance(time_budget, (int, float)) or time_budget <= 0:
        raise ConfigError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    if metric not in METRICS:
        raise ConfigError(f"unknown forecast metric {metric!r}; choose one of {', '.join(METRICS)}")
    qs = [float(q) for q in quantiles]
    if not qs or any(not 0 < q < 1 for q in qs):
        raise ConfigError(f"quantiles must lie strictly between 0 and 1, got {list(quantiles)!r}")
    return sorted(set(qs))


class Forecaster:
    """Forecast the next ``horizon`` steps of one or many series.

    Parameters
    ----------
    horizon : int
        How many steps ahead to forecast.
    time_budget : float
        Seconds for the whole fit (backtests, ensemble, quantiles).
    seed : int
        Seed of the randomised models.
    n_jobs : int or None
        Cores for the global models (None: all usable cores).
    quantiles : sequence of float
        Quantile levels to forecast besides the mean.
    workdir : str or Path or None
        A folder for scratch files (unused for now; kept for the harness contract).
    metric : str
        What the backtests rank models by: ``mase`` (default), ``rmsse``, ``smape`` or ``wql``.
    models : list of str or None
        Restrict the families tried (names as in the leaderboard); None tries every one that fits the data.
    max_windows : int or None
        Backtest windows (rolling origins); None: 2–5 by the amount of data.
    """

    kind = "forecast"

    def __init__(
        self,
        horizon: int,
        time_budget: float = 60.0,
        seed: int = 0,
        n_jobs: int | None = None,
        quantiles: tuple[float, ...] | list[float] = DEFAULT_QUANTILES,
        workdir: str | Path | None = None,
        metric: str = "mase",
        models: list[str] | None = None,
        max_windows: int | None = None,
    ) -> None:
        self.horizon = horizon
        self.time_budget = time_budget
        self.seed = seed
        self.n_jobs = n_jobs
        self.quantiles = quantiles
        self.workdir = workdir
        self.metric = metric
        self.models = models
        self.max_windows = max_windows

    # ------------------------------------------------------------------------------------------ fitting
    def fit(
        self,
        data: pd.DataFrame | str | Path,
        target: str,
        time_column: str,
        id_columns: list[str] | str | None = None,
        known_covariates: list[str] | None = None,
        past_covariates: list[str] | None = None,
        static_columns: list[str] | None = None,
        freq: str | None = None,
    ) -> Forecaster:
        """Frame the series, backtest every family within the budget, choose the ensemble and its quantiles.

        Parameters
        ----------
        data : DataFrame or path
            A long table: one row per series and time step.
        target : str
            The column to forecast.
        time_column : str
            The time stamps (a regular frequency, inferred; gaps are filled and reported).
        id_columns : list of str, optional
            Columns naming the series (none: one series).
        known_covariates : list of str, optional
            Numeric columns whose future values are known (prices, holidays); ``predict`` then needs them.
        past_covariates : list of str, optional
            Numeric columns known only up to now (sensors, web traffic): the global models read each one
            ``horizon`` steps back, a value that is known for every step they forecast.
        static_columns : list of str, optional
            One value per series (region, product type), used by the global models.
        freq : str, optional
            pandas frequency alias, when inference should be overridden.

        Returns
        -------
        Forecaster
            ``self``, fitted.
        """
        start = time.monotonic()
        qs = _check_params(self.horizon, self.time_budget, self.quantiles, self.metric)
        if isinstance(id_columns, str):
            id_columns = [id_columns]
        if isinstance(data, (str, Path)):
            from mlwright.data.sources import read_table

            data = read_table(data)
        frame = frame_series(
            data,
            target=target,
            time_column=time_column,
            id_columns=id_columns,
            known_covariates=known_covariates,
            past_covariates=past_covariates,
            static_columns=static_columns,
            freq=freq,
        )
        h = int(self.horizon)
        deadline = start + float(self.time_budget) * (1 - RESERVE)
        self._fit_frame(frame, h, qs, deadline)
        self.fit_seconds_ = time.monotonic() - start
        return self

    def _fit_frame(self, frame: SeriesFrame, h: int, qs: list[float], deadline: float) -> None:
        from mlwright.budget import resolve_jobs

        lengths = frame.lengths().to_numpy()
        n_windows = self.max_windows or int(np.clip(np.ceil(240 / (len(lengths) * h)), 2, 5))
        windows = make_windows(lengths, h, frame.m, n_windows)
        ys = [g.to_numpy(dtype=float) for _, g in frame.df.groupby(ID, sort=False)["y"]]
        actual, scale, mase_scale, future_scale = _backtest_targets(ys, windows.ends, frame.m, h)
        cands = [c for c in candidates(frame, h) if self.models is None or c.name in self.models]
        if not cands:
            raise ConfigError(f"none of the models {self.models!r} applies; leave models=None to try all")
        runs: dict[str, Run] = {}
        log: list[dict[str, Any]] = []
        jobs = resolve_jobs(self.n_jobs)
        for cand in cands:
            if windows.n == 0 and cand.kind == "global":
                continue
            try:
                run = run_candidate(cand, frame, windows, qs, deadline, n_jobs=jobs, seed=self.seed)
            except TrialOutOfTimeError:
                log.append({"model": cand.name, "status": "out of time"})
                continue
            runs[cand.name] = run
            log.append({"model": cand.name, "status": "ok", "seconds": round(run.seconds, 3)})
        if not runs:
            raise BudgetExhaustedError(
                f"no forecasting model finished within time_budget={self.time_budget}s; raise the budget"
            )
        if windows.n == 0:  # too short to backtest: a fixed, robust mix of what ran, with its own intervals
            pick = [n for n in ("AutoETS", "AutoTheta", "SeasonalNaive", "Naive") if n in runs][:2] or list(runs)[:1]
            weights = {n: 1 / len(pick) for n in pick}
            spread = sum(w * (runs[n].future_q - runs[n].future[..., None]) for n, w in weights.items())
            blend = ensemble.Blend(weights, "native", factors=[1.0] * len(qs), spread=spread)
            per_window = []
        else:
            strategy, weights, per_window, nested_scores = ensemble.choose_strategy(
                list(runs.values()), actual, mase_scale
            )
            log.append({"strategy": strategy, "nested": {k: round(v, 4) for k, v in nested_scores.items()}})
            blend = ensemble.calibrate(runs, weights, actual, scale, future_scale, qs, per_window)
        self.frame_ = frame
        self.runs_ = {n: runs[n] for n in weights}
        self.blend_ = blend
        self.windows_ = windows
        self.n_windows_ = int(windows.n)
        self._grid = self._cache = None
        self.quantiles_ = qs
        self.horizon_ = h
        self.leaderboard_ = _board(runs, weights, actual, mase_scale, per_window)
        self.backtest_ = _backtest_summary(runs, weights, per_window, actual, mase_scale, frame.ids)
        self.newest_window_ = _newest_window(runs, per_window or [weights], actual, mase_scale) if windows.n else None
        self.fit_log_ = log
        self.findings_ = list(frame.findings)

    # ------------------------------------------------------------------------------------------ predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "runs_"):
            raise NotFittedError("this Forecaster is not fitted yet; call fit(data, target=…, time_column=…) first")

    def predict(self, known_future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast the ``horizon`` steps after the end of every series.

        Parameters
        ----------
        known_future : DataFrame, optional
            The id columns, the time column and the known covariates of the future steps of every series
            (required when the model was fitted with known covariates).

        Returns
        -------
        DataFrame
            The id columns, the time column, ``mean`` and one column per quantile (``"0.1"`` …).
        """
        self._check_fitted()
        from mlwright.forecast.scoring import series_forecast

        grid, mean, q = series_forecast(self, None, self.horizon_, known_future)
        return self._table(grid, mean, q)

    def _table(self, grid: pd.DataFrame, mean: np.ndarray, q: np.ndarray) -> pd.DataFrame:
        frame = self.frame_
        out = pd.DataFrame()
        ids = grid[ID].astype(str)
        if frame.id_columns:
            parts = ids.str.split(SEP, n=len(frame.id_columns) - 1, expand=True, regex=False)
            for j, c in enumerate(frame.id_columns):
                out[c] = parts[j] if len(frame.id_columns) > 1 else ids
        else:
            out["series"] = ids
        out[frame.time_column] = grid["ds"].to_numpy()
        out["mean"] = mean.reshape(-1)
        for j, lv in enumerate(self.quantiles_):
            out[f"{lv:g}"] = q[..., j].reshape(-1)
        return out

    # ------------------------------------------------------------------------------------------ predictor protocol
    @property
    def schema_(self) -> Schema:
        """What a request row holds (see :mod:`mlwright.forecast.scoring`): the id columns, the time column and
        the known covariates; task ``"forecast"``."""
        self._check_fitted()
        from mlwright.forecast.scoring import forecast_schema

        return forecast_schema(self.frame_, self.metric)

    @property
    def task_(self) -> str:
        """``"forecast"``."""
        return "forecast"

    @property
    def threshold_(self) -> None:
        """No decision threshold (a forecaster returns values)."""
        return None

    @property
    def reference_(self) -> dict[str, Any] | None:
        """Monitoring's baseline: each series' MASE scale (its in-sample seasonal-naive error), the backtest
        estimate and the quantile levels — what live accuracy from actuals is measured with and against."""
        self._check_fitted()
        frame = self.frame_
        ys = [g.to_numpy(dtype=float) for _, g in frame.df.groupby(ID, sort=False)["y"]]
        full = scales(ys, frame.m)[0]
        board = self.leaderboard_
        return {
            "kind": "forecast",
            "series_scale": {u: (float(s) if np.isfinite(s) else None) for u, s in zip(frame.ids, full)},
            "estimate": {"metric": "mase", "value": float(board["score_val"].iloc[0]) if len(board) else None},
            "quantiles": [float(q) for q in self.quantiles_],
            "horizon": int(self.horizon_),
        }

    @property
    def future_grid_(self) -> pd.DataFrame:
        """``unique_id``, ``ds`` and ``step`` (1 … horizon) of the steps after each series' history."""
        self._check_fitted()
        if getattr(self, "_grid", None) is None:
            from mlwright.forecast.gbm import future_grid

            grid = future_grid(self.frame_, self.horizon_)
            grid["step"] = np.tile(np.arange(1, self.horizon_ + 1), len(self.frame_.ids))
            self._grid = grid
        return self._grid

    def forecast_cache_(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean ``(S, h)`` and quantiles ``(S, h, Q)`` of every series, computed once (models without
        known covariates: the forecast depends on nothing a request sends)."""
        if getattr(self, "_cache", None) is None:
            from mlwright.forecast.scoring import series_forecast

            _, mean, q = series_forecast(self, None, self.horizon_, None)
            self._cache = (mean, q)
        return self._cache

    def validate(self, X: Any) -> pd.DataFrame:
        """Request rows checked and coerced by :attr:`schema_` (a typed, one-line error for what does not fit)."""
        return self.schema_.validate(X.frame() if hasattr(X, "frame") else X)

    def predict_scores(self, X: Any) -> np.ndarray:
        """The mean forecast ``(n,)`` of request rows: each names a series and one of the ``horizon`` time
        stamps after its history (with the known covariates of that step, when the model uses them)."""
        return self.predict_quantiles(X)[0]

    def predict_quantiles(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The mean ``(n,)`` and the quantiles ``(n, Q)`` (levels :attr:`quantiles_`) of request rows ``X``."""
        self._check_fitted()
        from mlwright.forecast.scoring import rows_forecast

        return rows_forecast(self, X)

    def manifest(self) -> dict[str, Any]:
        """Provenance, estimate and schema as saved in ``manifest.json`` (without file hashes)."""
        self._check_fitted()
        from mlwright.forecast.persist import manifest_entries

        return manifest_entries(self)

    # ------------------------------------------------------------------------------------------ persisting
    def get_params(self) -> dict[str, Any]:
        """The constructor's settings (JSON-safe)."""
        return {
            "horizon": int(self.horizon),
            "time_budget": float(self.time_budget),
            "seed": self.seed,
            "n_jobs": self.n_jobs,
            "quantiles": [float(q) for q in self.quantiles],
            "metric": self.metric,
            "models": self.models,
            "max_windows": self.max_windows,
        }

    def save(self, path: str | Path) -> Path:
        """Write the fitted forecaster to a model directory (every file hashed in ``manifest.json``).

        Returns
        -------
        Path
            The model directory; ``mlwright.load(path)`` reads it back.
        """
        from mlwright import artifacts
        from mlwright.forecast.persist import write_forecaster

        self._check_fitted()
        return artifacts.write_dir(path, lambda tmp: write_forecaster(self, tmp))

    @classmethod
    def load(cls, path: str | Path, manifest: dict[str, Any]) -> Forecaster:
        """Rebuild a forecaster from its model directory (verified by SHA-256; use :func:`mlwright.load`)."""
        from mlwright.forecast.gbm import restore_global
        from mlwright.forecast.persist import read_forecaster

        parts = read_forecaster(Path(path), manifest)
        spec = manifest["forecast"]
        known = cls.__init__.__code__.co_varnames
        model = cls(**{k: v for k, v in spec["params"].items() if k in known})
        frame = parts["frame"]
        h = int(spec["horizon"])
        runs: dict[str, Run] = {}
        for name, m in spec["members"].items():
            empty = np.zeros((0, len(frame.ids), h))
            if m.get("booster"):
                state = restore_global(m["params"]["plan"], frame, parts["boosters"][name])
                runs[name] = Run(name, "global", empty, None, None, None, 0.0, state=state, params=m["params"])
            else:
                runs[name] = Run(name, "local", empty, None, parts["fixed"][name], None, 0.0, params=m["params"])
        model.frame_ = frame
        model.runs_ = runs
        model.blend_ = ensemble.Blend(
            dict(spec["weights"]), spec["quantile_method"], list(spec["quantile_factors"]), parts["spread"]
        )
        model.quantiles_ = [float(q) for q in spec["quantiles"]]
        model.horizon_ = h
        model.leaderboard_ = pd.DataFrame(manifest["leaderboard"])
        model.fit_log_ = spec.get("fit_log", [])
        from mlwright.data.findings import Finding

        model.findings_ = [Finding(**f) for f in spec.get("findings", [])]
        model.backtest_ = spec.get("backtest") or {"series": {}, "steps": [], "windows": 0}
        model.windows_ = None
        model.newest_window_ = None  # the backtest's forecasts are not saved: only a fresh fit has them
        model.n_windows_ = int(spec.get("windows", 0))
        model.fit_seconds_ = spec.get("fit_seconds")
        return model

    def report_data(self, known_future: pd.DataFrame | None = None) -> dict[str, Any]:
        """The report's content as plain values: settings, leaderboard, ensemble, backtest per series and step,
        and the charts of the worst and best series (see :mod:`mlwright.forecast.summary`)."""
        self._check_fitted()
        from mlwright.forecast.summary import report_data

        return report_data(self, known_future)

    def report(self, path: str | Path | None = None, known_future: pd.DataFrame | None = None) -> str:
        """The forecast report as one self-contained HTML page (written to ``path`` when given): history,
        forecast and interval per series (the worst and the best by backtest first), the backtest per series and
        per step ahead, the models and the ensemble, the findings.

        Parameters
        ----------
        path : str or Path, optional
            Where to write the page.
        known_future : DataFrame, optional
            The known covariates' future values (needed to chart the forecast of a model that uses them).

        Returns
        -------
        str
            The HTML.
        """
        from mlwright.report.forecast import render_forecast

        html = render_forecast(self.report_data(known_future))
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def leaderboard(self) -> pd.DataFrame:
        """Every model tried, best first: ``model``, ``score_val`` (its backtest MASE), its ensemble weight."""
        self._check_fitted()
        return self.leaderboard_.copy()


def _backtest_targets(
    ys: list[np.ndarray], ends: np.ndarray, m: int, h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The backtest windows' actuals (W, S, h); each series' recent error level before each window (W, S) and
    at the end of its history (S,), which scale the quantile spreads; and the MASE divisor (W, S) that gives
    each window's errors the MASE they would have today — errors over the recent level before the window,
    times today's recent level over the whole history's MASE scale (a growing series' early windows would
    otherwise flatter every model).  NaN where a window has no MASE scale (a constant history)."""
    W, S = ends.shape
    actual = np.full((W, S, h), np.nan)
    scale = np.ones((W, S))
    scalable = np.zeros((W, S), dtype=bool)
    for w in range(W):
        for i, y in enumerate(ys):
            e = ends[w, i]
            if e >= 0:
                actual[w, i, : len(y[e : e + h])] = y[e : e + h]
                scale[w, i] = recent_scale(y[:e], m)
                scalable[w, i] = np.isfinite(scales([y[:e]], m)[0][0])
    future_scale = np.array([recent_scale(y, m) for y in ys])
    full = scales(ys, m)[0]
    ratio = np.where(np.isfinite(full), future_scale / np.where(np.isfinite(full), full, 1.0), 1.0)
    mase_scale = np.where(scalable, scale / ratio[None, :], np.nan)
    return actual, scale, mase_scale, future_scale


def _newest_window(
    runs: dict[str, Run], per_window: list[dict[str, float]], actual: np.ndarray, scale: np.ndarray
) -> dict[str, Any]:
    """The newest backtest window (the last ``h`` steps of each series): its actuals ``(S, h)``, MASE scale
    ``(S,)``, every model's forecast from that origin and the ensemble's (weights chosen on the other windows)
    — what the retraining gate scores a champion's recipe and a challenger on, the same points."""
    last = actual.shape[0] - 1
    ws = per_window[last] if len(per_window) > 1 else per_window[0]
    return {
        "actual": actual[last],
        "scale": scale[last],
        "members": {n: r.backtest[last] for n, r in runs.items()},
        "ensemble": sum(w * runs[n].backtest[last] for n, w in ws.items()),
    }


def _backtest_summary(
    runs: dict[str, Run],
    weights: dict[str, float],
    per_window: list[dict[str, float]],
    actual: np.ndarray,
    scale: np.ndarray,
    ids: list[str],
) -> dict[str, Any]:
    """The ensemble's backtest MASE per series and per horizon step (each window with its nested weights)."""
    W = actual.shape[0]
    if W == 0:
        return {"series": {}, "steps": [], "windows": 0}
    import warnings

    bt = ensemble.window_blend(runs, per_window or [weights])
    err = np.abs(actual - bt) / scale[..., None]
    with warnings.catch_warnings():  # a series without a MASE scale (constant history) has none
        warnings.simplefilter("ignore", RuntimeWarning)
        series, steps = np.nanmean(err, axis=(0, 2)), np.nanmean(err, axis=(0, 1))

    def clean(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    return {"series": {u: clean(v) for u, v in zip(ids, series)}, "steps": [clean(v) for v in steps], "windows": W}


def _row(name: str, bt: np.ndarray, actual: np.ndarray, scale: np.ndarray, seconds: float, weight: float) -> dict:
    per = np.stack([per_series_mase(actual[w], bt[w], scale[w]) for w in range(bt.shape[0])])
    val = float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")
    return {"model": name, "score_val": val, "weight": round(weight, 4), "fit_seconds": round(seconds, 3)}


def _board(
    runs: dict[str, Run],
    weights: dict[str, float],
    actual: np.ndarray,
    scale: np.ndarray,
    per_window: list[dict[str, float]],
) -> pd.DataFrame:
    """Every model's backtest MASE, and the ensemble's (nested: each window scored with weights chosen on the
    others, so the estimate does not flatter the choice), best first."""
    if actual.shape[0] == 0:
        rows = [
            {"model": n, "score_val": float("nan"), "weight": weights.get(n, 0.0), "fit_seconds": r.seconds}
            for n, r in runs.items()
        ]
        return pd.DataFrame(rows)
    rows = [_row(n, r.backtest, actual, scale, r.seconds, weights.get(n, 0.0)) for n, r in runs.items()]
    if len(weights) > 1 or len(per_window) > 1:
        bt = ensemble.window_blend(runs, per_window or [weights])
        rows.append(_row("Ensemble", bt, actual, scale, sum(r.seconds for r in runs.values()), 1.0))
    board = pd.DataFrame(rows)
    return board.sort_values("score_val", kind="stable").reset_index(drop=True)
