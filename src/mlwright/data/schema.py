"""Semantic column types, task and metric inference, and the :class:`Schema` saved with a model.

The Schema is the spine of mlwright: features, models, serving validation and monitoring read it.
It records what each column is (``kind``) and how it looked in training, and it validates and
coerces data to score.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import (
    ColumnsMismatchError,
    ColumnTypeError,
    ConfigError,
    MlwrightWarning,
    TargetError,
    did_you_mean,
)
from mlwright.evaluation.metrics import default_metric, get_metric
from mlwright.jsonsafe import plain

__all__ = ["KINDS", "ColumnSpec", "Schema", "infer_column", "infer_columns", "infer_schema", "infer_task", "mask_na"]

KINDS = (
    "numeric",
    "boolean",
    "categorical",
    "high_cardinality",
    "datetime",
    "text",
    "id",
    "constant",
    "empty",
    "excluded",
)
USED_KINDS = ("numeric", "boolean", "categorical", "high_cardinality", "datetime", "text")
TASKS = ("binary", "multiclass", "regression")
LOW_CARD_MAX = 32
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")
_ID_NAME = re.compile(r"(^|_|\b)(id|uuid|guid|key|rownames|index)($|_|\b)", re.I)


@dataclass
class ColumnSpec:
    """What one feature column is and how it looked in training."""

    name: str
    kind: str
    dtype: str
    missing: float = 0.0
    n_unique: int = 0
    from_text: bool = False  # numeric values that arrived as strings
    top: list[Any] = field(default_factory=list)  # most frequent levels (categorical kinds)
    na_values: list[Any] = field(default_factory=list)  # disguised missing values, read as missing
    date_order: str | None = None  # dates written n/n/yyyy: "dmy", "mdy", or "ambiguous" (read month-first)

    @property
    def used(self) -> bool:
        """Whether the column feeds the models."""
        return self.kind in USED_KINDS


@dataclass
class Schema:
    """Columns, target, task and metric of a training run.

    Attributes
    ----------
    columns : list of ColumnSpec
        Every feature column seen in training, in order (unused kinds included).
    target : str
        Name of the target column.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    metric : str
        The run's metric.
    classes : list
        Class labels in the order of ``predict_proba`` columns (classification only).
    """

    columns: list[ColumnSpec]
    target: str
    task: str
    metric: str
    classes: list[Any] = field(default_factory=list)

    # ------------------------------------------------------------------ views
    @property
    def features(self) -> list[str]:
        """Names of the columns the models use."""
        return [c.name for c in self.columns if c.used]

    def of_kind(self, *kinds: str) -> list[str]:
        """Names of used columns of the given kinds."""
        return [c.name for c in self.columns if c.kind in kinds]

    def __getitem__(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    # ------------------------------------------------------------------ (de)serialise
    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return {
            "target": self.target,
            "task": self.task,
            "metric": self.metric,
            "classes": [plain(c) for c in self.classes],
            "columns": [asdict(c) | {"top": [plain(v) for v in c.top]} for c in self.columns],
        }

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        """Inverse of :meth:`to_dict`."""
        return cls(
            columns=[ColumnSpec(**c) for c in d["columns"]],
            target=d["target"],
            task=d["task"],
            metric=d["metric"],
            classes=list(d.get("classes", [])),
        )

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # ------------------------------------------------------------------ scoring-time checks
    def validate(self, df: pd.DataFrame) -> pd.DataFrame:
        """Check data to score against the schema and return it coerced to training types.

        Missing columns raise :class:`ColumnsMismatchError`; extra columns are ignored with a
        warning; values of the wrong type raise :class:`ColumnTypeError`.
        """
        self.check_columns(df)
        return coerce(df, self, strict=True)

    def validate_arrays(self, df: pd.DataFrame | Columns) -> dict[str, np.ndarray]:
        """:meth:`validate` without a DataFrame on the way: column name → numpy array.

        ``df``: a (small) DataFrame, or :class:`Columns` (a batch of any size, as the service reads it).
        """
        self.check_columns(df)
        if isinstance(df, Columns):
            return coerce_columns(df.data, self)
        return coerce_arrays(df, self)

    def check_columns(self, df: pd.DataFrame) -> None:
        """Raise on missing columns, warn on extra ones."""
        if not isinstance(df, (pd.DataFrame, Columns)):
            raise ColumnTypeError(f"expected a pandas DataFrame to score, got {type(df).__name__}")
        needed = self.features
        have = [str(c) for c in df.columns]
        missing = [c for c in needed if c not in have]
        if missing:
            hints = "".join(did_you_mean(m, have) for m in missing[:3])
            shown = ", ".join(repr(m) for m in missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise ColumnsMismatchError(
                f"{len(missing)} column(s) the model needs are missing: {shown}{hints}. "
                f"The model was trained on {len(needed)} columns: {', '.join(needed[:20])}"
                f"{' ...' if len(needed) > 20 else ''}; add them (missing values are allowed)"
            )
        known = {c.name for c in self.columns} | {self.target}
        extra = [c for c in have if c not in known]
        if extra:
            warnings.warn(
                f"ignoring {len(extra)} column(s) the model was not trained on: "
                + ", ".join(repr(e) for e in extra[:10]),
                MlwrightWarning,
                stacklevel=4,
            )


def _is_stringish(s: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(s.dtype)
        or pd.api.types.is_string_dtype(s.dtype)
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def distinct(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, uniques)`` of a column, missing values coded -1 (category codes or factorize).

    ``None`` for an object column mixing booleans with numbers: ``True == 1`` would merge their
    levels, so such a column must be mapped value by value.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), s.cat.categories.to_numpy(dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    if pd.api.types.is_object_dtype(s.dtype) and _bools_among_numbers(uniques):
        return None
    return codes, uniques


def map_distinct(s: pd.Series, fn: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
    """``fn`` of every value, computed once per distinct value; missing values get ``fn(nan)``."""
    return _map_found(s, distinct(s), fn, dtype)


def _map_found(s: pd.Series, found, fn: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
    if found is None:
        return np.array([fn(v) for v in s.to_numpy(dtype=object)], dtype=dtype)
    codes, uniques = found
    table = np.empty(len(uniques) + 1, dtype=dtype)
    table[: len(uniques)] = [fn(v) for v in uniques]
    table[-1] = fn(np.nan)  # code -1: missing
    return table[codes]


def _string_levels(s: pd.Series, fn: Callable[[Any], Any], blank_is_na: bool) -> np.ndarray:
    """:func:`map_distinct` with ``fn``, vectorised when every distinct value is already text."""
    found = distinct(s)
    if found is None or pd.api.types.infer_dtype(found[1], skipna=False) != "string":
        return _map_found(s, found, fn)
    codes, uniques = found
    table = np.append(uniques, np.array([np.nan], dtype=object))
    if blank_is_na and len(uniques):
        table[: len(uniques)][pd.Series(uniques, dtype=object).str.strip().eq("").to_numpy()] = np.nan
    return table[codes]


def _bools_among_numbers(values: np.ndarray) -> bool:
    kinds = {type(v) for v in values}
    return any(issubclass(k, (bool, np.bool_)) for k in kinds) and any(
        issubclass(k, (int, float, np.number)) and not issubclass(k, (bool, np.bool_)) for k in kinds
    )


def _blank_level(v: Any) -> Any:
    """A category level (see :func:`_level`), blank text counted as missing."""
    if isinstance(v, str) and not v.strip():
        return np.nan
    return _level(v)


def _text_value(v: Any) -> Any:
    return np.nan if _is_na(v) else str(v)


def _blank_to_na(s: pd.Series) -> pd.Series:
    s = s.astype(object)
    return s.where(~s.map(lambda v: isinstance(v, str) and v.strip() == ""), np.nan)


def _numeric_share(s: pd.Series) -> float:
    nonnull = s.dropna()
    if len(nonnull) == 0:
        return 0.0
    conv = pd.to_numeric(nonnull.astype(str).str.strip(), errors="coerce")
    return float(conv.notna().mean())


def _date_share(s: pd.Series) -> float:
    sample = s.dropna().astype(str).head(200)
    if len(sample) == 0:
        return 0.0
    if sample.map(lambda v: bool(_DATE_LIKE.match(v))).mean() < 0.9:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)  # mixed offsets: one clock
    return float(parsed.notna().mean())


_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.]\d{2,4}\b")
DATE_HINTS = {"datetime_dayfirst": "dmy", "datetime_monthfirst": "mdy"}  # column_types kinds that fix the order


def date_order(s: pd.Series) -> str | None:
    """How a text date column writes n/n/yyyy dates, judged on every distinct value: ``"dmy"`` when a first
    field is past 12 (a day), ``"mdy"`` when a second one is, ``"ambiguous"`` when no value settles it
    (read month-first, reported by the checks), None for other formats (ISO dates, or both orders seen)."""
    vals = pd.Series(pd.unique(s.dropna().astype(str)))
    parts = vals.str.extract(_NUMERIC_DATE).dropna()
    if len(parts) == 0 or len(parts) < 0.5 * len(vals):
        return None
    first, second = parts[0].astype(int), parts[1].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        return None
    return "dmy" if day_first else "mdy" if month_first else "ambiguous"


def parse_dates(s: pd.Series, order: str | None = None) -> pd.Series:
    """Text dates → UTC-naive datetime64 (unparseable → NaT), day-first when ``order`` is ``"dmy"``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(s, errors="coerce", format="mixed", utc=True, dayfirst=order == "dmy")
    return out.dt.tz_localize(None)


