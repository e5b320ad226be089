"""Framing a forecasting problem: a long table (series ids, a time column, a target, covariates) → checked,
regular series, the frequency and season lengths inferred, and findings for what was repaired.

The frame is the one place the user's table is read; everything after it works on :class:`SeriesFrame`:
``unique_id`` (str), ``ds`` (datetime64), ``y`` (float) and the covariates, sorted, one row per step.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlwright.data.findings import Finding
from mlwright.errors import ConfigError, DataError, EmptyDataError, TargetError, TargetNotFoundError, did_you_mean

__all__ = ["SEASONS", "SeriesFrame", "frame_series", "future_stamps", "infer_freq", "season_lengths", "series_ids"]

ID = "unique_id"
SEP = "|"
# season lengths by frequency (the first is the primary one, MASE's scaling period)
SEASONS: dict[str, tuple[int, ...]] = {
    "min": (1440, 10080),  # a day and a week of minutes
    "h": (24, 168),
    "D": (7, 365),
    "B": (5,),
    "W": (52,),
    "MS": (12,),
    "ME": (12,),
    "QS": (4,),
    "QE": (4,),
    "YS": (1,),
    "YE": (1,),
}
MAX_GAP_SHARE = 0.2  # a series missing more of its steps than this is refused (interpolation would invent it)


@dataclass
class SeriesFrame:
    """Regular series ready for models.

    Attributes
    ----------
    df : DataFrame
        ``unique_id``, ``ds``, ``y``, known covariates, past covariates; sorted by id and time.
    freq : str
        pandas frequency alias (``"MS"``, ``"QS-JAN"``, ``"30min"`` …).
    seasons : tuple of int
        Season lengths that the history is long enough to show (primary first; ``(1,)`` when none).
    m : int
        The primary season length (MASE's scaling period).
    statics : DataFrame or None
        One row per series: ``unique_id`` and the static columns.
    findings : list of Finding
        What was found and repaired.
    """

    df: pd.DataFrame
    freq: str
    seasons: tuple[int, ...]
    m: int
    id_columns: list[str]
    time_column: str
    target: str
    known: list[str]
    past: list[str]
    statics: pd.DataFrame | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return list(pd.unique(self.df[ID]))

    def lengths(self) -> pd.Series:
        return self.df.groupby(ID, sort=False).size()


def _alias(offset: pd.DateOffset) -> str:
    return offset.freqstr


def _base(freq: str) -> str:
    """``"QS-JAN"`` → ``"QS"``, ``"30min"`` → ``"min"``, ``"W-SUN"`` → ``"W"``."""
    head = freq.split("-")[0].lstrip("0123456789")
    return {"H": "h", "T": "min", "M": "ME", "Q": "QE", "A": "YE", "Y": "YE", "AS": "YS"}.get(head, head)


def season_lengths(freq: str, n: int | None = None) -> tuple[int, ...]:
    """Conventional season lengths of a frequency, scaled by its multiple (``"30min"`` → 48, 336), keeping
    those a history of ``n`` steps shows at least twice; ``(1,)`` when none."""
    offset = pd.tseries.frequencies.to_offset(freq)
    base = _base(freq)
    mult = max(int(getattr(offset, "n", 1) or 1), 1)
    if base == "min":
        out = tuple(s // mult for s in SEASONS["min"] if s % mult == 0)
    elif base in ("s",):
        out = tuple(s // mult for s in (3600, 86400) if s % mult == 0)
    else:
        out = tuple(s // mult for s in SEASONS.get(base, (1,)) if s % mult == 0 and s // mult > 1)
    if n is not None:
        out = tuple(s for s in out if 2 * s <= n)
    return out or (1,)


def infer_freq(stamps: pd.Series | pd.DatetimeIndex, where: str = "the time column") -> str:
    """The frequency of sorted, unique time stamps (gaps allowed), as a pandas alias.

    Calendar frequencies (months, quarters, years: unequal spacing) are recognised by their anchor; fixed
    ones by the most common spacing."""
    idx = pd.DatetimeIndex(stamps).sort_values().unique()
    if len(idx) < 3:
        raise DataError(f"{where} has {len(idx)} distinct time stamps; a series needs at least 3 to infer a frequency")
    with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset
        warnings.simplefilter("ignore")
        guess = pd.infer_freq(idx)
    if guess:
        return _alias(pd.tseries.frequencies.to_offset(guess))
    diffs = pd.Series(idx[1:] - idx[:-1])
    step = diffs.mode().iloc[0]
    days = step / pd.Timedelta(days=1)
    if 28 <= days <= 31:
        cands = ["MS", "ME"]
    elif 89 <= days <= 92:
        month = idx[0].month
        cands = [f"QS-{_MONTHS[(month - 1) % 3]}", f"QE-{_MONTHS[(month - 1) % 3 + 9]}"]
    elif 365 <= days <= 366:
        cands = [f"YS-{_MONTHS[idx[0].month - 1]}", f"YE-{_MONTHS[idx[0].month - 1]}"]
    elif days == 7:
        cands = [f"W-{idx[0].day_name()[:3].upper()}"]
    elif days == int(days):
        cands = ["D" if days == 1 else f"{int(days)}D"]
    else:
        cands = [_alias(pd.tseries.frequencies.to_offset(step))]
    for c in cands:
        off = pd.tseries.frequencies.to_offset(c)
        if all(off.is_on_offset(t) for t in idx[:: max(1, len(idx) // 200)]) and _on_grid(idx, c):
            return c
    raise DataError(
        f"{where} is irregular: its stamps do not fall on one frequency (most common spacing {step}); "
        "resample it to a regular frequency first, e.g. df.set_index(time).resample('D').sum()"
    )


_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _on_grid(idx: pd.DatetimeIndex, freq: str) -> bool:
    grid = pd.date_range(idx[0], idx[-1], freq=freq)
    return bool(pd.Index(idx).isin(grid).all())


def future_stamps(last: pd.Timestamp, freq: str, h: int) -> pd.DatetimeIndex:
    """The ``h`` stamps after ``last``."""
    return pd.date_range(last, periods=h + 1, freq=freq)[1:]


def _check_columns(df: pd.DataFrame, names: list[str], what: str) -> None:
    for c in names:
        if c not in df.columns:
            extra = did_you_mean(c, [str(x) for x in df.columns])
            err = TargetNotFoundError if what == "target" else DataError
            raise err(
                f"the {what} {c!r} is not a column of the data{extra}; the data has {len(df.columns)} columns: "
                f"{', '.join(map(str, list(df.columns)[:12]))}"
            )


def _as_times(col: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        out = col
    else:
        try:
            out = pd.to_datetime(col, errors="raise", format="mixed")
        except (ValueError, TypeError) as exc:
            bad = col[pd.to_datetime(col, errors="coerce", format="mixed").isna() & col.notna()]
            example = repr(bad.iloc[0]) if len(bad) else "?"
            raise DataError(
                f"the time column {name!r} has values that are not dates (e.g. {example}); "
                "give ISO dates such as 2024-01-31 or 2024-01-31 13:30"
            ) from exc
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    if out.isna().any():
        raise DataError(
            f"the time column {name!r} has {int(out.isna().sum())} missing stamps; drop those rows or fill them"
        )
    return out.astype("datetime64[ns]")


def series_ids(df: pd.DataFrame, id_columns: list[str]) -> pd.Series:
    """One series name per row: the id columns joined with ``|`` (``"series"`` when there are none)."""
    if not id_columns:
        return pd.Series("series", index=df.index, dtype=object)
    parts = [df[c].astype(str).where(df[c].notna(), "<missing>") for c in id_columns]
    out = parts[0]
    for p in parts[1:]:
        out = out + SEP + p
    return out.astype(object)


def frame_series(
    data: pd.DataFrame,
    *,
    target: str,
    time_column: str,
    id_columns: list[str] | None = None,
    known_covariates: list[str] | None = None,
    past_covariates: list[str] | None = None,
    static_columns: list[str] | None = None,
    freq: str | None = None,
) -> SeriesFrame:
    """Check and regularise a long table of series (see the module docstring).

    Raises
    ------
    DataError
        Duplicated stamps within a series, an irregular time axis, a series with too many gaps, a time
        column that is not dates, a covariate that is not numeric.
    TargetError
        The target is not numeric or has no values.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"forecasting needs a DataFrame (or a file path), got {type(data).__name__}")
    if len(data) == 0:
        raise EmptyDataError("the data has no rows; a forecast needs history")
    ids, known, past = list(id_columns or []), list(known_covariates or []), list(past_covariates or [])
    static = list(static_columns or [])
    _check_columns(data, [target], "target")
    _check_columns(data, [time_column], "time column")
    _check_columns(data, ids, "id column")
    _check_columns(data, known, "known covariate")
    _check_columns(data, past, "past covariate")
    _check_columns(data, static, "static column")
    roles = [target, time_column, *ids, *known, *past, *static]
    dup = sorted({c for c in roles if roles.count(c) > 1})
    if dup:
        raise ConfigError(f"column(s) {dup} are given two roles; name each column once")
    findings: list[Finding] = []
    y = pd.to_numeric(data[target], errors="coerce")
    if y.notna().sum() == 0:
        example = data[target].dropna().iloc[0] if data[target].notna().any() else None
        raise TargetError(
            f"the target {target!r} has no numeric values (e.g. {example!r}); forecasting needs numbers — clean the "
            "column or choose another target"
        )
    bad = int((y.isna() & data[target].notna()).sum())
    if bad:
        raise TargetError(
            f"the target {target!r} has {bad} values that are not numbers (e.g. "
            f"{data[target][y.isna() & data[target].notna()].iloc[0]!r}); clean them or make them missing"
        )
    df = pd.DataFrame({ID: series_ids(data, ids).to_numpy(), "ds": _as_times(data[time_column], time_column)})
    df["y"] = y.to_numpy(dtype=float)
    for c in known + past:
        v = pd.to_numeric(data[c], errors="coerce") if data[c].dtype != bool else data[c].astype(float)
        if v.notna().sum() == 0 and data[c].notna().any():
            raise DataError(f"the covariate {c!r} is not numeric; encode it as numbers (e.g. 0/1 for a holiday)")
        df[c] = v.to_numpy(dtype=float)
    statics = _statics(data, df, static)
    if not df[["ds"]].join(df[[ID]]).sort_values([ID, "ds"]).index.equals(df.index):
        findings.append(
            Finding("time_order", "info", time_column, "the rows were not in time order", "none needed", "sorted")
        )
    df = df.sort_values([ID, "ds"], kind="stable").reset_index(drop=True)
    dups = df.duplicated([ID, "ds"])
    if dups.any():
        first = df.loc[dups.idxmax()]
        where = f" in series {first[ID]!r}" if ids else ""
        raise DataError(
            f"{int(dups.sum())} duplicated time stamps{where} (e.g. {first['ds']}); each series needs one row per "
            f"time step — aggregate them first, e.g. df.groupby({[*ids, time_column]!r}).sum()"
        )
    freq = freq or _frame_freq(df, time_column)
    df, fill = _regularise(df, freq, known + past, time_column)
    findings += fill
    n = int(df.groupby(ID, sort=False).size().median())
    seasons = season_lengths(freq, n)
    return SeriesFrame(
        df=df,
        freq=freq,
        seasons=seasons,
        m=seasons[0],
        id_columns=ids,
        time_column=time_column,
        target=target,
        known=known,
        past=past,
        statics=statics,
        findings=findings,
    )


