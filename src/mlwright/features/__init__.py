"""Preprocessing: scikit-learn transformers and the default pipeline built from a Schema.

Three output styles serve the model families:

``native``
    a DataFrame of floats plus ``category`` columns (LightGBM, XGBoost, CatBoost read these
    natively); missing values stay NaN in numeric columns.
``ordinal``
    a dense float array: numbers imputed (median + missing indicators), low-cardinality
    categories ordinal-encoded, high-cardinality ones target- and frequency-encoded (forests).
``onehot``
    numbers imputed and scaled, categories one-hot encoded (rare levels pooled), high-cardinality
    ones target-encoded, text as TF-IDF (sparse output when there is text): linear models,
    k-NN, SVM, naive Bayes.

Everything is fitted inside each training fold by the search, so nothing leaks from validation rows.

Package: may import ``data`` only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from mlwright.data.schema import FLOAT32_MAX, SMALL_BATCH, Schema, distinct

__all__ = [
    "CategoryEncoder",
    "DatetimeFeatures",
    "FastFrame",
    "FrequencyEncoder",
    "TabularPreprocessor",
    "TextFeatures",
    "as_levels",
    "build_preprocessor",
]

MISSING = "__missing__"
OTHER = "__other__"
STYLES = ("native", "ordinal", "onehot")
CHAR_FEATURES = 30000  # character n-grams per text column for the linear families (one-hot style)
CHAR_MAX_CHARS = 1_000_000  # ... when the column holds at most this many characters (their analysis costs ~3 µs each)
SPARSE_STATS_SCALE = 10.0  # log lengths (up to ~10) scaled beside TF-IDF weights in the sparse output


def _frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


def _fit_frame(est, X) -> pd.DataFrame:
    """Record ``n_features_in_`` (validating plain arrays the sklearn way) and return a DataFrame."""
    if not isinstance(X, pd.DataFrame):
        validate_data(est, X, dtype=None, ensure_all_finite="allow-nan")
    else:
        est.n_features_in_ = X.shape[1]
    return _frame(X)


def _transform_frame(est, X) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        validate_data(est, X, dtype=None, ensure_all_finite="allow-nan", reset=False)
    return _frame(X)


def _as_str(s: pd.Series) -> pd.Series:
    """Values as category levels (see :func:`_level_str`), as a Series on the same index."""
    codes, levels = _levels(s)
    return pd.Series(levels[codes], index=s.index)


def as_levels(s: pd.Series) -> pd.Series:
    """Values as category levels (text; missing values as one level of their own), on the same index."""
    return _as_str(s)


def _levels(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, levels)``: each value's level is ``levels[code]`` (see :func:`_level_str`).

    Levels are computed once per distinct value; the last entry is MISSING (code -1).
    """
    found = distinct(s)
    if found is None:  # booleans mixed with numbers: value by value
        levels = [_level_str(v) for v in s.to_numpy(dtype=object)]
        return np.arange(len(levels)), np.array([*levels, MISSING], dtype=object)
    codes, uniques = found
    if pd.api.types.infer_dtype(uniques, skipna=False) != "string":
        uniques = np.array([_level_str(v) for v in uniques], dtype=object)
    return codes, np.append(uniques, np.array([MISSING], dtype=object))


def _positions(s: pd.Series, keys: pd.Index, default: int) -> np.ndarray:
    """Position of each value's level in ``keys`` (``default`` where absent), vectorised."""
    codes, levels = _levels(s)
    pos = keys.get_indexer(levels)
    return np.where(pos >= 0, pos, default)[codes]


