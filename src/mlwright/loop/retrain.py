"""The feedback loop's decision: retrain a challenger on new data and promote it only when it is really better.

:func:`retrain` fits a challenger with the champion's configuration (its search: families, budget,
metric, fit options) on new data — optionally with the champion's own training rows (``with_history``)
— and holds out the most recent rows of the new data (or a random share) for both models.  The gate
(:class:`GateConfig`): the challenger must beat the champion by at least ``min_delta`` on the primary
metric; a paired test on the same rows must find the difference significant at ``alpha`` (DeLong for
ROC AUC, McNemar for accuracy, a paired bootstrap for any other metric, see :mod:`mlwright.evaluation.compare`);
and no guard metric may regress by more than its tolerance.  The challenger is registered either way
(alias ``challenger``); it becomes the champion when the gate passes and ``approval="auto"``, is
*recommended* for a person to promote when ``approval="human"``, or is *rejected* — each outcome is
recorded in the store with its numbers (``mlwright models outcomes NAME``).  Rollback stays one
``Registry.rollback`` away.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import class_codes
from mlwright.errors import ConfigError, RetrainError, TargetNotFoundError
from mlwright.fairness.groups import FAIRER, worst_disparities
from mlwright.loop.outcomes import RetrainOutcome, gate_reasons, outcomes, record_outcome, register_challenger

__all__ = [
    "GateConfig",
    "RetrainOutcome",
    "gate",
    "gate_reasons",
    "outcomes",
    "record_outcome",
    "register_challenger",
    "retrain",
]


@dataclass
class GateConfig:
    """When a challenger may replace the champion (see the module docstring)."""

    min_delta: float = 0.0
    alpha: float = 0.05
    guards: dict[str, float] = field(default_factory=dict)  # metric → largest allowed regression
    approval: str = "auto"  # auto | human
    holdout: float = 0.25
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self):
        if self.approval not in ("auto", "human"):
            raise ConfigError(f"approval must be 'auto' or 'human', got {self.approval!r}")
        if not 0.05 <= self.holdout <= 0.9:
            raise ConfigError(f"holdout must be a share between 0.05 and 0.9, got {self.holdout!r}")
        if not 0 < self.alpha <= 1:
            raise ConfigError(f"alpha (the paired test's significance level) must be in (0, 1], got {self.alpha!r}")
        if not math.isfinite(self.min_delta):  # negative: a non-inferiority margin (a little worse may pass)
            raise ConfigError(f"min_delta must be a finite number, got {self.min_delta!r}")
        for metric, limit in self.guards.items():
            if not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit < 0:
                raise ConfigError(f"guard {metric!r}: the allowed regression must be a number ≥ 0, got {limit!r}")


def gate(task: str, metric: str, y: np.ndarray, champion: dict[str, np.ndarray], challenger: dict[str, np.ndarray],
         config: GateConfig, groups: pd.DataFrame | None = None) -> tuple[str, dict[str, Any], dict[str, Any],
                                                                          list[str]]:  # fmt: skip
    """Judge two models' hold-out outputs: (outcome, paired comparison, guards, reasons).

    ``champion`` / ``challenger``: ``{"proba": (n, k)}`` (classification, with ``"labels"`` as class codes)
    or ``{"values": (n,)}`` (regression); ``y``: class codes or values; ``groups``: the hold-out rows'
    sensitive columns, for fairness guards (a disparity such as ``equalized_odds_difference``, at its worst
    over the columns and their intersection, may not get worse by more than the tolerance).
    """
    from mlwright.evaluation.compare import delong, mcnemar, paired_bootstrap
    from mlwright.evaluation.metrics import get_metric, score_all

    m = get_metric(metric, task)
    k = champion["proba"].shape[1] if task != "regression" else 0
    key = "values" if task == "regression" else "proba"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "binary" and metric == "roc_auc" and len(np.unique(y)) == 2:
            comp = delong(y, champion["proba"][:, 1], challenger["proba"][:, 1])
        elif task != "regression" and metric == "accuracy":
            comp = mcnemar(y, champion["labels"], challenger["labels"])
        else:
            comp = paired_bootstrap(y, champion[key], challenger[key], lambda t, p: m(t, p, k),
                                    m.greater_is_better, config.n_boot, config.seed)  # fmt: skip
        a, b = score_all(task, y, champion[key], k), score_all(task, y, challenger[key], k)
    reasons = gate_reasons(comp, metric, config)
    fair = _fairness_guards(task, y, champion, challenger, config, groups)
    guards = {}
    for g, tol in config.guards.items():
        if g in fair:
            (a[g], b[g]), better = fair[g], FAIRER[g]
        elif g in a:
            better = get_metric(g, task).greater_is_better
        else:
            raise ConfigError(f"guard metric {g!r} is not computed for {task}; use one of "
                              f"{', '.join([*a, *(k for k in FAIRER if k in disparities_of(task))])}")  # fmt: skip
        worse = (a[g] - b[g]) if better else (b[g] - a[g])
        guards[g] = {"champion": a[g], "challenger": b[g], "regression": worse, "tolerance": tol, "ok": worse <= tol}
        if worse > tol:
            reasons.append(f"guard {g} regresses by {worse:.4g} (tolerance {tol:g})")
    comp["scores"] = {"champion": a, "challenger": b}
    if reasons:
        return "rejected", comp, guards, reasons
    return ("promoted" if config.approval == "auto" else "recommended"), comp, guards, []


def disparities_of(task: str) -> tuple[str, ...]:
    """The fairness guards a model of ``task`` can take."""
    if task == "binary":
        return tuple(k for k in FAIRER if k.startswith(("demographic", "equalized")))
    if task == "regression":
        return ("mean_prediction_difference", "mean_prediction_ratio", "mae_difference")
    return ("accuracy_difference",)


def _fairness_guards(task: str, y: np.ndarray, champion: dict[str, np.ndarray], challenger: dict[str, np.ndarray],
                     config: GateConfig, groups: pd.DataFrame | None) -> dict[str, tuple[float, float]]:  # fmt: skip
    """(champion, challenger) value of each fairness guard asked for, on the hold-out rows."""
    asked = [g for g in config.guards if g in disparities_of(task)]
    if not asked:
        return {}
    if groups is None or groups.shape[1] == 0:
        raise ConfigError(f"guard {asked[0]!r} needs the sensitive columns: fit the champion with sensitive=[...] "
                          "or pass --sensitive to retrain")  # fmt: skip
    key = "values" if task == "regression" else "labels"
    a = worst_disparities(y, champion[key], groups, task)
    b = worst_disparities(y, challenger[key], groups, task)
    return {g: (a.get(g, float("nan")), b.get(g, float("nan"))) for g in asked}


def _outputs(model, X: pd.DataFrame) -> dict[str, np.ndarray]:
    if model.task_ == "regression":
        return {"values": np.asarray(model.predict(X), dtype=float)}
    proba = model.predict_proba(X).to_numpy(dtype=float)
    return {"proba": proba, "labels": class_codes(model.schema_.classes, model.predict(X))}


def _split(df: pd.DataFrame, time_column: str | None, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and hold-out row positions: the most recent ``share`` with a time column, else random."""
    n = len(df)
    k = max(1, round(n * share))
    if time_column is not None:
        when = pd.to_datetime(df[time_column], errors="coerce", format="mixed", utc=True)
        order = np.argsort(when.to_numpy(), kind="stable")
    else:
        order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n - k]), np.sort(order[n - k :])