def _statics(data: pd.DataFrame, df: pd.DataFrame, static: list[str]) -> pd.DataFrame | None:
    if not static:
        return None
    st = data[static].copy()
    st.insert(0, ID, df[ID].to_numpy())
    per = st.groupby(ID, sort=False).nunique(dropna=False)
    varying = [c for c in static if (per[c] > 1).any()]
    if varying:
        raise DataError(
            f"static column(s) {varying} change within a series; a static column holds one value per series — "
            "pass it as a covariate instead"
        )
    return st.drop_duplicates(ID).reset_index(drop=True)


def _frame_freq(df: pd.DataFrame, time_column: str) -> str:
    counts: dict[str, int] = {}
    longest = df.groupby(ID, sort=False).size().sort_values(ascending=False)
    for uid in longest.index[:20]:
        stamps = df.loc[df[ID] == uid, "ds"]
        if len(stamps) >= 3:
            f = infer_freq(stamps, f"the time column {time_column!r} (series {uid!r})")
            counts[f] = counts.get(f, 0) + 1
    if not counts:
        raise DataError(
            f"every series has fewer than 3 time stamps (the longest has {int(longest.iloc[0])}); a forecast needs "
            "at least 3 points of history per series"
        )
    return max(counts, key=lambda k: counts[k])