def _record_number(name: str, s: pd.Series) -> bool:
    """Whether unique integers look like a record number rather than a measurement: an ID-like name, counting
    in row order, or — in any order — dense (at least half the integers of their range are present, as in a
    shuffled sample of row numbers) or evenly spaced (10, 20, 30 …)."""
    if _ID_NAME.search(name):
        return True
    v = s.to_numpy(dtype=np.int64)
    in_order = np.diff(v)
    if (in_order == 1).mean() > 0.95:
        return True
    gaps = np.diff(np.sort(v))
    span = float(v.max()) - float(v.min())
    return span <= 2 * (len(v) - 1) or bool((gaps == gaps[0]).all())


def _infer_kind(name: str, s: pd.Series, n_rows: int) -> tuple[str, bool]:
    """Kind of one column and whether its numbers arrived as text."""
    if s.isna().all():
        return "empty", False
    if pd.api.types.is_bool_dtype(s.dtype):
        return ("constant" if s.nunique() <= 1 else "boolean"), False
    gaps = bool(s.isna().any())  # one value plus gaps: whether a value is there is the information
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ("constant" if s.nunique() <= 1 and not gaps else "datetime"), False
    if pd.api.types.is_numeric_dtype(s.dtype):
        nun = s.nunique()
        if nun <= 1:
            return ("numeric" if gaps else "constant"), False
        if pd.api.types.is_integer_dtype(s.dtype) and nun == n_rows and n_rows >= 50 and _record_number(name, s):
            return "id", False
        return "numeric", False
    if _is_stringish(s):
        s2 = _blank_to_na(s)
        if s2.isna().all():
            return "empty", False
        nun = s2.nunique()
        if nun <= 1:
            return ("categorical" if s2.isna().any() else "constant"), False
        if not isinstance(s.dtype, pd.CategoricalDtype):
            if _numeric_share(s2) >= 0.95:
                return "numeric", True
            if _date_share(s2) >= 0.95:
                return "datetime", False
        txt = s2.dropna().astype(str)
        words = txt.head(2000).str.split().str.len().mean()
        ratio = nun / max(1, len(txt))
        if words >= 4 and ratio > 0.5:
            return "text", False
        if nun <= LOW_CARD_MAX:
            return "categorical", False
        if ratio > 0.95 and len(txt) >= 50 and (_ID_NAME.search(name) or words < 2):
            return "id", False
        return "high_cardinality", False
    return "categorical", False


