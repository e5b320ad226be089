"""The AutoML estimator: wires data → schema → features → search → ensemble into one :class:`FittedModel`.

It owns no algorithm; every stage lives in its own module.  Everything ``fit`` produces is held in one
attribute, ``fitted_`` (a :class:`~mlwright.automl.fitted.FittedModel`); the familiar fitted attributes
(``schema_``, ``members_``, ``score_val_`` …) are read-only views of it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import math
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from mlwright import artifacts
from mlwright.automl import assemble
from mlwright.automl.after_fit import AfterFit
from mlwright.automl.fitted import Estimate, FittedModel, Provenance
from mlwright.budget import Budget, Limits, Snapshot, resolve_jobs, rss_bytes
from mlwright.config import home, parse_bytes
from mlwright.data.cleaning import Cleaning, act_on_findings, select_features
from mlwright.data.findings import Finding
from mlwright.data.schema import Schema, coerce, encode_target, infer_schema
from mlwright.data.sources import read_table, training_table
from mlwright.data.sql import SqlSource
from mlwright.errors import (
    BudgetExhaustedError,
    ConfigError,
    EmptyDataError,
    MlwrightWarning,
    NotFittedError,
    TargetError,
    TargetNotFoundError,
    did_you_mean,
    writable_dir,
)
from mlwright.evaluation.metrics import get_metric
from mlwright.faults import kill_point
from mlwright.models import families_for
from mlwright.predictor import Predicts
from mlwright.search import Search, SearchConfig
from mlwright.search.splits import make_splits
from mlwright.tracking import start_tracking

__all__ = ["AutoML", "load"]

log = logging.getLogger("mlwright")
ENSEMBLE_NAME = assemble.ENSEMBLE_NAME
FOLD_MODELS_ROWS = 1_000  # refit="auto": classification up to this many rows serves the fold models


def serve_refits(task: str, rows: int) -> bool:
    """``refit="auto"``: whether to refit the members on all rows (else serve their fold models' average)."""
    return task == "regression" or rows > FOLD_MODELS_ROWS


@dataclass
class _Table:
    """The training table as ``fit`` prepares it before the search."""

    df: pd.DataFrame
    target: str
    y_enc: np.ndarray
    schema: Schema
    findings: list[Finding]
    groups: np.ndarray | None
    order: np.ndarray | None
    feature_names_in: np.ndarray | None


def _view(name: str, get: Callable[[FittedModel], Any], doc: str) -> property:
    """A read-only fitted attribute: ``get(self.fitted_)``; AttributeError before ``fit`` (as scikit-learn
    expects of ``*_`` attributes) and where ``get`` raises it."""

    def fget(self: AutoML) -> Any:
        fitted = self.__dict__.get("fitted_")
        if fitted is None:
            raise AttributeError(f"{name} exists once the model is fitted (fit or mlwright.load)")
        return get(fitted)

    return property(fget, doc=doc)


def _classes(f: FittedModel) -> np.ndarray:
    if f.task == "regression":
        raise AttributeError("classes_: a regression model has no classes")
    return np.asarray(f.schema.classes)


def _names_in(f: FittedModel) -> np.ndarray:
    if f.feature_names_in is None:
        raise AttributeError("feature_names_in_: fitted on an array without column names")
    return f.feature_names_in


_DEPRECATED = {"max_predict_ms": "predict_ms", "memory_limit": "memory", "verbose": None}


def _old_names_into_limits(init: Callable) -> Callable:
    """``AutoML(max_predict_ms=…, memory_limit=…, verbose=…)`` (mlwright 0.1.0) still constructs: the values
    move into ``limits`` with a FutureWarning.  The signature scikit-learn reads stays the new one."""
    names = list(inspect.signature(init).parameters)[1:]

    @functools.wraps(init)
    def construct(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"AutoML() takes at most {len(names)} positional arguments, {len(args)} given")
        given = dict(zip(names, args)) | kwargs
        old = {k: given.pop(k) for k in list(given) if k in _DEPRECATED}
        if old:
            given["limits"] = _with_deprecated(given.get("limits"), old, warn=True)
        init(self, **given)

    return construct


class AutoML(AfterFit, Predicts, BaseEstimator):
    """Automated machine learning for one table and one target.

    Parameters
    ----------
    task : {None, "binary", "multiclass", "regression"}
        Inferred from the target when None.
    metric : str or None
        Any name from :data:`mlwright.evaluation.metrics.METRICS`; roc_auc / log_loss / rmse by default.
    time_budget : float, default 60
        Seconds for the whole ``fit`` (data checks, search, ensembling).
    n_jobs : int, default -1
        Threads per trial; -1 uses every core this process may run on (its CPU affinity).
    seed : int, default 0
    workdir : str or None
        Where the run writes its trial log (``trials.jsonl``); nothing is written when None.
    families : list of str or None
        Restrict the search to these model families (keys of the registry).
    n_folds : int or None
        Cross-validation folds (default 5, or 3 above 20 000 rows).
    max_trials : int or None
        Stop after this many trials (for exact reproducibility, with a generous budget).
    refit : bool or "auto", default "auto"
        Refit the ensemble members on all rows once the search ends (one model each: faster and
        smaller to serve).  Time for it is reserved from the budget; a member that would not finish
        keeps its cross-validation fold models.  ``False`` serves the fold models' average (bagging).
        ``"auto"``: refit, except classification on at most ``FOLD_MODELS_ROWS`` (1,000) rows, where the
        fold models' average was measured to give more honest probabilities (test log loss, four
        multiclass tables of 116–726 rows: hawk 0.031 → 0.020, diabetes 0.084 → 0.065, women 0.856 →
        0.818, glass 0.553 → 0.558; between 1,525 and 2,025 rows mixed: leaf 0.136 → 0.128, bird
        strikes 0.810 → 0.815, chile 0.834 → 0.835).
    limits : dict or Limits, optional
        ``{"predict_ms": …, "memory": …}``: the served model's one-row latency limit and the memory the
        fitting process may hold (see :class:`~mlwright.budget.Limits`).  ``max_predict_ms=`` and
        ``memory_limit=`` still work (deprecated: they fill ``limits``).
    cleaning : dict or Cleaning, optional
        What to do about the data checks' findings and how to clean (see
        :class:`~mlwright.data.cleaning.Cleaning`): by default leaking columns are dropped and disguised
        missing values ("?", -999 …) are read as missing; ``findings_`` lists what was found and done.
    report_seconds : float, default 60
        Time bound of the model report (leaderboard, cross-validated curves and intervals,
        over/underfitting diagnosis, importance, SHAP, partial dependence, model card), built after
        ``fit`` returns — by :meth:`report`, :meth:`save` and ``mlwright fit`` — never inside the
        fit budget.  0 turns it off.
    tracking : str or None, default "store"
        Where the run and each trial are recorded as the search goes (see :mod:`mlwright.tracking`):
        ``"store"`` (``MLWRIGHT_STORE_URL`` or the SQLite file in ``MLWRIGHT_HOME``),
        ``"store:<SQLAlchemy URL>"``, or None.  ``run_id_`` names the run.
    cluster : str, Client or executor, optional
        Where trials run: None (default) — in this process; ``"local"`` (or a ``LocalExecutor`` with
        limits) — worker processes, each trial with a time and memory limit, so one that crashes or
        hangs fails alone; ``"tcp://host:8786"`` or a ``distributed.Client`` — a Dask cluster (the
        ``dask`` extra).  See :mod:`mlwright.execution`.
    fairness : dict, optional
        ``{"metric": "equalized_odds", "max_difference": 0.05}``: a binary model's decisions may differ
        between the groups of ``fit(sensitive=…)`` by at most that much (``demographic_parity``,
        ``equalized_odds``, ``true_positive_rate_parity`` or ``false_positive_rate_parity``), met by a
        decision threshold per group chosen on out-of-fold rows (:mod:`mlwright.fairness.thresholds`; the
        sensitive columns then become inputs of the served model).  ``fairness_`` says what it cost.

    Attributes
    ----------
    fitted_ : FittedModel
        Everything ``fit`` produced, in one immutable value; the attributes below are read-only views.
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
        Seconds spent in each stage of ``fit`` (tracking, prepare, search, ensemble, refit, latency).
        ``tracking`` — opening the run in the store or MLflow — is not charged to ``time_budget``.
    """

    @_old_names_into_limits
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
        refit: bool | str = "auto",
        limits: dict | Limits | None = None,
        cleaning: dict | Cleaning | None = None,
        report_seconds: float = 60.0,
        tracking: str | None = "store",
        cluster: Any = None,
        fairness: dict[str, Any] | None = None,
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
        self.limits = limits
        self.cleaning = cleaning
        self.report_seconds = report_seconds
        self.tracking = tracking
        self.cluster = cluster
        self.fairness = fairness

    # ================================================================== fitted attributes (read-only views)
    schema_ = _view("schema_", lambda f: f.schema, "The Schema every request is validated against.")
    task_ = _view("task_", lambda f: f.task, "binary, multiclass or regression.")
    metric_ = _view("metric_", lambda f: f.metric, "The metric the search optimised.")
    classes_ = _view("classes_", _classes, "Class labels in probability order (classifiers only).")
    n_features_in_ = _view("n_features_in_", lambda f: f.n_features_in, "Number of input columns.")
    feature_names_in_ = _view("feature_names_in_", _names_in, "Input column names (DataFrame input only).")
    members_ = _view("members_", lambda f: [m.as_dict() for m in f.members], "The served models (a copy).")
    preprocessors_ = _view("preprocessors_", lambda f: dict(f.preprocessors), "Preprocessors by key (a copy).")
    score_val_ = _view("score_val_", lambda f: f.estimate.score_val, "Estimated score of the served model.")
    estimate_kind_ = _view("estimate_kind_", lambda f: f.estimate.kind, "nested, oof or holdout.")
    split_kind_ = _view("split_kind_", lambda f: f.estimate.validation, "How validation folds were made.")
    n_folds_ = _view("n_folds_", lambda f: f.estimate.n_folds, "Number of validation folds.")
    predict_ms_ = _view("predict_ms_", lambda f: f.estimate.predict_ms, "Measured one-row latency (ms).")
    model_bytes_ = _view("model_bytes_", lambda f: f.estimate.model_bytes, "Size of the served models.")
    best_model_ = _view("best_model_", lambda f: f.best_model, "ensemble, or the one trial served.")
    leaderboard_ = _view("leaderboard_", lambda f: f.leaderboard, "The leaderboard (see leaderboard()).")
    trials_ = _view("trials_", lambda f: list(f.trials), "Every trial's record.")
    findings_ = _view("findings_", lambda f: list(f.findings), "The data checks' findings and actions.")
    feature_selection_ = _view("feature_selection_", lambda f: f.feature_selection, "Feature selection record.")
    threshold_ = _view("threshold_", lambda f: f.threshold, "Binary decision threshold (None: argmax).")
    calibration_ = _view("calibration_", lambda f: f.calibration, "Probability calibration (None: none).")
    reference_ = _view("reference_", lambda f: f.reference, "Monitoring's baseline.")
    report_data_ = _view("report_data_", lambda f: f.report, "The model report once built.")
    timings_ = _view("timings_", lambda f: f.provenance.timings, "Seconds per stage of fit.")
    fit_seconds_ = _view("fit_seconds_", lambda f: f.provenance.fit_seconds, "Seconds fit took.")
    training_fingerprint_ = _view(
        "training_fingerprint_",
        lambda f: f.provenance.training_fingerprint,
        "Rows, columns and hash of the training data.",
    )
    training_source_ = _view(
        "training_source_",
        lambda f: f.provenance.training_source,
        "Where the training rows came from (for retraining with history).",
    )
    fit_options_ = _view("fit_options_", lambda f: f.provenance.fit_options, "target, groups, time_column …")
    fairness_ = _view("fairness_", lambda f: f.fairness, "Out-of-fold metrics per sensitive group (None: none named).")
    group_thresholds_ = _view(
        "group_thresholds_", lambda f: f.group_thresholds, "Decision thresholds per group (fairness), or None."
    )
    large_ = _view("large_", lambda f: f.provenance.large, "What a larger-than-memory fit did.")
    run_dir_ = _view("run_dir_", lambda f: f.provenance.run_dir, "Where the run's log was written.")

    @property
    def run_id_(self) -> str:
        """The run ``fit`` recorded — named as soon as ``fit`` starts, so a failed fit names its run too."""
        fitted = self.__dict__.get("fitted_")
        run_id = fitted.provenance.run_id if fitted is not None else self.__dict__.get("_run_id")
        if run_id is None:
            raise AttributeError("run_id_ exists once fit has started")
        return run_id

    @property
    def kind(self) -> str:
        """``"mlwright"``: a model mlwright trained (see :class:`~mlwright.predictor.Predictor`)."""
        return "mlwright"

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
        source: Any = None,
        sensitive: list[str] | str | None = None,
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
        source : str, list or None
            Where the rows came from when ``X`` is a DataFrame read from elsewhere (a path, a
            :meth:`SqlSource.describe() <mlwright.SqlSource.describe>` record, or a list of them): kept
            for retraining with history.  Found by itself when ``X`` is a path or an SqlSource.
        sensitive : list of str, optional
            Who could be harmed: measured per group (``fairness_``); features only if ``column_types`` names them.

        Returns
        -------
        self
        """
        self._check_settings()
        budget = Budget(float(self.time_budget) if self.time_budget is not None else math.inf)
        mem_limit = self._memory_limit()
        from mlwright.tracking import parse_tracking

        parse_tracking(self.tracking)  # a wrong value fails before any work
        from mlwright.execution import make_executor

        executor = make_executor(self.cluster)  # a wrong value fails before any work
        cleaning = Cleaning.from_value(self.cleaning)
        from mlwright.automl.outofcore import plan as large_plan

        plan = large_plan(X, y, target, mem_limit, self.time_budget, self.seed)  # too large to hold: a sample
        started = budget.start
        if plan is not None:
            budget = Budget(plan.search_seconds())
        options = {
            "target": target,
            "groups": groups,
            "time_column": time_column,
            "column_types": dict(column_types or {}),
            "sensitive": [sensitive] if isinstance(sensitive, str) else list(sensitive or []),
        }
        source = source if source is not None else _source_of(X)
        table = self._training_table(plan.sample if plan else X, y, options, cleaning)
        options["target"] = table.target
        cache, tracker, opening = self._open_run(table, options)
        budget = Budget(budget.seconds, start=budget.start + opening)  # opening the run is not the search's time
        if plan is not None:
            plan.deadline += opening
        provenance = Provenance(run_id=self._run_id, training_source=source, fit_options=options)
        executor.prepare()  # a worker starts (imports) while the folds are made
        try:
            fitted = self._search(table, budget, cleaning, mem_limit, executor, cache, callbacks, tracker, provenance)
            fitted = fitted.with_provenance(timings={"tracking": round(opening, 3), **fitted.provenance.timings})
            if plan is not None:  # the best chunk-trainable configuration, trained on every row
                from mlwright.automl.outofcore import fit_all_rows

                fitted = fit_all_rows(
                    self,
                    fitted,
                    plan,
                    self._trials,
                    self._Xc,
                    table.y_enc,
                    get_metric(fitted.metric, fitted.task),
                    executor,
                )
            fitted = self._finish(fitted, table, started)
        except BaseException as exc:
            executor.close()
            if tracker is not None:
                tracker.finish({"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:4000]})
            raise
        finally:
            self._trials = self._Xc = self._splits = None
        self.fitted_ = fitted
        self._close_run(cache, tracker)
        return self

    def _open_run(self, table: _Table, options: dict[str, Any]) -> tuple[Any, Any, float]:
        """Name the run (or continue the one this workdir holds) and start tracking it.  Returns the trial cache,
        the tracker and the seconds it took (the store, an MLflow store's first migrations): ``fit`` moves the
        budget's clock on by them, and the timings show them as ``tracking``."""
        from mlwright.search.resume import open_cache

        t0 = time.monotonic()
        self._run_id = _new_run_id()
        cache = open_cache(self, table.df, table.target, options, self._run_id)  # a workdir run before: continue it
        if cache is not None:
            self._run_id = cache.run_id
        resumed = cache is not None and cache.resumed
        tracker = start_tracking(self, self._run_id, table.schema, table.df, table.target, resumed=resumed)
        self._tracking = None if tracker is None else (tracker.url,)
        return cache, tracker, time.monotonic() - t0

    def _close_run(self, cache: Any, tracker: Any) -> None:
        """Record the finished run: tracker, trial cache, the run's log (and MLflow's report and model)."""
        if tracker is not None:
            score = float(self.fitted_.estimate.score_val)
            tracker.finish({"status": "finished", "score": score, "run_dir": str(self._run_dir())})
        if cache is not None:
            cache.finish()
        self._write_log()
        if hasattr(tracker, "after_fit"):  # MLflow: the report and the model, logged
            tracker.after_fit(self)

    # ------------------------------------------------------------------ fit stages
    def _training_table(self, X: Any, y: Any, options: dict[str, Any], cleaning: Cleaning) -> _Table:
        """Read, check and clean the training table; infer the Schema; act on the data checks' findings."""
        df, target, names = training_table(X, y, options["target"])
        groups, time_column = options["groups"], options["time_column"]
        y_raw = df[target]
        n_missing = int(y_raw.isna().sum())
        if n_missing == len(df):
            raise TargetError(f"target column {target!r} has no values (all {len(df)} rows are missing)")
        if n_missing:
            warnings.warn(
                f"dropped {n_missing} row(s) whose target {target!r} is missing", MlwrightWarning, stacklevel=3
            )
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
        hints = dict(options["column_types"])
        if groups is not None:
            hints[groups] = "id"
        for c in options.get("sensitive") or []:  # measured per group; a feature only when column_types says so
            self._need_column(df, c, "sensitive")
            hints.setdefault(c, "id")
        schema = infer_schema(df, target, task=self.task, metric=self.metric, hints=hints)
        if self.fairness is not None and (schema.task != "binary" or not options.get("sensitive")):
            raise ConfigError(
                "fairness= (decision thresholds per group) needs a binary target and the sensitive columns, "
                f"fit(..., sensitive=['sex']); this is {schema.task} with sensitive={options.get('sensitive')}"
            )
        y_enc = encode_target(df[target], schema)
        self._check_rows(df, y_enc, schema)
        rows, findings = act_on_findings(df, schema, cleaning, time_column, self.seed)
        if rows is not None:
            df, y_enc = df.loc[rows].reset_index(drop=True), y_enc[rows]
            group_values = group_values[rows] if group_values is not None else None
            order = order[rows] if order is not None else None
        _warn_dropped(schema)
        if not schema.features:
            raise EmptyDataError(
                f"no usable feature column: every column besides {target!r} is empty, constant or an ID "
                f"({', '.join(f'{c.name}: {c.kind}' for c in schema.columns[:10])})"
            )
        return _Table(df, target, y_enc, schema, findings, group_values, order, names)

    def _search(
        self,
        table: _Table,
        budget: Budget,
        cleaning: Cleaning,
        mem_limit: int | None,
        executor: Any,
        cache: Any,
        callbacks: Any,
        tracker: Any,
        provenance: Provenance,
    ) -> FittedModel:
        """Folds, feature selection, the search under the budget, then the ensemble: the fitted model."""
        schema, y_enc = table.schema, table.y_enc
        metric = get_metric(schema.metric, schema.task)
        Xc = coerce(table.df, schema)
        splits = make_splits(y_enc, schema.task, self.n_folds, table.groups, table.order, self.seed)
        selection = None
        if cleaning.select_features:
            dropped, selection = select_features(Xc, y_enc, schema, splits, metric, 0.2 * budget.left(), self.seed)
            for c in dropped:
                schema[c].kind = "excluded"
            Xc = Xc.drop(columns=dropped)
        fams = families_for(schema.task, self.families)
        if not fams:
            raise ConfigError(f"none of the families {self.families} handles a {schema.task} task")
        n_jobs = resolve_jobs(self.n_jobs)
        refit = self.refit if isinstance(self.refit, bool) else serve_refits(schema.task, len(Xc))
        cbs = self._callbacks(callbacks, tracker)
        config = SearchConfig(
            max_trials=self.max_trials,
            refit=refit,
            memory_limit=mem_limit,
            impute=cleaning.impute,
            clip=cleaning.clip_quantile,
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
            config=config,
            executor=executor,
            cache=cache,
        )
        timings = {"prepare": round(budget.elapsed(), 3)}
        trials = search.run()
        kill_point("fit.searched")
        timings["search"] = round(budget.elapsed() - sum(timings.values()), 3)
        ok = [t for t in trials if t.status == "ok"]
        if not ok:
            raise self._nothing_finished(trials)
        try:
            n_classes = len(schema.classes) if schema.task != "regression" else 0
            choice = assemble.choose(search, ok, metric, splits, y_enc, n_classes)
            timings["ensemble"] = choice.seconds
            search.free_matrices()  # the refits need room more than the fold matrices do
            t0 = time.monotonic()
            members, preps = assemble.build_members(search, choice.members, search.config.refit)
            timings["refit"] = round(time.monotonic() - t0, 3)
            rows = assemble.trial_rows(ok)
            lb, best = assemble.leaderboard(rows, members, choice.estimate, choice.kind, metric.name)
            fitted = FittedModel(
                schema=schema,
                members=tuple(members),
                preprocessors=preps,
                estimate=Estimate(
                    metric.name,
                    choice.estimate,
                    choice.kind,
                    splits.kind,
                    len(splits.folds),
                    model_bytes=int(sum(m.nbytes() for m in members)),
                ),
                leaderboard=lb,
                best_model=best,
                n_features_in=table.df.shape[1] - 1,
                feature_names_in=table.feature_names_in,
                trials=[t.record() for t in search.trials],
                findings=table.findings,
                feature_selection=selection,
                provenance=dataclasses.replace(provenance, timings=timings),
                oof={t.name: t.oof for t, _ in choice.members},
                fold_groups=assemble.fold_groups(splits),
                trial_rows=rows,
            )
            fitted = assemble.temper(fitted, splits.oof_mask, y_enc)  # honest probabilities (multiclass)
            search.free_matrices(full=True)
        finally:
            search.close()
        self._trials, self._Xc, self._splits = search.trials, Xc, splits
        return fitted

    def _callbacks(self, callbacks: Any, tracker: Any) -> list[Any]:
        cbs = list(callbacks or []) + ([tracker] if tracker is not None else [])
        cbs.append(lambda s: log.info("trial %s: %s=%s (best %s)", s.last_model, s.metric, s.last_score, s.best_score))
        return cbs

    def _nothing_finished(self, trials: list) -> BudgetExhaustedError:
        errs = "; ".join(f"{t.name}: {t.error}" for t in trials if t.error)[:500]
        return BudgetExhaustedError(
            f"no model finished within time_budget={self.time_budget}s"
            + (f" (failures: {errs})" if errs else "")
            + "; raise time_budget"
            + (" or lower n_folds" if self.n_folds else "")
        )

    def _finish(self, fitted: FittedModel, table: _Table, started: float) -> FittedModel:
        """The latency limit, the monitoring reference and what the report needs from this fit."""
        t0 = time.monotonic()
        metric = get_metric(fitted.metric, fitted.task)
        row = table.df.drop(columns=[table.target]).head(1)
        fitted = assemble.meet_latency(
            fitted, row, Limits.from_value(self.limits).predict_ms, metric, self._splits.oof_mask, table.y_enc
        )
        timings = dict(fitted.provenance.timings, latency=round(time.monotonic() - t0, 3))
        from mlwright.monitoring.reference import automl_reference

        fitted = fitted.replace(reference=automl_reference(fitted, self._Xc, self._splits.oof_mask))
        sensitive = (fitted.provenance.fit_options or {}).get("sensitive")
        if sensitive:
            from mlwright.automl.fairness import measure_and_mitigate
            from mlwright.fairness.thresholds import constraint_from

            constraint = constraint_from(self.fairness)
            fitted = measure_and_mitigate(fitted, table.df[sensitive], table.y_enc, self._splits, constraint, self.seed)
            if fitted.reference is not None:  # the monitor watches the same groups (and alerts on the constraint)
                watch = {"sensitive": list(sensitive), "fairness_constraint": constraint}
                fitted = fitted.replace(reference=fitted.reference | watch)
        # what the report needs from this fit (kept until the report is built; rows capped in memory)
        from mlwright.report.build import report_context

        self._report_ctx = report_context(
            fitted,
            self._Xc,
            table.y_enc,
            self._splits,
            Cleaning.from_value(self.cleaning),
            self.report_seconds,
            self.seed,
        )
        return fitted.with_provenance(
            timings=timings,
            fit_seconds=time.monotonic() - started,
            training_fingerprint=artifacts.data_fingerprint(table.df),
        )

    # ------------------------------------------------------------------ fit checks
    def _check_settings(self) -> None:
        """The parameters that would otherwise fail (or be ignored) only after the search."""
        tb = self.time_budget
        bad_number = isinstance(tb, bool) or not isinstance(tb, (int, float, np.number))
        if tb is not None and (bad_number or not 0 < float(tb) < math.inf):
            raise ConfigError(
                f"time_budget must be a positive, finite number of seconds (or None for no limit), got {tb!r}"
            )
        from mlwright.fairness.thresholds import constraint_from

        constraint_from(self.fairness)  # a wrong value fails before any work
        if not isinstance(self.refit, bool) and self.refit != "auto":
            raise ConfigError(f"refit must be True, False or 'auto', got {self.refit!r}")
        for name, low in (("max_trials", 1), ("n_folds", 2)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low):
                raise ConfigError(f"{name} must be a whole number ≥ {low} (or None for the default), got {v!r}")
        if self.workdir:
            writable_dir(self.workdir, "workdir", "pass a folder mlwright may write to")
        else:
            writable_dir(
                home() / "runs",
                "the runs folder of MLWRIGHT_HOME",
                "set MLWRIGHT_HOME to a writable folder or pass workdir=",
            )

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
        memory = Limits.from_value(self.limits).memory  # a wrong limit fails here, before any work
        if memory is None:
            return None
        limit = parse_bytes(memory, "limits: memory")
        held = rss_bytes()
        if held is not None and held >= limit:
            raise ConfigError(
                f"limits: memory={memory!r} ({limit / 1e6:.0f} MB) leaves no room for models: this "
                f"process already holds {held / 1e6:.0f} MB; raise the limit"
            )
        return limit

    @staticmethod
    def _need_column(df: pd.DataFrame, name: str, what: str) -> None:
        if name not in df.columns:
            raise TargetNotFoundError(
                f"{what} column {name!r} is not in the data{did_you_mean(name, map(str, df.columns))}"
            )

    # ------------------------------------------------------------------ the run's log
    def _run_dir(self) -> Path:
        return (Path(self.workdir) if self.workdir else home() / "runs" / self.run_id_).resolve()

    def _write_log(self) -> None:
        """Record the run: ``workdir`` when given, else ``$MLWRIGHT_HOME/runs/<run id>``."""
        wd = self._run_dir()
        try:
            wd.mkdir(parents=True, exist_ok=True)
            self._write_run_files(wd)
        except OSError as exc:  # e.g. the disk filled during the search: the fitted model is not lost for it
            warnings.warn(f"the run's log could not be written to {str(wd)!r}: {exc}", MlwrightWarning, stacklevel=3)
            return
        self.fitted_ = self.fitted_.with_provenance(run_dir=str(wd))

    def _write_run_files(self, wd: Path) -> None:
        f = self.fitted_
        with open(wd / "trials.jsonl", "w", encoding="utf-8") as fh:  # this run's trials (a resumed run: all)
            for rec in f.trials:
                fh.write(json.dumps(rec, default=str) + "\n")
        summary = {
            "run_id": f.provenance.run_id,
            "params": {k: v for k, v in self.get_params().items()},
            "task": f.task,
            "metric": f.metric,
            "score_val": f.estimate.score_val,
            "best_model": f.best_model,
            "validation": {"kind": f.estimate.validation, "folds": f.estimate.n_folds},
            "fit_seconds": f.provenance.fit_seconds,
            "model_bytes": f.estimate.model_bytes,
            "timings": f.provenance.timings,
            "training_data": f.provenance.training_fingerprint,
            "leaderboard": f.leaderboard.replace({np.nan: None}).to_dict(orient="records"),
        }
        (wd / "run.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")

    # ================================================================== predict
    def _check_fitted(self) -> FittedModel:
        fitted = self.__dict__.get("fitted_")
        if fitted is None:
            raise NotFittedError("this AutoML is not fitted yet; call fit(data, target=...) or mlwright.load(path)")
        return fitted

    def validate(self, X: Any) -> pd.DataFrame:
        """Rows checked and coerced by the Schema, as the models read them (a path is read; an array takes
        the training columns in order).  Raises a typed one-line error for what does not fit."""
        return self._check_fitted().validate(X)

    def predict_scores(self, X: Any) -> np.ndarray:
        """What the served model outputs: calibrated class probabilities (n × classes) or values (n,).

        ``X``: a DataFrame, an array, a path, or :class:`~mlwright.data.schema.Columns`.  ``predict``
        and ``predict_proba`` are built on it (see :class:`~mlwright.predictor.Predictor`)."""
        return self._check_fitted().scores(X)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """scikit-learn's default score: accuracy (classification) or R² (regression) of ``predict(X)``."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        if self._check_fitted().task == "regression":
            return float(r2_score(y, pred, sample_weight=sample_weight))
        y = np.asarray(y)
        if y.dtype != pred.dtype:  # labels compared as the model knows them (e.g. 1 and "1")
            y, pred = y.astype(str), pred.astype(str)
        return float(accuracy_score(y, pred, sample_weight=sample_weight))

    def evaluate(self, data: Any, target: str | None = None) -> dict[str, Any]:
        """Score the model on labelled data: every applicable metric, plus the confusion matrix.

        Parameters
        ----------
        data : DataFrame or path
            Must hold the target column (named as in training unless ``target`` says otherwise).
        """
        self._check_fitted()
        from mlwright.evaluation.diagnose import evaluate_model

        return evaluate_model(self, read_table(data) if isinstance(data, (str, Path)) else data, target)

    def leaderboard(self) -> pd.DataFrame:
        """Trials and the ensemble, best first: model, score_val (CV estimate), fit/predict seconds."""
        return self._check_fitted().leaderboard.copy()

    # ================================================================== persistence
    def manifest(self) -> dict[str, Any]:
        """What ``manifest.json`` says about this model (provenance, estimate, schema), less the file hashes."""
        from mlwright.automl.persist import manifest_of

        return manifest_of(self._check_fitted(), self.get_params())

    def save(self, path: str | Path) -> Path:
        """Write the model directory (manifest + verified files); returns its path."""
        fitted = self._check_fitted()
        from mlwright.automl.persist import save_fitted

        if float(self.report_seconds or 0) > 0:
            self.report_data()  # built once, kept in fitted_
        out = save_fitted(self.fitted_, self.get_params(), Path(path))
        tracking = self.__dict__.get("_tracking")
        if tracking and fitted.provenance.run_id:
            from mlwright.tracking import note_model_path

            note_model_path(fitted.provenance.run_id, str(Path(out).resolve()), tracking[0])
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = {"binary": "classifier", "multiclass": "classifier", "regression": "regressor"}.get(
            self.task  # type: ignore[arg-type]
        )
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = False
        return tags


def _warn_dropped(schema: Schema) -> None:
    empty = [c.name for c in schema.columns if c.kind == "empty"]
    if empty:
        warnings.warn(
            f"dropped {len(empty)} feature column(s) that are entirely missing: " + ", ".join(repr(c) for c in empty),
            MlwrightWarning,
            stacklevel=4,
        )
    for kind in ("constant", "id"):
        cols = [c.name for c in schema.columns if c.kind == kind]
        if cols:
            log.info("ignoring %s column(s): %s", kind, ", ".join(cols))


def _with_deprecated(limits: Any, deprecated: dict[str, Any], warn: bool) -> Any:
    """``limits`` with the values of the parameters it replaced (``max_predict_ms=``, ``memory_limit=``);
    ``verbose=`` is dropped (the ``mlwright`` logger logs each trial at INFO).  An explicit ``limits`` wins."""
    if warn and deprecated:
        names = ", ".join(f"{k}=" for k in sorted(deprecated))
        warnings.warn(
            f"AutoML({names}) is deprecated: pass limits={{'predict_ms': …, 'memory': …}}; for a line per trial, "
            "set the 'mlwright' logger to INFO (logging.getLogger('mlwright').setLevel('INFO'))",
            FutureWarning,
            stacklevel=3,
        )
    moved = {_DEPRECATED[k]: v for k, v in deprecated.items() if _DEPRECATED[k] and v is not None}
    if not moved or not (limits is None or isinstance(limits, (dict, Limits))):
        return limits  # nothing to move, or a wrong value from_value will name
    given = dataclasses.asdict(limits) if isinstance(limits, Limits) else dict(limits or {})
    return moved | {k: v for k, v in given.items() if v is not None}


def _source_of(X: Any) -> Any:
    """Where rows passed as ``X`` came from, for ``retrain`` to fit the same way again (and, with history, to
    find the old rows): a file's absolute path, a query's description; None for rows in memory."""
    if isinstance(X, (str, Path)):
        return str(Path(X).resolve())
    return X.describe() if isinstance(X, SqlSource) else None


def _new_run_id() -> str:
    """A sortable, unique run id: UTC time and random hex, e.g. ``20261124-081502-3fa9c1d2``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def load(path: str | Path) -> Any:
    """Load a model directory written by :meth:`AutoML.save` (or an external model's ``save``, see
    :mod:`mlwright.external`), verifying every file's SHA-256.

    Returns an :class:`AutoML` or an :class:`~mlwright.external.ExternalModel`: either is a
    :class:`~mlwright.predictor.Predictor`.

    Raises
    ------
    ArtifactIntegrityError
        A file is missing, altered, or holds types mlwright does not trust.
    """
    from mlwright.automl.persist import load_fitted

    manifest = artifacts.read_manifest(path)
    if manifest.get("kind") == "forecast":
        from mlwright.forecast import Forecaster

        return Forecaster.load(path, manifest)
    if manifest.get("kind") in ("cluster", "anomaly"):
        from mlwright.unsupervised import Anomaly, Cluster

        return (Cluster if manifest["kind"] == "cluster" else Anomaly).load(path, manifest)
    if manifest.get("kind", "mlwright") != "mlwright":
        from mlwright.external import ExternalModel

        artifacts.verify(path, manifest)
        return ExternalModel.load(path, manifest)
    fitted, params = load_fitted(Path(path), manifest)
    known = AutoML().get_params()
    limits = _with_deprecated(params.get("limits"), {k: v for k, v in params.items() if k in _DEPRECATED}, warn=False)
    automl = AutoML(**{k: v for k, v in params.items() if k in known} | {"limits": limits})
    automl.fitted_ = fitted
    return automl
