"""Evaluation curves, confidence intervals, over/underfitting diagnosis and decision thresholds, as data.

Pure functions of targets and predictions (and, for learning curves, of a model family and the
training rows).  :mod:`mlwright.report` draws what they return.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from sklearn import metrics as skm

from mlwright.budget import Deadline
from mlwright.evaluation.metrics import Metric, confusion_matrix, get_metric, score_all

__all__ = [
    "advice",
    "apply_calibration",
    "bootstrap",
    "calibration_methods",
    "choose_threshold",
    "encode_labels",
    "evaluate_model",
    "evaluation",
    "learning_curve",
    "resolve_calibration",
    "resolve_threshold",
    "thresholds",
]


def _thin(x: np.ndarray, y: np.ndarray, n: int = 200) -> tuple[list[float], list[float]]:
    if len(x) > n:
        idx = np.unique(np.linspace(0, len(x) - 1, n).astype(int))
        x, y = x[idx], y[idx]
    return [float(v) for v in x], [float(v) for v in y]


def bootstrap(
    y: np.ndarray, pred: np.ndarray, metric: Metric, n_classes: int, n_boot: int = 200, seed: int = 0,
    deadline: Deadline | None = None,
) -> dict[str, float] | None:  # fmt: skip
    """95 % bootstrap interval of a metric over rows (resampled with replacement)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    vals = []
    for _ in range(n_boot):
        if deadline is not None and deadline.expired():
            break
        idx = rng.integers(0, n, n)
        if n_classes and len(np.unique(y[idx])) < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                vals.append(metric(y[idx], pred[idx], n_classes))
            except ValueError:
                continue
    if len(vals) < 20:
        return None
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return {"low": float(lo), "high": float(hi), "resamples": len(vals)}


def evaluation(
    y: np.ndarray,
    pred: np.ndarray,
    task: str,
    metric: Metric,
    classes: list[Any],
    folds: list[np.ndarray] | None = None,
    seed: int = 0,
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """Metrics with bootstrap intervals and per-fold spread, and the data of the evaluation plots.

    ``pred`` is what the model's scorers take: (n, k) probabilities or (n,) values.  ``folds``:
    index arrays of the validation folds the predictions came from (their scores give the spread).
    """
    k = len(classes) if task != "regression" else 0
    out: dict[str, Any] = {"task": task, "metric": metric.name, "rows": len(y)}
    out["scores"] = score_all(task, y, pred, k)
    names = [metric.name] + [m for m in ("accuracy", "f1", "f1_macro", "r2", "mae", "log_loss") if m in out["scores"]]
    out["intervals"] = {}
    for name in dict.fromkeys(names):
        ci = bootstrap(y, pred, get_metric(name, task), k, seed=seed, deadline=deadline)
        if ci is not None:
            out["intervals"][name] = ci
    if folds:
        per_fold = []
        for idx in folds:
            try:
                per_fold.append(float(metric(y[idx], pred[idx], k)))
            except ValueError:
                continue
        if per_fold:
            out["folds"] = {"scores": per_fold, "mean": float(np.mean(per_fold)), "std": float(np.std(per_fold))}
    if task == "regression":
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(y), min(len(y), 2000), replace=False)
        resid = y - pred
        out["points"] = {"actual": y[pick].tolist(), "predicted": pred[pick].tolist(), "residual": resid[pick].tolist()}
        out["residuals"] = {"mean": float(resid.mean()), "std": float(resid.std()),
                            "p5": float(np.percentile(resid, 5)), "p95": float(np.percentile(resid, 95))}  # fmt: skip
        return out
    out["labels"] = [str(c) for c in classes]
    out["confusion_matrix"] = confusion_matrix(y, pred, k)
    if task == "binary":
        p1 = pred[:, 1]
        fpr, tpr, _ = skm.roc_curve(y, p1)
        out["roc"] = dict(zip(("fpr", "tpr"), _thin(fpr, tpr)))
        prec, rec, _ = skm.precision_recall_curve(y, p1)
        out["pr"] = dict(zip(("recall", "precision"), _thin(rec[::-1], prec[::-1])))
        out["pr"]["base_rate"] = float(np.mean(y))
        out["calibration"] = _calibration(y, p1)
        out["thresholds"] = thresholds(y, p1)
        if folds:
            out["calibration_methods"] = calibration_methods(y, p1, folds)
    else:  # one-vs-rest ROC per class (at most 8)
        out["roc_per_class"] = []
        for i, c in enumerate(classes[:8]):
            yi = (y == i).astype(int)
            if 0 < yi.sum() < len(yi):
                fpr, tpr, _ = skm.roc_curve(yi, pred[:, i])
                f, t = _thin(fpr, tpr)
                out["roc_per_class"].append({"label": str(c), "fpr": f, "tpr": t, "auc": float(skm.auc(fpr, tpr))})
        top = pred.max(axis=1)
        out["calibration"] = _calibration((pred.argmax(axis=1) == y).astype(int), top)
        out["calibration"]["of"] = "confidence of the predicted class"
    return out


