"""LightGBM family: native categoricals, early stopping on the validation fold, deadline callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from optuna.distributions import FloatDistribution as F
from optuna.distributions import IntDistribution as I

from mlwright.budget import Deadline
from mlwright.models import ModelFamily, register
from mlwright.models._common import ALL, as_proba, patience, predict_threads

_OBJ = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}


def es_metric(task: str, metric: str) -> tuple[str, bool]:
    if task == "regression":
        return ("l1", False) if metric == "mae" else ("l2", False)
    if metric == "roc_auc" and task == "binary":
        return "auc", True
    return ("binary_logloss" if task == "binary" else "multi_logloss"), False


class LGBMModel:
    def __init__(self, task, params, n_classes, seed, n_jobs, metric):
        self.task, self.params, self.n_classes = task, dict(params), n_classes
        self.seed, self.n_jobs, self.metric = seed, n_jobs, metric
        self.booster = None
        self.best_iteration = None

    def lgb_params(self) -> dict[str, Any]:
        p = {
            "objective": _OBJ[self.task],
            "verbosity": -1,
            "seed": self.seed,
            "num_threads": self.n_jobs,
            "deterministic": True,
            "force_col_wise": True,
            "max_cat_to_onehot": 8,
            "min_data_per_group": 20,
            "cat_smooth": 10.0,
        }
        if self.task == "multiclass":
            p["num_class"] = self.n_classes
        p["metric"] = es_metric(self.task, self.metric)[0]
        p.update({k: v for k, v in self.params.items() if k != "n_estimators"})
        if p.get("bagging_fraction", 1.0) < 1.0:
            p.setdefault("bagging_freq", 1)
        return p

    def fit(self, X, y, X_val=None, y_val=None, deadline: Deadline | None = None):
        import lightgbm as lgb

        params = self.lgb_params()
        n_rounds = int(self.params.get("n_estimators", 5000))
        train = lgb.Dataset(X, label=y, free_raw_data=True)
        valid_sets, callbacks = [], []
        if X_val is not None:
            valid_sets = [lgb.Dataset(X_val, label=y_val, reference=train)]
            higher = es_metric(self.task, self.metric)[1]
            callbacks.append(StopCallback(patience(params.get("learning_rate", 0.1)), higher, deadline))
        elif deadline is not None:
            callbacks.append(StopCallback(10**9, False, deadline))
        self.booster = lgb.train(params, train, num_boost_round=n_rounds, valid_sets=valid_sets, callbacks=callbacks)
        self.best_iteration = int(self.booster.best_iteration or self.booster.current_iteration())
        return self

    def predict_raw(self, X) -> np.ndarray:
        p = self.booster.predict(X, num_iteration=self.best_iteration, num_threads=predict_threads(0))
        return as_proba(self.task, p)

    def predict_fast(self, ff) -> np.ndarray:
        """Predict from a :class:`~mlwright.features.FastFrame` (category codes match training).

        A few rows: one thread (a team of OpenMP threads per call only spins and contends)."""
        threads = 1 if len(ff.values) <= 64 else predict_threads(0)
        p = self.booster.predict(ff.values, num_iteration=self.best_iteration, num_threads=threads)
        return as_proba(self.task, p)

    def meta(self) -> dict[str, Any]:
        return {"params": self.params, "best_iteration": self.best_iteration}

    def nbytes(self) -> int:
        """Size of the model (its text form, which tracks the memory it holds)."""
        return len(self.booster.model_to_string(num_iteration=self.best_iteration)) if self.booster else 0

    def save(self, directory: Path, stem: str) -> list[str]:
        name = f"{stem}.lgb.txt"
        self.booster.save_model(str(Path(directory) / name), num_iteration=self.best_iteration)
        return [name]


class StopCallback:
    """Early stopping on the first validation metric, plus the trial deadline."""

    order = 30

    def __init__(self, rounds: int, higher: bool, deadline: Deadline | None):
        self.rounds, self.higher, self.deadline = rounds, higher, deadline
        self.best, self.best_iter, self.best_list = None, 0, []

    def __call__(self, env) -> None:
        import lightgbm as lgb

        if env.evaluation_result_list:
            score = env.evaluation_result_list[0][2]
            if self.best is None or (score > self.best if self.higher else score < self.best):
                self.best, self.best_iter, self.best_list = score, env.iteration, env.evaluation_result_list
            elif env.iteration - self.best_iter >= self.rounds:
                raise lgb.callback.EarlyStopException(self.best_iter, self.best_list)
        else:
            self.best_iter = env.iteration
        if self.deadline is not None and self.deadline.expired():
            raise lgb.callback.EarlyStopException(self.best_iter, self.best_list)


def _make(task, params, n_classes, seed, n_jobs, metric):
    return LGBMModel(task, params, n_classes, seed, n_jobs, metric)


def _load(directory, stem, meta, task, n_classes):
    import lightgbm as lgb

    m = LGBMModel(task, meta.get("params", {}), n_classes, 0, 1, "")
    m.booster = lgb.Booster(model_file=str(Path(directory) / f"{stem}.lgb.txt"))
    m.best_iteration = None  # the file holds exactly the kept iterations
    return m


LIGHTGBM = register(
    ModelFamily(
        key="lightgbm",
        name="LightGBM",
        tasks=ALL,
        style="native",
        make=_make,
        load=_load,
        space={
            "learning_rate": F(0.01, 0.2, log=True),
            "num_leaves": I(4, 256, log=True),
            "min_data_in_leaf": I(2, 100, log=True),
            "feature_fraction": F(0.3, 1.0),
            "bagging_fraction": F(0.5, 1.0),
            "lambda_l1": F(1e-3, 10.0, log=True),
            "lambda_l2": F(1e-3, 10.0, log=True),
            "min_sum_hessian_in_leaf": F(1e-3, 10.0, log=True),
        },
        start={"learning_rate": 0.05, "num_leaves": 31},
        portfolio=[
            # well-known public defaults (LightGBM's own, and AutoGluon's "GBMLarge" / extra-trees variants)
            {"learning_rate": 0.05, "num_leaves": 31},
            {"learning_rate": 0.03, "num_leaves": 128, "min_data_in_leaf": 3, "feature_fraction": 0.9},
            {"learning_rate": 0.05, "num_leaves": 31, "extra_trees": True, "feature_fraction": 0.8},
            {
                "learning_rate": 0.05,
                "num_leaves": 15,
                "min_data_in_leaf": 40,
                "feature_fraction": 0.6,
                "lambda_l2": 5.0,
            },
        ],
        cost=lambda n, d: 0.5 + n * d * 4e-6,
        priority=10,
    )
)
