"""Explanations as data (no figures): permutation importance, tree SHAP values, partial dependence.

Each function takes a prediction function or a fitted model and a sample of rows, honours a
deadline, and returns plain values that :mod:`mlwright.report` draws.

SHAP values come from the boosters' own TreeSHAP (LightGBM ``pred_contrib``, XGBoost
``pred_contribs``, CatBoost ``ShapValues``): the same exact algorithm as the ``shap`` package's
``TreeExplainer`` (whose authors contributed it to those libraries), without its heavy dependencies.
Values of the features derived from one input column (date parts, category codes and frequencies)
are summed back onto that column, which SHAP's additivity allows.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlwright.budget import Deadline

__all__ = ["TREE_FAMILIES", "partial_dependence", "permutation_importance", "tree_shap"]

TREE_FAMILIES = ("lightgbm", "xgboost", "catboost")


def permutation_importance(
    predict: Callable[[pd.DataFrame], np.ndarray],
    X: pd.DataFrame,
    y: np.ndarray,
    metric,
    n_classes: int,
    repeats: int = 3,
    deadline: Deadline | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """How much the score drops when one column's values are shuffled (all else unchanged).

    Parameters
    ----------
    predict : callable
        Rows (raw columns, as the model takes them) → predictions the metric scores.
    X, y : DataFrame, array
        The rows to measure on and their encoded targets.
    metric : Metric
    n_classes : int
    repeats : int
        Shuffles per column (their spread is reported).
    deadline : Deadline, optional
        Columns not reached in time are left out (``complete`` is False).

    Returns
    -------
    dict
        ``importance``: list of ``{"column", "mean", "std"}`` (score lost; larger = more important),
        sorted; ``base_score``; ``rows``; ``complete``.
    """
    rng = np.random.default_rng(seed)
    base_pred = predict(X)
    base = metric.loss(y, base_pred, n_classes)
    rows = []
    complete = True
    for c in X.columns:
        if deadline is not None and deadline.expired():
            complete = False
            break
        drops = []
        for _ in range(repeats):
            Xp = X.copy()
            Xp[c] = X[c].to_numpy()[rng.permutation(len(X))]
            drops.append(metric.loss(y, predict(Xp), n_classes) - base)
        rows.append({"column": str(c), "mean": float(np.mean(drops)), "std": float(np.std(drops))})
    rows.sort(key=lambda r: -r["mean"])
    return {
        "metric": metric.name,
        "base_score": float(metric(y, base_pred, n_classes)),
        "importance": rows,
        "rows": len(X),
        "repeats": repeats,
        "complete": complete,
    }


def partial_dependence(
    predict: Callable[[pd.DataFrame], np.ndarray],
    X: pd.DataFrame,
    columns: list[tuple[str, str]],
    classes: list[Any] | None = None,
    grid: int = 20,
    deadline: Deadline | None = None,
) -> list[dict[str, Any]]:
    """Average prediction as one column is set to each value of a grid (the other columns as they are).

    ``columns`` are ``(name, kind)`` pairs; numbers use quantiles of the sample as the grid,
    categories their most frequent levels.  For classification the curve is the mean probability of
    each class (of the positive class only for binary tasks).
    """
    out = []
    for name, kind in columns:
        if deadline is not None and deadline.expired():
            break
        s = X[name]
        if kind in ("numeric", "boolean"):
            x = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
            if len(x) == 0:
                continue
            values: list[Any] = list(np.unique(np.quantile(x, np.linspace(0.02, 0.98, grid))))
        elif kind in ("categorical", "high_cardinality"):
            values = list(s.dropna().astype(str).value_counts().index[:15])
        else:
            continue
        if len(values) < 2:
            continue
        means = []
        for v in values:
            Xv = X.copy()
            Xv[name] = v
            means.append(np.asarray(predict(Xv), dtype=float).mean(axis=0))
        m = np.asarray(means)
        if m.ndim == 1:
            curves = {"prediction": m.tolist()}
        elif m.shape[1] == 2:
            curves = {f"P({classes[1] if classes else 1})": m[:, 1].tolist()}
        else:
            curves = {f"P({classes[i] if classes else i})": m[:, i].tolist() for i in range(min(m.shape[1], 8))}
        out.append(
            {
                "column": name,
                "kind": kind,
                "grid": [v if isinstance(v, str) else float(v) for v in values],
                "curves": curves,
            }
        )
    return out


def _contributions(model, Xt, task: str) -> np.ndarray | None:
    """(rows, classes or 1, features + 1) SHAP values of one booster on preprocessed rows."""
    kind = type(model).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "LGBMModel":
            raw = np.asarray(model.booster.predict(Xt, num_iteration=model.best_iteration, pred_contrib=True))
        elif kind == "XGBModel":
            import xgboost as xgb

            d = xgb.DMatrix(Xt, enable_categorical=True)
            raw = np.asarray(model.booster.predict(d, pred_contribs=True, iteration_range=(0, model.best_iteration)))
        elif kind == "CatBoostModel":
            from mlwright.models.catboost import catboost_pool

            raw = np.asarray(model.model.get_feature_importance(catboost_pool(Xt), type="ShapValues"))
        else:
            return None
    d = Xt.shape[1] + 1
    if raw.ndim == 3:  # (n, classes, d)
        return raw
    if raw.shape[1] == d:
        return raw[:, None, :]
    return raw.reshape(len(raw), -1, d)  # LightGBM multiclass: (n, classes × d)


def served_tree_shap(fitted: Any, X: pd.DataFrame) -> tuple[Any, dict[str, Any] | None] | None:
    """SHAP values of a fitted model's heaviest tree-booster member on raw rows ``X``: ``(member, values)``,
    or None when no member is a tree booster (see :func:`tree_shap`)."""
    trees = [m for m in fitted.members if m.family in TREE_FAMILIES]
    if not trees:
        return None
    member = max(trees, key=lambda m: m.weight)
    Xc = fitted.validate(X)
    pre = fitted.preprocessors[member.preps[0]]
    return member, tree_shap(member, pre, Xc, fitted.schema.features, fitted.task, fitted.schema.classes)


def tree_shap(
    member: Any, preprocessor, X: pd.DataFrame, columns: list[str], task: str, classes: list[Any]
) -> dict[str, Any] | None:
    """SHAP values of one tree-booster ensemble member on rows ``X`` (coerced), summed per input column.

    Returns None when the member is not a LightGBM/XGBoost/CatBoost model.
    """
    if member.family not in TREE_FAMILIES:
        return None
    t0 = time.monotonic()
    Xt = preprocessor.transform(X)
    names = [str(n) for n in getattr(preprocessor, "feature_names_out_", [])]
    parts = [_contributions(m, Xt, task) for m in member.models]
    if any(p is None for p in parts):
        return None
    phi = np.mean(parts, axis=0)  # fold models: their average predicts, so their SHAP values average
    vals = phi[:, :, :-1]
    owner = [n if n in columns else n.rsplit("__", 1)[0] for n in names]
    per_col = np.zeros((vals.shape[0], vals.shape[1], len(columns)))
    index = {c: i for i, c in enumerate(columns)}
    for j, o in enumerate(owner):
        if o in index:
            per_col[:, :, index[o]] += vals[:, :, j]
    # one value per row and column: the positive class (binary), the sum of |·| over classes (multiclass)
    if per_col.shape[1] == 1:
        shown = per_col[:, 0, :]
        sign = True
    else:
        shown = np.abs(per_col).sum(axis=1)
        sign = False
    mean_abs = np.abs(shown).mean(axis=0)
    order = np.argsort(-mean_abs)
    feature_values = {}
    for i in order[:15]:
        c = columns[i]
        v = pd.to_numeric(X[c], errors="coerce") if X[c].dtype.kind in "fiub" else None
        if v is not None and v.notna().any():
            lo, hi = np.nanpercentile(v, [5, 95])
            feature_values[c] = np.clip((v.to_numpy(dtype=float) - lo) / max(hi - lo, 1e-12), 0, 1).tolist()
    return {
        "member": member.name,
        "family": member.family,
        "rows": len(X),
        "signed": sign,
        "scale": "log-odds" if task != "regression" else "target units",
        "columns": [columns[i] for i in order],
        "mean_abs": [float(mean_abs[i]) for i in order],
        "values": {columns[i]: shown[:, i].round(6).tolist() for i in order[:15]},
        "feature_values": feature_values,
        "expected_value": float(phi[:, :, -1].mean()),
        "seconds": round(time.monotonic() - t0, 3),
    }