def infer_task(y: pd.Series) -> str:
    """Task from the target's dtype and cardinality.

    bool or two distinct values → binary; text/categorical with more → multiclass; integers with
    few distinct values (≤ 20 and under 5 % of rows) → multiclass; other numbers → regression.
    """
    y = y.dropna()
    nun = y.nunique()
    if pd.api.types.is_bool_dtype(y.dtype) or nun == 2:
        return "binary"
    if _is_stringish(y):
        return "multiclass"
    if pd.api.types.is_float_dtype(y.dtype) and not np.all(np.mod(y.to_numpy(dtype=float), 1) == 0):
        return "regression"
    if nun <= 20 and nun <= max(3, 0.05 * len(y)):
        return "multiclass"
    return "regression"


def infer_column(name: str, s: pd.Series, n_rows: int | None = None) -> ColumnSpec:
    """The :class:`ColumnSpec` of one column (kind, dtype, missing share, distinct count, top levels)."""
    kind, from_text = _infer_kind(str(name), s, len(s) if n_rows is None else n_rows)
    spec = ColumnSpec(
        name=str(name),
        kind=kind,
        dtype=str(s.dtype),
        missing=float(s.isna().mean()) if len(s) else 0.0,
        n_unique=int(s.nunique()),
        from_text=from_text,
    )
    if kind in ("categorical", "high_cardinality"):
        spec.top = [plain(v) for v in s.astype(str).where(s.notna()).value_counts().index[:20]]
    if kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(s.dtype):
        spec.date_order = date_order(s)
    return spec


