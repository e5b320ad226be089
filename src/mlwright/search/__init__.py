"""Budgeted search over the model registry: portfolio configs first, then Optuna per family.

One :class:`~mlwright.budget.Budget` flows in; each trial gets a deadline cut from it, and each
fold's booster callback stops at its share of that deadline, so a trial always ends in time with a
usable (if shorter) model.  Families whose models cannot be stopped early are only started when
their cost estimate fits in the time left.  Preprocessing is fitted per fold (never on validation
rows) and cached per (style, fold), so trials of one style share it.

The search plans; an executor (:mod:`mlwright.execution`) trains: in this process by default, or each
trial in a worker process with a time and a memory limit (a trial that crashes or hangs fails alone),
or on a Dask cluster.

Package: the search (this module), validation splits (:mod:`.splits`) and the trial cache that resumes a run
(:mod:`.resume`).  May import data, features, models, evaluation, ensemble and execution; never the estimator
or anything above it (see ``tests/test_layers.py``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mlwright.budget import Budget, Deadline, Snapshot, release_memory, rss_bytes
from mlwright.data.schema import Schema
from mlwright.evaluation.metrics import Metric
from mlwright.execution import Executor, InlineExecutor, TrialData, TrialTask
from mlwright.execution.trial import TRUNCATABLE, family_blob
from mlwright.models import ModelFamily
from mlwright.search.splits import Splits

__all__ = ["Search", "SearchConfig", "Trial"]

log = logging.getLogger("mlwright.search")


@dataclass
class SearchConfig:
    """Knobs of the search (the defaults suit budgets from a few seconds to hours)."""

    max_trials: int | None = None
    reserve_fraction: float = 0.04  # of the budget, kept for ensembling and wrap-up
    reserve_min: float = 1.0
    first_trial_share: float = 0.45  # of the time left, at most, for the first trial
    trial_share: float = 0.3  # of the time left, at most, for later trials
    n_startup_trials: int = 4  # Optuna random trials before TPE takes over
    tune_top_families: int = 3
    keep_models: int = 6  # best trials whose fold models stay in memory (plus each family's best)
    models_max_bytes: int = 300_000_000  # and at most this much of them (forests are the heavy ones)
    refit: bool = True  # refit ensemble members on all rows (one model each) when time allows
    spill: bool = True  # keep candidate fold models on disk, not in memory
    memory_limit: int | None = None  # bytes the process may hold; models that do not fit are not kept
    impute: str = "median"  # missing numbers, ordinal/one-hot styles (see cleaning.Cleaning)
    clip: float | None = None  # outlier clipping quantile, ordinal/one-hot styles


@dataclass
class Trial:
    """One configuration of one family, trained on every fold."""

    id: int
    family: str
    params: dict[str, Any]
    source: str  # portfolio | optuna
    status: str = "pending"  # ok | failed | skipped
    score: float | None = None
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    models: list[Any] = field(default_factory=list, repr=False)
    oof: np.ndarray | None = field(default=None, repr=False)
    truncated: bool = False
    error: str | None = None
    model_bytes: int = 0  # the largest fold model's size (boosters: measured only under memory_limit)
    worker: str = ""  # where it ran (``inline``, ``pid 1234``, ``dask pid 1234``)

    @property
    def name(self) -> str:
        """Display name, e.g. ``lightgbm_3``."""
        return f"{self.family}_{self.id}"

    def record(self) -> dict[str, Any]:
        """JSON-able summary (no models, no predictions)."""
        return {
            "id": self.id,
            "model": self.name,
            "family": self.family,
            "params": self.params,
            "source": self.source,
            "status": self.status,
            "score": self.score,
            "fit_seconds": round(self.fit_seconds, 4),
            "predict_seconds": round(self.predict_seconds, 4),
            "truncated": self.truncated,
            "error": self.error,
            "model_bytes": self.model_bytes,
            "worker": self.worker,
        }


#: On tables mostly of free text this family's portfolio runs first (TF-IDF of words and characters, see features).
TEXT_FIRST = "linear"

#: Training data past this many bytes makes every release a full collection even without a memory limit.
LARGE_DATA_BYTES = 64 * 2**20


def _data_bytes(X: Any) -> int:
    try:
        return int(X.memory_usage(index=False).sum()) if hasattr(X, "memory_usage") else int(X.nbytes)
    except (AttributeError, TypeError, ValueError):
        return 0


class Spilled:
    """A fold model written to disk in its native format; loaded back only if it is served."""

    def __init__(
        self, fam: ModelFamily, directory: Path, stem: str, files: list[str], meta: dict, task: str, n_classes: int
    ):
        self.fam, self.directory, self.stem, self.files = fam, directory, stem, files
        self._meta, self.task, self.n_classes = meta, task, n_classes

    def meta(self) -> dict[str, Any]:
        return self._meta

    def load(self):
        """The model, read back from disk."""
        return self.fam.load(self.directory, self.stem, self._meta, self.task, self.n_classes)

    def discard(self) -> None:
        for f in self.files:
            (self.directory / f).unlink(missing_ok=True)


class Search:
    """Run trials until the budget or the trial cap is spent.

    Parameters
    ----------
    schema : Schema
    X : DataFrame
        Coerced training features (see :func:`mlwright.data.schema.coerce`).
    y : array
        Encoded target.
    splits : Splits
    metric : Metric
    families : list of ModelFamily
    budget : Budget
    seed, n_jobs : int
    callbacks : list of callables receiving a :class:`Snapshot`
    config : SearchConfig
    executor : Executor, optional
        Where trials run (default: in this process).
    cache : TrialCache, optional
        Finished trials kept in the workdir (:mod:`mlwright.search.resume`): read back instead of run again.
    """

    def __init__(
        self,
        schema: Schema,
        X: pd.DataFrame,
        y: np.ndarray,
        splits: Splits,
        metric: Metric,
        families: list[ModelFamily],
        budget: Budget,
        seed: int = 0,
        n_jobs: int = 1,
        callbacks: list[Callable[[Snapshot], None]] | None = None,
        config: SearchConfig | None = None,
        executor: Executor | None = None,
        cache: Any = None,
    ):
        self.schema, self.X, self.y, self.splits, self.metric = schema, X, y, splits, metric
        self.families = families
        self.budget, self.seed, self.n_jobs = budget, seed, n_jobs
        self.callbacks = callbacks or []
        self.config = config or SearchConfig()
        self.n_classes = len(schema.classes) if schema.task != "regression" else 0
        self.data = TrialData(schema, X, y, splits, seed, self.config.impute, self.config.clip)
        # a full collection after each trial only where the memory it frees matters
        self._full_release = self.config.memory_limit is not None or _data_bytes(X) >= LARGE_DATA_BYTES
        self.prep = self.data.prep  # (style, fold | "full") → (preprocessor, X_train, X_valid)
        self.executor: Executor = executor or InlineExecutor()
        self.cache = cache
        self._started = False
        self._n_feat: dict[str, int] = {}
        self.trials: list[Trial] = []
        self._failures: dict[str, int] = {}
        self._studies: dict[str, Any] = {}
        self._spill_dir: tempfile.TemporaryDirectory | None = None
        self._memory_warned = False
        self.reserve = max(self.config.reserve_min, self.config.reserve_fraction * min(budget.seconds, 3600))
        if math.isinf(budget.seconds):
            self.reserve = 0.0

    # ------------------------------------------------------------------ time
    def time_left(self) -> float:
        """Seconds left for trials (the ensembling and refit reserve excluded)."""
        return self.budget.left() - self.reserve - self.refit_reserve()

    def refit_reserve(self) -> float:
        """Time to keep for refitting the likely ensemble members on all rows."""
        if not self.config.refit or math.isinf(self.budget.seconds):
            return 0.0
        refits = {f.key for f in self.families if f.refit}
        ok = sorted((t for t in self.trials if t.status == "ok" and t.family in refits), key=self._loss)
        per_fold = [t.fit_seconds / max(1, len(t.models) or len(self.splits.folds)) for t in ok[:3]]
        return min(1.3 * sum(per_fold), 0.35 * self.budget.seconds)

    def _loss(self, t: Trial) -> float:
        return -t.score if self.metric.greater_is_better else t.score

    def _done(self) -> bool:
        cap = self.config.max_trials
        n = sum(t.status in ("ok", "failed") for t in self.trials)
        if self.config.memory_limit is not None and self.model_room() <= 0:
            if not self._memory_warned:
                self._memory_warned = True
                log.warning("memory_limit reached: no further trials")
            return True
        return (cap is not None and n >= cap) or self.time_left() <= 0.05

    def model_room(self) -> float:
        """Bytes a new model may take under ``memory_limit`` (what the process does not hold yet)."""
        limit = self.config.memory_limit
        if limit is None:
            return math.inf
        rss = rss_bytes()
        return limit - rss if rss is not None else float(limit)

    # ------------------------------------------------------------------ preprocessing
    def _preprocessor(self, style: str):
        return self.data.preprocessor(style)

    def fold_preprocessor(self, style: str, k: int):
        """Fold ``k``'s preprocessor of ``style`` (fitted on its training rows as the trials' was: the same
        seed, the same rows — built here if the trials ran elsewhere)."""
        key = (style, k)
        if key not in self.prep:
            tr, _ = self.splits.folds[k]
            pre = self._preprocessor(style)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pre.fit_transform(self.X.iloc[tr], self.y[tr])
            self.prep[key] = (pre, None, None)
        return self.prep[key][0]

    def _n_features(self, style: str) -> int:
        """Columns of ``style``'s matrix, for the cost models; a sparse matrix (text n-grams, one-hot levels)
        counts its stored values per row, which is what its models' work grows with."""
        if style not in self._n_feat:
            if isinstance(self.executor, InlineExecutor):  # the trials will use the fold anyway
                Xt = self.data.fold(style, 0)[1]
            else:
                tr, _ = self.splits.folds[0]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    Xt = self._preprocessor(style).fit_transform(self.X.iloc[tr], self.y[tr])
            if sp.issparse(Xt):
                self._n_feat[style] = max(1, math.ceil(Xt.nnz / max(1, Xt.shape[0])))
            else:
                self._n_feat[style] = int(Xt.shape[1])
        return self._n_feat[style]

    # ------------------------------------------------------------------ one trial
    def _estimate(self, fam: ModelFamily) -> float:
        done = [t for t in self.trials if t.family == fam.key and t.status == "ok"]
        if done:
            return float(np.median([t.fit_seconds for t in done]))
        n = len(self.splits.folds[0][0])
        d = self._n_features(fam.style)
        return fam.cost(n, d) * len(self.splits.folds)

    def run_trial(self, fam: ModelFamily, params: dict[str, Any], source: str) -> Trial:
        """Train ``fam`` with ``params`` on every fold (through the executor); return the finished trial."""
        trial = Trial(id=len(self.trials) + 1, family=fam.key, params=dict(params), source=source)
        self.trials.append(trial)
        left = self.time_left()
        share = self.config.first_trial_share if not self._any_ok() else self.config.trial_share
        if not self._any_ok() and fam.key not in TRUNCATABLE:
            share = 1.0  # nothing to fall back on yet: let the first model that cannot be cut short finish
        end = time.monotonic() + (left if math.isinf(left) else max(left * share, 0.0))
        if not math.isinf(self.budget.seconds):
            end = min(end, self.budget.deadline - self.reserve)
        seconds = math.inf if math.isinf(end) else max(end - time.monotonic(), 0.0)
        room = self.model_room()
        limit = self.config.memory_limit
        apart = not isinstance(self.executor, InlineExecutor)  # another process: its own memory is capped
        held = rss_bytes() if limit is not None and apart else None
        task = TrialTask(
            trial.name, fam.key, dict(params), self.metric.name, self.seed, self.n_jobs, seconds,
            room=room, measure=limit is not None,
            memory=float(limit - held) if limit is not None and held is not None else math.inf,
            family_blob=family_blob(fam) if apart else None,
        )  # fmt: skip
        self._start()
        spill = self._spill_path() if self._spilling() else None
        res = self.cache.get(trial.id, trial.name, fam.key, params, spill) if self.cache is not None else None
        if res is None:
            res = self.executor.run(task)
            if self.cache is not None:
                self.cache.put(trial.id, trial.name, fam.key, params, res, spill)
        trial.status, trial.score, trial.error, trial.truncated = res.status, res.score, res.error, res.truncated
        trial.fit_seconds, trial.predict_seconds = res.fit_seconds, res.predict_seconds
        trial.model_bytes, trial.worker = res.model_bytes, res.worker
        if res.status == "ok":
            trial.oof = res.oof
            trial.models = res.models or [
                Spilled(fam, self._spill_path(), f["stem"], f["files"], f["meta"], self.schema.task, self.n_classes)
                for f in res.spilled
            ]
        else:
            self._failures[fam.key] = self._failures.get(fam.key, 0) + (2 if res.out_of_time else 1)
            log.warning("trial %s %s failed: %s", fam.key, params, trial.error)
        if trial.status != "ok" or not trial.models:
            self._discard(trial)
        self._trim()
        release_memory(self._full_release)
        self._notify(trial)
        return trial

    def _spill_path(self) -> Path:
        if self._spill_dir is None:
            self._spill_dir = tempfile.TemporaryDirectory(prefix="mlwright-models-")
        return Path(self._spill_dir.name)

    def _spilling(self) -> bool:
        return self.config.spill or not isinstance(self.executor, InlineExecutor)

    def _start(self) -> None:
        if not self._started:
            self.executor.start(self.data, self._spill_path() if self._spilling() else None)
            self._started = True
            if not isinstance(self.executor, InlineExecutor):
                release_memory()  # what preparing the data left behind: the workers hold the memory now

    def end_trials(self) -> None:
        """Release the executor's workers (the refits run here, in this process)."""
        self.executor.close()
        self._started = False

    @staticmethod
    def _discard(trial: Trial) -> None:
        for m in trial.models:
            if isinstance(m, Spilled):
                m.discard()
        trial.models, trial.oof = [], None

    def close(self) -> None:
        """Stop the executor's workers; remove spilled model files."""
        self.end_trials()
        if self._spill_dir is not None:
            self._spill_dir.cleanup()
            self._spill_dir = None

    def _trim(self) -> None:
        """Free the models and predictions of trials that can no longer enter the ensemble."""
        kept = sorted((t for t in self.trials if t.status == "ok" and t.models), key=self._loss)
        used = 0
        families_seen: set[str] = set()
        for i, t in enumerate(kept):
            size = sum(getattr(m, "nbytes", lambda: 0)() for m in t.models)
            best_of_family = t.family not in families_seen
            families_seen.add(t.family)
            wanted = i < self.config.keep_models or best_of_family  # the top few, and diversity
            if i > 0 and (not wanted or used + size > self.config.models_max_bytes):
                self._discard(t)
            else:
                used += size

    def _any_ok(self) -> bool:
        return any(t.status == "ok" for t in self.trials)

    # ------------------------------------------------------------------ progress
    def best(self) -> Trial | None:
        """Best finished trial so far."""
        ok = [t for t in self.trials if t.status == "ok"]
        if not ok:
            return None
        return min(ok, key=lambda t: -t.score if self.metric.greater_is_better else t.score)

    def _notify(self, trial: Trial) -> None:
        b = self.best()
        snap = Snapshot(
            trials_done=sum(t.status != "skipped" for t in self.trials),
            last_model=trial.name,
            last_score=trial.score,
            best_model=b.name if b else None,
            best_score=b.score if b else None,
            metric=self.metric.name,
            elapsed=self.budget.elapsed(),
            time_left=self.budget.left(),
            budget=self.budget.seconds,
            trial=trial.record(),
        )
        for cb in self.callbacks:
            cb(snap)

    # ------------------------------------------------------------------ the loop
    def _usable(self, fam: ModelFamily) -> bool:
        n = len(self.y)
        if fam.max_rows is not None and n > fam.max_rows:
            return False
        return n >= fam.min_rows and self._failures.get(fam.key, 0) < 2

    def _fits(self, fam: ModelFamily) -> bool:
        if math.isinf(self.time_left()):
            return True
        if fam.key in TRUNCATABLE:
            return self.time_left() > 0.5
        return self._estimate(fam) < self.time_left()

    def run(self) -> list[Trial]:
        """Portfolio round(s), then Optuna rounds over the best families, until time is up."""
        try:
            return self._run()
        finally:
            self.end_trials()

    def _run(self) -> list[Trial]:
        fams = [f for f in self.families if self._usable(f)]
        text = self.schema.of_kind("text")
        if text and 2 * len(text) >= len(self.schema.features):  # mostly free text: the linear model on word and
            fams.sort(key=lambda f: f.key != TEXT_FIRST)  # character n-grams reads it best, and is cheap: first
        # portfolio: first config of every family, then the further ones
        depth = max((len(f.portfolio) for f in fams), default=0)
        for level in range(depth):
            for fam in fams:
                if self._done():
                    return self.trials
                if level < len(fam.portfolio) and self._usable(fam) and self._fits(fam):
                    self.run_trial(fam, {**fam.start, **fam.portfolio[level]}, "portfolio")
        # Optuna: rotate over the best families
        rng = np.random.default_rng(self.seed)
        stalls = 0
        while not self._done() and stalls < 50:
            ranked = self._ranked_families(fams)
            if not ranked:
                break
            top = ranked[: self.config.tune_top_families]
            weights = np.array([1.0 / (i + 1) for i in range(len(top))])
            fam = top[int(rng.choice(len(top), p=weights / weights.sum()))]
            if not self._fits(fam):
                stalls += 1
                if all(not self._fits(f) for f in top):
                    break
                continue
            self._tune_one(fam)
        return self.trials

    # ------------------------------------------------------------------ refit on all rows
    def free_matrices(self, full: bool = False) -> None:
        """Drop the cached transformed fold matrices (and with ``full`` the all-rows ones); keep the
        fitted preprocessors, which the fold models being served still need."""
        for key, (pre, *_rest) in list(self.prep.items()):
            if full or key[1] != "full":
                self.prep[key] = (pre, None, None)
        release_memory(self._full_release)

    def full_data(self, style: str):
        """The preprocessor of ``style`` fitted on every training row, and the transformed rows."""
        key = (style, "full")
        if key not in self.prep:
            pre = self._preprocessor(style)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Xt = pre.fit_transform(self.X, self.y)
            self.prep[key] = (pre, Xt, None)
        return self.prep[key]

    def refit(self, trial: Trial, fam: ModelFamily, deadline: Deadline):
        """Train ``trial``'s configuration once on all rows; returns the model or None if it cannot finish.

        Boosters train for the mean early-stopped length of their folds, scaled up for the extra rows.
        """
        per_fold = trial.fit_seconds / max(1, len(trial.models))
        if per_fold * 1.3 > deadline.left():
            return None
        params = dict(trial.params)
        iters = [m.meta().get("best_iteration") for m in trial.models]
        iters = [i for i in iters if i]
        if iters:
            n_train = len(self.splits.folds[0][0])
            params["n_estimators"] = max(1, round(np.mean(iters) * (len(self.y) / max(1, n_train)) ** 0.5))
        _, Xt, _ = self.full_data(fam.style)
        model = fam.make(self.schema.task, params, self.n_classes, self.seed, self.n_jobs, self.metric.name)
        room = self.model_room()
        if hasattr(model, "max_bytes") and room < model.max_bytes:
            model.max_bytes = int(max(room, 0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Xt, self.y, None, None, deadline=deadline)
        if getattr(model, "nbytes", lambda: 0)() > room:
            return None  # its fold models, already measured to fit, serve instead
        return model

    def _ranked_families(self, fams: list[ModelFamily]) -> list[ModelFamily]:
        best: dict[str, float] = {}
        for t in self.trials:
            if t.status == "ok":
                loss = -t.score if self.metric.greater_is_better else t.score
                best[t.family] = min(best.get(t.family, math.inf), loss)
        return sorted((f for f in fams if f.key in best and self._usable(f) and f.space), key=lambda f: best[f.key])

    def _study(self, fam: ModelFamily):
        import optuna

        if fam.key not in self._studies:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            sampler = optuna.samplers.TPESampler(
                seed=self.seed, n_startup_trials=self.config.n_startup_trials, multivariate=True
            )
            study = optuna.create_study(direction="minimize", sampler=sampler)
            for t in self.trials:  # seed the model with what the portfolio learned
                if t.family == fam.key and t.status == "ok" and set(fam.space) <= set(t.params):
                    loss = -t.score if self.metric.greater_is_better else t.score
                    params = {k: t.params[k] for k in fam.space}
                    with contextlib.suppress(ValueError):  # a value outside the space teaches nothing
                        study.add_trial(optuna.trial.create_trial(params=params, distributions=fam.space, value=loss))
            self._studies[fam.key] = study
        return self._studies[fam.key]

    def _tune_one(self, fam: ModelFamily) -> Trial:
        study = self._study(fam)
        ot = study.ask(fam.space)
        params = {**{k: v for k, v in fam.start.items() if k not in fam.space}, **ot.params}
        trial = self.run_trial(fam, params, "optuna")
        if trial.status == "ok":
            study.tell(ot, -trial.score if self.metric.greater_is_better else trial.score)
        else:
            import optuna

            study.tell(ot, state=optuna.trial.TrialState.FAIL)
        return trial
