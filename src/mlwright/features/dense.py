"""Rows → one dense, scaled numeric matrix, for the methods that measure distances between rows (clustering,
anomaly detection, components).

Every source column weighs about as much as one standardised number: numbers (and a date's days since 1970)
are median-imputed (with a missing indicator where something was missing) and standardised; a category is
one-hot encoded over its most frequent levels and scaled by 1/√2, so two rows that differ in it are one unit
apart; a high-cardinality column becomes its standardised frequency; free text its standardised truncated
SVD.  :attr:`DenseFeatures.sources_` maps every output column back to the column it came from, which is how
clusters and anomalies are explained in the user's own column names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from mlwright.features import DatetimeFeatures, FrequencyEncoder, TextFeatures, as_levels

__all__ = ["DenseFeatures"]

ONEHOT_WEIGHT = float(1 / np.sqrt(2))


class DenseFeatures(TransformerMixin, BaseEstimator):
    """A dense, scaled matrix for distance-based methods (see the module docstring).

    Parameters
    ----------
    numeric, categorical, high_cardinality, datetime, text : list of str
        Column names per kind (booleans count as numeric).
    max_levels : int, default 20
        Levels kept per categorical column (the rest share one "infrequent" column).
    text_components : int, default 8
        SVD components per text column.
    seed : int, default 0
    """

    def __init__(
        self,
        numeric: list[str] | None = None,
        categorical: list[str] | None = None,
        high_cardinality: list[str] | None = None,
        datetime: list[str] | None = None,
        text: list[str] | None = None,
        max_levels: int = 20,
        text_components: int = 8,
        seed: int = 0,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.high_cardinality = high_cardinality
        self.datetime = datetime
        self.text = text
        self.max_levels = max_levels
        self.text_components = text_components
        self.seed = seed

    def _numbers(self, df: pd.DataFrame) -> np.ndarray:
        parts = [df[self.num_].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)] if self.num_ else []
        if self.dt_:
            days = self.dt_enc_.transform(df[self.dt_])
            parts.append(days[[f"{c}__days" for c in self.dt_enc_.columns_]].to_numpy(dtype=float))
        return np.hstack(parts) if parts else np.empty((len(df), 0))

    def fit(self, X: pd.DataFrame, y: Any = None) -> DenseFeatures:
        """Fit every block on ``X``."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit, then transform ``X``."""
        df = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        self.num_ = list(self.numeric or [])
        self.cat_ = list(self.categorical or [])
        self.hc_ = list(self.high_cardinality or [])
        self.dt_ = list(self.datetime or [])
        self.txt_ = list(self.text or [])
        self.dt_enc_ = DatetimeFeatures().fit(df[self.dt_]) if self.dt_ else None
        sources: list[str] = []
        names: list[str] = []
        nums = self._numbers(df)
        self.imputer_ = self.scaler_ = None
        if nums.shape[1]:
            self.imputer_ = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True).fit(nums)
            self.scaler_ = StandardScaler().fit(self.imputer_.transform(nums))
            base = self.num_ + self.dt_
            names += base
            sources += base
            for j in getattr(self.imputer_.indicator_, "features_", []):
                names.append(f"{base[j]} is missing")
                sources.append(base[j])
        self.onehot_ = None
        if self.cat_:
            self.onehot_ = OneHotEncoder(
                handle_unknown="infrequent_if_exist", max_categories=self.max_levels, sparse_output=False
            ).fit(df[self.cat_].apply(as_levels))
            for c, levels in zip(self.cat_, self.onehot_.categories_):
                kept = [v for v in levels if v not in set(self._infrequent(c))]
                names += [f"{c} = {v}" for v in kept]
                sources += [c] * len(kept)
                if self._infrequent(c):
                    names.append(f"{c} = (other)")
                    sources.append(c)
        self.freq_ = self.freq_scaler_ = None
        if self.hc_:
            self.freq_ = FrequencyEncoder().fit(df[self.hc_])
            self.freq_scaler_ = StandardScaler().fit(self.freq_.transform(df[self.hc_]))
            names += [f"{c} (frequency)" for c in self.hc_]
            sources += self.hc_
        self.text_ = self.text_scaler_ = None
        if self.txt_:
            self.text_ = TextFeatures(n_components=self.text_components, max_features=5000, seed=self.seed)
            t = self.text_.fit_transform(df[self.txt_])
            self.text_scaler_ = StandardScaler().fit(t)
            per = t.shape[1] // len(self.txt_)
            for c in self.txt_:
                names += [f"{c} (text {i + 1})" for i in range(per)]
                sources += [c] * per
        self.feature_names_out_ = names
        self.sources_ = sources
        out = self.transform(df)
        if out.shape[1] != len(names):  # a block's width and its names must agree
            self.feature_names_out_ = self.sources_ = [f"x{i}" for i in range(out.shape[1])]
        return out

    def _infrequent(self, column: str) -> list[Any]:
        j = self.cat_.index(column)
        inf = self.onehot_.infrequent_categories_[j]
        return [] if inf is None else list(inf)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The dense matrix of ``X`` (rows as given; missing values filled as in training)."""
        check_is_fitted(self, "sources_" if hasattr(self, "sources_") else "num_")
        df = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        blocks = []
        if self.imputer_ is not None:
            blocks.append(self.scaler_.transform(self.imputer_.transform(self._numbers(df))))
        if self.onehot_ is not None:
            blocks.append(ONEHOT_WEIGHT * self.onehot_.transform(df[self.cat_].apply(as_levels)))
        if self.freq_ is not None:
            blocks.append(self.freq_scaler_.transform(self.freq_.transform(df[self.hc_])))
        if self.text_ is not None:
            blocks.append(self.text_scaler_.transform(self.text_.transform(df[self.txt_])))
        if not blocks:
            return np.empty((len(df), 0))
        return np.nan_to_num(np.hstack(blocks).astype(float), nan=0.0, posinf=0.0, neginf=0.0)
