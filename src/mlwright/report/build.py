"""Gather the model report's data from a fitted AutoML (calls :mod:`mlwright.evaluation.explain` and
:mod:`mlwright.evaluation.diagnose`; draws nothing).

Runs after ``fit``, outside its budget, within its own time bound (``AutoML.report_seconds``,
default 60 s): every stage gets a share of it and samples rows where exactness is not needed; the
``limits`` entry says what was sampled and what ran out of time.  From the fit itself (while its
training rows are still at hand) it uses the cross-validated predictions, learning curves and
train/validation gaps; with labelled test data it adds the test evaluation, and importance,
SHAP values and partial dependence are computed on the test rows instead of the training rows.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlwright._version import __version__
from mlwright.budget import Deadline
from mlwright.errors import MlwrightWarning
from mlwright.evaluation import diagnose, explain
from mlwright.evaluation.metrics import get_metric
from mlwright.jsonsafe import default
from mlwright.models import get as get_family

__all__ = ["build_report_data", "report_context"]

SHARES = {"evaluation": 0.1, "gaps": 0.1, "learning_curve": 0.3, "importance": 0.25, "shap": 0.1, "pdp": 0.15}
SAMPLE_ROWS = {"importance": 2000, "shap": 500, "pdp": 300, "gaps": 3000}
KEEP_BYTES = 200_000_000  # training rows kept after fit for the report (learning curve, explanations)


def report_context(fitted, X: pd.DataFrame, y: np.ndarray, splits, cleaning, report_seconds: float,
                   seed: int | None) -> dict[str, Any] | None:  # fmt: skip
    """What the report needs from a fit (``fitted`` still holds its out-of-fold outputs); None when the report
    is off (``report_seconds`` 0).  Above ``KEEP_BYTES`` (a rough
    estimate: 8 bytes per number, 64 per text cell) a random sample of the rows is kept instead."""
    if not float(report_seconds or 0) > 0:
        return None
    per_row = sum(8 if dt.kind in "fiubmM" else 64 for dt in X.dtypes) or 8
    rows = None
    if len(X) * per_row > KEEP_BYTES:
        k = max(1000, int(KEEP_BYTES / per_row))
        rng = np.random.default_rng(int(seed or 0))
        rows = np.sort(rng.choice(len(X), k, replace=False))
        X = X.iloc[rows]
    return {"X": X, "rows": rows, "y": y, "splits": splits, "cleaning": cleaning, "oof": fitted.oof}


def _deadline(seconds: float, share: float) -> Deadline:
    return Deadline(time.monotonic() + max(0.5, seconds * share))


def _sample(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, k, replace=False)) if n > k else np.arange(n)


def build_report_data(fitted, ctx: dict[str, Any] | None, test: pd.DataFrame | None = None, seconds: float = 60.0,
                      seed: int | None = 0, sensitive: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The model report of a :class:`~mlwright.fitted.FittedModel` as plain values (see the module docstring);
    ``ctx``: what :func:`report_context` kept from the fit (None: the training rows are gone); ``sensitive``:
    columns of ``test`` to measure the model per group on (default: those named at fit)."""
    t_start = time.monotonic()
    schema = fitted.schema
    metric = get_metric(fitted.metric, fitted.task)
    n_classes = len(schema.classes) if fitted.task != "regression" else 0
    heavy = seconds > 0  # 0: the light report (leaderboard, findings, model card) only
    ctx = ctx if heavy else None
    test = test if heavy else None
    stored = fitted.report or {}
    seed = int(seed or 0)
    limits: dict[str, Any] = {"seconds": seconds, "sampled": [], "out_of_time": []}
    data: dict[str, Any] = {
        "model": _model_summary(fitted),
        "leaderboard": _leaderboard(fitted),
        "findings": [f.to_dict() for f in fitted.findings],
        "feature_selection": fitted.feature_selection,
    }
    if fitted.fairness:
        data["fairness"] = fitted.fairness

    def predict(X: pd.DataFrame) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fitted.scores(X)

    # ---- cross-validated evaluation, gaps and learning curve: only while the training rows are at hand
    if ctx is not None:
        X, y, splits, rows = ctx["X"], ctx["y"], ctx["splits"], ctx.get("rows")
        ys = y if rows is None else y[rows]  # targets of the rows kept
        if rows is not None:
            limits["sampled"].append(f"training rows kept for the report: {len(rows):,} of {len(y):,}")
        mask = splits.oof_mask
        oof = sum(m.weight * ctx["oof"][m.name] for m in fitted.members)
        folds = [va[mask[va]] for _, va in splits.folds]
        pos = np.cumsum(mask) - 1  # row index → index among the OOF rows
        fold_idx = [pos[f] for f in folds if len(f)]
        data["cv"] = diagnose.evaluation(
            y[mask], oof[mask], fitted.task, metric, schema.classes, fold_idx, seed,
            _deadline(seconds, SHARES["evaluation"]),
        )  # fmt: skip
        data["gaps"] = _gaps(
            fitted, X, ys, (y[mask], oof[mask]), metric, n_classes, seed, _deadline(seconds, SHARES["gaps"])
        )
        if len(X) > SAMPLE_ROWS["gaps"]:
            limits["sampled"].append(f"training scores: {SAMPLE_ROWS['gaps']:,} of {len(X):,} rows")
        data["learning_curve"] = _learning_curve(fitted, ctx, metric, n_classes, seed, seconds)
        if data["learning_curve"] is None:
            limits["out_of_time"].append("learning curve")
        data["baseline"] = _baseline(y[mask], metric, n_classes)
        data["advice"] = diagnose.advice(
            metric, data["gaps"], data["learning_curve"], data["baseline"], float(data["cv"]["scores"][metric.name])
        )
        expl_X, expl_y, where = X, ys, "training rows (in-sample for models refit on all rows)"
    else:
        for key in ("cv", "gaps", "learning_curve", "baseline", "advice"):
            if key in stored:
                data[key] = stored[key]
        expl_X = expl_y = None
        where = ""

    # ---- test evaluation
    if test is not None:
        target = schema.target
        t = test.loc[test[target].notna()] if target in test.columns else test.iloc[:0]
        if len(t):
            yt = diagnose.encode_labels(schema, t[target])[0]
            keep = yt >= 0 if fitted.task != "regression" else ~np.isnan(yt)
            t, yt = t.loc[keep], yt[keep]
            Xt = t.drop(columns=[target])
            outputs = predict(Xt)
            data["test"] = diagnose.evaluation(
                yt, outputs, fitted.task, metric, schema.classes, None, seed, _deadline(seconds, SHARES["evaluation"])
            )
            expl_X, expl_y, where = Xt.reset_index(drop=True), yt, "test rows"
            data |= _test_fairness(fitted, t, yt, outputs, sensitive)

    # ---- explanations
    if expl_X is not None and len(expl_X):
        data |= _explanations(fitted, predict, expl_X, expl_y, where, metric, n_classes, seed, seconds, limits)
    else:
        for key in ("importance", "shap", "pdp", "pdp_on"):
            if key in stored:
                data[key] = stored[key]
    data["model_card"] = _model_card(fitted, data)
    limits["took_seconds"] = round(time.monotonic() - t_start, 2)
    data["limits"] = limits
    data["generated_with"] = __version__
    return json.loads(json.dumps(data, default=default))