def _regularise(
    df: pd.DataFrame, freq: str, covariates: list[str], time_column: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """Every series on the full grid from its first to its last stamp; missing steps and values filled."""
    findings: list[Finding] = []
    parts = []
    gaps: dict[str, int] = {}
    off_grid = 0
    lead_trail = 0
    for uid, g in df.groupby(ID, sort=False):
        g = g.dropna(subset=["y"]) if g["y"].isna().all() else g
        valid = g["y"].notna().to_numpy()
        if not valid.any():
            continue
        first, last = np.argmax(valid), len(valid) - 1 - np.argmax(valid[::-1])
        lead_trail += int(len(g) - (last - first + 1))
        g = g.iloc[first : last + 1]
        grid = pd.date_range(g["ds"].iloc[0], g["ds"].iloc[-1], freq=freq)
        on = g["ds"].isin(grid)
        off_grid += int((~on).sum())
        g = g[on.to_numpy()]
        if len(grid) != len(g):
            gaps[str(uid)] = len(grid) - len(g)
            if (len(grid) - len(g)) > MAX_GAP_SHARE * len(grid):
                raise DataError(
                    f"series {uid!r} misses {len(grid) - len(g)} of its {len(grid)} {freq} steps; fill or "
                    f"aggregate it to a coarser frequency first (filling more than {MAX_GAP_SHARE:.0%} would invent "
                    "the history)"
                )
            g = g.set_index("ds").reindex(grid).rename_axis("ds").reset_index()
            g[ID] = uid
        parts.append(g)
    if off_grid:
        raise DataError(
            f"{off_grid} time stamps are off the {freq} grid of their series (e.g. a mid-month date in monthly "
            f"data); align {time_column!r} to the frequency first (e.g. dt.to_period('M').dt.start_time)"
        )
    out = pd.concat(parts, ignore_index=True)[df.columns]
    if gaps:
        findings.append(
            Finding(
                "time_gaps",
                "warning",
                time_column,
                f"{sum(gaps.values())} missing time steps in {len(gaps)} series (most: {max(gaps.values())})",
                "supply the missing rows, or aggregate to a coarser frequency",
                "the target was interpolated linearly over the gaps",
                {"gaps": dict(list(gaps.items())[:50])},
            )
        )
    missing = int(out["y"].isna().sum())
    if missing:
        if not gaps:
            findings.append(
                Finding(
                    "missing_target",
                    "warning",
                    None,
                    f"{missing} missing target values inside the series",
                    "fill them from the source if they exist",
                    "interpolated linearly",
                )
            )
        out["y"] = out.groupby(ID, sort=False)["y"].transform(lambda s: s.interpolate(limit_direction="both"))
    if lead_trail:
        findings.append(
            Finding(
                "missing_target",
                "info",
                None,
                f"{lead_trail} rows before the first or after the last value of their series have no target",
                "none needed",
                "left out",
            )
        )
    for c in covariates:
        if out[c].isna().any():
            n = int(out[c].isna().sum())
            out[c] = out.groupby(ID, sort=False)[c].transform(lambda s: s.ffill().bfill()).fillna(0.0)
            findings.append(
                Finding("missing", "warning", c, f"{n} missing values", "fill them at the source", "carried forward")
            )
    return out, findings


def to_long(frame: SeriesFrame) -> pd.DataFrame:
    """The frame's history as the user's long table: the id columns (text), the time column, the target, the
    covariates and the static columns — what ``fit`` reads, e.g. to refit on a longer history."""
    df = frame.df
    out = pd.DataFrame(index=df.index)
    ids = df[ID].astype(str)
    if frame.id_columns:
        parts = ids.str.split(SEP, n=len(frame.id_columns) - 1, expand=True, regex=False)
        for j, c in enumerate(frame.id_columns):
            out[c] = parts[j] if len(frame.id_columns) > 1 else ids
    out[frame.time_column] = df["ds"].to_numpy()
    out[frame.target] = df["y"].to_numpy()
    for c in [*frame.known, *frame.past]:
        out[c] = df[c].to_numpy()
    if frame.statics is not None:
        statics = frame.statics.set_index(ID)
        for c in statics.columns:
            out[c] = ids.map(statics[c]).to_numpy()
    return out.reset_index(drop=True)
