"""Fit on a table larger than ``memory_limit`` allows to hold: search on a sample, train the final model on all rows.

A file or Parquet directory whose rows would take more than :data:`LARGE_SHARE` of ``memory_limit`` in memory is
not read whole.  :func:`plan` counts its rows, measures the bytes a row takes, and draws a stratified sample
sized to the budget (:func:`mlwright.data.large.stratified_sample`); every ``holdout_every``-th row is kept out
of it.  ``fit`` then profiles, searches, ensembles and refits on the sample as usual, with part of the time
budget.  :func:`fit_all_rows` trains the best LightGBM configuration of that search on every row, out of core:

1. one streaming pass (batches sized to the budget) applies the sample's fitted preprocessing and writes each
   batch as a float32 block to a private temporary directory; held-out rows stay in memory (a few MB);
2. LightGBM bins all rows from those blocks (``lightgbm.Sequence``, one block at a time) with the bin
   boundaries of the sample (a reference Dataset), so only the binned matrix — about a byte per value — is
   ever whole in memory; when even that would not fit in what the process does not hold yet, a share of the
   rows is trained on, and the fit says so;
3. boosting stops early on the held-out rows, or at the deadline;
4. the all-rows model replaces the sample's model only if it scores better on the held-out rows, which
   neither model saw; ``score_val_`` is then that held-out score.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.budget import Deadline, release_memory, resolve_jobs, rss_bytes, usable_cores
from mlwright.data.large import holdout_rows, sample_rows, scan, stratified_sample, table_rows
from mlwright.faults import kill_point
from mlwright.processes import sweep_dead

log = logging.getLogger("mlwright")

# a table is "large" when its rows would take more than this share of memory_limit as a DataFrame (the search
# holds several transformed copies of its data: folds, preprocessed matrices, models)
LARGE_SHARE = 0.1
# the search sample: at most this many rows per second of search time (more rows than the search can try
# configurations on only slow it down: the rows pay off in the final all-rows fit)
SAMPLE_ROWS_PER_SECOND = 1000
# share of the time left after sampling that the search on the sample gets; the rest: the all-rows fit
SEARCH_SHARE = 0.4
# held-out rows: about this many (every k-th row, k between 10 and 100)
HOLDOUT_ROWS = 200_000
# families that train on all rows out of core
CHUNKED_FAMILIES = ("lightgbm",)
# families that train on all rows on a Dask cluster
DASK_FAMILIES = ("xgboost",)


@dataclass
class LargePlan:
    """What :func:`plan` decided for a table larger than the memory budget."""

    source: Path
    target: str
    rows: int
    bytes_per_row: float
    memory_limit: int
    holdout_every: int
    batch_rows: int
    deadline: float
    sample: pd.DataFrame = field(repr=False)
    sample_info: dict[str, Any] = field(default_factory=dict)

    def search_seconds(self) -> float:
        """Time the search on the sample may take."""
        left = self.deadline - time.monotonic()
        return max(1.0, SEARCH_SHARE * left) if not math.isinf(left) else math.inf


def plan(X: Any, y: Any, target: str | None, memory_limit: int | None, time_budget: float | None,
         seed: int = 0) -> LargePlan | None:  # fmt: skip
    """The plan for fitting ``X`` out of core, or None when it is not a file/directory too large to hold."""
    if memory_limit is None or y is not None or target is None or not isinstance(X, (str, Path)):
        return None
    path = Path(X)
    suffix = path.suffix.lower()
    if not path.exists() or not (path.is_dir() or suffix in (".csv", ".tsv", ".txt", ".parquet", ".pq")):
        return None  # read_table reports what is wrong with it
    start = time.monotonic()
    first = next(scan(path, batch_rows=20_000), None)
    if first is None:
        return None  # an empty table: reported the usual way
    if target not in first.columns:  # said now: reading the whole table only to say so could exhaust memory
        from mlwright.errors import TargetNotFoundError, did_you_mean

        raise TargetNotFoundError(f"target column {target!r} is not in the data{did_you_mean(target, first.columns)}; "
                                  f"columns are: {', '.join(map(str, list(first.columns)[:25]))}")  # fmt: skip
    per_row = max(float(first.memory_usage(deep=True).sum()) / len(first), 1.0)
    rows = table_rows(path)
    if rows * per_row <= LARGE_SHARE * memory_limit:
        return None
    seconds = float(time_budget) if time_budget is not None else math.inf
    n = sample_rows(first, memory_limit, share=LARGE_SHARE)
    if not math.isinf(seconds):
        n = min(n, max(20_000, int(SAMPLE_ROWS_PER_SECOND * SEARCH_SHARE * seconds)))
    every = int(min(100, max(10, rows // HOLDOUT_ROWS)))
    batch = int(min(500_000, max(10_000, 0.01 * memory_limit / per_row)))
    log.info("%s: %d rows × %.0f bytes = %.1f GB in memory, over %.0f%% of memory_limit: searching on a %d-row "
             "sample, then training on all rows out of core", path, rows, per_row, rows * per_row / 1e9,
             100 * LARGE_SHARE, n)  # fmt: skip
    sample, info = stratified_sample(path, target, n, seed=seed, batch_rows=batch, holdout_every=every)
    release_memory()
    info["seconds"] = round(time.monotonic() - start, 1)
    return LargePlan(path, target, rows, per_row, int(memory_limit), every, batch, start + seconds, sample, info)


@dataclass
class _Staged:
    """The transformed rows, written block by block."""

    directory: Path
    blocks: list[tuple[Path, int]] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    hold_X: list[np.ndarray] = field(default_factory=list)
    hold_y: list[np.ndarray] = field(default_factory=list)
    hold_raw: list[pd.DataFrame] = field(default_factory=list)
    dropped: int = 0

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.blocks)


def _matrix(frame: pd.DataFrame) -> np.ndarray:
    """The preprocessor's native output → float32 (categories as their codes, missing as NaN)."""
    cols = []
    for c in frame.columns:
        s = frame[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            v = s.cat.codes.to_numpy(dtype=np.float32)
            v[v < 0] = np.nan
            cols.append(v)
        else:
            cols.append(s.to_numpy(dtype=np.float32))
    return np.column_stack(cols) if cols else np.empty((len(frame), 0), np.float32)


def _labelled(t: pd.Series, schema) -> np.ndarray:
    """Rows whose target can be learned: present and, for classes, one the sample saw (others are dropped)."""
    from mlwright.data.schema import class_codes

    ok = np.array(t.notna(), dtype=bool)
    if schema.task != "regression":
        ok &= class_codes(schema.classes, t) >= 0
    return ok


def _stage(plan: LargePlan, job: _Job, pre, directory: Path, deadline: Deadline) -> _Staged:
    from mlwright.data.schema import coerce, encode_target

    schema = job.schema
    out = _Staged(directory)
    start = 0
    for b in scan(plan.source, batch_rows=plan.batch_rows):
        index = np.arange(start, start + len(b))
        start += len(b)
        t = b[plan.target]
        ok = _labelled(t, schema)  # a class the sample never saw cannot be learned: dropped, counted
        out.dropped += int((np.array(t.notna(), dtype=bool) & ~ok).sum())
        if not ok.all():
            b, index = b.loc[ok].reset_index(drop=True), index[ok]
        if not len(b):
            continue
        y = encode_target(b[plan.target], schema)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = _matrix(pre.transform(coerce(b, schema)))
        hold = holdout_rows(index, plan.holdout_every)
        if hold.any():
            out.hold_X.append(X[hold])
            out.hold_y.append(y[hold])
            out.hold_raw.append(b.loc[hold].drop(columns=[plan.target]).reset_index(drop=True))
        path = directory / f"block{len(out.blocks):05d}.npy"
        np.save(path, np.ascontiguousarray(X[~hold]))
        out.blocks.append((path, int((~hold).sum())))
        kill_point("outofcore.staging")
        out.labels.append(y[~hold].astype(np.float32))  # what LightGBM keeps: half the bytes of int64
        del X, b, y
        release_memory()  # each batch's temporaries: handed back, not left resident
        if deadline.expired():
            log.warning("the time budget ran out while reading the table: training on its first %d rows", start)
            break
    return out


def _block_sequence(path: Path, n: int):
    import lightgbm as lgb

    class _Block(lgb.Sequence):
        """One staged block, read from disk when LightGBM asks for it (whole: batch_size = its rows)."""

        batch_size = max(n, 1)

        def __len__(self) -> int:
            return n

        def __getitem__(self, idx):
            return np.load(path)[idx]

    return _Block()


def _lgb_fit(plan: LargePlan, job: _Job, trial, staged: _Staged, ref_X: np.ndarray, ref_y: np.ndarray,
             cat_idx: list[int], deadline: Deadline) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    import lightgbm as lgb

    from mlwright.models import get as get_family
    from mlwright.models.lightgbm import StopCallback, es_metric

    fam = get_family(trial.family)
    n_jobs = resolve_jobs(job.n_jobs)
    n_classes = len(job.schema.classes) if job.task != "regression" else 0
    model = fam.make(job.task, dict(trial.params), n_classes, job.seed, n_jobs, job.metric)
    params = model.lgb_params()
    labels = np.concatenate(staged.labels)
    # what binning all rows takes (a byte per value, ~4 per feature-group index, label/score/gradients) against
    # what the process does not hold yet: when it would not fit, train on every k-th block
    fold_rows = int(len(ref_y) * (1 - 1 / max(job.n_folds, 2)))
    # measured on the 20M-row benchmark (19 features, binary): ~40-48 bytes a row while training
    per_row = ref_X.shape[1] + 32 + 12 * max(n_classes, 1)
    room = plan.memory_limit - (rss_bytes() or 0)
    blocks, share = staged.blocks, 1.0
    if room > 0 and len(labels) * per_row > 0.85 * room:
        share = max(0.85 * room / (len(labels) * per_row), 1 / max(len(blocks), 1))
        keep = np.linspace(0, len(blocks) - 1, max(1, int(share * len(blocks)))).round().astype(int)
        blocks = [blocks[i] for i in sorted(set(keep))]
        labels = np.concatenate([staged.labels[i] for i in sorted(set(keep))])
        log.warning("all rows would not fit memory_limit when binned: training on %d of %d rows", len(labels),
                    staged.rows)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lgb.Dataset(ref_X, label=ref_y, categorical_feature=cat_idx, params=params, free_raw_data=True)
        ref.construct()
        train = lgb.Dataset([_block_sequence(p, n) for p, n in blocks], label=labels, reference=ref,
                            categorical_feature=cat_idx, params=params, free_raw_data=True)  # fmt: skip
        train.construct()
        del ref
        hold_X, hold_y = np.concatenate(staged.hold_X), np.concatenate(staged.hold_y)
        valid = lgb.Dataset(hold_X, label=hold_y, reference=train, categorical_feature=cat_idx)
        higher = es_metric(job.task, job.metric)[1]
        iters = [i for i in (m.meta().get("best_iteration") for m in trial.models) if i]
        needed = float(np.mean(iters)) * math.sqrt(len(labels) / max(fold_rows, 1)) if iters else None
        pace = _Pace(float(params.get("learning_rate", 0.1)), needed, deadline)
        stop = StopCallback(max(20, int(0.5 * 4.0 / max(pace.lr, 1e-3))), higher, deadline)
        model.booster = lgb.train(params, train, num_boost_round=20_000, valid_sets=[valid],
                                  callbacks=[pace, stop])  # fmt: skip
    model.best_iteration = int(model.booster.best_iteration or model.booster.current_iteration())
    return model, {"rows_trained": len(labels), "row_share": round(share, 4), "rounds": model.best_iteration,
                   "learning_rate": round(pace.lr, 4)}  # fmt: skip


class _Pace:
    """Raise the learning rate once, after the first rounds, when the rounds all rows need would not fit the time left.

    The rounds needed: the folds' mean early-stopped length × √(rows / fold rows) (as the refit on the sample
    scales them); a round's time: measured over the first ``probe`` rounds.  Rounds needed go as 1 / rate, so the
    rate rises by the shortfall (at most 4×, at most to 0.3); without a deadline nothing changes.
    """

    before_iteration = True
    order = 10

    def __init__(self, lr: float, rounds: float | None, deadline: Deadline, probe: int = 10):
        self.lr, self.rounds, self.deadline, self.probe = lr, rounds, deadline, probe
        self.t0: float | None = None

    def __call__(self, env) -> None:
        if env.iteration == env.begin_iteration:
            self.t0 = time.monotonic()
        if env.iteration != env.begin_iteration + self.probe or not self.rounds or self.t0 is None:
            return
        per_round = (time.monotonic() - self.t0) / self.probe
        left = self.deadline.left()
        if math.isinf(left):
            return
        short = (self.rounds - self.probe) * per_round / max(0.85 * left, 1e-9)
        if short > 1 and self.lr < 0.3:
            self.lr = min(0.3, self.lr * min(short, 4.0))
            env.model.reset_parameter({"learning_rate": self.lr})
            log.info("all rows: %.2fs a round, %.0f rounds would not fit %.0fs: learning rate raised to %.3f",
                     per_round, self.rounds, left, self.lr)  # fmt: skip


def _dask_client(executor):
    from mlwright.execution.dask import DaskExecutor

    return executor if isinstance(executor, DaskExecutor) else None


@dataclass(frozen=True)
class _Job:
    """What training on all rows needs from the estimator's settings and the sample's fitted model."""

    schema: Any
    task: str
    metric: str
    n_folds: int
    seed: int
    n_jobs: int | None
    workdir: str | None


def fit_all_rows(automl, fitted, plan: LargePlan, trials: list, Xc: pd.DataFrame, y_enc: np.ndarray, metric,
                 executor: Any = None):  # fmt: skip
    """Train the best chunk-trainable configuration of ``trials`` on all rows of ``plan.source``; keep it when
    it beats the sample's model (``fitted``) on the held-out rows.  Returns the fitted model to serve, with
    what happened in its ``provenance.large``.

    Locally: LightGBM from staged blocks (:data:`CHUNKED_FAMILIES`); with a Dask executor: XGBoost on the
    cluster (``xgboost.dask``).
    """
    release_memory()  # what the search freed: the all-rows fit needs the room
    t0 = time.monotonic()
    info: dict[str, Any] = {"source": str(plan.source), "rows": plan.rows, "sample_rows": len(plan.sample),
                            "holdout_every": plan.holdout_every, "bytes_per_row": round(plan.bytes_per_row, 1),
                            "sample_seconds": plan.sample_info.get("seconds"), "used": "sample"}  # fmt: skip
    job = _Job(fitted.schema, fitted.task, fitted.metric, fitted.estimate.n_folds, automl.seed, automl.n_jobs,
               automl.workdir)  # fmt: skip
    served = _all_rows(job, fitted, plan, trials, Xc, y_enc, metric, executor, info, t0)
    return served.with_provenance(large=info)


def _all_rows(job: _Job, fitted, plan: LargePlan, trials: list, Xc: pd.DataFrame, y_enc: np.ndarray, metric,
              executor: Any, info: dict[str, Any], t0: float):  # fmt: skip
    from mlwright.features import build_preprocessor
    from mlwright.models import get as get_family

    dask = _dask_client(executor)
    families = DASK_FAMILIES if dask is not None else CHUNKED_FAMILIES
    ok = [t for t in trials if t.status == "ok" and t.family in families]
    if not ok:
        info["reason"] = f"no {'/'.join(families)} trial finished: the model trained on the sample is kept"
        log.warning(info["reason"])
        return fitted
    trial = sorted(ok, key=lambda t: -t.score if metric.greater_is_better else t.score)[0]
    info["trial"] = trial.name
    for t in trials:  # the served members hold what they need: other trials' fold models only take room now
        if t is not trial:
            t.models, t.oof = [], None
    release_memory()
    deadline = Deadline(plan.deadline - 2.0) if not math.isinf(plan.deadline) else Deadline(math.inf)
    pre = build_preprocessor(job.schema, get_family(trial.family).style, job.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_frame = pre.fit_transform(Xc, y_enc)
    try:
        if dask is not None:
            del ref_frame
            dask.prepare()  # the search's client was closed with its trials
            try:
                model, fit_info = dask_fit(plan, job, trial, pre, dask.client, deadline)
            finally:
                dask.close()
            hold_X, hold_y, hold_raw = fit_info.pop("hold_X"), fit_info.pop("hold_y"), fit_info.pop("hold_raw")
            info.update(fit_info, where="dask", train_seconds=round(time.monotonic() - t0, 1))
        else:
            model, hold_X, hold_y, hold_raw = _local_fit(plan, job, trial, pre, ref_frame, y_enc, deadline, info)
    except Exception as exc:  # a full disk, a cluster that cannot reach the file: the sample's model still serves
        info["reason"] = (f"training on all rows failed ({type(exc).__name__}: {str(exc)[:300]}); "
                          "the sample's model is kept")  # fmt: skip
        log.warning(info["reason"])
        return fitted
    if model is None:
        return fitted
    n_classes = fitted.n_classes
    all_score = metric(hold_y, model.predict_raw(hold_X), n_classes)
    sample_score = metric(hold_y, fitted.blended(hold_raw), n_classes)
    info.update(holdout_rows=len(hold_y), holdout_score_all_rows=all_score, holdout_score_sample=sample_score)
    if metric.better(all_score, sample_score):
        fitted = _serve(fitted, trial, pre, model, all_score, info)
    else:
        info["reason"] = "the all-rows model did not beat the sample's model on the held-out rows"
        log.warning(info["reason"])
    info["seconds"] = round(time.monotonic() - t0, 1)
    log.info("all rows: %s", info)
    return fitted


def _local_fit(plan: LargePlan, job: _Job, trial, pre, ref_frame: pd.DataFrame, y_enc: np.ndarray, deadline: Deadline,
               info: dict[str, Any]):  # fmt: skip
    t0 = time.monotonic()
    cat_idx = [i for i, c in enumerate(ref_frame.columns) if isinstance(ref_frame[c].dtype, pd.CategoricalDtype)]
    cats = [list(ref_frame[ref_frame.columns[i]].cat.categories) for i in cat_idx]
    ref_X = _matrix(ref_frame)
    del ref_frame
    parent = Path(job.workdir) if job.workdir else Path(tempfile.gettempdir())
    sweep_dead(parent.glob("mlwright-rows-*"), "mlwright-rows-")  # blocks a killed fit staged: gigabytes
    directory = Path(tempfile.mkdtemp(prefix=f"mlwright-rows-{os.getpid()}-", dir=parent))
    try:
        staged = _stage(plan, job, pre, directory, deadline)
        info.update(rows_read=staged.rows + sum(len(h) for h in staged.hold_y), dropped=staged.dropped,
                    stage_seconds=round(time.monotonic() - t0, 1), where="local")  # fmt: skip
        if not staged.blocks or not staged.hold_y:
            info["reason"] = "no rows to train on besides the sample"
            return None, None, None, None
        t1 = time.monotonic()
        release_memory()
        model, fit_info = _lgb_fit(plan, job, trial, staged, ref_X, y_enc, cat_idx, deadline)
        info.update(fit_info, train_seconds=round(time.monotonic() - t1, 1))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    model.booster.pandas_categorical = cats  # DataFrames with categories predict through the same codes
    hold_raw = pd.concat(staged.hold_raw, ignore_index=True)
    return model, np.concatenate(staged.hold_X), np.concatenate(staged.hold_y), hold_raw


def _serve(fitted, trial, pre, model, score: float, info: dict[str, Any]):
    """``fitted`` serving the all-rows model, with its held-out score as the estimate."""
    from mlwright.automl.assemble import relabel
    from mlwright.automl.fitted import Member

    name = f"{trial.name}_all_rows"
    key = f"{pre.style}/all_rows"
    member = Member(name, trial.family, 1.0, (model,), (key,), True, (model.meta(),))
    row = {"model": name, "family": trial.family, "score_val": float(score), "fit_seconds": info["train_seconds"],
           "predict_seconds": trial.predict_seconds, "source": "all rows", "truncated": False,
           "params": json.dumps(trial.params, default=str)}  # fmt: skip
    served = fitted.replace(
        members=(member,),
        preprocessors={key: pre},
        oof={name: trial.oof},  # the sample's out-of-fold outputs stand in as the monitoring reference
        trial_rows=pd.concat([fitted.trial_rows, pd.DataFrame([row])], ignore_index=True),
    ).with_estimate(model_bytes=int(model.nbytes()), score_val=float(score), kind="holdout")
    info["used"] = "all_rows"
    return relabel(served)


# ---------------------------------------------------------------------------------------------- on a Dask cluster
def _dask_frame(path: Path):
    import dask.dataframe as dd

    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return dd.read_parquet(str(path))
    return dd.read_csv(str(path), sep="\t" if path.suffix.lower() == ".tsv" else ",", blocksize="64MB")


def _prepared_partition(part: pd.DataFrame, offsets: list[int], pre, schema, target: str, every: int,
                        partition_info=None) -> pd.DataFrame:  # fmt: skip
    """One partition → the preprocessed features (categories kept), ``__y`` (encoded) and ``__hold``."""
    from mlwright.data.schema import coerce, encode_target
    from mlwright.data.sources import decategorize

    part = decategorize(part.reset_index(drop=True))
    number = partition_info["number"] if partition_info else 0
    index = offsets[number] + np.arange(len(part))
    ok = _labelled(part[target], schema)
    part, index = part.loc[ok].reset_index(drop=True), index[ok]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pre.transform(coerce(part, schema))
    out["__y"] = encode_target(part[target], schema).astype(np.float32) if len(part) else np.zeros(0, np.float32)
    out["__hold"] = holdout_rows(index, every)
    return out


def _held_raw(part: pd.DataFrame, offsets: list[int], schema, target: str, every: int,
              partition_info=None) -> pd.DataFrame:  # fmt: skip
    """The held-out rows of one partition, as read (what the sample's model is judged on)."""
    number = partition_info["number"] if partition_info else 0
    part = part.reset_index(drop=True)
    return part.loc[holdout_rows(offsets[number] + np.arange(len(part)), every) & _labelled(part[target], schema)]


def _wall_deadline_callback(wall_deadline: float):
    import xgboost as xgb

    class _Stop(xgb.callback.TrainingCallback):
        """Stops boosting at the run's deadline (wall clock: the workers may be other machines)."""

        def after_iteration(self, model, epoch, evals_log) -> bool:
            return time.time() >= wall_deadline

    return _Stop()


def dask_fit(plan: LargePlan, job: _Job, trial, pre, client, deadline: Deadline) -> tuple[Any, dict[str, Any]]:
    """Train ``trial``'s XGBoost configuration on every row with ``xgboost.dask`` on the cluster of ``client``.

    The workers read the table themselves (``dask.dataframe``: the path must be reachable from them), apply the
    sample's preprocessing partition by partition and hold out the same rows as the local path; only the
    held-out rows come back to this process.
    """
    import xgboost as xgb
    from xgboost import dask as dxgb

    from mlwright.data.sources import decategorize
    from mlwright.models._common import patience
    from mlwright.models.xgboost import XGBModel, xgb_objective

    ddf = _dask_frame(plan.source)
    lengths = ddf.map_partitions(len).compute()
    offsets = [0, *np.cumsum(list(lengths)).tolist()]
    meta_part = _prepared_partition(plan.sample.head(50), [0], pre, job.schema, plan.target, plan.holdout_every)
    frames = ddf.map_partitions(_prepared_partition, offsets, pre, job.schema, plan.target, plan.holdout_every,
                                meta=meta_part.iloc[:0])  # fmt: skip
    features = [c for c in meta_part.columns if c not in ("__y", "__hold")]
    train = frames[~frames["__hold"]].persist()
    hold = frames[frames["__hold"]].compute()
    n_classes = len(job.schema.classes) if job.task != "regression" else 0
    params = {"tree_method": "hist", "max_cat_to_onehot": 8, "seed": job.seed, "verbosity": 0,
              **xgb_objective(job.task, job.metric)}  # fmt: skip
    if job.task == "multiclass":
        params["num_class"] = n_classes
    params.update({k: v for k, v in trial.params.items() if k != "n_estimators"})
    dtrain = dxgb.DaskQuantileDMatrix(client, train[features], train["__y"], enable_categorical=True)
    held = frames[frames["__hold"]].persist()
    dhold = dxgb.DaskDMatrix(client, held[features], held["__y"], enable_categorical=True)
    wall = time.time() + deadline.left() if not math.isinf(deadline.left()) else math.inf
    callbacks = [xgb.callback.EarlyStopping(rounds=patience(float(params.get("learning_rate", 0.3))), save_best=False)]
    if not math.isinf(wall):
        callbacks.append(_wall_deadline_callback(wall))
    out = dxgb.train(client, params, dtrain, num_boost_round=20_000, evals=[(dhold, "hold")], callbacks=callbacks,
                     verbose_eval=False)  # fmt: skip
    model = XGBModel(job.task, dict(trial.params), n_classes, job.seed, usable_cores(), job.metric)
    model.booster = out["booster"]
    best = model.booster.attr("best_iteration")
    model.best_iteration = int(best) + 1 if best is not None else model.booster.num_boosted_rounds()
    hold = held.compute()
    raw = ddf.map_partitions(_held_raw, offsets, job.schema, plan.target, plan.holdout_every,
                             meta=ddf._meta).compute()  # fmt: skip
    rows = int(sum(lengths))
    return model, {"rows_trained": int(train.shape[0].compute()), "row_share": 1.0, "rounds": model.best_iteration,
                   "hold_X": hold[features].reset_index(drop=True),
                   "hold_y": hold["__y"].to_numpy(int if n_classes else float),
                   "hold_raw": decategorize(raw.drop(columns=[plan.target]).reset_index(drop=True)),
                   "rows_read": rows, "workers": len(client.scheduler_info()["workers"])}  # fmt: skip