def _explanations(fitted, predict, expl_X, expl_y, where, metric, n_classes, seed, seconds, limits) -> dict[str, Any]:
    """Permutation importance, SHAP values and partial dependence on the rows at hand (test rows when given)."""
    schema = fitted.schema
    out: dict[str, Any] = {}
    cols = [c for c in schema.features if c in expl_X.columns]
    idx = _sample(len(expl_X), SAMPLE_ROWS["importance"], seed)
    if len(idx) < len(expl_X):
        limits["sampled"].append(f"permutation importance: {len(idx):,} of {len(expl_X):,} {where}")
    imp = explain.permutation_importance(
        predict, expl_X.iloc[idx][cols], expl_y[idx], metric, n_classes, repeats=3,
        deadline=_deadline(seconds, SHARES["importance"]), seed=seed,
    )  # fmt: skip
    imp["on"] = where
    if not imp["complete"]:
        limits["out_of_time"].append("permutation importance (some columns)")
    out["importance"] = imp
    out["shap"] = _shap(fitted, expl_X, seed, where)
    top = [r["column"] for r in imp["importance"][:4]]
    kinds = {c.name: c.kind for c in schema.columns}
    pidx = _sample(len(expl_X), SAMPLE_ROWS["pdp"], seed)
    out["pdp"] = explain.partial_dependence(
        predict, expl_X.iloc[pidx][cols], [(c, kinds[c]) for c in top], schema.classes or None,
        deadline=_deadline(seconds, SHARES["pdp"]),
    )  # fmt: skip
    out["pdp_on"] = f"{len(pidx):,} {where}"
    return out


