"""CatBoost family: ordered target statistics for categoricals, native .cbm persistence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import FloatDistribution as F
from optuna.distributions import IntDistribution as I

from mlwright.budget import Deadline
from mlwright.models import ModelFamily, register
from mlwright.models._common import ALL, patience, predict_threads


def _loss(task: str, metric: str) -> dict[str, Any]:
    if task == "binary":
        return {"loss_function": "Logloss", "eval_metric": "AUC" if metric == "roc_auc" else "Logloss"}
    if task == "multiclass":
        return {"loss_function": "MultiClass", "eval_metric": "MultiClass"}
    return {"loss_function": "RMSE", "eval_metric": "MAE" if metric == "mae" else "RMSE"}


def _cat_cols(X: pd.DataFrame) -> list[int]:
    return [i for i, dt in enumerate(X.dtypes) if isinstance(dt, pd.CategoricalDtype)]


def catboost_pool(X: pd.DataFrame, y=None):
    from catboost import Pool

    cats = _cat_cols(X)
    if cats:  # CatBoost wants str/int category values, not pandas categoricals
        X = X.copy()
        for i in cats:
            c = X.columns[i]
            X[c] = X[c].astype(str)
    return Pool(X, label=y, cat_features=cats)


class _DeadlineCallback:
    def __init__(self, deadline: Deadline | None):
        self.deadline = deadline

    def after_iteration(self, info) -> bool:  # False stops training
        return not (self.deadline is not None and self.deadline.expired())


class CatBoostModel:
    def __init__(self, task, params, n_classes, seed, n_jobs, metric):
        self.task, self.params, self.n_classes = task, dict(params), n_classes
        self.seed, self.n_jobs, self.metric = seed, n_jobs, metric
        self.model = None

    def _new(self):
        from catboost import CatBoostClassifier, CatBoostRegressor

        p = {
            "iterations": 5000,
            "random_seed": self.seed,
            "thread_count": self.n_jobs,
            "verbose": False,
            "allow_writing_files": False,
            **_loss(self.task, self.metric),
        }
        p.update({k: v for k, v in self.params.items() if k != "n_estimators"})
        if "n_estimators" in self.params:
            p["iterations"] = int(self.params["n_estimators"])
        if self.task == "multiclass":
            p["classes_count"] = self.n_classes
        return (CatBoostRegressor if self.task == "regression" else CatBoostClassifier)(**p)

    def fit(self, X, y, X_val=None, y_val=None, deadline: Deadline | None = None):
        self.model = self._new()
        kw: dict[str, Any] = {"callbacks": [_DeadlineCallback(deadline)]}
        if X_val is not None:
            kw["eval_set"] = catboost_pool(X_val, y_val)
            kw["early_stopping_rounds"] = patience(self.params.get("learning_rate", 0.05))
            kw["use_best_model"] = True
        self.model.fit(catboost_pool(X, y), **kw)
        return self

    def predict_raw(self, X) -> np.ndarray:
        pool = catboost_pool(X)
        threads = predict_threads(-1)
        if self.task == "regression":
            return np.asarray(self.model.predict(pool, thread_count=threads), dtype=float)
        p = np.asarray(self.model.predict_proba(pool, thread_count=threads), dtype=float)
        if p.shape[1] != self.n_classes:  # classes absent from this fold's training rows
            out = np.zeros((p.shape[0], self.n_classes))
            out[:, np.asarray(self.model.classes_, dtype=int)] = p
            return out
        return p

    def predict_fast(self, ff) -> np.ndarray:
        """Predict from a :class:`~mlwright.features.FastFrame` (categories given back as text)."""
        if len(ff.values) <= 64:  # a few rows: lists, and one thread, as for LightGBM
            rows, threads = ff.rows_with_labels(), 1
        else:  # more: a DataFrame (CatBoost would convert a long list of lists value by value)
            from catboost import Pool

            rows, threads = Pool(ff.frame_with_labels(), cat_features=ff.cat_idx), predict_threads(-1)
        if self.task == "regression":
            return np.asarray(self.model.predict(rows, thread_count=threads), dtype=float)
        p = np.asarray(self.model.predict_proba(rows, thread_count=threads), dtype=float)
        if p.shape[1] != self.n_classes:
            out = np.zeros((p.shape[0], self.n_classes))
            out[:, np.asarray(self.model.classes_, dtype=int)] = p
            return out
        return p

    def meta(self) -> dict[str, Any]:
        return {"params": self.params, "best_iteration": int(self.model.get_best_iteration() or 0)}

    def nbytes(self) -> int:
        """Size of the model (its serialised form)."""
        return len(self.model._serialize_model()) if self.model is not None else 0

    def save(self, directory: Path, stem: str) -> list[str]:
        name = f"{stem}.cbm"
        self.model.save_model(str(Path(directory) / name), format="cbm")
        return [name]


def _make(task, params, n_classes, seed, n_jobs, metric):
    return CatBoostModel(task, params, n_classes, seed, n_jobs, metric)


def _load(directory, stem, meta, task, n_classes):
    from catboost import CatBoostClassifier, CatBoostRegressor

    m = CatBoostModel(task, meta.get("params", {}), n_classes, 0, 1, "")
    m.model = (CatBoostRegressor if task == "regression" else CatBoostClassifier)()
    m.model.load_model(str(Path(directory) / f"{stem}.cbm"), format="cbm")
    return m


CATBOOST = register(
    ModelFamily(
        key="catboost",
        name="CatBoost",
        tasks=ALL,
        style="native",
        make=_make,
        load=_load,
        space={
            "learning_rate": F(0.02, 0.2, log=True),
            # CatBoost's training memory doubles with each level (wide categorical tables: ~150 MB at
            # depth 6, ~270 MB at 7, ~510 MB at 8), so the search stops at 7
            "depth": I(4, 7),
            "l2_leaf_reg": F(1.0, 10.0, log=True),
            "random_strength": F(0.1, 10.0, log=True),
        },
        start={"learning_rate": 0.08, "depth": 6},
        portfolio=[
            {"learning_rate": 0.08, "depth": 6},
            {"learning_rate": 0.05, "depth": 7, "l2_leaf_reg": 5.0},
        ],
        cost=lambda n, d: 1.0 + n * d * 2e-5,
        priority=20,
    )
)
