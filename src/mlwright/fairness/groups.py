"""How a model treats groups of people: metrics per group (each sensitive column, and their intersection),
the disparities between groups with bootstrap intervals, and plain advice.

The per-group values and the disparities are fairlearn's (``MetricFrame``, ``demographic_parity_*``,
``equalized_odds_*``), so they mean exactly what fairlearn's documentation says.  The bootstrap intervals
resample the rows :data:`N_BOOT` times and recompute the same disparities from per-group counts
(``numpy.bincount``): fairlearn's own bootstrap (``MetricFrame(n_boot=…)``) recomputes every frame and takes
~15 s for 100 resamples of 5,000 rows, too slow for a report; a test checks that both give the same values
on the full sample.

Binary classification: count, share, base rate (the target's rate), selection rate, true and false positive
rates, precision, accuracy and the mean predicted probability (calibration: against the base rate);
disparities: demographic parity and equalized odds, each as a difference and a ratio.  Regression: count,
mean target, mean prediction and mean absolute error; disparities: the largest gap in mean prediction and
in error, and the ratio of the smallest mean prediction to the largest.  Multiclass: count and accuracy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import ConfigError, DataError, MlwrightWarning

__all__ = [
    "FAIRER",
    "FOUR_FIFTHS",
    "MIN_GROUP_ROWS",
    "N_BOOT",
    "as_groups",
    "disparities",
    "group_key",
    "group_metrics",
    "worst_disparities",
]

N_BOOT = 200
MIN_GROUP_ROWS = 30  # below this a group's rates are too noisy to read: said in a warning and the result
FOUR_FIFTHS = 0.8  # the "four-fifths" rule of thumb for a ratio of selection rates
INTERVAL = (0.025, 0.975)
# every disparity :func:`disparities` reports → whether a higher value is fairer (ratios) or not (differences)
FAIRER = {
    "demographic_parity_difference": False,
    "demographic_parity_ratio": True,
    "equalized_odds_difference": False,
    "equalized_odds_ratio": True,
    "mean_prediction_difference": False,
    "mean_prediction_ratio": True,
    "mae_difference": False,
    "accuracy_difference": False,
}
_HINT = "fairness metrics need fairlearn: pip install 'mlwright[fairness]'"


def _fairlearn() -> Any:
    try:
        import fairlearn.metrics as fm
    except ImportError:  # pragma: no cover - fairlearn is in the test extra
        raise ConfigError(_HINT) from None
    return fm


def _codes(sensitive: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each row's group under ``columns`` (their intersection when several) as codes, and the group names."""
    keys = sensitive[columns].astype(str).agg(" · ".join, axis=1) if len(columns) > 1 else sensitive[columns[0]]
    codes, names = pd.factorize(keys.astype(str), sort=True)
    return codes, [str(n) for n in names]


def _check(sensitive: pd.DataFrame, n: int) -> pd.DataFrame:
    if not isinstance(sensitive, pd.DataFrame):
        sensitive = pd.DataFrame(sensitive)
    if len(sensitive) != n:
        raise DataError(f"sensitive columns have {len(sensitive)} rows, predictions {n}: pass one value per row")
    if sensitive.shape[1] == 0:
        raise ConfigError("no sensitive column given: name at least one, e.g. sensitive=['sex']")
    return as_groups(sensitive.reset_index(drop=True))


def group_key(v: Any) -> str:
    """One sensitive value as its group's name, the same whether it comes from a table or a JSON request:
    missing → "(missing)", a whole float as an integer ("1", not "1.0")."""
    try:
        if pd.isna(v):
            return "(missing)"
    except (TypeError, ValueError):  # a list or other non-scalar: its text
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def as_groups(sensitive: pd.DataFrame) -> pd.DataFrame:
    """The sensitive columns as text groups (missing values a group of their own); each must hold at least
    two groups."""
    out = pd.DataFrame(index=sensitive.index)
    for c in sensitive.columns:
        out[c] = sensitive[c].astype(object).map(group_key).astype(str)
        if out[c].nunique() < 2:
            raise DataError(f"sensitive column {c!r} has one group only ({out[c].iloc[0]!r}): there is nothing "
                            f"to compare; drop it from the sensitive columns")  # fmt: skip
    return out