def infer_columns(
    df: pd.DataFrame, exclude: tuple[str, ...] = (), hints: dict[str, str] | None = None
) -> list[ColumnSpec]:
    """:func:`infer_column` for every column of ``df`` not in ``exclude``; ``hints`` override kinds."""
    hints = hints or {}
    names = [str(c) for c in df.columns]
    unknown = [h for h in hints if h not in names]
    if unknown:
        raise ConfigError(
            f"column_types names {len(unknown)} column(s) not in the data: {', '.join(map(repr, unknown[:10]))}"
            f"{did_you_mean(str(unknown[0]), names)}; columns are: {', '.join(names[:25])}"
        )
    cols = []
    for name in df.columns:
        if name in exclude:
            continue
        spec = infer_column(str(name), df[name], len(df))
        if name in hints:
            hint = hints[name]
            if hint not in KINDS and hint not in DATE_HINTS:
                raise ConfigError(f"unknown column kind {hint!r} for {name!r}; use one of {(*KINDS, *DATE_HINTS)}")
            spec.kind = "datetime" if hint in DATE_HINTS else hint
            if hint in DATE_HINTS:
                spec.date_order = DATE_HINTS[hint]
        cols.append(spec)
    return cols


def infer_schema(
    df: pd.DataFrame,
    target: str,
    task: str | None = None,
    metric: str | None = None,
    hints: dict[str, str] | None = None,
) -> Schema:
    """Infer column kinds, task and metric.

    Parameters
    ----------
    df : DataFrame
        Training data including the target column (rows with a missing target already dropped).
    target : str
        Target column name.
    task, metric : str, optional
        Override inference.
    hints : dict, optional
        ``{column: kind}`` overrides for chosen columns.
    """
    if task is None:
        task = infer_task(df[target])
    elif task not in TASKS:
        raise ConfigError(f"unknown task {task!r}{did_you_mean(task, TASKS)}; use one of {', '.join(TASKS)}")
    metric = get_metric(metric or default_metric(task), task).name
    cols = infer_columns(df, exclude=(target,), hints=hints)
    classes: list[Any] = []
    if task != "regression":
        classes = [plain(v) for v in sorted(df[target].dropna().unique(), key=_sort_key)]
    return Schema(columns=cols, target=str(target), task=task, metric=metric, classes=classes)


def _sort_key(v: Any) -> tuple:
    return (0, v, "") if isinstance(v, (int, float, np.number, bool)) else (1, 0, str(v))


def coerce(df: pd.DataFrame, schema: Schema, strict: bool = False) -> pd.DataFrame:
    """Return the used feature columns cast to what the feature pipeline expects.

    numeric → float64, boolean → float64 (0/1), categorical kinds and text → object with NaN,
    datetime → datetime64.  With ``strict``, values that cannot be cast raise
    :class:`ColumnTypeError` naming the column, the rows and the bad values.
    """
    out = {}
    for c in schema.columns:
        if not c.used:
            continue
        s = df[c.name]
        if c.na_values:
            s = mask_na(s, c.na_values)
        if c.kind == "numeric":
            out[c.name] = _to_float(s, c.name, strict)
        elif c.kind == "boolean":
            out[c.name] = _to_bool(s, c.name, strict)
        elif c.kind == "datetime":
            out[c.name] = _to_datetime(s, c.name, strict, c.date_order)
        elif c.kind == "text":
            out[c.name] = pd.Series(_string_levels(s, _text_value, blank_is_na=False), index=s.index)
        else:
            out[c.name] = pd.Series(_string_levels(s, _blank_level, blank_is_na=True), index=s.index)
    return pd.DataFrame(out, index=df.index)


