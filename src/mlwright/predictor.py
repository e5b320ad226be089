"""The predictor protocol: what every surface (service and its protocols, batch scoring, the prediction
log, monitoring, retraining, reports, export, the dashboard) may ask of a fitted model.

mlwright's own models (:class:`~mlwright.AutoML`) and the models it wraps (:class:`~mlwright.external.
ExternalModel`) implement it; the next kinds — forecasters, clusterers, anomaly detectors — implement it
too (see design.md §7): ``kind`` names the kind, ``task_`` the output (``"forecast"``, ``"cluster"``,
``"anomaly"`` …), ``schema_`` what a request must hold, and :meth:`Predictor.predict_scores` the numbers a
request gets back, from which :func:`decide` makes labels for classifiers.  The attribute names follow
scikit-learn's fitted-attribute convention (``task_``, not ``task``: ``AutoML(task=…)`` is a parameter).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if

from mlwright.data.schema import Schema

__all__ = [
    "VALUE_TASKS",
    "Predictor",
    "Predicts",
    "decide",
    "decision_threshold",
    "label_array",
    "require_rows_model",
    "returns_values",
]

VALUE_TASKS = ("regression", "forecast")  # tasks whose predictions are numbers, not classes


@runtime_checkable
class Predictor(Protocol):
    """A fitted model as the surfaces see it.

    Attributes
    ----------
    kind : str
        ``"mlwright"`` (an AutoML), ``"sklearn"``, ``"onnx"`` (wrapped models); later ``"forecast"``,
        ``"cluster"``, ``"anomaly"``.
    schema_ : Schema
        What a request must look like: columns, kinds, levels, the target, the task and the classes.
    task_ : str
        ``binary``, ``multiclass`` or ``regression``.
    threshold_ : float or None
        A binary model's decision threshold on P(second class); None: the most probable class.
    reference_ : dict or None
        Monitoring's baseline: training columns' statistics and the model's outputs on them.
    """

    kind: str

    @property
    def schema_(self) -> Schema: ...

    @property
    def task_(self) -> str: ...

    @property
    def threshold_(self) -> float | None: ...

    @property
    def reference_(self) -> dict[str, Any] | None: ...

    def validate(self, X: Any) -> pd.DataFrame:
        """Rows checked and coerced by the Schema (a typed, one-line error for what does not fit)."""
        ...

    def predict_scores(self, X: Any) -> np.ndarray:
        """Class probabilities (n × classes) or values (n,) for rows ``X``: a DataFrame, an array, a path or
        :class:`~mlwright.data.schema.Columns`."""
        ...

    def predict(self, X: Any) -> np.ndarray:
        """Labels (classification, after the threshold) or values."""
        ...

    def manifest(self) -> dict[str, Any]:
        """Provenance, estimate and schema as saved in the model directory's ``manifest.json`` (no file
        hashes: those exist once it is written)."""
        ...


def _can_predict_proba(self: Any) -> bool:
    return getattr(self, "task_", None) != "regression"


class Predicts:
    """``predict`` / ``predict_proba`` over a model's :meth:`~Predictor.predict_scores` (every model kind)."""

    @available_if(_can_predict_proba)  # type: ignore[untyped-decorator]
    def predict_proba(self: Predictor, X: Any) -> pd.DataFrame:
        """Class probabilities: one column per class label (labels as in training), rows as in X.

        Not available on a model fitted for regression (``hasattr(model, "predict_proba")`` is False).
        """
        p, _ = decide(self.predict_scores(X), self.task_, self.threshold_)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(p, columns=list(self.schema_.classes), index=index)

    def predict(self: Predictor, X: Any) -> np.ndarray:
        """Predicted values (regression) or class labels (the most probable class, or for a binary
        task the positive class when its probability reaches the threshold set by ``set_threshold``)."""
        p = self.predict_scores(X)
        if self.task_ == "regression":
            return np.asarray(p, dtype=float)
        _, pick = decide(p, self.task_, decision_threshold(self, X))
        labels: np.ndarray = label_array(self.schema_.classes)[pick]
        return labels


def _mixed(classes: list[Any]) -> bool:
    return len({type(c) for c in classes}) > 1 or all(isinstance(c, str) for c in classes)


def label_array(classes: list[Any]) -> np.ndarray:
    """The class labels as an array to index with predicted class positions (object dtype for text)."""
    return np.asarray(classes, dtype=object if _mixed(classes) else None)


def decide(raw: np.ndarray, task: str, threshold: float | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A classifier's raw scores → (probabilities clipped to [0, 1] and normalised, predicted class positions:
    the most probable class, or for a binary task the positive one when it reaches ``threshold``: one for all
    rows, or one per row)."""
    p = np.clip(raw, 0.0, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    if threshold is not None and task == "binary":
        return p, (p[:, 1] >= threshold).astype(int)
    return p, p.argmax(1)


def decision_threshold(model: Any, X: Any) -> float | np.ndarray | None:
    """A binary model's decision threshold for the rows of ``X``: its own (``threshold_``), or one per row
    when it decides per group (``group_thresholds_``, fairness mitigation: ``X`` must then carry the
    sensitive columns)."""
    per_group = getattr(model, "group_thresholds_", None)
    if not per_group:
        return getattr(model, "threshold_", None)
    from mlwright.fairness.thresholds import GroupThresholds

    return GroupThresholds.from_dict(per_group).for_rows(X)


def returns_values(task: str) -> bool:
    """Whether a model of ``task`` predicts numbers (regression, forecasts) rather than classes."""
    return task in VALUE_TASKS


def require_rows_model(model: Any, what: str) -> Any:
    """``model`` when it scores rows (a table model); a clear error for a forecast model, which forecasts
    the steps after its history instead (``mlwright forecast predict``, :meth:`Forecaster.predict`)."""
    if getattr(model, "kind", None) == "forecast":
        from mlwright.errors import ConfigError

        raise ConfigError(
            f"{what} needs a table model, and this is a forecast model; forecast with `mlwright forecast predict "
            "MODEL [--future covariates.csv]` (or Forecaster.predict in Python)"
        )
    return model