class _CategoricalInput:
    """Mixin: the transformer takes text/categorical columns with missing values."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


class FrequencyEncoder(_CategoricalInput, TransformerMixin, BaseEstimator):
    """Replace each value by its share of the training rows (unseen values → 0).

    Parameters
    ----------
    normalize : bool, default True
        Share of rows (True) or raw count (False).
    """

    def __init__(self, normalize: bool = True):
        self.normalize = normalize

    def fit(self, X, y=None):
        """Learn value frequencies per column."""
        df = _fit_frame(self, X)
        self.maps_ = []
        for c in df.columns:
            vc = _as_str(df[c]).value_counts(normalize=self.normalize)
            self.maps_.append(vc.to_dict())
        return self

    def transform(self, X):
        """Map values to their training frequency."""
        check_is_fitted(self, "maps_")
        df = _transform_frame(self, X)
        if df.shape[1] != len(self.maps_):
            raise ValueError(f"X has {df.shape[1]} features, but FrequencyEncoder expects {len(self.maps_)}")
        cols = []
        for c, m in zip(df.columns, self.maps_):
            values = np.append(np.fromiter(m.values(), float, count=len(m)), 0.0)  # unseen → 0
            cols.append(values[_positions(df[c], pd.Index(list(m)), len(m))])
        return np.column_stack(cols) if cols else np.empty((len(df), 0))


class CategoryEncoder(_CategoricalInput, TransformerMixin, BaseEstimator):
    """Turn columns into pandas ``category`` columns with categories fixed at fit time.

    Levels seen fewer than ``min_count`` times, levels beyond the ``max_levels`` most frequent,
    and levels unseen in training map to ``__other__``; missing values map to ``__missing__``.
    Output is a DataFrame, which LightGBM, XGBoost and CatBoost read natively.

    Parameters
    ----------
    max_levels : int, default 200
    min_count : int, default 1
    """

    def __init__(self, max_levels: int = 200, min_count: int = 1):
        self.max_levels = max_levels
        self.min_count = min_count

    def fit(self, X, y=None):
        """Learn the categories of each column."""
        df = _fit_frame(self, X)
        self.columns_ = [str(c) for c in df.columns]
        self.categories_ = []
        for c in df.columns:
            vc = _as_str(df[c]).value_counts()
            keep = [v for v, n in vc.items() if n >= self.min_count and v != MISSING][: self.max_levels]
            self.categories_.append([*keep, OTHER, MISSING])
        self.lookups_ = [{v: i for i, v in enumerate(cats)} for cats in self.categories_]
        return self

    def transform(self, X) -> pd.DataFrame:
        """Encode as ``category`` columns."""
        check_is_fitted(self, "categories_")
        df = _transform_frame(self, X)
        if df.shape[1] != len(self.categories_):
            raise ValueError(f"X has {df.shape[1]} features, but CategoryEncoder expects {len(self.categories_)}")
        return pd.DataFrame(self.encode_columns(df), index=df.index)

    def encode_columns(self, df: pd.DataFrame) -> dict[str, pd.Categorical]:
        """Column name → categorical, without building a DataFrame (the fast path uses this)."""
        lookups = self.lookups_
        out = {}
        for name, c, cats, lookup in zip(self.columns_, df.columns, self.categories_, lookups):
            other = lookup[OTHER]
            codes = _positions(df[c], pd.Index(cats), other).astype(np.int32)
            out[name] = pd.Categorical.from_codes(codes, categories=cats, validate=False)
        return out


class DatetimeFeatures(TransformerMixin, BaseEstimator):
    """Expand datetime columns into numeric parts.

    Each column gives year, month, day, day of week, day of year, hour (when times vary) and days
    since 1970 — the last lets trees follow trends and drift.
    """

    def fit(self, X, y=None):
        """Note which columns carry a time of day."""
        df = _frame(X)
        self.n_features_in_ = df.shape[1]
        self.columns_ = [str(c) for c in df.columns]
        self.has_time_ = []
        for c in df.columns:
            s = pd.to_datetime(df[c], errors="coerce")
            self.has_time_.append(bool((s.dt.hour.fillna(0) != 0).any() or (s.dt.minute.fillna(0) != 0).any()))
        return self

    def transform(self, X) -> pd.DataFrame:
        """Numeric date parts, NaN where the date is missing."""
        check_is_fitted(self, "has_time_")
        df = _frame(X)
        out = {}
        for name, c, has_time in zip(self.columns_, df.columns, self.has_time_):
            s = pd.to_datetime(df[c], errors="coerce")
            out[f"{name}__year"] = s.dt.year.astype(float)
            out[f"{name}__month"] = s.dt.month.astype(float)
            out[f"{name}__day"] = s.dt.day.astype(float)
            out[f"{name}__dow"] = s.dt.day_of_week.astype(float)
            out[f"{name}__doy"] = s.dt.day_of_year.astype(float)
            if has_time:
                out[f"{name}__hour"] = (s.dt.hour + s.dt.minute / 60.0).astype(float)
            epoch = (s - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            out[f"{name}__days"] = epoch.astype(float)
        return pd.DataFrame(out, index=df.index)


def _date_parts(values: np.ndarray, has_time: bool) -> list[np.ndarray]:
    """The columns :class:`DatetimeFeatures` makes for one datetime array, in the same order (numpy's
    calendar units, no index per call: a twentieth of pandas' time for one row)."""
    v = values.astype("datetime64[ns]")
    day, month, year = v.astype("datetime64[D]"), v.astype("datetime64[M]"), v.astype("datetime64[Y]")
    out = [
        year.astype(np.int64) + 1970.0,
        (month - year.astype("datetime64[M]")).astype(np.int64) + 1.0,
        (day - month.astype("datetime64[D]")).astype(np.int64) + 1.0,
        ((day.astype(np.int64) + 3) % 7).astype(float),  # 1970-01-01 was a Thursday; Monday is 0
        (day - year.astype("datetime64[D]")).astype(np.int64) + 1.0,
    ]
    if has_time:
        out.append((v - day).astype("timedelta64[m]").astype(np.int64) / 60.0)
    out.append(v.astype(np.int64) / 86_400e9)
    nat = np.isnat(v)
    for o in out:
        o[nat] = np.nan
    return out


def _fit_tfidf(vec: TfidfVectorizer, txt: pd.Series):
    try:
        return vec.fit_transform(txt)
    except ValueError:  # empty vocabulary (e.g. tiny data): fall back to no pruning
        vec.set_params(min_df=1)
        return vec.fit_transform(txt)


class TextFeatures(TransformerMixin, BaseEstimator):
    """Free text → TF-IDF (sparse) or its truncated SVD (dense), plus length statistics.

    Parameters
    ----------
    n_components : int or None, default 24
        SVD components; ``None`` keeps the sparse TF-IDF matrix.
    max_features : int, default 20000
        Word uni- and bigrams kept per column.
    char_features : int, default 0
        Sparse output only: character 2–5-grams (within word boundaries) kept per column besides the words —
        robust to spelling, inflection and word pieces; with a linear model the classic strong text baseline.
    seed : int, default 0
    """

    def __init__(self, n_components: int | None = 24, max_features: int = 20000, char_features: int = 0, seed: int = 0):
        self.n_components = n_components
        self.max_features = max_features
        self.char_features = char_features
        self.seed = seed

    def fit(self, X, y=None):
        """Fit the vectorisers (and SVD) of each column."""
        df = _frame(X)
        self.n_features_in_ = df.shape[1]
        self.vectorizers_, self.svds_, self.char_vectorizers_ = [], [], []
        for c in df.columns:
            txt = df[c].fillna("").astype(str)
            vec = TfidfVectorizer(
                max_features=self.max_features,
                ngram_range=(1, 2),
                sublinear_tf=True,
                min_df=2,
                token_pattern=r"(?u)\b\w+\b|[#@]\w+|https?://\S+",
                dtype=np.float32,
            )
            m = _fit_tfidf(vec, txt)
            chars = None
            if self.char_features and self.n_components is None and txt.str.len().sum() <= CHAR_MAX_CHARS:
                chars = TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    max_features=self.char_features,
                    sublinear_tf=True,
                    min_df=2,
                    dtype=np.float32,
                )
                _fit_tfidf(chars, txt)
            self.char_vectorizers_.append(chars)
            svd = None
            if self.n_components is not None:
                k = max(1, min(self.n_components, m.shape[1] - 1, m.shape[0] - 1))
                svd = TruncatedSVD(n_components=k, random_state=self.seed, algorithm="randomized", n_iter=3)
                svd.fit(m)
            self.vectorizers_.append(vec)
            self.svds_.append(svd)
        return self

    def transform_arrays(self, columns: list[np.ndarray]) -> np.ndarray:
        """Dense (SVD) output for a few rows given as arrays of text (NaN for missing)."""
        blocks = []
        for vals, vec, svd in zip(columns, self.vectorizers_, self.svds_):
            txt = ["" if not isinstance(v, str) else v for v in vals]
            stats = np.log1p(np.array([[len(t), len(t.split())] for t in txt], dtype=float))
            blocks.append(np.hstack([svd.transform(vec.transform(txt)), stats]))
        return np.hstack(blocks)

    def transform(self, X):
        """TF-IDF/SVD blocks and [chars, words] per column."""
        check_is_fitted(self, "vectorizers_")
        df = _frame(X)
        blocks = []
        chars = getattr(self, "char_vectorizers_", None) or [None] * len(self.vectorizers_)  # older models: none
        for c, vec, svd, cvec in zip(df.columns, self.vectorizers_, self.svds_, chars):
            txt = df[c].fillna("").astype(str)
            m = vec.transform(txt)
            if cvec is not None:
                m = sp.hstack([m, cvec.transform(txt)]).tocsr()
            stats = np.column_stack(
                [txt.str.len().to_numpy(float), txt.str.split().str.len().fillna(0).to_numpy(float)]
            )
            if svd is not None:
                blocks.append(np.hstack([svd.transform(m), np.log1p(stats)]))
            else:  # beside TF-IDF weights (at most 1) for linear models: lengths on the same scale (solvers converge)
                blocks.append(sp.hstack([m, sp.csr_matrix(np.log1p(stats) / SPARSE_STATS_SCALE)]).tocsr())
        if self.n_components is None:
            return sp.hstack(blocks).tocsr() if blocks else sp.csr_matrix((len(df), 0))
        return np.hstack(blocks) if blocks else np.empty((len(df), 0))


