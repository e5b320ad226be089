"""One trial as a unit of work an executor runs anywhere: the data it needs, the task, the result.

:class:`TrialData` is what every trial of a search reads — the coerced training rows, the encoded
target, the folds and the preprocessing settings — with a cache of the preprocessed fold matrices
(built on first use, per style and fold, never on validation rows).  It is sent to a worker once per
search; :class:`TrialTask` (a family, its parameters, the time and memory it may use) is sent per
trial, and :func:`train_folds` returns a :class:`TrialResult`: the out-of-fold predictions, the
score, and the fold models — written to disk in their native formats (``spill``) or, inline, the
objects themselves.  No model object crosses a process boundary: only file names and bytes.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.budget import Deadline
from mlwright.data.schema import Schema
from mlwright.errors import TrialOutOfTimeError, TrialTooBigError
from mlwright.search.splits import Splits

__all__ = ["TRUNCATABLE", "TrialData", "TrialResult", "TrialTask", "train_folds"]

TRUNCATABLE = {"lightgbm", "xgboost", "catboost", "rf", "et", "mlp"}


@dataclass
class TrialData:
    """The search's data, shared by all its trials (see the module docstring)."""

    schema: Schema
    X: pd.DataFrame
    y: np.ndarray
    splits: Splits
    seed: int = 0
    impute: str = "median"
    clip: float | None = None
    prep: dict[tuple[str, Any], tuple[Any, Any, Any]] = field(default_factory=dict, repr=False)

    @property
    def n_classes(self) -> int:
        return len(self.schema.classes) if self.schema.task != "regression" else 0

    def __getstate__(self) -> dict[str, Any]:  # the cache stays where it was built
        return {k: v for k, v in self.__dict__.items() if k != "prep"} | {"prep": {}}

    def preprocessor(self, style: str):
        """A new, unfitted preprocessor of ``style``."""
        from mlwright.features import build_preprocessor

        return build_preprocessor(self.schema, style, seed=self.seed, impute=self.impute, clip=self.clip)

    def fold(self, style: str, k: int):
        """``(preprocessor, X_train, X_valid)`` of fold ``k``, fitted on its training rows (cached)."""
        key = (style, k)
        if key not in self.prep or self.prep[key][1] is None:
            tr, va = self.splits.folds[k]
            pre = self.preprocessor(style)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Xtr = pre.fit_transform(self.X.iloc[tr], self.y[tr])
                Xva = pre.transform(self.X.iloc[va])
            self.prep[key] = (pre, Xtr, Xva)
        return self.prep[key]


@dataclass
class TrialTask:
    """One configuration to train on every fold.

    ``seconds``: the time the trial may take (its folds share it; boosters stop at their share);
    ``room``: bytes a fold model may take (``measure``: measure every model, not only scikit-learn ones);
    ``memory``: resident bytes the process running the trial may reach (enforced by process executors);
    ``family_blob``: the family itself (cloudpickle), for one registered outside mlwright — at run time,
    by a plugin or a test — that another process could not look up by its key.
    """

    name: str
    family: str
    params: dict[str, Any]
    metric: str
    seed: int
    n_jobs: int
    seconds: float
    room: float = float("inf")
    measure: bool = False
    memory: float = float("inf")
    family_blob: bytes | None = None


@dataclass
class TrialResult:
    """What a trial produced (see the module docstring)."""

    status: str  # ok | failed
    score: float | None = None
    error: str | None = None
    out_of_time: bool = False
    oof: np.ndarray | None = field(default=None, repr=False)
    models: list[Any] = field(default_factory=list, repr=False)  # inline: the fold models
    spilled: list[dict[str, Any]] = field(default_factory=list)  # {"stem", "files", "meta"} per fold
    blobs: dict[str, bytes] | None = field(default=None, repr=False)  # file → bytes (remote workers)
    truncated: bool = False
    model_bytes: int = 0
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    worker: str = ""


def family(key: str, blob: bytes | None = None):
    """The family ``key``: the one sent along (``blob``, written by the search's process) or the registered one."""
    if blob is not None:
        import pickle

        return pickle.loads(blob)  # cloudpickle output of our own search process, sent over its private channel
    from mlwright.models import get

    return get(key)


def family_blob(fam: Any) -> bytes | None:
    """What :class:`TrialTask` carries for ``fam``: None for mlwright's own families (every process knows them)."""
    mod = getattr(fam.make, "__module__", "") or ""
    if mod.startswith("mlwright."):
        return None
    import cloudpickle

    return cloudpickle.dumps(fam)


