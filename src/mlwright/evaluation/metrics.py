"""The metrics table: name → scorer (direction, what it needs, which tasks).

Scorers take ``y`` (class indices ``0..k-1`` for classification, floats for regression) and a
prediction array: class probabilities of shape ``(n, k)`` for classification, values for regression.
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm

from mlwright.errors import ConfigError, did_you_mean

__all__ = ["METRICS", "Metric", "confusion_matrix", "default_metric", "get_metric", "metrics_for"]

_EPS = 1e-15


@dataclass(frozen=True)
class Metric:
    """One scorer.

    Attributes
    ----------
    name : str
        Key in :data:`METRICS`.
    func : callable
        ``func(y, pred, n_classes) -> float``.
    greater_is_better : bool
        Direction of the metric.
    tasks : frozenset
        Tasks the metric applies to.
    """

    name: str
    func: Callable[[np.ndarray, np.ndarray, int], float]
    greater_is_better: bool
    tasks: frozenset[str]

    def __call__(self, y: np.ndarray, pred: np.ndarray, n_classes: int = 0) -> float:
        return float(self.func(np.asarray(y), np.asarray(pred), n_classes))

    def loss(self, y: np.ndarray, pred: np.ndarray, n_classes: int = 0) -> float:
        """The score turned into something to minimise."""
        s = self(y, pred, n_classes)
        return -s if self.greater_is_better else s

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b``."""
        return a > b if self.greater_is_better else a < b


def _labels(pred: np.ndarray) -> np.ndarray:
    return pred.argmax(axis=1) if pred.ndim == 2 else pred


def _clip_proba(pred: np.ndarray) -> np.ndarray:
    p = np.clip(pred, _EPS, 1.0)
    return p / p.sum(axis=1, keepdims=True)


def _binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney form of ROC AUC (ties get average ranks): same value as sklearn, several times faster."""
    pos = y == 1
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("Only one class present in y_true. ROC AUC score is not defined in that case.")
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _roc_auc(y, pred, k):
    if pred.ndim == 2 and pred.shape[1] == 2:
        return _binary_auc(y, pred[:, 1])
    present = np.unique(y)
    if len(present) < pred.shape[1]:  # some class absent from this fold: score the present ones
        p = _clip_proba(pred[:, present])
        return skm.roc_auc_score(np.searchsorted(present, y), p, multi_class="ovr", average="macro")
    return skm.roc_auc_score(y, _clip_proba(pred), multi_class="ovr", average="macro")


def _log_loss(y, pred, k):
    p = _clip_proba(pred)
    return float(-np.mean(np.log(p[np.arange(len(y)), y.astype(int)])))


def _prf(which: int, average: str):
    def f(y, pred, k):
        labels = np.arange(pred.shape[1]) if pred.ndim == 2 else None
        avg = average
        if average == "binary" and (pred.ndim != 2 or pred.shape[1] != 2):
            avg = "macro"
        res = skm.precision_recall_fscore_support(
            y, _labels(pred), average=avg, labels=labels if avg != "binary" else None, zero_division=0
        )
        return res[which]

    return f


def _rmse(y, pred, k):
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(pred, float)) ** 2)))


def _mape(y, pred, k):
    return skm.mean_absolute_percentage_error(y, pred)


_CLS = frozenset({"binary", "multiclass"})
_BIN = frozenset({"binary"})
_REG = frozenset({"regression"})

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("roc_auc", _roc_auc, True, _CLS),
        Metric("log_loss", _log_loss, False, _CLS),
        Metric("accuracy", lambda y, p, k: skm.accuracy_score(y, _labels(p)), True, _CLS),
        Metric("balanced_accuracy", lambda y, p, k: skm.balanced_accuracy_score(y, _labels(p)), True, _CLS),
        Metric("precision", _prf(0, "binary"), True, _BIN),
        Metric("recall", _prf(1, "binary"), True, _BIN),
        Metric("f1", _prf(2, "binary"), True, _BIN),
        Metric("precision_macro", _prf(0, "macro"), True, _CLS),
        Metric("recall_macro", _prf(1, "macro"), True, _CLS),
        Metric("f1_macro", _prf(2, "macro"), True, _CLS),
        Metric("f1_weighted", _prf(2, "weighted"), True, _CLS),
        Metric("rmse", _rmse, False, _REG),
        Metric("mae", lambda y, p, k: skm.mean_absolute_error(y, p), False, _REG),
        Metric("r2", lambda y, p, k: skm.r2_score(y, p), True, _REG),
        Metric("mape", _mape, False, _REG),
    ]
}

_ALIASES = {"auc": "roc_auc", "logloss": "log_loss", "neg_log_loss": "log_loss", "f1_binary": "f1"}

_DEFAULTS = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def get_metric(name: str, task: str | None = None) -> Metric:
    """Look up a metric by name, checking it fits ``task``.

    Raises
    ------
    ConfigError
        Unknown name (the message lists valid ones) or a metric that does not apply to the task.
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in METRICS:
        raise ConfigError(
            f"unknown metric {name!r}{did_you_mean(str(name), METRICS)}; valid metrics: {', '.join(METRICS)}"
        )
    m = METRICS[key]
    if task is not None and task not in m.tasks:
        raise ConfigError(f"metric {key!r} does not apply to a {task} task; use one of: {', '.join(metrics_for(task))}")
    return m


def default_metric(task: str) -> str:
    """The metric used when the user gives none: roc_auc, log_loss or rmse."""
    return _DEFAULTS[task]


def metrics_for(task: str) -> list[str]:
    """Names of every metric that applies to ``task``."""
    return [n for n, m in METRICS.items() if task in m.tasks]


def confusion_matrix(y: np.ndarray, pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Confusion matrix (rows: true class index, columns: predicted) as nested lists."""
    return skm.confusion_matrix(y, _labels(np.asarray(pred)), labels=np.arange(n_classes)).tolist()


def score_all(task: str, y: np.ndarray, pred: np.ndarray, n_classes: int = 0) -> dict[str, float]:
    """Every metric of the table that applies to ``task``."""
    out = {}
    for name in metrics_for(task):
        if name in {"precision", "recall", "f1"} and n_classes != 2:
            continue
        try:
            out[name] = METRICS[name](y, pred, n_classes)
        except ValueError:  # e.g. ROC AUC with a single class in y
            out[name] = float("nan")
    return out
