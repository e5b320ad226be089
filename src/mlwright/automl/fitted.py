"""The declared fitted state of an :class:`~mlwright.AutoML`: one immutable :class:`FittedModel`.

Only fitting code builds one (``AutoML.fit``, loading a model directory, out-of-core training, the
latency pruning); a change — a decision threshold, a calibration, a report built after the fit — is a
new value made with :meth:`FittedModel.replace`, never an edit of another module's object.  It scores
rows itself (the members' weighted blend, arrays end to end for small batches), so the estimator, the
service, batch scoring, the report and the monitor all go through the same public methods.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.findings import Finding
from mlwright.data.schema import Columns, Schema
from mlwright.data.sources import check_array, column_labels, read_table
from mlwright.errors import ColumnsMismatchError
from mlwright.models._packed import PackedForest, fuse_forest_members

__all__ = ["Estimate", "FittedModel", "Member", "Provenance"]

# up to this many rows a DataFrame is scored through arrays, not DataFrames per stage (measured on the demo
# model: 100 rows 9.6 → 2.3 ms, 1,000 rows 15 → 8 ms); the service's Columns always are
FAST_PATH_ROWS = 2000
FUSED_ROWS = 16  # up to this many rows, forest members are scored fused (see fuse_forest_members)


@dataclass(frozen=True)
class Member:
    """One served model of the ensemble: its fold models (or one refit on all rows) and their weight.

    ``preps[k]`` names the preprocessor (a key of :attr:`FittedModel.preprocessors`) that ``models[k]``
    reads; the member's prediction is the mean of its models', scaled by ``weight``.
    """

    name: str
    family: str
    weight: float
    models: tuple[Any, ...]
    preps: tuple[str, ...]
    refit: bool = False
    meta: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The member as the plain record ``AutoML.members_`` shows (lists, a copy)."""
        return {
            "name": self.name,
            "family": self.family,
            "weight": self.weight,
            "models": list(self.models),
            "preps": list(self.preps),
            "refit": self.refit,
            "meta": list(self.meta),
        }

    def nbytes(self) -> int:
        return int(sum(getattr(m, "nbytes", int)() for m in self.models))


@dataclass(frozen=True)
class Estimate:
    """How good the served model is expected to be, and how that was measured.

    ``kind``: ``"nested"`` (choosing the ensemble judged on rows that did not drive the choice),
    ``"oof"`` (out-of-fold) or ``"holdout"`` (rows no model saw, larger-than-memory fits).
    """

    metric: str
    score_val: float
    kind: str | None
    validation: str
    n_folds: int
    predict_ms: float | None = None
    model_bytes: int | None = None