def train_folds(data: TrialData, task: TrialTask, spill_dir: Path | None = None, blobs: bool = False) -> TrialResult:
    """Train ``task`` on every fold of ``data``; never raises for a failing configuration.

    ``spill_dir``: write each fold model there (native formats) and return its files, not the object;
    ``blobs``: also return the files' bytes (a worker whose disk the caller cannot read).
    """
    from mlwright.evaluation.metrics import get_metric
    from mlwright.models._common import SklearnModel

    res = TrialResult(status="failed")
    t0 = time.monotonic()
    try:
        fam = family(task.family, task.family_blob)
        metric = get_metric(task.metric)
        trial_deadline = Deadline(t0 + task.seconds)
        n_folds = len(data.splits.folds)
        y, n_classes = data.y, data.n_classes
        room = task.room
        if task.memory < float("inf"):  # what this process may still grow by
            from mlwright.budget import rss_bytes

            held = rss_bytes()
            room = min(room, task.memory - held) if held is not None else room
        oof = None
        for k in range(n_folds):
            _, Xtr, Xva = data.fold(fam.style, k)
            tr, va = data.splits.folds[k]
            fold_deadline = Deadline(time.monotonic() + trial_deadline.left() / (n_folds - k))
            model = fam.make(data.schema.task, task.params, n_classes, task.seed + k, task.n_jobs, task.metric)
            if hasattr(model, "max_bytes") and room < model.max_bytes * 2:
                model.max_bytes = int(room / 2)  # forests: stop growing where the limit would be passed
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(Xtr, y[tr], Xva, y[va], deadline=fold_deadline)
                p0 = time.monotonic()
                pred = model.predict_raw(Xva)
                res.predict_seconds += time.monotonic() - p0
            if oof is None:
                oof = np.zeros((len(y), n_classes)) if n_classes else np.zeros(len(y))
            oof[va] = pred
            # measuring a booster serialises it (slow for many trees): only under a memory limit
            measure = (task.measure or isinstance(model, SklearnModel)) and hasattr(model, "nbytes")
            size = model.nbytes() if measure else 0
            res.model_bytes = max(res.model_bytes, size)
            if size > room:
                raise TrialTooBigError(f"a fold model takes {size / 1e6:.1f} MB, more than the "
                                       f"{max(room, 0) / 1e6:.1f} MB the memory limit leaves for it")  # fmt: skip
            if spill_dir is not None:
                stem = f"{task.name}_{k}"
                files = model.save(spill_dir, stem)
                res.spilled.append({"stem": stem, "files": list(files), "meta": model.meta()})
                if blobs:
                    res.blobs = (res.blobs or {}) | {f: (spill_dir / f).read_bytes() for f in files}
                del model
            else:
                res.models.append(model)
            if fold_deadline.expired():
                res.truncated = True
            if k + 1 < n_folds and trial_deadline.expired():  # even a truncated fold costs its fixed share
                raise TrialOutOfTimeError(f"stopped after fold {k + 1}/{n_folds}: the trial's time is spent")
            if fam.key not in TRUNCATABLE and k + 1 < n_folds:
                per_fold = (time.monotonic() - t0) / (k + 1)
                if per_fold * (n_folds - k - 1) > trial_deadline.left():
                    raise TrialOutOfTimeError(f"stopped after fold {k + 1}/{n_folds}: {per_fold:.1f}s per fold does "
                                              f"not fit the {trial_deadline.left():.1f}s left")  # fmt: skip
        mask = data.splits.oof_mask
        res.score = float(metric(y[mask], oof[mask], n_classes))
        if not np.isfinite(res.score):
            raise FloatingPointError(f"non-finite validation score {res.score}")
        res.oof, res.status = oof, "ok"
    except Exception as exc:  # a failing configuration must not end the run
        res.error = (
            str(exc) if isinstance(exc, (TrialOutOfTimeError, TrialTooBigError)) else f"{type(exc).__name__}: {exc}"
        )
        res.out_of_time = isinstance(exc, TrialOutOfTimeError)
        res.models, res.oof = [], None
        if spill_dir is not None:
            for s in res.spilled:
                for f in s["files"]:
                    (spill_dir / f).unlink(missing_ok=True)
        res.spilled, res.blobs = [], None
    res.fit_seconds = time.monotonic() - t0 - res.predict_seconds
    return res