def mask_na(s: pd.Series, na_values: list[Any]) -> pd.Series:
    """``s`` with its disguised missing values (text tokens and numeric sentinels) set to missing."""
    tokens = {v.strip() for v in na_values if isinstance(v, str)}
    numbers = [float(v) for v in na_values if not isinstance(v, str)]
    mask = np.zeros(len(s), dtype=bool)
    numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    if tokens and not numeric:
        mask |= map_distinct(s, lambda v: isinstance(v, str) and v.strip() in tokens, bool)
    if numbers:
        conv = s if numeric else pd.to_numeric(s.astype(object).where(~mask), errors="coerce")
        mask |= np.asarray(pd.Series(conv).isin(numbers), dtype=bool)
    if not mask.any():
        return s
    return s.mask(mask) if numeric else s.astype(object).mask(mask)


def _is_na(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, (float, np.floating)) and np.isnan(v))


def _level(v: Any) -> Any:
    """A category level as text; 3, 3.0 and '3' are one level, missing stays NaN."""
    if _is_na(v):
        return np.nan
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


class Columns:
    """A batch of rows as column name → values (lists or 1-D arrays of one length), no DataFrame.

    What the service builds from a JSON body: scoring reads it column by column (see
    :func:`coerce_columns`); :meth:`frame` gives the DataFrame for the rare paths that need one.
    """

    __slots__ = ("data", "n")

    def __init__(self, data: dict[str, Any], n: int):
        self.data, self.n = data, n

    def __len__(self) -> int:
        return self.n

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    def frame(self) -> pd.DataFrame:
        """The same rows as a DataFrame (dtypes inferred as ``DataFrame.from_records`` would)."""
        return pd.DataFrame({k: pd.Series(v) if isinstance(v, list) else v for k, v in self.data.items()})


_NUMBERS = frozenset({int, float, type(None)})
_BOOLS = frozenset({bool, type(None)})
_TEXTS = frozenset({str, type(None)})
SMALL_BATCH = 16  # up to this many values, a per-value loop is cheaper than factorizing


def coerce_arrays(df: pd.DataFrame, schema: Schema) -> dict[str, np.ndarray]:
    """Small-batch :func:`coerce` (strict): column → numpy array, same values, much less overhead."""
    used = {c.name for c in schema.columns if c.used}
    return coerce_columns({name: _values(s) for name, s in df.items() if name in used}, schema)


def _values(s: pd.Series) -> np.ndarray:
    """A few rows of a column as numpy; a categorical's by their codes (pandas' own conversion takes the whole
    category index first: most of the time of a one-row prediction on a table of many categoricals)."""
    a = s.array
    if isinstance(a, pd.Categorical) and len(a) <= SMALL_BATCH:
        cats = a.categories
        return np.array([cats[k] if k >= 0 else np.nan for k in a.codes], dtype=object)
    return s.to_numpy()


def coerce_columns(cols: Any, schema: Schema) -> dict[str, np.ndarray]:
    """Strict :func:`coerce` of ``cols`` (column → list or 1-D array): column → numpy array, same values.

    Plain JSON values (numbers, booleans, text, null) and numpy arrays convert directly; anything else
    (text-encoded numbers or dates, placeholders to mask, mixed types) goes through :func:`coerce`, which
    also raises the :class:`ColumnTypeError` naming the column, rows and values.
    """
    out: dict[str, np.ndarray] = {}
    for c in schema.columns:
        if not c.used:
            continue
        vals = cols[c.name]
        try:
            arr = None if c.na_values else _direct(vals, c.kind)
        except OverflowError:  # an integer past float64 (JSON allows any length): the general path says so
            arr = None
        if arr is not None and c.kind == "numeric":
            arr = finite(arr, c.name)
        if arr is None:  # the general path
            s = pd.Series(vals) if isinstance(vals, list) else pd.Series(np.asarray(vals))
            col = coerce(s.to_frame(c.name), Schema([c], schema.target, schema.task, schema.metric), strict=True)
            arr = col[c.name].to_numpy()
        out[c.name] = arr
    return out