@dataclass(frozen=True)
class Provenance:
    """Where the fitted model came from: the run, the data, the options to fit it again the same way."""

    run_id: str | None = None
    run_dir: str | None = None
    training_source: str | None = None
    fit_options: dict[str, Any] | None = None
    training_fingerprint: dict[str, Any] | None = None
    fit_seconds: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    large: dict[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class FittedModel:
    """Everything ``fit`` produced (see the module docstring).

    ``oof``, ``fold_groups`` and ``trial_rows`` exist only in the fitting process (for re-weighting under
    constraints, the monitoring reference and the report); a loaded model has None there.
    """

    schema: Schema
    members: tuple[Member, ...]
    preprocessors: Mapping[str, Any]
    estimate: Estimate
    leaderboard: pd.DataFrame
    best_model: str
    n_features_in: int
    feature_names_in: np.ndarray | None = None
    trials: Sequence[dict[str, Any]] = ()
    findings: Sequence[Finding] = ()
    feature_selection: dict[str, Any] | None = None
    provenance: Provenance = field(default_factory=Provenance)
    threshold: float | None = None
    calibration: dict[str, Any] | None = None
    tempering: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    fairness: dict[str, Any] | None = None
    group_thresholds: dict[str, Any] | None = None
    oof: Mapping[str, np.ndarray] | None = None
    fold_groups: Sequence[np.ndarray] | None = None
    trial_rows: pd.DataFrame | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ what it is
    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def metric(self) -> str:
        return self.estimate.metric

    @property
    def classes(self) -> tuple[Any, ...] | None:
        return tuple(self.schema.classes) if self.task != "regression" else None

    @property
    def n_classes(self) -> int:
        return len(self.schema.classes) if self.task != "regression" else 0

    def replace(self, **changes: Any) -> FittedModel:
        """A new fitted model with ``changes`` (scoring caches are not carried over when members change)."""
        return dataclasses.replace(self, **changes, _cache={})

    def with_provenance(self, **changes: Any) -> FittedModel:
        return self.replace(provenance=dataclasses.replace(self.provenance, **changes))

    def with_estimate(self, **changes: Any) -> FittedModel:
        return self.replace(estimate=dataclasses.replace(self.estimate, **changes))

    # ------------------------------------------------------------------ inputs
    def validate(self, X: Any) -> pd.DataFrame:
        """Rows to score as a DataFrame checked and coerced by the Schema (a path is read; an array takes
        the training columns' names in order)."""
        if isinstance(X, (str, Path)):
            X = read_table(X)
        if not isinstance(X, pd.DataFrame):
            arr = check_array(X)
            if arr.shape[1] != self.n_features_in:
                raise ColumnsMismatchError(
                    f"X has {arr.shape[1] if arr.ndim == 2 else arr.shape} features, but AutoML is expecting "
                    f"{self.n_features_in} features as input"
                )
            X = pd.DataFrame(arr, columns=[c.name for c in self.schema.columns])
        X = column_labels(X, "the data to score")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            return self.schema.validate(X)

    # ------------------------------------------------------------------ scoring
    def scores(self, X: Any) -> np.ndarray:
        """What the served model outputs for ``X``: class probabilities — tempered and floored
        (:mod:`mlwright.evaluation.tempering`), then calibrated when asked — or values (regression)."""
        p = self.blended(X)
        if self.task == "regression":
            return p
        p = self.tempered(p)
        if self.calibration is not None and self.task == "binary":
            from mlwright.evaluation.diagnose import apply_calibration

            p1 = apply_calibration(self.calibration, p[:, 1])
            p = np.column_stack([1.0 - p1, p1])
        return p

    def tempered(self, p: np.ndarray) -> np.ndarray:
        """Blended class probabilities through the tempering learned out of fold (at least: the floor; none for
        models saved before it existed, which predict as they did)."""
        from mlwright.evaluation.tempering import apply_tempering

        return apply_tempering(self.tempering, p) if len(p) and self.tempering is not None else p

    def blended(self, X: Any) -> np.ndarray:
        """The members' weighted blend for ``X``, before calibration."""
        n = X.shape[0] if hasattr(X, "shape") and len(X.shape) else len(X) if hasattr(X, "__len__") else None
        if not isinstance(X, (str, Path)) and n == 0:  # nothing to score
            if isinstance(X, Columns):
                self.schema.check_columns(X)
            else:
                self.validate(X)  # the same column checks as a full batch
            k = self.n_classes
            return np.empty((0, k)) if k else np.empty(0)
        if isinstance(X, pd.DataFrame):
            X = column_labels(X, "the data to score")
        if self.uses_fast_path(X):  # few rows, or the service's columns: arrays end to end, no DataFrame per stage
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                cols = self.schema.validate_arrays(X)
            if len(X) > FUSED_ROWS:
                return self.blend("transform_fast", "predict_fast", cols)
            rest, fused = self.fused_forests()
            return self.blend("transform_fast", "predict_fast", cols, rest, fused)
        if isinstance(X, Columns):
            X = X.frame()
        Xc = self.validate(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.blend("transform", "predict_raw", Xc)

    def blend(
        self,
        transform: str,
        predict: str,
        data: Any,
        members: Sequence[Member] | None = None,
        fused: Sequence[tuple[str, PackedForest]] = (),
    ) -> np.ndarray:
        """Weighted sum of ``members``' predictions (all by default) on prepared ``data``; each
        preprocessor runs once per call.  ``fused``: ``(preprocessor key, forest)`` pairs standing for
        forest members scored together."""
        cache: dict[str, Any] = {}

        def prepared(key: str) -> Any:
            if key not in cache:
                cache[key] = getattr(self.preprocessors[key], transform)(data)
            return cache[key]

        total = None
        for key, forest in fused:
            p = forest.predict(prepared(key))
            total = p if total is None else total + p
        for m in self.members if members is None else members:
            preds = [getattr(model, predict)(prepared(key)) for key, model in zip(m.preps, m.models)]
            p = np.mean(preds, axis=0) * m.weight
            total = p if total is None else total + p
        if total is None:
            raise ValueError("a fitted model without members cannot score")
        return total

    def member_scores(self, X: pd.DataFrame, member: Member) -> np.ndarray:
        """One member's own prediction (weight 1) on validated rows ``X``."""
        return self.blend("transform", "predict_raw", X, members=[dataclasses.replace(member, weight=1.0)])

    def uses_fast_path(self, X: Any) -> bool:
        """Whether ``X`` is scored through arrays end to end (few rows, or the service's Columns)."""
        return (isinstance(X, Columns) or (isinstance(X, pd.DataFrame) and len(X) <= FAST_PATH_ROWS)) and all(
            hasattr(mod, "predict_fast") for m in self.members for mod in m.models
        )

    def fused_forests(self) -> tuple[list[Member], list[tuple[str, PackedForest]]]:
        """Small batches: the members to score one by one, and forest members fused per preprocessing
        (see :func:`fuse_forest_members`); built once per fitted model."""
        if "fused" not in self._cache:
            self._cache["fused"] = fuse_forest_members(list(self.members), self.n_classes)
        fused: tuple[list[Member], list[tuple[str, PackedForest]]] = self._cache["fused"]
        return fused

    def oof_blend(self, mask: np.ndarray | None = None) -> np.ndarray | None:
        """The served members' weighted out-of-fold outputs (fitting process only; None otherwise)."""
        if self.oof is None:
            return None
        oof = self.oof
        p: np.ndarray = np.sum([m.weight * np.asarray(oof[m.name]) for m in self.members], axis=0)
        return p if mask is None else p[mask]