def group_metrics(
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    task: str,
    scores: Any = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics per group and the disparities between groups.

    Parameters
    ----------
    y_true : array-like
        The truth: 0/1 for binary (1 the positive class), class labels for multiclass, numbers for regression.
    y_pred : array-like
        The decisions (0/1 for binary, labels for multiclass) or, for regression, the predicted values.
    sensitive : DataFrame
        One column per sensitive attribute, one row per prediction (missing values form their own group).
    task : {"binary", "multiclass", "regression"}
    scores : array-like, optional
        Binary: the predicted probability of the positive class (the calibration column).
    n_boot : int
        Bootstrap resamples for the disparities' intervals (0: none).
    seed : int

    Returns
    -------
    dict
        ``{"by": [{"attribute", "groups": [...], "disparities": {...}, "small_groups": [...]}, ...],
        "advice": [str, ...]}``: one entry per sensitive column and, with two or more, one for their
        intersection.  Each disparity is ``{"value", "low", "high"}``.
    """
    if task not in ("binary", "multiclass", "regression"):
        raise ConfigError(f"group metrics are for binary, multiclass or regression models, not {task!r}")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    sens = _check(sensitive, len(y_true))
    cols = list(sens.columns)
    splits = [[c] for c in cols] + ([cols] if len(cols) > 1 else [])
    out: dict[str, Any] = {"task": task, "rows": len(y_true), "by": [], "advice": []}
    rng = np.random.default_rng(seed)
    boot = [rng.integers(0, len(y_true), len(y_true)) for _ in range(n_boot)]
    for split in splits:
        codes, names = _codes(sens, split)
        entry = _one(y_true, y_pred, None if scores is None else np.asarray(scores, float), sens[split], task)
        entry["attribute"] = " × ".join(split)
        for name, (low, high) in _intervals(y_true, y_pred, codes, len(names), task, boot).items():
            entry["disparities"][name] |= {"low": low, "high": high}
        small = [g for g in entry["groups"] if g["count"] < MIN_GROUP_ROWS]
        entry["small_groups"] = [g["group"] for g in small]
        if small:
            warnings.warn(f"{entry['attribute']}: {len(small)} group(s) with fewer than {MIN_GROUP_ROWS} rows ("
                          + ", ".join(f"{g['group']!r}: {g['count']}" for g in small[:5])
                          + "); their rates are noisy", MlwrightWarning, stacklevel=2)  # fmt: skip
        out["advice"] += _advice(entry, task)
        out["by"].append(_finite(entry))
    return out


def _finite(v: Any) -> Any:
    """``v`` with every non-finite float as None (the result is stored as JSON)."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def _one(y: np.ndarray, p: np.ndarray, s: np.ndarray | None, sens: pd.DataFrame, task: str) -> dict[str, Any]:
    """fairlearn's MetricFrame for one split: the per-group rows and the point disparities."""
    fm = _fairlearn()
    from sklearn.metrics import accuracy_score, mean_absolute_error, precision_score

    feats = sens.iloc[:, 0] if sens.shape[1] == 1 else sens
    metrics: dict[str, Any] = {"count": fm.count}
    if task == "binary":
        metrics |= {"base_rate": lambda t, _: float(np.mean(t)), "selection_rate": fm.selection_rate,
                    "tpr": fm.true_positive_rate, "fpr": fm.false_positive_rate,
                    "precision": lambda t, q: precision_score(t, q, zero_division=0),
                    "accuracy": accuracy_score}  # fmt: skip
    elif task == "regression":
        metrics |= {"mean_target": lambda t, _: float(np.mean(t)), "mean_prediction": lambda _, q: float(np.mean(q)),
                    "mae": mean_absolute_error}  # fmt: skip
    else:
        metrics["accuracy"] = accuracy_score
    frame = fm.MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=feats)
    table = frame.by_group
    if task == "binary" and s is not None:
        mean_score = fm.MetricFrame(
            metrics=lambda _, q: float(np.mean(q)), y_true=y, y_pred=s, sensitive_features=feats
        )
        table = table.assign(mean_score=mean_score.by_group)
    groups = []
    for key, row in table.iterrows():
        name = " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        rec: dict[str, Any] = {"group": name, **{str(k): (None if pd.isna(v) else float(v)) for k, v in row.items()}}
        rec["count"] = int(row["count"])
        rec["share"] = int(row["count"]) / len(y)
        groups.append(rec)
    disp: dict[str, dict[str, Any]] = {}
    if task == "binary":
        for name, f in (("demographic_parity_difference", fm.demographic_parity_difference),
                        ("demographic_parity_ratio", fm.demographic_parity_ratio),
                        ("equalized_odds_difference", fm.equalized_odds_difference),
                        ("equalized_odds_ratio", fm.equalized_odds_ratio)):  # fmt: skip
            disp[name] = {"value": float(f(y, p, sensitive_features=feats))}
    elif task == "regression":
        disp["mean_prediction_difference"] = {"value": float(frame.difference()["mean_prediction"])}
        disp["mean_prediction_ratio"] = {"value": float(frame.ratio()["mean_prediction"])}
        disp["mae_difference"] = {"value": float(frame.difference()["mae"])}
    else:
        disp["accuracy_difference"] = {"value": float(frame.difference()["accuracy"])}
    return {"groups": groups, "disparities": disp}


