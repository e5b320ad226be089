"""The AutoML facade: wires data → schema → features → search → ensemble → artifact.

It owns no algorithm; every stage lives in its own module.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from . import artifacts
from ._after_fit import AfterFit
from .budget import Budget, Deadline, Snapshot, rss_bytes
from .cleaning import Cleaning, act_on_findings, select_features
from .config import home, parse_bytes
from .data.schema import Columns, Schema, coerce, encode_target, infer_schema
from .data.sources import check_array, column_labels, read_table, training_table
from .data.sql import SqlSource
from .ensemble import caruana, nested_scores
from .errors import (
    BudgetExhaustedError,
    ColumnsMismatchError,
    ConfigError,
    EmptyDataError,
    NotFittedError,
    TargetError,
    TargetNotFoundError,
    did_you_mean,
    writable_dir,
)
from .external import Predicts
from .faults import kill_point
from .metrics import get_metric
from .models import families_for
from .models import get as get_family
from .models._common import thin_fold_forest
from .models._packed import PackedForest, fuse_forest_members
from .search import Search, SearchConfig, Spilled
from .splits import make_splits
from .tracking import start_tracking

__all__ = ["AutoML", "load"]

log = logging.getLogger("mlwright")
ENSEMBLE_NAME = "ensemble"
MAX_ENSEMBLE_CANDIDATES = 15
# up to this many rows a DataFrame is scored through arrays, not DataFrames per stage (measured on the demo
# model: 100 rows 9.6 → 2.3 ms, 1,000 rows 15 → 8 ms); the service's Columns always are
FAST_PATH_ROWS = 2000
FUSED_ROWS = 16  # up to this many rows, forest members are scored fused (see fuse_forest_members)


def _fold_groups(splits) -> list[np.ndarray]:
    """Each fold's validation rows, as positions among the out-of-fold rows (``splits.oof_mask``)."""
    pos = np.cumsum(splits.oof_mask) - 1
    return [pos[va[splits.oof_mask[va]]] for _, va in splits.folds if splits.oof_mask[va].any()]