class FastFrame:
    """Output of :meth:`TabularPreprocessor.transform_fast`: floats, categories as codes."""

    __slots__ = ("cat_idx", "cat_levels", "values")

    def __init__(self, values: np.ndarray, cat_idx: list[int], cat_levels: list[list[str]]):
        self.values = values
        self.cat_idx = cat_idx
        self.cat_levels = cat_levels

    def rows_with_labels(self) -> list[list[Any]]:
        """Rows with category codes replaced by their level text (what CatBoost reads)."""
        rows = self.values.tolist()
        for j, levels in zip(self.cat_idx, self.cat_levels):
            for r in rows:
                r[j] = levels[int(r[j])]
        return rows

    def frame_with_labels(self) -> pd.DataFrame:
        """:meth:`rows_with_labels` as a DataFrame (columns named as :meth:`TabularPreprocessor.transform`
        names them: f0, f1, …): cheaper to hand over for many rows."""
        cols: dict[int, Any] = dict(enumerate(self.values.T))
        for j, levels in zip(self.cat_idx, self.cat_levels):
            cols[j] = np.asarray(levels, dtype=object)[self.values[:, j].astype(np.intp)]
        return pd.DataFrame({f"f{i}": v for i, v in cols.items()})


def _in_float32(a: np.ndarray) -> np.ndarray:
    """Scaled numbers held inside float32's range: a value near ±3.4e38 divided by a spread below one
    would overflow to infinity in the float32 matrix the models read (and scikit-learn refuses infinity)."""
    return np.clip(a, -FLOAT32_MAX, FLOAT32_MAX)


