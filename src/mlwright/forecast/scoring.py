"""A fitted forecaster's numbers for the surfaces: the forecast of chosen series for their next steps, and the
forecast of given ``(series, time stamp)`` rows — what the service, its protocols and batch scoring ask of it.

A request row names a series (its id columns) and a time stamp among the ``horizon`` steps after that series'
history, plus the known covariates of that step when the model uses them.  Without known covariates the
forecast of every series is computed once and looked up; with them, the global members forecast the
requested series from the covariates the request carries (every step up to the furthest one asked for).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import Columns, ColumnSpec, Schema
from mlwright.errors import ColumnsMismatchError, ColumnTypeError, DataError
from mlwright.forecast.frame import ID, SEP, SeriesFrame, series_ids

__all__ = [
    "forecast_schema",
    "future_covariates",
    "request_rows",
    "rows_forecast",
    "series_forecast",
    "stamps",
    "when_text",
]


def forecast_schema(frame: SeriesFrame, metric: str) -> Schema:
    """What a request row holds: the id columns, the time column and the known covariates."""
    ids = frame.df[ID].drop_duplicates()
    cols = []
    for j, c in enumerate(frame.id_columns):
        levels = ids.str.split(SEP, n=len(frame.id_columns) - 1, regex=False).str[j]
        cols.append(ColumnSpec(c, "categorical", "object", n_unique=int(levels.nunique()), top=list(levels[:20])))
    cols.append(ColumnSpec(frame.time_column, "datetime", "datetime64[ns]"))
    cols.extend(ColumnSpec(c, "numeric", "float64") for c in frame.known)
    return Schema(cols, target=frame.target, task="forecast", metric=metric)


def stamps(values: Any, column: str) -> pd.Series:
    """Time stamps of a request (text or dates) as naive datetimes; a typed error names the first that is not."""
    s = pd.Series(values)
    parsed = s if pd.api.types.is_datetime64_any_dtype(s) else pd.to_datetime(s, errors="coerce", format="mixed")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = parsed.isna() & s.notna()
    if bad.any() or s.isna().any():
        i = int(np.flatnonzero(bad | s.isna())[0])
        raise ColumnTypeError(f"column {column!r}, row {i}: {s.iloc[i]!r} is not a time stamp; send e.g. '2024-05-01'")
    return parsed.astype("datetime64[ns]")


def future_covariates(frame: SeriesFrame, known_future: pd.DataFrame | None, grid: pd.DataFrame) -> pd.DataFrame:
    """``grid`` (``unique_id``, ``ds``) with the known covariates' values from ``known_future``; a typed error
    for a missing column or a step without values."""
    if known_future is None:
        raise DataError(
            f"this model uses the known covariates {frame.known}; pass their values for the future steps of each "
            'series (known_future= in Python, --future in the CLI, "future" in a request)'
        )
    missing = [c for c in [*frame.id_columns, frame.time_column, *frame.known] if c not in known_future.columns]
    if missing:
        raise DataError(f"the future covariates lack the column(s) {missing}; give the ids, the time and {frame.known}")
    fut = pd.DataFrame(
        {
            ID: series_ids(known_future, frame.id_columns).to_numpy(),
            "ds": stamps(known_future[frame.time_column].to_numpy(), frame.time_column).to_numpy(),
        }
    )
    for c in frame.known:
        fut[c] = pd.to_numeric(known_future[c], errors="coerce").to_numpy(dtype=float)
    fut = fut.drop_duplicates([ID, "ds"], keep="last")
    merged = grid.merge(fut, on=[ID, "ds"], how="left")
    lack = merged[frame.known].isna().any(axis=1)
    if lack.any():
        first = merged[lack].iloc[0]
        raise DataError(
            f"no values of {frame.known} for {int(lack.sum())} of the {len(grid)} future steps needed (e.g. series "
            f"{first[ID]!r} at {when_text(first['ds'])}); give each series' covariates for every step up to the last "
            "one asked"
        )
    return merged


def series_forecast(
    model: Any, ids: list[str] | None, k: int, known_future: pd.DataFrame | None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The grid (``unique_id``, ``ds``: ``k`` steps per series), the mean ``(S, k)`` and the quantiles
    ``(S, k, Q)`` of the series ``ids`` (None: all) for their next ``k`` ≤ horizon steps."""
    from mlwright.forecast.gbm import predict_global, with_past

    frame: SeriesFrame = model.frame_
    every = frame.ids
    pick = every if ids is None else ids
    rows = np.array([every.index(u) for u in pick]) if ids is not None else np.arange(len(every))
    grid = model.future_grid_
    grid = grid[grid["step"] <= k]
    if ids is not None:
        grid = grid.set_index(ID).loc[pick].reset_index()
    grid = grid[[ID, "ds"]]
    # a model fitted with known covariates needs their future whichever members it kept (one contract)
    X = future_covariates(frame, known_future, grid) if frame.known else None
    X = with_past(frame, X, grid, model.horizon_)
    mean = np.zeros((len(pick), k))
    for name, w in model.blend_.weights.items():
        run = model.runs_[name]
        fut = run.future[rows, :k] if run.future is not None else predict_global(run.state, frame, X, k, list(pick))
        mean = mean + w * fut
    q = np.sort(mean[..., None] + model.blend_.spread[rows, :k], axis=-1)
    return grid, mean, q