class AutoML(AfterFit, Predicts, BaseEstimator):
    """Automated machine learning for one table and one target.

    Parameters
    ----------
    task : {None, "binary", "multiclass", "regression"}
        Inferred from the target when None.
    metric : str or None
        Any name from :data:`mlwright.metrics.METRICS`; roc_auc / log_loss / rmse by default.
    time_budget : float, default 60
        Seconds for the whole ``fit`` (data checks, search, ensembling).
    n_jobs : int, default -1
        Threads per trial; -1 uses every CPU.
    seed : int, default 0
    workdir : str or None
        Where the run writes its trial log (``trials.jsonl``); nothing is written when None.
    families : list of str or None
        Restrict the search to these model families (keys of the registry).
    n_folds : int or None
        Cross-validation folds (default 5, or 3 above 20 000 rows).
    max_trials : int or None
        Stop after this many trials (for exact reproducibility, with a generous budget).
    refit : bool, default True
        Refit the ensemble members on all rows once the search ends (one model each: faster and
        smaller to serve).  Time for it is reserved from the budget; a member that would not finish
        keeps its cross-validation fold models.
    max_predict_ms : float or None
        Latency limit for a one-row prediction.  After fitting, the served ensemble is measured and
        its slowest members are dropped until it fits (the estimate is recomputed); ``predict_ms_``
        holds the measured figure.
    cleaning : dict or Cleaning, optional
        What to do about the data checks' findings and how to clean (see
        :class:`~mlwright.cleaning.Cleaning`): by default leaking columns are dropped and disguised
        missing values ("?", -999 …) are read as missing; ``findings_`` lists what was found and done.
    memory_limit : int, str or None
        Memory the fitting process may hold, e.g. ``"2GB"`` or a number of bytes.  Trials whose
        models would not fit in what the process does not already hold are recorded as failed,
        forests stop growing at that size, no trial starts once the process holds the limit, and
        the ensemble keeps only members that fit together; ``model_bytes_`` holds the served
        model's size.
    report_seconds : float, default 60
        Time bound of the model report (leaderboard, cross-validated curves and intervals,
        over/underfitting diagnosis, importance, SHAP, partial dependence, model card), built after
        ``fit`` returns — by :meth:`report`, :meth:`save` and ``mlwright fit`` — never inside the
        fit budget.  0 turns it off.
    tracking : str or None, default "store"
        Where the run and each trial are recorded as the search goes (see :mod:`mlwright.tracking`):
        ``"store"`` (``MLWRIGHT_STORE_URL`` or the SQLite file in ``MLWRIGHT_HOME``),
        ``"store:<SQLAlchemy URL>"``, or None.  ``run_id_`` names the run.
    verbose : int, default 0
        1 logs each trial.
    cluster : str, Client or executor, optional
        Where trials run: None (default) — in this process; ``"local"`` (or a ``LocalExecutor`` with
        limits) — worker processes, each trial with a time and memory limit, so one that crashes or
        hangs fails alone; ``"tcp://host:8786"`` or a ``distributed.Client`` — a Dask cluster (the
        ``dask`` extra).  See :mod:`mlwright.execution`.

    Attributes
    ----------
    score_val_ : float
        Estimated score of the served model.  Small data (up to 20 000 validated rows): nested over
        the folds, so choosing the ensemble weights (or the single best model) is judged on rows
        that did not drive the choice (``estimate_kind_ == "nested"``); larger data: the
        out-of-fold score (``"oof"``).
    best_model_ : str
        ``"ensemble"`` or the one trial served; the leaderboard's first row.
    members_ : list of dict
        The served models and their weights.
    predict_ms_ : float
        Measured one-row latency of the served model.
    model_bytes_ : int
        Size of the served models.
    timings_ : dict
        Seconds spent in each stage of ``fit`` (prepare, search, ensemble, refit, latency).
    """

    def __init__(
        self,
        task: str | None = None,
        metric: str | None = None,
        time_budget: float = 60.0,
        n_jobs: int = -1,
        seed: int = 0,
        workdir: str | None = None,
        families: list[str] | None = None,
        n_folds: int | None = None,
        max_trials: int | None = None,
        refit: bool = True,
        max_predict_ms: float | None = None,
        memory_limit: int | str | None = None,
        cleaning: dict | Cleaning | None = None,
        report_seconds: float = 60.0,
        tracking: str | None = "store",
        verbose: int = 0,
        cluster: Any = None,
    ):
        self.task = task
        self.metric = metric
        self.time_budget = time_budget
        self.n_jobs = n_jobs
        self.seed = seed
        self.workdir = workdir
        self.families = families
        self.n_folds = n_folds
        self.max_trials = max_trials
        self.refit = refit
        self.max_predict_ms = max_predict_ms
        self.memory_limit = memory_limit
        self.cleaning = cleaning
        self.report_seconds = report_seconds
        self.tracking = tracking
        self.verbose = verbose
        self.cluster = cluster

    # ================================================================== fit
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        target: str | None = None,
        groups: str | None = None,
        time_column: str | None = None,
        column_types: dict[str, str] | None = None,
        callbacks: list[Callable[[Snapshot], None]] | None = None,
    ) -> AutoML:
        """Search, ensemble and keep the best model.

        Parameters
        ----------
        X : DataFrame, array, path to a CSV/Parquet file, or SqlSource (a query)
            With ``target=``: the whole table.  With ``y``: the features only.
        y : array-like, optional
            Target values, when ``X`` holds only features.
        target : str, optional
            Name of the target column in ``X``.
        groups : str, optional
            Column whose rows must stay together in validation (group k-fold); not a feature.
        time_column : str, optional
            Column ordering the rows in time: validation always comes after training.
        column_types : dict, optional
            Override inferred kinds, e.g. ``{"zip": "categorical"}``.
        callbacks : list of callables, optional
            Each receives a :class:`~mlwright.budget.Snapshot` after every trial.

        Returns
        -------
        self
        """
        self._check_settings()
        budget = Budget(float(self.time_budget) if self.time_budget is not None else math.inf)
        mem_limit = self._memory_limit()
        from .tracking import parse_tracking

        parse_tracking(self.tracking)  # a wrong value fails before any work
        from .execution import make_executor

        executor = make_executor(self.cluster)  # a wrong value fails before any work
        cleaning = Cleaning.from_value(self.cleaning)
        from .outofcore import plan as large_plan

        plan = large_plan(X, y, target, mem_limit, self.time_budget, self.seed)  # too large to hold: a sample
        started = budget.start
        if plan is not None:
            budget = Budget(plan.search_seconds())
        df, target = self._table(plan.sample if plan else X, y, target)
        # what `retrain` needs to fit the same way again (and, with history, to find the old rows)
        self.training_source_ = (str(Path(X).resolve()) if isinstance(X, (str, Path))
                                 else X.describe() if isinstance(X, SqlSource) else None)  # fmt: skip
        self.fit_options_ = {"target": target, "groups": groups, "time_column": time_column,
                             "column_types": dict(column_types or {})}  # fmt: skip
        y_raw = df[target]
        n_missing = int(y_raw.isna().sum())
        if n_missing == len(df):
            raise TargetError(f"target column {target!r} has no values (all {len(df)} rows are missing)")
        if n_missing:
            warnings.warn(f"dropped {n_missing} row(s) whose target {target!r} is missing", UserWarning, stacklevel=2)
            df = df.loc[y_raw.notna()].reset_index(drop=True)
        group_values = order = None
        if groups is not None:
            self._need_column(df, groups, "groups")
            group_values = df[groups].astype(str).to_numpy()
        if time_column is not None:
            self._need_column(df, time_column, "time_column")
            tc = df[time_column]
            if not pd.api.types.is_numeric_dtype(tc):  # one clock for mixed offsets
                tc = pd.to_datetime(tc, errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
            order = tc.to_numpy()
            if pd.isna(order).any():
                raise TargetError(f"time_column {time_column!r} has missing or unparseable values; fill or drop them")
        hints = dict(column_types or {})
        if groups is not None:
            hints[groups] = "id"
        schema = infer_schema(df, target, task=self.task, metric=self.metric, hints=hints)
        y_enc = encode_target(df[target], schema)
        self._check_rows(df, y_enc, schema)
        rows, self.findings_ = act_on_findings(df, schema, cleaning, time_column, self.seed)
        if rows is not None:
            df, y_enc = df.loc[rows].reset_index(drop=True), y_enc[rows]
            group_values = group_values[rows] if group_values is not None else None
            order = order[rows] if order is not None else None
        self._warn_dropped(schema)
        if not schema.features:
            raise EmptyDataError(
                f"no usable feature column: every column besides {target!r} is empty, constant or an ID "
                f"({', '.join(f'{c.name}: {c.kind}' for c in schema.columns[:10])})"
            )
        metric = get_metric(schema.metric, schema.task)
        self.run_id_ = _new_run_id()
        from .resume import open_cache

        cache = open_cache(self, df, target)  # a workdir this fit ran in before: continue that run
        if cache is not None:
            self.run_id_ = cache.run_id
        tracker = start_tracking(self, schema, df, target, resumed=cache is not None and cache.resumed)
        executor.prepare()  # a worker starts (imports) while the folds are made
        try:
            Xc = coerce(df, schema)
            splits = make_splits(y_enc, schema.task, self.n_folds, group_values, order, self.seed)
            self.feature_selection_ = None
            if cleaning.select_features:
                dropped, self.feature_selection_ = select_features(
                    Xc, y_enc, schema, splits, metric, 0.2 * budget.left(), self.seed
                )
                for c in dropped:
                    schema[c].kind = "excluded"
                Xc = Xc.drop(columns=dropped)
            fams = families_for(schema.task, self.families)
            if not fams:
                raise ConfigError(f"none of the families {self.families} handles a {schema.task} task")
            n_jobs = self.n_jobs if self.n_jobs and self.n_jobs > 0 else (os.cpu_count() or 1)
            cbs = list(callbacks or []) + ([tracker] if tracker is not None else [])
            if self.verbose:
                cbs.append(
                    lambda s: log.info("trial %s: %s=%s (best %s)", s.last_model, s.metric, s.last_score, s.best_score)
                )
            search = Search(
                schema,
                Xc,
                y_enc,
                splits,
                metric,
                fams,
                budget,
                seed=self.seed,
                n_jobs=n_jobs,
                callbacks=cbs,
                config=SearchConfig(
                    max_trials=self.max_trials,
                    refit=bool(self.refit),
                    memory_limit=mem_limit,
                    impute=cleaning.impute,
                    clip=cleaning.clip_quantile,
                ),
                executor=executor,
                cache=cache,
            )
            self.timings_ = {"prepare": round(budget.elapsed(), 3)}
            trials = search.run()
            kill_point("fit.searched")
            self.timings_["search"] = round(budget.elapsed() - sum(self.timings_.values()), 3)
            ok = [t for t in trials if t.status == "ok"]
            if not ok:
                errs = "; ".join(f"{t.name}: {t.error}" for t in trials if t.error)[:500]
                raise BudgetExhaustedError(
                    f"no model finished within time_budget={self.time_budget}s"
                    + (f" (failures: {errs})" if errs else "")
                    + "; raise time_budget"
                    + (" or lower n_folds" if self.n_folds else "")
                )
            try:
                self._finish(schema, search, ok, metric, splits, y_enc)
            finally:
                search.close()
            self.large_ = None
            if plan is not None:  # the best chunk-trainable configuration, trained on every row
                from .outofcore import fit_all_rows

                fit_all_rows(self, plan, search.trials, Xc, y_enc, metric, executor)
            t0 = budget.elapsed()
            self._meet_latency(df.drop(columns=[target]).head(1), metric, splits.oof_mask, y_enc)
            self.timings_["latency"] = round(budget.elapsed() - t0, 3)
            self.fit_seconds_ = time.monotonic() - started
            self.training_fingerprint_ = artifacts.data_fingerprint(df)
            from .monitoring.reference import automl_reference

            self.reference_ = automl_reference(self, Xc, splits.oof_mask)
            # what the report needs from this fit (kept until the report is built; rows capped in memory)
            from .report.build import report_context

            self.report_data_ = None
            self._report_ctx = report_context(self, Xc, y_enc, splits, cleaning)
        except BaseException as exc:
            executor.close()
            if tracker is not None:
                tracker.finish({"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:4000]})
            raise
        if tracker is not None:
            tracker.finish({"status": "finished", "score": float(self.score_val_), "run_dir": str(self._run_dir())})
        if cache is not None:
            cache.finish()
        self._write_log()
        if hasattr(tracker, "after_fit"):  # MLflow: the report and the model, logged
            tracker.after_fit(self)
        return self

    # ------------------------------------------------------------------ fit helpers
    def _check_settings(self) -> None:
        """The parameters that would otherwise fail (or be ignored) only after the search."""
        tb = self.time_budget
        bad_number = isinstance(tb, bool) or not isinstance(tb, (int, float, np.number))
        if tb is not None and (bad_number or not 0 < float(tb) < math.inf):
            raise ConfigError(
                f"time_budget must be a positive, finite number of seconds (or None for no limit), got {tb!r}"
            )
        for name, low in (("max_trials", 1), ("n_folds", 2)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low):
                raise ConfigError(f"{name} must be a whole number ≥ {low} (or None for the default), got {v!r}")
        if self.workdir:
            writable_dir(self.workdir, "workdir", "pass a folder mlwright may write to")
        else:
            writable_dir(home() / "runs", "the runs folder of MLWRIGHT_HOME",
                         "set MLWRIGHT_HOME to a writable folder or pass workdir=")  # fmt: skip

    def _check_rows(self, df: pd.DataFrame, y_enc: np.ndarray, schema: Schema) -> None:
        """Refuse, before the search, what no validation can be built for."""
        n = len(df)
        if self.n_folds is not None and self.n_folds > n:
            raise ConfigError(f"n_folds={self.n_folds} is more than the {n} rows; use at most {n} (default 5)")
        k = len(schema.classes)
        if schema.task != "regression" and k > max(20, n // 2):
            most = int(np.bincount(y_enc).max())
            raise TargetError(
                f"target {schema.target!r} has {k} classes over {n} rows (at most {most} row(s) each): it looks "
                "like an ID or free text, not a class to predict; choose another target, or task='regression' "
                "if it holds numbers"
            )

    def _memory_limit(self) -> int | None:
        if self.memory_limit is None:
            return None
        limit = parse_bytes(self.memory_limit, "memory_limit")
        held = rss_bytes()
        if held is not None and held >= limit:
            raise ConfigError(
                f"memory_limit={self.memory_limit!r} ({limit / 1e6:.0f} MB) leaves no room for models: this "
                f"process already holds {held / 1e6:.0f} MB; raise the limit"
            )
        return limit

    @staticmethod
    def _need_column(df: pd.DataFrame, name: str, what: str) -> None:
        if name not in df.columns:
            raise TargetNotFoundError(
                f"{what} column {name!r} is not in the data{did_you_mean(name, map(str, df.columns))}"
            )

    def _table(self, X: Any, y: Any, target: str | None) -> tuple[pd.DataFrame, str]:
        df, target, names = training_table(X, y, target)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = df.shape[1] - 1
        return df, target

    @staticmethod
    def _warn_dropped(schema: Schema) -> None:
        empty = [c.name for c in schema.columns if c.kind == "empty"]
        if empty:
            warnings.warn(
                f"dropped {len(empty)} feature column(s) that are entirely missing: "
                + ", ".join(repr(c) for c in empty),
                UserWarning,
                stacklevel=3,
            )
        for kind in ("constant", "id"):
            cols = [c.name for c in schema.columns if c.kind == kind]
            if cols:
                log.info("ignoring %s column(s): %s", kind, ", ".join(cols))

    def _finish(self, schema, search: Search, ok, metric, splits, y_enc) -> None:
        n_classes = len(schema.classes) if schema.task != "regression" else 0
        mask = splits.oof_mask
        better = sorted(ok, key=lambda t: -t.score if metric.greater_is_better else t.score)
        cands = [t for t in better if t.models][:MAX_ENSEMBLE_CANDIDATES]
        deadline = Deadline(time.monotonic() + max(search.budget.left(), 0.5))
        room = search.model_room()
        t0 = time.monotonic()  # the whole ensemble stage: selection and its nested estimate
        cands = [t for t in cands if t.model_bytes <= room] or cands[:1]
        while True:  # under memory_limit, the members must fit together: drop the largest until they do
            preds = [t.oof[mask] for t in cands]
            weights, ens_score = caruana(preds, y_enc[mask], metric, n_classes, deadline=deadline)
            members = [(t, w) for t, w in zip(cands, weights) if w > 0]
            if len(members) == 1 or sum(t.model_bytes for t, _ in members) <= room:
                break
            cands.remove(max((t for t, _ in members), key=lambda t: t.model_bytes))
        groups = _fold_groups(splits)
        nested = nested_scores(preds, y_enc[mask], metric, groups, n_classes, deadline=deadline)
        self.timings_["ensemble"] = round(time.monotonic() - t0, 3)
        # The choice: the ensemble unless it does not beat the best model on the out-of-fold rows.  (Choosing
        # by the nested scores instead was measured on the dev suite: on small tables their noise
        # picked single models that scored worse on test data than the ensemble.)
        single = len(members) == 1 or not metric.better(ens_score, cands[0].score)
        if single:
            members, estimate = [(cands[0], 1.0)], cands[0].score
        else:
            estimate = ens_score
        self.estimate_kind_ = "oof"
        if nested is not None:  # the estimate: judged on rows that did not drive the choice
            estimate, self.estimate_kind_ = nested[1] if single else nested[0], "nested"
        self.schema_ = schema
        self.metric_ = metric.name
        self.task_ = schema.task
        if schema.task != "regression":
            self.classes_ = np.asarray(schema.classes)
        self.split_kind_ = splits.kind
        self.n_folds_ = len(splits.folds)
        self._groups = groups
        search.free_matrices()  # the refits need room more than the fold matrices do
        t0 = time.monotonic()
        self.members_, self.preprocessors_ = self._build_members(search, members)
        self.timings_["refit"] = round(time.monotonic() - t0, 3)
        self.model_bytes_ = int(sum(getattr(mod, "nbytes", int)() for m in self.members_ for mod in m["models"]))
        self._oof = {t.name: t.oof for t, _ in members}  # for re-weighting under constraints; not saved
        self.score_val_ = float(estimate)
        self._trial_rows = pd.DataFrame(
            [
                {
                    "model": t.name,
                    "family": t.family,
                    "score_val": t.score,
                    "fit_seconds": t.fit_seconds,
                    "predict_seconds": t.predict_seconds,
                    "source": t.source,
                    "truncated": t.truncated,
                    "params": json.dumps(t.params, default=str),
                }
                for t in ok
            ]
        )
        self._relabel_ensemble_row()
        self.trials_ = [t.record() for t in search.trials]
        search.free_matrices(full=True)

    def _build_members(self, search: Search, members) -> tuple[list[dict], dict[str, Any]]:
        """Refit each member on all rows while the budget allows (heaviest weight first); a member
        that cannot be refitted in time keeps its fold models (their average predicts)."""
        preps: dict[str, Any] = {}
        out = []
        deadline = Deadline(search.budget.deadline) if not math.isinf(search.budget.seconds) else None
        for t, w in sorted(members, key=lambda tw: -tw[1]):
            fam = get_family(t.family)
            model = None
            if self.refit and fam.refit:
                model = search.refit(t, fam, deadline or Deadline(math.inf))
            if model is not None:
                key = f"{fam.style}/full"
                preps[key] = search.full_data(fam.style)[0]
                models, keys = [model], [key]
            else:
                keys = [f"{fam.style}/{k}" for k in range(len(t.models))]
                for k, key in enumerate(keys):
                    preps[key] = search.fold_preprocessor(fam.style, k)
                # loaded one by one, each thinned at once: fold forests never sit in memory whole together
                k = len(t.models)
                models = [thin_fold_forest(m.load() if isinstance(m, Spilled) else m, k) for m in t.models]
            out.append(
                {
                    "name": t.name,
                    "family": t.family,
                    "weight": float(w),
                    "models": models,
                    "preps": keys,
                    "refit": model is not None,
                    "meta": [m.meta() for m in models],
                }
            )
        return out, preps

    def _latency_ms(self, row: pd.DataFrame, reps: int = 7) -> float:
        """Median wall time of one single-row prediction, in milliseconds."""
        self._raw(row)  # warm caches
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            self._raw(row)
            times.append(time.perf_counter() - t0)
        return float(np.median(times) * 1000)

    def _meet_latency(self, row: pd.DataFrame, metric, mask: np.ndarray, y_enc: np.ndarray) -> None:
        """Measure single-row latency; under ``max_predict_ms`` drop the slowest members until it fits."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            limit = self.max_predict_ms
            self.predict_ms_ = self._latency_ms(row, 3 if limit is None else 7)
            if limit is None or self.predict_ms_ <= limit:
                return
            everyone = self.members_
            alone = {}
            for m in everyone:
                self.members_ = [m]
                alone[m["name"]] = self._latency_ms(row, 3)
            kept = sorted(everyone, key=lambda m: alone[m["name"]])
            while len(kept) > 1 and sum(alone[m["name"]] for m in kept) > limit:
                kept = kept[:-1]
            self.members_ = kept
            self._reweight(metric, mask, y_enc)
            self.preprocessors_ = {
                k: v for k, v in self.preprocessors_.items() if any(k in m["preps"] for m in self.members_)
            }
            self.predict_ms_ = self._latency_ms(row)
        self._relabel_ensemble_row()
        if self.predict_ms_ > limit:
            warnings.warn(
                f"max_predict_ms={limit} cannot be met: the fastest model alone takes {self.predict_ms_:.1f} ms "
                "per row; keeping it",
                UserWarning,
                stacklevel=3,
            )

    def _n_classes(self) -> int:
        return len(self.schema_.classes) if self.task_ != "regression" else 0

    def _reweight(self, metric, mask: np.ndarray, y_enc: np.ndarray) -> None:
        """Choose weights again among the remaining members, with an honest (nested) estimate."""
        n_classes = self._n_classes()
        preds = [self._oof[m["name"]][mask] for m in self.members_]
        weights, score = caruana(preds, y_enc[mask], metric, n_classes)
        nested = nested_scores(preds, y_enc[mask], metric, self._groups, n_classes)
        for m, w in zip(self.members_, weights):
            m["weight"] = float(w)
        self.members_ = [m for m in self.members_ if m["weight"] > 0]
        self.score_val_ = float(score if nested is None else nested[0])

    def _relabel_ensemble_row(self) -> None:
        """Leaderboard: the served model first (its honest estimate), then every trial best first."""
        trials = self._trial_rows
        asc = not get_metric(self.metric_).greater_is_better
        trials = trials.sort_values("score_val", ascending=asc, kind="stable")
        names = [m["name"] for m in self.members_]
        parts = trials[trials["model"].isin(names)]
        served = {
            "model": ENSEMBLE_NAME if len(names) > 1 else names[0],
            "family": ENSEMBLE_NAME if len(names) > 1 else parts["family"].iloc[0],
            "score_val": self.score_val_,
            "fit_seconds": float(parts["fit_seconds"].sum()),
            "predict_seconds": float(parts["predict_seconds"].sum()),
            "source": "caruana" if len(names) > 1 else parts["source"].iloc[0],
            "truncated": bool(parts["truncated"].any()),
            "params": json.dumps({m["name"]: round(m["weight"], 4) for m in self.members_})
            if len(names) > 1
            else parts["params"].iloc[0],
            "estimate": self.estimate_kind_,
            "served": True,
        }
        if len(names) == 1:
            trials = trials[trials["model"] != names[0]]
        trials = trials.assign(estimate="oof", served=False)
        self.leaderboard_ = pd.concat([pd.DataFrame([served]), trials], ignore_index=True)
        self.best_model_ = served["model"]

    def _run_dir(self) -> Path:
        return (Path(self.workdir) if self.workdir else home() / "runs" / self.run_id_).resolve()

    def _write_log(self) -> None:
        """Record the run: ``workdir`` when given, else ``$MLWRIGHT_HOME/runs/<run id>``."""
        wd = self._run_dir()
        try:
            wd.mkdir(parents=True, exist_ok=True)
            self._write_run_files(wd)
        except OSError as exc:  # e.g. the disk filled during the search: the fitted model is not lost for it
            warnings.warn(f"the run's log could not be written to {str(wd)!r}: {exc}", UserWarning, stacklevel=3)
            return
        self.run_dir_ = str(wd)

    def _write_run_files(self, wd: Path) -> None:
        run_id = self.run_id_
        with open(wd / "trials.jsonl", "w", encoding="utf-8") as f:  # this run's trials (a resumed run: all)
            for rec in self.trials_:
                f.write(json.dumps(rec, default=str) + "\n")
        summary = {
            "run_id": run_id,
            "params": {k: v for k, v in self.get_params().items()},
            "task": self.task_,
            "metric": self.metric_,
            "score_val": self.score_val_,
            "best_model": self.best_model_,
            "validation": {"kind": self.split_kind_, "folds": self.n_folds_},
            "fit_seconds": self.fit_seconds_,
            "model_bytes": self.model_bytes_,
            "timings": self.timings_,
            "training_data": self.training_fingerprint_,
            "leaderboard": self.leaderboard_.replace({np.nan: None}).to_dict(orient="records"),
        }
        (wd / "run.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")

    # ================================================================== predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError("this AutoML is not fitted yet; call fit(data, target=...) or mlwright.load(path)")

    def _prepare(self, X: Any) -> pd.DataFrame:
        self._check_fitted()
        if isinstance(X, (str, Path)):
            X = read_table(X)
        if not isinstance(X, pd.DataFrame):
            arr = check_array(X)
            if arr.shape[1] != self.n_features_in_:
                raise ColumnsMismatchError(
                    f"X has {arr.shape[1] if arr.ndim == 2 else arr.shape} features, but AutoML is expecting "
                    f"{self.n_features_in_} features as input"
                )
            names = [c.name for c in self.schema_.columns]
            X = pd.DataFrame(arr, columns=names)
        X = column_labels(X, "the data to score")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            return self.schema_.validate(X)

    def _fast_ok(self, X: Any) -> bool:
        return (isinstance(X, Columns) or (isinstance(X, pd.DataFrame) and len(X) <= FAST_PATH_ROWS)) and all(
            hasattr(mod, "predict_fast") for m in self.members_ for mod in m["models"]
        )

    def _blend(self, transform: str, predict: str, data: Any, members=None, fused=()) -> np.ndarray:
        """Weighted sum of the members' predictions; each preprocessor runs once per call.

        ``fused``: ``(preprocessor key, forest)`` pairs standing for forest members scored together.
        """
        cache: dict[str, Any] = {}

        def prepared(key: str) -> Any:
            if key not in cache:
                cache[key] = getattr(self.preprocessors_[key], transform)(data)
            return cache[key]

        total = None
        for key, forest in fused:
            p = forest.predict(prepared(key))
            total = p if total is None else total + p
        for m in self.members_ if members is None else members:
            preds = [getattr(model, predict)(prepared(key)) for key, model in zip(m["preps"], m["models"])]
            p = np.mean(preds, axis=0) * m["weight"]
            total = p if total is None else total + p
        return total

    def _fused_forests(self) -> tuple[list[dict], list[tuple[str, PackedForest]]]:
        """Small batches: the members to score one by one, and forest members fused per preprocessing
        (see :func:`fuse_forest_members`); rebuilt when the members or their weights change."""
        signature = tuple((m["name"], m["weight"]) for m in self.members_)
        cached = self.__dict__.get("_fused")
        if cached is None or cached[0] != signature:
            cached = self._fused = (signature, *fuse_forest_members(self.members_, self._n_classes()))
        return cached[1], cached[2]

    def _raw(self, X: Any) -> np.ndarray:
        p = self._blended(X)
        cal = getattr(self, "calibration_", None)
        if cal is not None and self.task_ == "binary":
            from .diagnose import apply_calibration

            p1 = apply_calibration(cal, p[:, 1])
            p = np.column_stack([1.0 - p1, p1])
        return p

    def _blended(self, X: Any) -> np.ndarray:
        self._check_fitted()
        n = X.shape[0] if hasattr(X, "shape") and len(X.shape) else len(X) if hasattr(X, "__len__") else None
        if not isinstance(X, (str, Path)) and n == 0:  # nothing to score
            if isinstance(X, Columns):
                self.schema_.check_columns(X)
            else:
                self._prepare(X)  # the same column checks as a full batch
            k = self._n_classes()
            return np.empty((0, k)) if k else np.empty(0)
        if isinstance(X, pd.DataFrame):
            X = column_labels(X, "the data to score")
        if self._fast_ok(X):  # few rows, or the service's columns: arrays end to end, no DataFrame per stage
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                cols = self.schema_.validate_arrays(X)
            if len(X) > FUSED_ROWS:
                return self._blend("transform_fast", "predict_fast", cols)
            rest, fused = self._fused_forests()
            return self._blend("transform_fast", "predict_fast", cols, rest, fused)
        if isinstance(X, Columns):
            X = X.frame()
        Xc = self._prepare(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._blend("transform", "predict_raw", Xc)

    def evaluate(self, data: Any, target: str | None = None) -> dict[str, Any]:
        """Score the model on labelled data: every applicable metric, plus the confusion matrix.

        Parameters
        ----------
        data : DataFrame or path
            Must hold the target column (named as in training unless ``target`` says otherwise).
        """
        self._check_fitted()
        from .diagnose import evaluate_model

        return evaluate_model(self, read_table(data) if isinstance(data, (str, Path)) else data, target)

    def leaderboard(self) -> pd.DataFrame:
        """Trials and the ensemble, best first: model, score_val (CV estimate), fit/predict seconds."""
        self._check_fitted()
        return self.leaderboard_.copy()

    # ================================================================== persistence
    def save(self, path: str | Path) -> Path:
        """Write the model directory (manifest + verified files); returns its path."""
        self._check_fitted()
        from ._persist import save_automl

        out = save_automl(self, Path(path))
        if getattr(self, "_tracking", None) and getattr(self, "run_id_", None):
            from .tracking import note_model_path

            note_model_path(self.run_id_, str(Path(out).resolve()), self._tracking[0])
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = False
        return tags


def _new_run_id() -> str:
    """A sortable, unique run id: UTC time and random hex, e.g. ``20261124-081502-3fa9c1d2``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def load(path: str | Path) -> AutoML:
    """Load a model directory written by :meth:`AutoML.save` (or an external model's ``save``, see
    :mod:`mlwright.external`), verifying every file's SHA-256.

    Raises
    ------
    ArtifactIntegrityError
        A file is missing, altered, or holds types mlwright does not trust.
    """
    from ._persist import load_automl

    manifest = artifacts.read_manifest(path)
    if manifest.get("kind", "mlwright") != "mlwright":
        from .external import ExternalModel

        artifacts.verify(path, manifest)
        return ExternalModel.load(path, manifest)
    return load_automl(Path(path))