def _calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, Any]:
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    edges = np.unique(edges)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    mean_p, frac, count = [], [], []
    for b in range(max(len(edges) - 1, 1)):
        m = idx == b
        if m.any():
            mean_p.append(float(p[m].mean()))
            frac.append(float(y[m].mean()))
            count.append(int(m.sum()))
    ece = float(sum(c * abs(a - b) for a, b, c in zip(mean_p, frac, count)) / max(1, len(p)))
    return {"predicted": mean_p, "observed": frac, "rows": count, "ece": ece, "brier": float(np.mean((p - y) ** 2))}


def thresholds(y: np.ndarray, p1: np.ndarray, cost_ratio: float = 1.0) -> dict[str, Any]:
    """Decision thresholds for a binary model: F1, precision and recall by threshold, the F1-best one
    and the one of least expected cost when a false positive costs ``cost_ratio`` false negatives."""
    grid = np.unique(np.round(np.quantile(p1, np.linspace(0.01, 0.99, 99)), 6))
    pos = y == 1
    rows = []
    for t in grid:
        hit = p1 >= t
        tp = int((hit & pos).sum())
        fp = int((hit & ~pos).sum())
        fn = int((~hit & pos).sum())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows.append((float(t), prec, rec, f1, cost_ratio * fp + fn, tp, fp, fn))
    a = np.array(rows) if rows else np.zeros((0, 8))
    best_f1 = int(a[:, 3].argmax()) if len(a) else 0
    best_cost = int(a[:, 4].argmin()) if len(a) else 0
    return {
        "threshold": a[:, 0].tolist(),
        "precision": a[:, 1].tolist(),
        "recall": a[:, 2].tolist(),
        "f1": a[:, 3].tolist(),
        "counts": {
            "tp": a[:, 5].astype(int).tolist(),
            "fp": a[:, 6].astype(int).tolist(),
            "fn": a[:, 7].astype(int).tolist(),
        },
        "best_f1": {"threshold": float(a[best_f1, 0]), "f1": float(a[best_f1, 3])} if len(a) else None,
        "cost_ratio": float(cost_ratio),
        "least_cost": {"threshold": float(a[best_cost, 0]), "cost": float(a[best_cost, 4])} if len(a) else None,
    }