def _test_fairness(fitted, t: pd.DataFrame, yt: np.ndarray, outputs: np.ndarray,
                   sensitive: list[str] | None) -> dict[str, Any]:  # fmt: skip
    """``{"fairness_test": group metrics on the test rows}`` for the sensitive columns named (at fit when
    ``sensitive`` is None); empty when none is named."""
    cols = list(sensitive or (fitted.fairness or {}).get("sensitive") or [])
    if not cols:
        return {}
    missing = [c for c in cols if c not in t.columns]
    if missing:
        from mlwright.errors import ConfigError

        raise ConfigError(f"the test data has no sensitive column {', '.join(map(repr, missing))}: "
                          "add it to measure the model per group, or name others with --sensitive")  # fmt: skip
    from mlwright.fairness.measure import model_fairness

    positive = fitted.schema.classes[1] if fitted.task == "binary" else None
    threshold = fitted.threshold
    if fitted.group_thresholds:  # decided per group, as served
        from mlwright.fairness.thresholds import GroupThresholds

        threshold = GroupThresholds.from_dict(fitted.group_thresholds).for_rows(t)
    return {"fairness_test": model_fairness(fitted.task, outputs, yt, t[cols].reset_index(drop=True),
                                            threshold, positive, f"{len(t):,} test rows")}  # fmt: skip


def _model_summary(fitted) -> dict[str, Any]:
    return {
        "task": fitted.task,
        "metric": fitted.metric,
        "target": fitted.schema.target,
        "classes": [str(c) for c in fitted.schema.classes],
        "score_val": fitted.estimate.score_val,
        "estimate_kind": fitted.estimate.kind,
        "validation": fitted.estimate.validation,
        "n_folds": fitted.estimate.n_folds,
        "best_model": fitted.best_model,
        "fit_seconds": fitted.provenance.fit_seconds,
        "predict_ms": fitted.estimate.predict_ms,
        "model_bytes": fitted.estimate.model_bytes,
        "training_data": fitted.provenance.training_fingerprint,
        "features": fitted.schema.features,
        "dropped": [{"column": c.name, "kind": c.kind} for c in fitted.schema.columns if not c.used],
        "members": [{"name": m.name, "family": m.family, "weight": m.weight, "refit": m.refit} for m in fitted.members],
    }


def _leaderboard(fitted) -> list[dict[str, Any]]:
    lb = fitted.leaderboard
    cols = [c for c in ("model", "family", "score_val", "fit_seconds", "predict_seconds", "served") if c in lb.columns]
    return lb[cols].head(30).replace({np.nan: None}).to_dict(orient="records")


def _baseline(y: np.ndarray, metric, n_classes: int) -> float | None:
    """Score of always predicting the training prior (classification) or mean (regression)."""
    try:
        if n_classes:
            prior = np.bincount(y, minlength=n_classes) / len(y)
            return float(metric(y, np.tile(prior, (len(y), 1)), n_classes))
        return float(metric(y, np.full(len(y), y.mean()), 0))
    except ValueError:
        return None


def _gaps(fitted, X, y, cv, metric, n_classes, seed, deadline) -> list[dict[str, Any]]:
    """Train (in-sample) vs cross-validated score for each served member and the ensemble."""
    idx = _sample(len(X), SAMPLE_ROWS["gaps"], seed)
    Xs, ys = X.iloc[idx], y[idx]
    lb = fitted.leaderboard.set_index("model")["score_val"].to_dict()
    rows = []
    total = None
    for m in fitted.members:
        if deadline.expired():
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = fitted.member_scores(Xs, m)
        total = p * m.weight if total is None else total + p * m.weight
        if m.name in lb:
            rows.append((m.name, metric(ys, p, n_classes), lb[m.name]))
    if len(fitted.members) > 1 and total is not None and len(rows) == len(fitted.members):
        rows.append(("ensemble", metric(ys, total, n_classes), metric(cv[0], cv[1], n_classes)))
    return diagnose.gap_rows(metric, rows)