def retrain(
    name: str,
    data: Any,
    *,
    with_history: bool = False,
    history: Any = None,
    history_db: str | None = None,
    config: GateConfig | None = None,
    time_budget: float | None = None,
    store: str | None = None,
    sensitive: list[str] | None = None,
) -> RetrainOutcome:
    """Train a challenger for registered model ``name`` on ``data`` and let the gate decide (module docstring).

    Parameters
    ----------
    data : DataFrame or path
        New labelled rows (the champion's target column included).
    with_history : bool
        Also train on the champion's training rows (read from where it was fitted from — a file, or a
        :class:`~mlwright.data.sql.SqlSource` query run again — or from ``history``).
    history : DataFrame, path or SqlSource, optional
        Where the champion's training rows are now.
    history_db : str, optional
        The database URL for a champion fitted from a query on a URL with a password (not stored).
    time_budget : float, optional
        Seconds for the challenger's search (default: the champion's).
    sensitive : list of str, optional
        Columns naming who could be harmed (default: the champion's): the challenger is measured per group,
        and the gate's fairness guards compare both models on them.
    """
    from mlwright.automl import AutoML
    from mlwright.data.sources import read_table
    from mlwright.registry import Registry

    cfg = config or GateConfig()
    reg = Registry(store)
    champ_v = reg.resolve(f"{name}@champion")
    champion = reg.load(champ_v.ref)
    if getattr(champion, "kind", None) == "forecast":  # refit on the longer history, gated on the newest window
        from mlwright.loop.forecast_retrain import retrain_forecaster

        return retrain_forecaster(name, champ_v, champion, data, cfg, time_budget, reg)
    if not isinstance(champion, AutoML):
        raise RetrainError(f"{champ_v.ref} was not trained by mlwright (it was registered as a file): retrain it "
                           "where it was built, then register the new version")  # fmt: skip
    opts = dict(getattr(champion, "fit_options_", None) or {})
    target = opts.get("target") or champion.schema_.target
    new = read_table(data) if not isinstance(data, pd.DataFrame) else data
    if target not in new.columns:
        raise TargetNotFoundError(f"the new data has no {target!r} column (the champion's target); add the labels")
    new = new.loc[new[target].notna()].reset_index(drop=True)
    if len(new) < 20:
        raise RetrainError(f"{len(new)} labelled row(s) in the new data; retraining needs at least 20")
    if champion.task_ != "regression":
        codes = class_codes(champion.schema_.classes, new[target])
        unknown = sorted({str(v) for v in new[target][codes < 0].unique()})
        if unknown:
            raise RetrainError(
                f"the new data has {len(unknown)} class(es) the champion does not know "
                f"({', '.join(map(repr, unknown[:5]))}): a challenger with other classes cannot be compared with "
                "it — fit and register it as a new model"
            )
    time_column = opts.get("time_column")
    train_idx, hold_idx = _split(new, time_column if time_column in new.columns else None, cfg.holdout, cfg.seed)
    train = new.iloc[train_idx]
    sources = _records(data)  # where the challenger's rows came from (None: a DataFrame, not to be found again)
    if with_history or history is not None:
        old, found = _history(champion, history, history_db)
        train = pd.concat([old[[c for c in new.columns if c in old.columns]], train], ignore_index=True)
        sources = found + sources if found is not None and sources is not None else None
    params = {k: v for k, v in champion.get_params().items() if k not in ("workdir",)}
    if time_budget is not None:
        params["time_budget"] = time_budget
    fit_kw = {k: opts[k] for k in ("groups", "time_column", "column_types", "sensitive") if opts.get(k)}
    if sensitive:
        missing = [c for c in sensitive if c not in new.columns]
        if missing:
            raise ConfigError(f"sensitive column(s) {', '.join(map(repr, missing))} not in the new data")
        fit_kw["sensitive"] = list(sensitive)
    challenger = AutoML(**params).fit(train, target=target, source=sources, **fit_kw)
    hold = new.iloc[hold_idx]
    X, y_raw = hold.drop(columns=[target]), hold[target]
    if champion.task_ == "regression":
        y = y_raw.to_numpy(dtype=float)
    else:
        codes = class_codes(champion.schema_.classes, y_raw)
        X, y = X[codes >= 0], codes[codes >= 0]
    metric = champion.metric_
    groups = X[fit_kw["sensitive"]] if fit_kw.get("sensitive") else None
    outcome, comp, guards, reasons = gate(champion.task_, metric, y, _outputs(champion, X), _outputs(challenger, X),
                                          cfg, groups)  # fmt: skip
    chall_v = register_challenger(reg, name, challenger, outcome, f"retrained on {len(train):,} rows")
    result = RetrainOutcome(outcome, name, champ_v.version, chall_v.version, metric, comp, guards, reasons, len(y),
                            len(train))  # fmt: skip
    result.id = record_outcome(reg.store, result)
    return result