def learning_curve(
    family, params: dict[str, Any], schema, X, y: np.ndarray, folds, metric: Metric, n_classes: int,
    deadline: Deadline, fractions=(0.1, 0.25, 0.5, 1.0), seed: int = 0, impute: str = "median",
    clip: float | None = None,
) -> dict[str, Any] | None:  # fmt: skip
    """Train and validation scores of one configuration trained on growing shares of the training folds.

    Cheap refits: the first (at most 2) folds, each share a random subset of the fold's training
    rows; stops at the deadline with the points it has.
    """
    from mlwright.features import build_preprocessor

    rng = np.random.default_rng(seed)
    points = []
    t0 = time.monotonic()
    for frac in fractions:
        tr_scores, va_scores, n_used = [], [], 0
        for tr, va in folds[:2]:
            if deadline.expired():
                break
            sub = np.sort(rng.choice(tr, max(20, int(len(tr) * frac)), replace=False)) if frac < 1 else tr
            if n_classes and len(np.unique(y[sub])) < 2:
                continue
            pre = build_preprocessor(schema, family.style, seed=seed, impute=impute, clip=clip)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Xtr = pre.fit_transform(X.iloc[sub], y[sub])
                Xva = pre.transform(X.iloc[va])
                model = family.make(schema.task, params, n_classes, seed, 1, metric.name)
                model.fit(Xtr, y[sub], Xva, y[va], deadline=deadline)
                tr_scores.append(metric(y[sub], model.predict_raw(Xtr), n_classes))
                va_scores.append(metric(y[va], model.predict_raw(Xva), n_classes))
            n_used = len(sub)
        if not va_scores:
            break
        points.append({"fraction": frac, "rows": n_used, "train": float(np.mean(tr_scores)),
                       "validation": float(np.mean(va_scores))})  # fmt: skip
    if len(points) < 2:
        return None
    return {"family": family.key, "metric": metric.name, "points": points, "seconds": round(time.monotonic() - t0, 2)}


def _rel(metric: Metric, train: float, val: float) -> float:
    """How much better the training score is than the validation score (0 = no gap), as a share."""
    if metric.name in ("roc_auc", "accuracy", "balanced_accuracy", "f1", "f1_macro", "r2"):
        return train - val  # bounded scores: absolute difference
    scale = max(abs(val), 1e-12)
    return (val - train) / scale if not metric.greater_is_better else (train - val) / scale


def advice(metric: Metric, gaps: list[dict[str, Any]], curve: dict[str, Any] | None, baseline: float | None,
           score: float) -> list[dict[str, str]]:  # fmt: skip
    """Plain-language diagnosis: over- or underfitting, whether more data would help."""
    out: list[dict[str, str]] = []
    if gaps:
        worst = max(gaps, key=lambda g: g["gap"])
        if worst["gap"] > 0.15 or (metric.name == "roc_auc" and worst["gap"] > 0.08):
            out.append({"level": "warn", "text": (
                f"The model is overfitting: {worst['model']} scores {worst['train']:.4g} on the rows it was trained on "
                f"but {worst['validation']:.4g} in cross-validation. Stronger regularisation, fewer features or more "
                "rows would narrow the gap; the cross-validated figure is the one to trust.")})  # fmt: skip
        else:
            out.append({"level": "ok", "text": (
                f"No sign of harmful overfitting: the largest train/validation gap is {worst['gap']:.3g} "
                f"({worst['model']}).")})  # fmt: skip
    if baseline is not None:
        better = metric.better(score, baseline)
        span = abs(score - baseline)
        if not better or span < 0.02 * max(abs(baseline), 1e-12) or (metric.name == "roc_auc" and score < 0.6):
            out.append({"level": "bad", "text": (
                f"The model is underfitting or the features carry little signal: {metric.name} {score:.4g} against "
                f"{baseline:.4g} for always predicting the average/prior. More informative columns would help more "
                "than more tuning.")})  # fmt: skip
    if curve and len(curve["points"]) >= 2:
        p = curve["points"]
        a, b = p[-2], p[-1]
        gain = b["validation"] - a["validation"] if metric.greater_is_better else a["validation"] - b["validation"]
        rel = gain / max(abs(b["validation"]), 1e-12)
        if rel > 0.005:
            out.append({"level": "warn", "text": (
                f"More data would help: going from {a['rows']:,} to {b['rows']:,} training rows improved the "
                f"validation {metric.name} from {a['validation']:.4g} to {b['validation']:.4g}, and the curve has "
                "not flattened.")})  # fmt: skip
        else:
            out.append({"level": "ok", "text": (
                f"The learning curve has flattened ({a['rows']:,} → {b['rows']:,} rows changed validation "
                f"{metric.name} by {gain:+.3g}): more rows of the same kind are unlikely to help much; "
                "new features would.")})  # fmt: skip
    return out