def _request_frame(model: Any, X: Any) -> pd.DataFrame:
    if isinstance(X, Columns):
        X = X.frame()
    if not isinstance(X, pd.DataFrame):
        raise ColumnTypeError(f"expected a DataFrame of (series, time) rows to forecast, got {type(X).__name__}")
    frame: SeriesFrame = model.frame_
    need = [*frame.id_columns, frame.time_column, *frame.known]
    missing = [c for c in need if c not in X.columns]
    if missing:
        raise ColumnsMismatchError(
            f"{len(missing)} column(s) a forecast request needs are missing: {', '.join(map(repr, missing))}; each "
            f"row names a series ({frame.id_columns or 'no id columns: one series'}), a time stamp "
            f"({frame.time_column!r}){' and the known covariates ' + str(frame.known) if frame.known else ''}"
        )
    return X


def rows_forecast(model: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """The mean ``(n,)`` and quantiles ``(n, Q)`` of request rows ``X`` (see the module docstring)."""
    X = _request_frame(model, X)
    frame: SeriesFrame = model.frame_
    h = model.horizon_
    uid = series_ids(X, frame.id_columns).to_numpy()
    ds = stamps(X[frame.time_column].to_numpy(), frame.time_column).to_numpy()
    grid = model.future_grid_
    pos = pd.MultiIndex.from_arrays([grid[ID], grid["ds"]]).get_indexer(pd.MultiIndex.from_arrays([uid, ds]))
    if (pos < 0).any():
        i = int(np.flatnonzero(pos < 0)[0])
        raise DataError(_off_grid(model, str(uid[i]), pd.Timestamp(ds[i]), i))
    sidx, step = pos // h, pos % h
    if not frame.known:
        mean, q = model.forecast_cache_()
        return mean[sidx, step], q[sidx, step]
    wanted = list(dict.fromkeys(uid))
    k = int(step.max()) + 1
    _, mean, q = series_forecast(model, wanted, k, X)
    at = {u: j for j, u in enumerate(wanted)}
    rows = np.array([at[u] for u in uid])
    return mean[rows, step], q[rows, step]


def _off_grid(model: Any, uid: str, ts: pd.Timestamp, i: int) -> str:
    frame: SeriesFrame = model.frame_
    grid = model.future_grid_
    if uid not in set(frame.ids):
        shown = ", ".join(repr(u) for u in frame.ids[:5]) + (" …" if len(frame.ids) > 5 else "")
        return f"row {i}: the model knows no series {uid!r}; it forecasts {len(frame.ids)} series: {shown}"
    own = grid.loc[grid[ID] == uid, "ds"]
    return (
        f"row {i}: {when_text(ts)} is not one of the {model.horizon_} steps after series {uid!r}'s history "
        f"({when_text(own.iloc[0])} … {when_text(own.iloc[-1])}, every {frame.freq}); ask for those stamps, or retrain "
        "on newer data"
    )


def _series_name(model: Any, item: Any, i: int) -> str:
    frame: SeriesFrame = model.frame_
    if isinstance(item, dict):
        missing = [c for c in frame.id_columns if c not in item]
        if missing:
            raise DataError(f"series {i}: {item!r} lacks the id column(s) {missing}; name each by {frame.id_columns}")
        return SEP.join(str(item[c]) for c in frame.id_columns) if frame.id_columns else "series"
    if isinstance(item, (str, int, float)) and not isinstance(item, bool):
        return str(item)
    raise DataError(f"series {i}: {item!r} is neither an id nor an object of the id columns {frame.id_columns}")


def request_rows(
    model: Any, series: list[Any] | None = None, horizon: int | None = None, future: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The ``(series, time stamp)`` rows a forecast request stands for: the next ``horizon`` steps (default:
    the model's) of each series named (ids joined by ``|``, or objects of the id columns; None: every series),
    with the known covariates' values taken from ``future``."""
    frame: SeriesFrame = model.frame_
    h = model.horizon_
    k = h if horizon is None else horizon
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= h:
        raise DataError(f"horizon must be a whole number of steps from 1 to the model's {h}, got {horizon!r}")
    if series is not None and (not isinstance(series, list) or not series):
        raise DataError('"series" must be a non-empty list of series ids (or objects of the id columns)')
    grid = model.future_grid_
    grid = grid[grid["step"] <= k]
    if series is not None:
        names = list(dict.fromkeys(_series_name(model, s, i) for i, s in enumerate(series)))
        known = set(frame.ids)
        unknown = [n for n in names if n not in known]
        if unknown:
            shown = ", ".join(repr(u) for u in frame.ids[:5]) + (" …" if len(frame.ids) > 5 else "")
            raise DataError(f"the model knows no series {unknown[:5]}; it forecasts {len(frame.ids)} series: {shown}")
        grid = grid.set_index(ID).loc[names].reset_index()
    out = pd.DataFrame(index=range(len(grid)))
    uid = grid[ID].astype(str).reset_index(drop=True)
    if frame.id_columns:
        parts = uid.str.split(SEP, n=len(frame.id_columns) - 1, expand=True, regex=False)
        for j, c in enumerate(frame.id_columns):
            out[c] = parts[j] if len(frame.id_columns) > 1 else uid
    out[frame.time_column] = grid["ds"].to_numpy()
    if frame.known:
        rows = pd.DataFrame({ID: uid, "ds": grid["ds"].to_numpy()})
        merged = future_covariates(frame, future, rows)
        for c in frame.known:
            out[c] = merged[c].to_numpy()
    return out


def when_text(ts: Any) -> str:
    """A time stamp as a person writes it: the date alone at midnight, else to the minute."""
    t = pd.Timestamp(ts)
    return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")