def _direct(vals: Any, kind: str) -> np.ndarray | None:
    """``vals`` coerced to ``kind`` without pandas, or None when it needs the general path."""
    if isinstance(vals, list):
        types = set(map(type, vals))
        if (kind == "numeric" and types <= _NUMBERS) or (kind == "boolean" and types <= _BOOLS):
            return np.array(vals, dtype=float)  # None → NaN
        if kind in ("categorical", "high_cardinality") and types <= _TEXTS | _NUMBERS | _BOOLS:
            return _levels(np.array(vals, dtype=object), types)
        if kind == "text" and types <= _TEXTS:
            return np.array([np.nan if v is None else v for v in vals], dtype=object)
        return None
    vals = np.asarray(vals)
    k = vals.dtype.kind
    if kind in ("numeric", "boolean") and k in "fiub":
        return vals.astype(float)
    if kind == "datetime" and k == "M":
        return vals.astype("datetime64[ns]")
    if kind == "text" and k:
        return np.array([np.nan if _is_na(v) else str(v) for v in vals], dtype=object)
    if kind in ("categorical", "high_cardinality") and k:
        return _levels(vals.astype(object), {type(v) for v in vals} if k == "O" else set())
    return None


def _levels(vals: np.ndarray, types: set) -> np.ndarray:
    """Category levels of an object array (see :func:`_level`; blank text is missing)."""
    mixed = any(issubclass(t, (bool, np.bool_)) for t in types) and any(
        issubclass(t, (int, float, np.number)) and not issubclass(t, (bool, np.bool_)) for t in types
    )  # True == 1: factorizing would merge the levels "True" and "1"
    if len(vals) <= SMALL_BATCH or mixed:
        return np.array([_blank_level(v) for v in vals], dtype=object)
    codes, uniques = pd.factorize(vals, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = [_blank_level(v) for v in uniques]
    table[-1] = np.nan
    return table[codes]


FLOAT32_MAX = float(np.finfo(np.float32).max)  # ≈3.4e38: past it the boosters' float32 inputs overflow


def finite(a: np.ndarray, name: str = "", warn: bool = True) -> np.ndarray:
    """``a`` (float) with ±inf and values beyond ±3.4e38 (float32's range) read as missing.

    The rule at fit, predict, serve and profile alike: such values cannot be learned from (scikit-learn
    refuses infinity, XGBoost refuses values past float32), so they become missing and are imputed like
    any other gap; fit's checks report them (``non_finite``), predict warns with the column's name.
    """
    a = np.asarray(a, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = np.abs(a) > FLOAT32_MAX
    if not bad.any():
        return a
    if warn:
        warnings.warn(
            f"column {name!r}: {int(bad.sum())} value(s) infinite or beyond ±3.4e38 read as missing",
            MlwrightWarning,
            stacklevel=5,
        )
    return np.where(bad, np.nan, a)


def _bad(name: str, s: pd.Series, bad: pd.Series, expected: str) -> ColumnTypeError:
    rows = list(s.index[bad][:5])
    vals = [s[r] for r in rows]
    return ColumnTypeError(
        f"column {name!r} must hold {expected} values, but {int(bad.sum())} row(s) do not "
        f"(rows {rows}, values {vals!r}); fix or blank those values"
    )


def _to_float(s: pd.Series, name: str, strict: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):  # true/false are 1/0 (as in numpy, pandas and ONNX exports)
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Series(finite(s.to_numpy(dtype=float, na_value=np.nan), name), index=s.index)
    s2 = _blank_to_na(s)
    text = s2.astype(str).str.strip()
    conv = pd.to_numeric(text.where(s2.notna()), errors="coerce")
    bad = s2.notna() & conv.isna() & (text.str.lower() != "nan")  # "nan": how str() writes a missing number
    if bad.any():
        if strict:
            raise _bad(name, s, bad, "numeric")
        warnings.warn(
            f"column {name!r}: {int(bad.sum())} non-numeric value(s) treated as missing", MlwrightWarning, stacklevel=4
        )
    return pd.Series(finite(conv.to_numpy(dtype=float, na_value=np.nan), name), index=s.index)


_TRUE = {"true", "yes", "y", "t", "1", "1.0"}
_FALSE = {"false", "no", "n", "f", "0", "0.0"}


def _to_bool(s: pd.Series, name: str, strict: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype(float)
    low = s.astype(str).str.strip().str.lower()
    out = pd.Series(np.where(low.isin(_TRUE), 1.0, np.where(low.isin(_FALSE), 0.0, np.nan)), index=s.index)
    bad = s.notna() & out.isna()
    if bad.any() and strict:
        raise _bad(name, s, bad, "true/false")
    return out


def _to_datetime(s: pd.Series, name: str, strict: bool, order: str | None = None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
    else:
        s2 = _blank_to_na(s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = pd.to_datetime(s2, errors="coerce", format="mixed", utc=True, dayfirst=order == "dmy")
        bad = s2.notna() & out.isna()
        if bad.any() and strict:
            raise _bad(name, s, bad, "date/time")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def class_key(v: Any) -> Any:
    """Hashable lookup key for a class label (1 and 1.0 and '1' stay distinct from True only by type)."""
    if isinstance(v, (bool, np.bool_)):
        return ("b", bool(v))
    if isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, (bool, np.bool_)):
        return ("n", float(v))
    return ("s", str(v))


def class_text(v: Any) -> str:
    """A class label as text: ``'1'`` for 1 and 1.0, ``'True'`` for True, else ``str(v)``."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(bool(v)) if isinstance(v, (bool, np.bool_)) else str(v)


def class_codes(classes: list[Any], values: Any) -> np.ndarray:
    """Labels → positions in ``classes`` (-1 for a label that is none of them): the one rule, everywhere.

    A label matches a class by :func:`class_key` (1 and 1.0 are one class, True and 1 are not) or, for
    labels that come back as text (JSON, CSV, a store's TEXT column), by :func:`class_text` ('1' is the
    class 1, 'True' the class True) when no class has that exact key.
    """
    exact = {class_key(c): i for i, c in enumerate(classes)}
    text = {class_text(c): i for i, c in enumerate(classes)}

    def code(v: Any) -> int:
        if v is None or (isinstance(v, float) and v != v):
            return -1
        i = exact.get(class_key(v))
        return i if i is not None else text.get(class_text(v), -1) if isinstance(v, str) else -1

    if not isinstance(values, pd.Series):
        values = np.asarray(values, dtype=object) if isinstance(values, list) else np.asarray(values)
    if values.dtype == object:  # per value: factorizing would merge True with 1
        vals = values.to_numpy() if isinstance(values, pd.Series) else values
        return np.fromiter((code(v) for v in vals), dtype=int, count=len(vals))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # one lookup per distinct value
    table = np.array([code(v) for v in uniques] + [-1], dtype=int)  # the last entry: missing (code -1)
    return table[codes]


def encode_target(y: pd.Series, schema: Schema) -> np.ndarray:
    """Target values → what models learn: floats (regression) or class indices into ``schema.classes``.

    Raises :class:`TargetError` for a regression target with text, a single class, or ``task='binary'``
    with more than two classes.
    """
    if schema.task == "regression":
        conv = pd.to_numeric(y, errors="coerce")
        bad = conv.isna() & y.notna()
        if bad.any():
            raise TargetError(
                f"regression target {schema.target!r} has {int(bad.sum())} non-numeric value(s), e.g. "
                f"{list(y[bad].head(3))}; clean them or choose a classification task"
            )
        return conv.to_numpy(float)
    classes = schema.classes
    if len(classes) < 2:
        raise TargetError(
            f"target {schema.target!r} has a single class ({classes[0]!r}): nothing to learn; "
            "check the data or the target column"
        )
    if schema.task == "binary" and len(classes) > 2:
        raise TargetError(
            f"task='binary' but target {schema.target!r} has {len(classes)} classes; use task='multiclass'"
        )
    codes = class_codes(classes, y)
    if (codes < 0).any():
        raise TargetError(
            f"target {schema.target!r} has {int((codes < 0).sum())} value(s) that are none of its classes "
            f"{list(classes)[:5]}; drop the rows or fit again"
        )
    return codes