def gap_rows(metric: Metric, rows: list[tuple[str, float, float]]) -> list[dict[str, Any]]:
    """``(model, train score, validation score)`` → rows with the relative gap (see :func:`advice`)."""
    return [
        {"model": m, "train": float(t), "validation": float(v), "gap": float(_rel(metric, t, v))} for m, t, v in rows
    ]


def choose_threshold(curve: dict[str, Any], objective: str, cost_ratio: float = 1.0) -> float:
    """A threshold from :func:`thresholds` output: ``"f1"`` (best F1) or ``"cost"`` (least
    ``cost_ratio`` × false positives + false negatives)."""
    t = np.asarray(curve["threshold"], dtype=float)
    if objective == "f1":
        return float(t[int(np.argmax(curve["f1"]))])
    c = curve["counts"]
    cost = cost_ratio * np.asarray(c["fp"], dtype=float) + np.asarray(c["fn"], dtype=float)
    return float(t[int(np.argmin(cost))])


def resolve_threshold(task: str, threshold: float | str, cost_ratio: float, curve: dict[str, Any] | None) -> float:
    """Validate ``AutoML.set_threshold``'s arguments and return the threshold to use."""
    from mlwright.errors import ConfigError

    if task != "binary":
        raise ConfigError(f"a decision threshold applies to binary tasks; this model is {task}")
    if isinstance(threshold, str):
        if threshold not in ("f1", "cost"):
            raise ConfigError(f"threshold must be a probability, 'f1' or 'cost', got {threshold!r}")
        if not (isinstance(cost_ratio, (int, float)) and cost_ratio > 0):
            raise ConfigError(f"cost_ratio must be a positive number, got {cost_ratio!r}")
        if not curve:
            raise ConfigError(
                "choosing a threshold needs the cross-validated predictions, which this model does not have "
                "(report_seconds=0); pass a probability instead"
            )
        return choose_threshold(curve, threshold, float(cost_ratio))
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ConfigError(f"threshold must be a probability, 'f1' or 'cost', got {threshold!r}") from None
    if not 0.0 < value < 1.0:
        raise ConfigError(f"threshold must lie strictly between 0 and 1, got {threshold!r}")
    return value


def encode_labels(schema: Any, y) -> tuple[np.ndarray, list[Any]]:
    """Targets as the model's class indices (or floats for regression) and the labels it never saw."""
    import pandas as pd

    if schema.task == "regression":
        return pd.to_numeric(y, errors="coerce").to_numpy(float), []
    from mlwright.data.schema import class_codes

    codes = class_codes(schema.classes, y)
    unknown = list(pd.unique(y[(codes < 0) & y.notna().to_numpy()]))
    return codes, unknown


def evaluate_model(automl, df, target: str | None = None) -> dict[str, Any]:
    """``AutoML.evaluate``: every applicable metric on labelled rows (plus the confusion matrix)."""
    from mlwright.errors import EmptyDataError, TargetError, TargetNotFoundError, did_you_mean

    schema = automl.schema_
    target = target or schema.target
    if target not in df.columns:
        raise TargetNotFoundError(
            f"evaluation data lacks the target column {target!r}{did_you_mean(target, map(str, df.columns))}"
        )
    df = df.loc[df[target].notna()]
    if len(df) == 0:
        raise EmptyDataError(f"no rows with a value in target column {target!r} to evaluate on")
    y, unknown = encode_labels(schema, df[target])
    if unknown:
        raise TargetError(f"target has labels the model never saw: {unknown[:5]}; known: {schema.classes}")
    raw = automl.predict_scores(df.drop(columns=[target]))
    if schema.task == "regression":
        out: dict[str, Any] = score_all("regression", y, raw)
    else:
        n = len(schema.classes)
        out = score_all(schema.task, y, raw, n)
        threshold = automl.threshold_
        hard = raw
        if threshold is not None and schema.task == "binary":
            lab = (raw[:, 1] >= threshold).astype(float)
            hard = np.column_stack([1 - lab, lab])
            out["threshold"] = threshold
            for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1"):
                if name in out:
                    out[name] = float(get_metric(name, "binary")(y, hard, n))
        out["confusion_matrix"] = confusion_matrix(y, hard, n)
        out["labels"] = list(schema.classes)
    out["n_rows"] = len(df)
    out["metric"] = schema.metric
    return out


EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _fit_calibration(method: str, p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        m = IsotonicRegression(out_of_bounds="clip", y_min=EPS, y_max=1 - EPS).fit(p, y)
        return {"method": method, "x": m.X_thresholds_.tolist(), "y": m.y_thresholds_.tolist()}
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6).fit(_logit(p)[:, None], y)
    return {"method": method, "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def apply_calibration(cal: dict[str, Any], p: np.ndarray) -> np.ndarray:
    """Map binary probabilities through a fitted calibration (isotonic steps or a sigmoid on the logit)."""
    if cal["method"] == "isotonic":
        return np.clip(np.interp(p, cal["x"], cal["y"]), EPS, 1 - EPS)
    return 1.0 / (1.0 + np.exp(-(cal["a"] * _logit(p) + cal["b"])))


def calibration_methods(y: np.ndarray, p: np.ndarray, folds: list[np.ndarray]) -> dict[str, Any]:
    """Isotonic and sigmoid (Platt) calibration of binary out-of-fold probabilities.

    Each is scored cross-fitted (fitted on the other folds' rows, applied to each fold) by log loss,
    Brier score and expected calibration error; its map fitted on every row is kept for
    ``AutoML.calibrate``.  ``best`` names the method with the lowest cross-fitted log loss
    (``"none"`` when neither beats the raw probabilities).
    """

    def scores(q: np.ndarray) -> dict[str, float]:
        q = np.clip(q, EPS, 1 - EPS)
        ll = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
        c = _calibration(y, q)
        return {"log_loss": ll, "brier": c["brier"], "ece": c["ece"]}

    out: dict[str, Any] = {"none": scores(p)}
    n = len(p)
    for method in ("isotonic", "sigmoid"):
        q = np.empty(n)
        ok = True
        for idx in folds:
            rest = np.setdiff1d(np.arange(n), idx)
            if len(np.unique(y[rest])) < 2:
                ok = False
                break
            q[idx] = apply_calibration(_fit_calibration(method, p[rest], y[rest]), p[idx])
        if ok:
            out[method] = scores(q) | {"map": _fit_calibration(method, p, y)}
    out["best"] = min((k for k in ("none", "isotonic", "sigmoid") if k in out), key=lambda k: out[k]["log_loss"])
    return out


def resolve_calibration(
    task: str, method: str | None, methods: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``AutoML.calibrate``: the calibration map to use (None: none) and its cross-fitted scores."""
    from mlwright.errors import ConfigError

    if method is None:
        return None, None
    if task != "binary":
        raise ConfigError(f"probability calibration applies to binary tasks; this model is {task}")
    if method not in ("best", "isotonic", "sigmoid"):
        raise ConfigError(f"calibration method must be 'best', 'isotonic', 'sigmoid' or None, got {method!r}")
    if not methods:
        raise ConfigError(
            "calibrating needs the cross-validated predictions, which this model does not have (report_seconds=0)"
        )
    name = methods["best"] if method == "best" else method
    if name == "none":
        return None, methods["none"] | {"method": "none"}
    if name not in methods:
        raise ConfigError(f"{name} calibration could not be fitted on these predictions (a fold has one class)")
    entry = methods[name]
    return entry["map"], {k: v for k, v in entry.items() if k != "map"} | {"method": name}