def _stack(blocks: list[Any], n: int):
    """Side by side: sparse (float32) if any block is sparse, else a dense float array."""
    if not blocks:
        return np.zeros((n, 0))
    if any(sp.issparse(b) for b in blocks):
        return sp.hstack([sp.csr_matrix(b) if not sp.issparse(b) else b for b in blocks]).tocsr().astype(np.float32)
    return np.hstack([np.asarray(b, dtype=float) for b in blocks])


UNSEEN = "\x00unseen level"


def _block_tables(enc, names: list[str]) -> list[tuple[dict[str, int], np.ndarray, pd.Index]]:
    """Per column: level → row of a small matrix holding that level's encoded block (last row: unseen),
    the matrix, and the levels as an index (row = position) for whole-column lookups.

    Works for any per-column encoder whose output keeps each column's block together (ordinal,
    one-hot with infrequent grouping, target encoding): the encoder itself is probed once with every
    known level, so the tables give exactly its output.
    """
    cats = [np.asarray(c, dtype=object) for c in enc.categories_]
    length = max(len(c) for c in cats) + 1
    probe = pd.DataFrame(
        {
            n: np.concatenate([c, np.full(length - 1 - len(c), c[0], dtype=object), [UNSEEN]])
            for n, c in zip(names, cats)
        }
    )
    out = enc.transform(probe)
    out = out.toarray() if sp.issparse(out) else np.asarray(out, dtype=float)
    infrequent = getattr(enc, "infrequent_categories_", None)
    widths = []
    for j, c in enumerate(cats):
        if isinstance(enc, OneHotEncoder):
            rare = infrequent[j] if infrequent is not None and infrequent[j] is not None else []
            widths.append(len(c) - len(rare) + (1 if len(rare) else 0))
        else:
            widths.append(out.shape[1] // len(cats))
    tables, start = [], 0
    for c, w in zip(cats, widths):
        block = out[:, start : start + w]
        matrix = np.vstack([block[: len(c)], block[-1:]])
        levels = {str(level): i for i, level in enumerate(c)}
        tables.append((levels, matrix, pd.Index(list(levels))))
        start += w
    if start != out.shape[1]:
        raise RuntimeError(f"encoder blocks add up to {start} columns, not {out.shape[1]}")
    return tables


def _lookup(tables, columns) -> np.ndarray:
    """Encode rows given as arrays with :func:`_block_tables`."""
    parts = []
    for (index, matrix, _), values in zip(tables, columns):
        unseen = len(matrix) - 1
        parts.append(matrix[_per_level(values, lambda v, i=index, u=unseen: i.get(v, u), int)])
    return np.hstack(parts)


def _per_level(values: Any, fn: Any, dtype: Any = float) -> np.ndarray:
    """``fn(level)`` of every value's level (see :func:`_level_str`): value by value for a few rows, once
    per distinct value for more (the values are coerced levels: text or missing, see ``coerce_columns``)."""
    if len(values) <= SMALL_BATCH:
        return np.array([fn(_level_str(v)) for v in values], dtype=dtype)
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    table = np.array([fn(_level_str(u)) for u in uniques] + [fn(MISSING)], dtype=dtype)
    return table[codes]


def _encode_by_tables(tables, columns: list[pd.Series], sparse: bool):
    """Encode whole columns with :func:`_block_tables` (vectorised: one lookup per distinct value)."""
    parts = []
    for (_, matrix, keys), values in zip(tables, columns):
        rows = _positions(values, keys, len(matrix) - 1)
        parts.append((sp.csr_matrix(matrix) if sparse else matrix)[rows])
    if sparse:
        return sp.hstack(parts, format="csr")
    return np.hstack(parts)


def _level_str(v: Any) -> str:
    """A value as a category level: missing → MISSING, and 3, 3.0 and '3' are one level."""
    if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and v != v):
        return MISSING
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """The whole preprocessing of one model family, built from column lists.

    Parameters
    ----------
    numeric, categorical, high_cardinality, datetime, text : list of str or None
        Column names per kind.  When all are None every column is treated as numeric (this is
        what happens with a plain array).
    style : {"native", "ordinal", "onehot"}
    task : str
        "binary", "multiclass" or "regression" (target encoding needs it).
    seed : int
    impute : {"median", "mean", "most_frequent", "zero"}
        How the ordinal and one-hot styles fill missing numbers (indicators are added either way).
    clip : float or None
        Clip numbers to the [clip, 1 − clip] quantiles of the rows the preprocessor is fitted on
        (ordinal and one-hot styles; trees do not need it).
    """

    def __init__(
        self,
        numeric=None,
        categorical=None,
        high_cardinality=None,
        datetime=None,
        text=None,
        style: str = "ordinal",
        task: str = "regression",
        seed: int = 0,
        impute: str = "median",
        clip: float | None = None,
    ):
        self.numeric = numeric
        self.categorical = categorical
        self.high_cardinality = high_cardinality
        self.datetime = datetime
        self.text = text
        self.style = style
        self.task = task
        self.seed = seed
        self.impute = impute
        self.clip = clip

    # -------------------------------------------------------------- helpers
    def _lists(self, df: pd.DataFrame):
        kinds = [self.numeric, self.categorical, self.high_cardinality, self.datetime, self.text]
        if all(k is None for k in kinds):
            return list(df.columns), [], [], [], []
        return [list(k or []) for k in kinds]

    def _numeric_block(self, df: pd.DataFrame) -> pd.DataFrame:
        parts = []
        if self.num_:
            parts.append(df[self.num_].astype(float))
        if self.dt_:
            parts.append(self.dt_enc_.transform(df[self.dt_]))
        if not parts:
            return pd.DataFrame(index=df.index)
        return pd.concat(parts, axis=1)

    def fit(self, X, y=None):
        """Fit every block on training rows only."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then transform the training rows (target encoding is cross-fitted)."""
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {self.style!r}")
        plain = not isinstance(X, pd.DataFrame)
        if plain:
            X = validate_data(self, X, dtype="numeric", ensure_all_finite="allow-nan")
        df = _frame(X)
        self.n_features_in_ = df.shape[1]
        self.num_, self.cat_, self.hc_, self.dt_, self.txt_ = self._lists(df)
        if plain:
            df = df.apply(pd.to_numeric, errors="coerce")
        if self.dt_:
            self.dt_enc_ = DatetimeFeatures().fit(df[self.dt_])
        num = self._numeric_block(df)
        self.numeric_out_ = list(num.columns)
        y_arr = None if y is None else np.asarray(y)
        if self.style == "native":
            self.cat_enc_ = CategoryEncoder(max_levels=200).fit(df[self.cat_]) if self.cat_ else None
            self.hc_enc_ = CategoryEncoder(max_levels=100, min_count=5).fit(df[self.hc_]) if self.hc_ else None
            self.freq_ = FrequencyEncoder().fit(df[self.hc_]) if self.hc_ else None
            self.text_ = TextFeatures(n_components=24, seed=self.seed).fit(df[self.txt_]) if self.txt_ else None
            return self._transform_native(df, num)
        # numeric: impute median (+ indicators), scale for onehot
        self.imputer_ = None
        self.clip_ = None
        if num.shape[1]:
            a = num.to_numpy(float)
            if self.clip is not None:
                with warnings.catch_warnings():  # all-missing columns: no bounds
                    warnings.simplefilter("ignore")
                    lo, hi = np.nanquantile(a, [self.clip, 1 - self.clip], axis=0)
                self.clip_ = (np.nan_to_num(lo, nan=-np.inf), np.nan_to_num(hi, nan=np.inf))
                a = np.clip(a, *self.clip_)
            strategy = "constant" if self.impute == "zero" else self.impute
            self.imputer_ = SimpleImputer(
                strategy=strategy, fill_value=0.0, add_indicator=True, keep_empty_features=True
            )
            self.imputer_.fit(a)
            if self.style == "onehot":
                self.scaler_ = StandardScaler().fit(self.imputer_.transform(a))
        self.cat_enc_ = None
        if self.cat_:
            cats = df[self.cat_].apply(_as_str)
            if self.style == "onehot":
                self.cat_enc_ = OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=True, dtype=np.float32
                ).fit(cats)
            else:
                self.cat_enc_ = OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64
                ).fit(cats)
        self.hc_enc_, self.freq_ = None, None
        te_train = None
        if self.hc_:
            hc = df[self.hc_].apply(_as_str)
            self.freq_ = FrequencyEncoder().fit(hc)
            if y_arr is not None:
                target_type = (
                    "continuous" if self.task == "regression" else ("binary" if self.task == "binary" else "multiclass")
                )
                stratify = self.task != "regression" and np.bincount(np.asarray(y_arr, int)).max() >= 5
                cv = (StratifiedKFold if stratify else KFold)(5, shuffle=True, random_state=self.seed)
                self.hc_enc_ = TargetEncoder(target_type=target_type, cv=cv)
                te_train = self.hc_enc_.fit_transform(hc, y_arr)
        self.text_ = None
        if self.txt_:
            dense_text = self.style != "onehot"
            self.text_ = TextFeatures(
                n_components=24 if dense_text else None,
                max_features=20000 if dense_text else 10000,
                char_features=0 if dense_text else CHAR_FEATURES,
                seed=self.seed,
            ).fit(df[self.txt_])
        return self._transform_flat(df, num, te_train)

    def transform(self, X):
        """Apply the fitted blocks."""
        check_is_fitted(self, "num_")
        plain = not isinstance(X, pd.DataFrame)
        if plain:
            X = validate_data(self, X, dtype="numeric", ensure_all_finite="allow-nan", reset=False)
        df = _frame(X)
        if df.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {df.shape[1]} features, but TabularPreprocessor expects {self.n_features_in_}")
        if plain:
            df = df.apply(pd.to_numeric, errors="coerce")
        num = self._numeric_block(df)
        if self.style == "native":
            return self._transform_native(df, num)
        return self._transform_flat(df, num, None)

    def _transform_native(self, df: pd.DataFrame, num: pd.DataFrame) -> pd.DataFrame:
        cols: dict[str, Any] = {c: num[c].to_numpy(dtype=float) for c in num.columns}
        if self.cat_enc_ is not None:
            cols.update(self.cat_enc_.encode_columns(df[self.cat_]))
        if self.hc_enc_ is not None:
            for c, v in self.hc_enc_.encode_columns(df[self.hc_]).items():
                cols[f"{c}__cat"] = v
            f = self.freq_.transform(df[self.hc_])
            for i, c in enumerate(self.hc_):
                cols[f"{c}__freq"] = f[:, i]
        if self.text_ is not None:
            t = self.text_.transform(df[self.txt_])
            for i in range(t.shape[1]):
                cols[f"text{i}"] = t[:, i]
        # safe, unique names for every booster
        self.feature_names_out_ = list(cols)
        return pd.DataFrame({f"f{i}": v for i, v in enumerate(cols.values())}, index=range(len(df)))

    def transform_fast(self, cols: dict[str, np.ndarray]):
        """Transform a few rows given as arrays (see :meth:`Schema.validate_arrays`).

        Same values as :meth:`transform`.  The native style returns a :class:`FastFrame` (categories as
        integer codes, no pandas on the way); the other styles return what :meth:`transform` does.
        """
        check_is_fitted(self, "num_")
        parts: list[np.ndarray] = [np.asarray(cols[c], dtype=float) for c in self.num_]
        for c, has_time in zip(self.dt_, self.dt_enc_.has_time_ if self.dt_ else []):
            parts.extend(_date_parts(cols[c], has_time))
        if self.style != "native":
            return self._fast_flat(cols, parts)
        cat_levels: list[list[str]] = []

        def codes(enc, names):
            for c, cats, lookup in zip(names, enc.categories_, enc.lookups_):
                other = lookup[OTHER]
                parts.append(_per_level(cols[c], lambda v, lk=lookup, o=other: lk.get(v, o)))
                cat_levels.append(cats)

        first_cat = len(parts)
        if self.cat_enc_ is not None:
            codes(self.cat_enc_, self.cat_)
        if self.hc_enc_ is not None:
            codes(self.hc_enc_, self.hc_)
        n_cat = len(parts) - first_cat
        if self.hc_enc_ is not None:
            for c, m in zip(self.hc_, self.freq_.maps_):
                parts.append(_per_level(cols[c], lambda v, m=m: m.get(v, 0.0)))
        n = len(next(iter(cols.values()))) if cols else 0
        matrix = np.column_stack(parts) if parts else np.empty((n, 0))  # a text-only table has no other part
        if self.text_ is not None:
            matrix = np.hstack([matrix, self.text_.transform_arrays([cols[c] for c in self.txt_])])
        return FastFrame(matrix, list(range(first_cat, first_cat + n_cat)), cat_levels)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_fast", None)  # derived lookup tables: rebuilt on first use, never persisted
        return state

    def fast_tables(self) -> dict[str, Any]:
        """The fitted imputer, scaler and encoders as plain arrays and dicts (built once, on first use)."""
        fast = self.__dict__.get("_fast")
        if fast is None:
            fast = {}
            if self.imputer_ is not None:
                imp = self.imputer_
                fast["fill"] = np.nan_to_num(np.asarray(imp.statistics_, float), nan=0.0)  # empty columns → 0
                ind = imp.indicator_
                fast["flags"] = np.asarray(ind.features_) if ind is not None else np.zeros(0, int)
                if self.style == "onehot":
                    fast["mean"], fast["scale"] = self.scaler_.mean_, self.scaler_.scale_
            if self.cat_enc_ is not None:
                fast["cat"] = _block_tables(self.cat_enc_, self.cat_)
            if self.hc_enc_ is not None:
                fast["hc"] = _block_tables(self.hc_enc_, self.hc_)
            self._fast = fast
        return fast

    def _fast_flat(self, cols: dict[str, np.ndarray], num_parts: list[np.ndarray]):
        """Ordinal/one-hot styles for a few rows: the fitted encoders as lookup tables, no DataFrames."""
        n = len(next(iter(cols.values()))) if cols else 0
        fast = self.fast_tables()
        blocks: list[Any] = []
        if self.imputer_ is not None:
            a = np.column_stack(num_parts).astype(float)
            clip = getattr(self, "clip_", None)  # models saved before clipping existed have none
            if clip is not None:
                a = np.clip(a, *clip)
            missing = np.isnan(a)
            a = np.hstack([np.where(missing, fast["fill"], a), missing[:, fast["flags"]].astype(float)])
            blocks.append(_in_float32((a - fast["mean"]) / fast["scale"]) if self.style == "onehot" else a)
        if self.cat_enc_ is not None:
            blocks.append(_lookup(fast["cat"], [cols[c] for c in self.cat_]))
        if self.hc_:
            hc = [cols[c] for c in self.hc_]
            if self.hc_enc_ is not None:
                blocks.append(_lookup(fast["hc"], hc))
            freq = np.column_stack(
                [_per_level(vals, lambda v, m=m: m.get(v, 0.0)) for vals, m in zip(hc, self.freq_.maps_)]
            )
            blocks.append(np.log1p(freq * 1000.0))
        if self.text_ is not None:
            blocks.append(self.text_.transform(pd.DataFrame({c: cols[c] for c in self.txt_})))
        out = _stack(blocks, n)
        if self.style == "onehot" and self.cat_enc_ is not None and not sp.issparse(out):
            # the batch path's one-hot matrix is sparse float32: a few rows stay dense (cheaper), same values
            out = out.astype(np.float32)
        return out

    def _transform_flat(self, df: pd.DataFrame, num: pd.DataFrame, te_train):
        blocks = []
        if self.imputer_ is not None:
            a = num.to_numpy(float)
            clip = getattr(self, "clip_", None)
            a = self.imputer_.transform(np.clip(a, *clip) if clip is not None else a)
            if self.style == "onehot":
                a = _in_float32(self.scaler_.transform(a))
            blocks.append(a)
        # encoders as lookup tables (exactly their output), levels found once per distinct value
        fast = self.fast_tables() if self.cat_enc_ is not None or self.hc_enc_ is not None else {}
        if self.cat_enc_ is not None:
            blocks.append(_encode_by_tables(fast["cat"], [df[c] for c in self.cat_], sparse=self.style == "onehot"))
        if self.hc_:
            if self.hc_enc_ is not None:
                hc_cols = [df[c] for c in self.hc_]
                blocks.append(te_train if te_train is not None else _encode_by_tables(fast["hc"], hc_cols, False))
            blocks.append(np.log1p(self.freq_.transform(df[self.hc_]) * 1000.0))
        if self.text_ is not None:
            blocks.append(self.text_.transform(df[self.txt_]))
        return _stack(blocks, len(df))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def build_preprocessor(
    schema: Schema, style: str, seed: int = 0, impute: str = "median", clip: float | None = None
) -> TabularPreprocessor:
    """The preprocessing for one family style, built from the Schema (``impute``/``clip``: see
    :class:`TabularPreprocessor`)."""
    return TabularPreprocessor(
        numeric=schema.of_kind("numeric", "boolean"),
        categorical=schema.of_kind("categorical"),
        high_cardinality=schema.of_kind("high_cardinality"),
        datetime=schema.of_kind("datetime"),
        text=schema.of_kind("text"),
        style=style,
        task=schema.task,
        seed=seed,
        impute=impute,
        clip=clip,
    )
