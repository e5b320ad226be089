"""Helpers shared by model families: deadline callbacks, early-stopping metrics, sklearn wrapper."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlwright.budget import Deadline, usable_cores

CLS = frozenset({"binary", "multiclass"})
# A forest stops growing trees at this size (bytes): deep regression trees on many rows would
# otherwise hold gigabytes across folds.
FOREST_MAX_BYTES = 60_000_000
ALL = frozenset({"binary", "multiclass", "regression"})
# from this many rows scikit-learn models predict with PREDICT_JOBS threads (measured on a 300-tree
# forest, 2 cores: below ~3,000 rows starting the threads costs more than they save)
BIG_BATCH_ROWS = 4000
PREDICT_JOBS = min(4, usable_cores())
# the packed copy of a forest walks every row through every tree at once ((rows × trees) arrays per level):
# right for a few rows, while scikit-learn's own predict is leaner for more
PACKED_MAX_ROWS = 64
_PREDICT_THREADS: int | None = None


def set_predict_threads(n: int | None) -> None:
    """Threads each prediction may use, process-wide (None: every library's default).

    The service sets 1: it scores several requests side by side, and a team of OpenMP/BLAS threads per
    request on top of that only spins and contends for the same cores (measured: 1,000-row requests,
    2 processes on 2 cores, 36k → 78k rows/s).  Limits BLAS and OpenMP pools through threadpoolctl and
    tells LightGBM, XGBoost, CatBoost, scikit-learn and torch the same number at each call.
    """
    global _PREDICT_THREADS
    _PREDICT_THREADS = n
    if n is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)


def predict_threads(default: int) -> int:
    """The threads a prediction may use: the process-wide setting, else ``default``."""
    return default if _PREDICT_THREADS is None else _PREDICT_THREADS


def as_proba(task: str, p: np.ndarray) -> np.ndarray:
    """Booster output → (n, k) probabilities (binary boosters give P(class 1) only)."""
    if task == "binary":
        return np.column_stack([1.0 - p, p])
    return np.asarray(p, dtype=float)


def load_sklearn(directory, stem, meta, task, n_classes):
    """``ModelFamily.load`` for every scikit-learn family."""
    return SklearnModel.load_from(directory, stem, meta, task, n_classes)


def patience(learning_rate: float) -> int:
    """Early-stopping rounds: more patience for slower learning rates."""
    return int(min(200, max(20, 4.0 / max(learning_rate, 1e-3))))


def _array_bytes(obj, depth: int = 0) -> int:
    """Bytes of the numpy arrays a fitted estimator holds (k-NN keeps its training rows, etc.)."""
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if depth > 3:
        return 0
    if isinstance(obj, (list, tuple)):
        return sum(_array_bytes(v, depth + 1) for v in obj)
    if isinstance(obj, dict):
        return sum(_array_bytes(v, depth + 1) for v in obj.values())
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("sklearn"):
        return sum(_array_bytes(v, depth + 1) for v in vars(obj).values())
    return 0


def _is_forest(est) -> bool:
    trees = getattr(est, "estimators_", None)
    return bool(trees) and hasattr(trees[0], "tree_") and getattr(est, "n_outputs_", 1) == 1


def _forest_predict(est, X) -> np.ndarray:
    """A forest's mean prediction, tree by tree through the compiled ``tree_.predict``.

    The same numbers as ``predict``/``predict_proba``, without scikit-learn's per-tree validation and
    joblib dispatch, which cost more than the trees themselves on a few hundred rows.
    """
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float32))
    classifier = hasattr(est, "classes_")
    total = None
    for tree in est.estimators_:
        v = tree.tree_.predict(X)  # single output: (n, classes) or (n, 1)
        v = v[:, 0, :] if v.ndim == 3 else v
        if classifier:  # a tree's class fractions, normalised as DecisionTreeClassifier.predict_proba does
            norm = v.sum(axis=1, keepdims=True)
            v = v / np.where(norm == 0.0, 1.0, norm)
        total = v.copy() if total is None else total + v
    total /= len(est.estimators_)
    return total if classifier else total[:, 0].astype(float)


def thin_fold_forest(model: Any, k: int, max_bytes: int = FOREST_MAX_BYTES) -> Any:
    """One of ``k`` fold forests served together keeps 1/k of its trees when the k would pass ``max_bytes``.

    ``k`` forests of ``T/k`` trees hold as many trees as one forest of ``T``: about the same average,
    at 1/k of the memory and scoring time.  Anything but a fitted forest (or ``k < 2``) is returned as is.
    """
    est = getattr(model, "estimator", None)
    trees = getattr(est, "estimators_", None)
    if k < 2 or not isinstance(model, SklearnModel) or not trees or model.nbytes() * k <= max_bytes:
        return model
    keep = max(1, -(-len(trees) // k))
    est.estimators_ = trees[:keep]
    est.set_params(n_estimators=keep)
    model.__dict__.pop("_packed", None)
    return model


class SklearnModel:
    """Wraps a scikit-learn estimator into the family model protocol (persisted with skops)."""

    def __init__(self, estimator, task: str, n_classes: int, params: dict[str, Any]):
        self.estimator = estimator
        self.task = task
        self.n_classes = n_classes
        self.params = params
        self.max_bytes = FOREST_MAX_BYTES  # forests stop growing trees at this size
        self.upcast = False  # fit on float64 (the one-hot matrix is float32): coefficients and scores in double

    def fit(self, X, y, X_val=None, y_val=None, deadline: Deadline | None = None):
        est = self.estimator
        if self.upcast and getattr(X, "dtype", None) == np.float32:
            X = X.astype(np.float64)
        self.__dict__.pop("_packed", None)
        if "min_samples_leaf" not in self.params and hasattr(est, "min_samples_leaf") and X.shape[0] > 10_000:
            # on many rows, leaves of one sample make huge trees for little gain
            est.set_params(min_samples_leaf=max(1, X.shape[0] // 5_000))
        if hasattr(est, "warm_start") and hasattr(est, "n_estimators"):
            # grow forests in chunks so the deadline (and the memory cap) can stop them with a usable model
            target = int(self.params.get("n_estimators", est.n_estimators))
            est.set_params(warm_start=True, n_estimators=0)
            t0 = time.monotonic()
            step = 8
            while est.n_estimators < target:
                est.set_params(n_estimators=min(target, est.n_estimators + step))
                est.fit(X, y)
                per_tree = max((time.monotonic() - t0) / est.n_estimators, 1e-6)
                per_tree_bytes = self.nbytes() / est.n_estimators
                room = int((self.max_bytes - self.nbytes()) / max(per_tree_bytes, 1.0))
                left = deadline.left() if deadline is not None else float("inf")
                if left < per_tree * 8 * 1.2 or room < 1:
                    break
                step = max(1, min(room, max(8, int(min(left * 0.3, 10.0) / per_tree))))
            est.set_params(warm_start=False)
        else:
            est.fit(X, y)
        if "n_jobs" in est.get_params():
            # scoring is mostly small batches: thread start-up would cost more than it saves
            est.set_params(n_jobs=1)
        return self

    def nbytes(self) -> int:
        """Approximate memory held by the fitted estimator (trees' node arrays for forests)."""
        trees = getattr(self.estimator, "estimators_", None)
        if trees and hasattr(trees[0], "tree_"):
            return int(sum(t.tree_.node_count * (64 + 8 * t.tree_.value.shape[-1]) for t in trees))
        return _array_bytes(self.estimator)

    def predict_raw(self, X) -> np.ndarray:
        from sklearn import config_context

        est = self.estimator
        if X.shape[0] < BIG_BATCH_ROWS and _is_forest(est) and not sp.issparse(X):
            p = _forest_predict(est, X)
            return p if self.task == "regression" else self._full_proba(p)
        threads = X.shape[0] >= BIG_BATCH_ROWS and est.get_params().get("n_jobs") == 1
        # k-NN distance blocks are sized by working_memory (1 GB by default): keep them small
        with config_context(working_memory=64):
            if threads:  # big batches: every core (trees release the GIL); small ones stay single-threaded
                est.set_params(n_jobs=predict_threads(PREDICT_JOBS))
            try:
                if self.task == "regression":
                    return np.asarray(est.predict(X), dtype=float)
                p = est.predict_proba(X)
            finally:
                if threads:
                    est.set_params(n_jobs=1)
        return self._full_proba(p)

    def _full_proba(self, p: np.ndarray) -> np.ndarray:
        """Columns for every class, also those absent from this model's training rows."""
        classes = np.asarray(self.estimator.classes_, dtype=int)
        if len(classes) == self.n_classes:
            return p
        out = np.zeros((p.shape[0], self.n_classes))
        out[:, classes] = p
        return out

    def packed(self):
        """The forest as a :class:`~._packed.PackedForest` (built on first use), or None for other models."""
        packed = self.__dict__.get("_packed", False)
        if packed is False:
            from mlwright.models._packed import PackedForest

            packed = self._packed = PackedForest.of(self.estimator)
        return packed

    def predict_fast(self, X) -> np.ndarray:
        """Small batches: forests through their packed copy, others as usual."""
        packed = self.packed() if X.shape[0] <= PACKED_MAX_ROWS else None
        if packed is None:
            return self.predict_raw(X)
        p = packed.predict(X)
        if self.task == "regression":
            return p
        return self._full_proba(p)

    def meta(self) -> dict[str, Any]:
        return {"params": self.params}

    def save(self, directory: Path, stem: str) -> list[str]:
        from mlwright.artifacts import skops_io

        name = f"{stem}.skops"
        skops_io().dump(self.estimator, Path(directory) / name)
        return [name]

    @classmethod
    def load_from(cls, directory: Path, stem: str, meta: dict, task: str, n_classes: int) -> SklearnModel:
        from mlwright.artifacts import skops_load

        est = skops_load(Path(directory) / f"{stem}.skops")
        return cls(est, task, n_classes, meta.get("params", {}))