def _records(source: Any) -> list | None:
    """A training source as the model records it: ``[path]`` or ``[{"sql", "db"}]``; None for a DataFrame."""
    if isinstance(source, (str, Path)):
        return [str(Path(source).resolve())]
    from mlwright.data.sql import SqlSource

    if isinstance(source, SqlSource):
        return [source.describe()]
    return None


def _history(champion: Any, history: Any, history_db: str | None) -> tuple[pd.DataFrame, list | None]:
    """The champion's training rows (from ``history`` if given, else from every source it recorded)."""
    from mlwright.data.sources import read_table
    from mlwright.data.sql import SqlSource

    if history is not None:
        return read_table(history), _records(history)
    recorded = champion.training_source_
    recorded = recorded if isinstance(recorded, list) else [recorded] if recorded is not None else None
    if not recorded:
        raise RetrainError("the champion's training data is not at hand (it was fitted from a DataFrame); pass "
                           "history=… (--history FILE)")  # fmt: skip
    tables = []
    for rec in recorded:
        if isinstance(rec, dict):  # fitted from a query: run it again
            tables.append(read_table(SqlSource.from_record(rec, history_db)))
        elif not Path(rec).exists():
            raise RetrainError(f"the champion's training data is not at hand ({rec} is gone); pass history=… "
                               "(--history FILE)")  # fmt: skip
        else:
            tables.append(read_table(rec))
    return (tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)), recorded