def _learning_curve(fitted, ctx, metric, n_classes, seed, seconds) -> dict[str, Any] | None:
    ranked = sorted(
        (r for r in fitted.trials if r["status"] == "ok"),
        key=lambda r: -r["score"] if metric.greater_is_better else r["score"],
    )
    if not ranked:
        return None
    best = ranked[0]
    fam = get_family(best["family"])
    cleaning = ctx["cleaning"]
    y, folds, rows = ctx["y"], ctx["splits"].folds, ctx.get("rows")
    if rows is not None:  # the folds restricted to the rows kept, as positions among them
        pos = np.full(len(y), -1)
        pos[rows] = np.arange(len(rows))
        folds = [(pos[tr][pos[tr] >= 0], pos[va][pos[va] >= 0]) for tr, va in folds]
        y = y[rows]
    try:
        return diagnose.learning_curve(
            fam, best["params"], fitted.schema, ctx["X"], y, folds, metric, n_classes,
            _deadline(seconds, SHARES["learning_curve"]), seed=seed, impute=cleaning.impute,
            clip=cleaning.clip_quantile,
        )  # fmt: skip
    except Exception as exc:  # a refit that fails must not cost the user the whole report
        warnings.warn(f"learning curve skipped: {type(exc).__name__}: {exc}", MlwrightWarning, stacklevel=2)
        return None


def _shap(fitted, X: pd.DataFrame, seed: int, where: str) -> dict[str, Any] | None:
    idx = _sample(len(X), SAMPLE_ROWS["shap"], seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = explain.served_tree_shap(fitted, X.iloc[idx])
        except Exception as exc:  # SHAP is an extra view; its failure must not sink the report
            warnings.warn(f"SHAP values skipped: {type(exc).__name__}: {exc}", MlwrightWarning, stacklevel=2)
            return None
    if found is None:
        return None
    member, out = found
    if out is not None:
        out["on"] = f"{len(idx):,} {where}"
        if len(member.preps) > 1:
            out["note"] = f"{member.name} serves {len(member.preps)} fold models: their values are averaged"
    return out


def _model_card(fitted, data: dict[str, Any]) -> dict[str, Any]:
    s = fitted.schema
    td = fitted.provenance.training_fingerprint or {}
    est = data["model"]
    crit = [f for f in data["findings"] if f["severity"] == "critical"]
    warn = [f for f in data["findings"] if f["severity"] == "warning"]
    limitations = [
        "The estimate comes from cross-validation on the training data: it holds for new data only while that data "
        "looks like the training data (monitor drift in production)."
    ]
    if crit:
        limitations.append(
            f"{len(crit)} critical data finding(s) — "
            + "; ".join(f"{f['column']}: {f['action'] or f['message']}" for f in crit[:5])
        )
    if warn:
        limitations.append(f"{len(warn)} data warning(s); see Findings.")
    for a in data.get("advice", []):
        if a["level"] != "ok":
            limitations.append(a["text"])
    cal = (data.get("cv") or {}).get("calibration")
    if fitted.task != "regression" and cal and cal["ece"] > 0.05:
        limitations.append(
            f"Probabilities are off by {cal['ece']:.2f} on average (expected calibration error): check the "
            "calibration curve before reading them as frequencies."
        )
    card: dict[str, Any] = {}
    fa = data.get("fairness_test") or data.get("fairness")
    if fa:
        card["fairness"] = (
            f"Measured per group of {', '.join(fa['sensitive'])} on the {fa['on']}: "
            + ("; ".join(fa["advice"]) if fa["advice"] else "no gap above the rules of thumb")
            + "."
            + (f" Mitigation: {fitted.fairness['mitigation']}" if (fitted.fairness or {}).get("mitigation") else "")
        )
        limitations += [a for a in fa["advice"] if "below the" in a or "differ by" in a]
    return card | {
        "intended_use": (
            f"Predict {s.target!r} ({fitted.task}) for rows with the same {len(s.features)} input columns as "
            f"the training data. Decisions that matter should weigh the error rates below."
        ),
        "training_data": (
            f"{td.get('rows', '?'):,} rows × {td.get('columns', '?')} columns "
            f"(SHA-256 {str(td.get('sha256', ''))[:12]}…)"
            if td.get("rows")
            else "not recorded"
        ),
        "evaluation": (
            f"{est['metric']} {est['score_val']:.4g} ({est['estimate_kind'] or 'cross-validated'} estimate, "
            f"{est['n_folds']} folds)"
        ),
        "limitations": limitations,
    }