def disparities(y: np.ndarray, p: np.ndarray, g: np.ndarray, k: int, task: str) -> dict[str, float]:
    """The disparities fairlearn reports (see :func:`group_metrics`), from per-group counts: fast enough to
    repeat per bootstrap resample or per monitoring window.

    Parameters
    ----------
    y, p : ndarray
        Truth and decisions (binary: 0/1 floats; regression: values; multiclass: labels).
    g : ndarray of int
        Each row's group code in ``0 … k-1``; groups without rows are skipped.
    k : int
    task : {"binary", "multiclass", "regression"}

    Returns
    -------
    dict of str to float
    """

    def spread(v: np.ndarray) -> tuple[float, float]:
        v = v[np.isfinite(v)]
        if not len(v):
            return np.nan, np.nan
        hi = v.max()
        return float(hi - v.min()), float(v.min() / hi) if hi > 0 else np.nan

    n = np.bincount(g, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if task == "binary":
            pos = np.bincount(g, weights=y, minlength=k)
            tp = np.bincount(g, weights=y * p, minlength=k)
            fp = np.bincount(g, weights=(1 - y) * p, minlength=k)
            sel = np.bincount(g, weights=p, minlength=k) / n
            tpr, fpr = tp / pos, fp / (n - pos)
            dp_d, dp_r = spread(sel)
            (t_d, t_r), (f_d, f_r) = spread(tpr), spread(fpr)
            return {"demographic_parity_difference": dp_d, "demographic_parity_ratio": dp_r,
                    "equalized_odds_difference": max(t_d, f_d), "equalized_odds_ratio": min(t_r, f_r)}  # fmt: skip
        if task == "regression":
            mp = np.bincount(g, weights=p, minlength=k) / n
            mae = np.bincount(g, weights=np.abs(y - p), minlength=k) / n
            d, r = spread(mp)
            return {"mean_prediction_difference": d, "mean_prediction_ratio": r, "mae_difference": spread(mae)[0]}
        acc = np.bincount(g, weights=(y == p).astype(float), minlength=k) / n
        return {"accuracy_difference": spread(acc)[0]}


def worst_disparities(y: Any, pred: Any, sensitive: pd.DataFrame, task: str) -> dict[str, float]:
    """Each disparity at its worst over the sensitive columns and their intersection (the largest difference,
    the smallest ratio), from counts (:func:`disparities`); undefined values are left out.

    Parameters
    ----------
    y, pred : array-like
        Truth and decisions (binary: 0/1; multiclass: labels; regression: values).
    sensitive : DataFrame
        One column per sensitive attribute.
    task : {"binary", "multiclass", "regression"}

    Returns
    -------
    dict of str to float
    """
    y, pred = np.asarray(y), np.asarray(pred)
    if task != "multiclass":
        y, pred = y.astype(float), pred.astype(float)
    sens = _check(sensitive, len(y))
    cols = list(sens.columns)
    out: dict[str, float] = {}
    for split in [[c] for c in cols] + ([cols] if len(cols) > 1 else []):
        codes, names = _codes(sens, split)
        for name, v in disparities(y, pred, codes, len(names), task).items():
            if np.isfinite(v):
                out[name] = (min if FAIRER[name] else max)(out.get(name, v), float(v))
    return out


def _intervals(
    y: np.ndarray, p: np.ndarray, g: np.ndarray, k: int, task: str, boot: list[np.ndarray]
) -> dict[str, tuple[float | None, float | None]]:
    if task != "multiclass":
        y, p = y.astype(float), p.astype(float)
    draws = [disparities(y[i], p[i], g[i], k, task) for i in boot]
    out: dict[str, tuple[float | None, float | None]] = {}
    for name in disparities(y, p, g, k, task):
        v = np.array([d[name] for d in draws], dtype=float)
        v = v[np.isfinite(v)]
        out[name] = (float(np.quantile(v, INTERVAL[0])), float(np.quantile(v, INTERVAL[1]))) if len(v) else (None, None)
    return out


def _advice(entry: dict[str, Any], task: str) -> list[str]:
    """Plain sentences a reader acts on: the four-fifths rule on selection rates, the equalized-odds gap."""
    groups = [g for g in entry["groups"] if g["count"] >= MIN_GROUP_ROWS] or entry["groups"]
    out = []
    if task == "binary":
        rates = {g["group"]: g["selection_rate"] for g in groups if g["selection_rate"] is not None}
        if len(rates) >= 2:
            lo, hi = min(rates, key=rates.__getitem__), max(rates, key=rates.__getitem__)
            ratio = rates[lo] / rates[hi] if rates[hi] > 0 else 1.0
            verdict = (
                f"below the {FOUR_FIFTHS} rule of thumb" if ratio < FOUR_FIFTHS else "within the 0.8 rule of thumb"
            )
            out.append(f"{entry['attribute']}: the selection rate for {lo!r} ({rates[lo]:.2f}) is {ratio:.2f} of "
                       f"that for {hi!r} ({rates[hi]:.2f}); {verdict}")  # fmt: skip
        eo = entry["disparities"]["equalized_odds_difference"]["value"]
        if eo is not None and np.isfinite(eo) and eo > 0.1:
            out.append(f"{entry['attribute']}: true or false positive rates differ by up to {eo:.2f} between "
                       f"groups (equalized odds difference); the model errs more for some groups")  # fmt: skip
    elif task == "regression":
        d = entry["disparities"]["mae_difference"]["value"]
        worst = max(groups, key=lambda g: g["mae"] or 0)
        out.append(f"{entry['attribute']}: mean absolute error is highest for {worst['group']!r} "
                   f"({worst['mae']:.3g}), up to {d:.3g} above another group")  # fmt: skip
    return out
