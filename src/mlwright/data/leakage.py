"""Target leakage and train/serve skew: the checks that need a model-free look at the target.

:func:`single_feature_power` measures how well one column predicts the target on its own: the
column is cut into at most 64 bins (quantiles for numbers and dates, the most frequent levels for
categories, one bin for missing values), and the target's distribution per bin, learned on 2 of 3
random folds, predicts the third.  It runs on a random sample of at most ``CheckConfig.sample_rows``
rows.  :func:`skew_check` is adversarial validation with a small LightGBM classifier.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from mlwright.data.findings import CheckConfig, Ctx, Finding, finding, pct
from mlwright.data.schema import ColumnSpec, infer_columns
from mlwright.monitoring.stats import column_bins

__all__ = ["single_feature_power", "skew_check", "target_relation"]


def single_feature_power(codes: np.ndarray, y: np.ndarray, task: str, seed: int = 0) -> dict[str, float]:
    """Out-of-fold power of one binned column to predict the target on its own.

    Returns ``{"measure": …, "score": …}``: ROC AUC (binary, symmetric: max(AUC, 1 − AUC)),
    the share of the majority-class error removed (multiclass) or R² (regression).
    """
    n = len(codes)
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, 3, n)
    n_bins = int(codes.max()) + 1
    if task == "regression":
        y = y.astype(float)
        pred = np.empty(n)
        for f in range(3):
            tr, va = fold != f, fold == f
            mean = y[tr].mean() if tr.any() else 0.0
            sums = np.bincount(codes[tr], y[tr], minlength=n_bins)
            cnt = np.bincount(codes[tr], minlength=n_bins)
            pred[va] = ((sums + mean) / (cnt + 1))[codes[va]]
        sst = float(((y - y.mean()) ** 2).sum())
        r2 = 1 - float(((y - pred) ** 2).sum()) / sst if sst > 0 else 0.0
        return {"measure": "R²", "score": r2}
    k = int(y.max()) + 1
    if task == "binary" and k > 2:
        task = "multiclass"
    proba = np.empty((n, k))
    for f in range(3):
        tr, va = fold != f, fold == f
        prior = np.bincount(y[tr], minlength=k) / max(1, tr.sum())
        counts = np.bincount(codes[tr] * k + y[tr], minlength=n_bins * k).reshape(n_bins, k)
        p = (counts + prior) / (counts.sum(axis=1, keepdims=True) + 1)
        proba[va] = p[codes[va]]
    if task == "binary":
        if len(np.unique(y)) < 2:
            return {"measure": "AUC", "score": 0.5}
        auc = float(roc_auc_score(y, proba[:, 1]))
        return {"measure": "AUC", "score": max(auc, 1 - auc)}
    err = float((proba.argmax(axis=1) != y).mean())
    base = 1 - np.bincount(y, minlength=k).max() / n
    return {"measure": "error removed", "score": 1 - err / base if base > 0 else 0.0}


def _encoded_target(ctx: Ctx, df: pd.DataFrame) -> np.ndarray:
    y = df[ctx.target]
    if ctx.task == "regression":
        return pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    return pd.factorize(y.astype(str))[0]


def target_relation(ctx: Ctx) -> dict[str, dict[str, float]]:
    """Per used column: its single-feature power (:func:`single_feature_power`) on the sample."""
    if ctx.target is None or ctx.task is None:
        return {}
    df = ctx.sample()
    df = df.loc[df[ctx.target].notna()]
    if len(df) < 30:
        return {}
    y = _encoded_target(ctx, df)
    out = {}
    for c in ctx.used:
        codes = column_bins(df[c.name], c)
        if codes is not None:
            out[c.name] = single_feature_power(codes, y, ctx.task, ctx.cfg.seed)
    return out


def check_leakage(ctx: Ctx) -> list[Finding]:
    """Single columns that give the target away: near-perfect alone, copies/functions, post-outcome dates."""
    rel = target_relation(ctx)
    if not rel:
        return []
    cfg = ctx.cfg
    limit = {"AUC": cfg.leak_auc, "error removed": cfg.leak_gain, "R²": cfg.leak_r2}
    warn = {"AUC": cfg.leak_warn_auc, "error removed": cfg.leak_warn_gain, "R²": cfg.leak_warn_r2}
    df = ctx.sample()
    df = df.loc[df[ctx.target].notna()]
    y = _encoded_target(ctx, df)
    out = []
    for name, r in rel.items():
        c = next(s for s in ctx.specs if s.name == name)
        rho = None
        if ctx.task == "regression" and c.kind == "numeric":
            x = (pd.to_numeric(df[name], errors="coerce") if c.from_text else df[name]).to_numpy(dtype=float)
            ok = ~np.isnan(x)
            if ok.sum() >= 30 and np.ptp(x[ok]) > 0:
                rho = float(spearmanr(x[ok], y[ok]).statistic)
        strong = r["score"] >= limit[r["measure"]]
        copy = rho is not None and abs(rho) >= cfg.leak_rho
        if not (strong or copy):
            if r["score"] >= warn[r["measure"]]:
                out.append(_suspicious(name, r, rho))
            continue
        missing = df[name].isna().to_numpy()
        via_missing = False
        if 0.01 <= missing.mean() <= 0.99:
            via = single_feature_power(missing.astype(int), y, ctx.task, cfg.seed)
            via_missing = via["score"] >= limit[via["measure"]] - 0.02
        what = f"out-of-fold {r['measure']} {r['score']:.3f} from this column alone"
        if copy:
            msg = f"{name!r} is a near-copy or monotone function of the target (Spearman ρ = {rho:.4f})"
        elif via_missing:
            msg = (
                f"{name!r} is filled in only for some outcomes: whether it is missing alone predicts the target "
                f"({what}); such fields are usually recorded after the outcome"
            )
        elif c.kind == "datetime":
            msg = (
                f"{name!r} is a timestamp that predicts the target almost perfectly ({what}): "
                "probably recorded after the outcome"
            )
        else:
            msg = f"{name!r} alone predicts the target almost perfectly ({what})"
        out.append(
            finding(
                "leakage",
                "critical",
                name,
                msg + " — target leakage unless it is truly known at prediction time",
                "fit drops it; if it is available when you predict, keep it with cleaning={'keep': ['" + name + "']}",
                measure=r["measure"],
                score=r["score"],
                spearman=rho,
            )
        )
    if ctx.time_column and ctx.time_column in ctx.df.columns:
        out += _post_time_findings(ctx)
    return out


def _suspicious(name: str, r: dict[str, float], rho: float | None) -> Finding:
    """The warning tier: one column is strong enough alone to be worth a look, not enough to be sure."""
    return finding(
        "leakage",
        "warning",
        name,
        f"{name!r} alone predicts the target suspiciously well (out-of-fold {r['measure']} {r['score']:.3f} from "
        "this column alone): check that it is known when you predict, not recorded after the outcome",
        f"fit keeps it; if it is recorded after the outcome, drop it with cleaning={{'drop': ['{name}']}}",
        measure=r["measure"],
        score=r["score"],
        spearman=rho,
    )


def _post_time_findings(ctx: Ctx) -> list[Finding]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pd.to_datetime(ctx.df[ctx.time_column], errors="coerce", format="mixed", utc=True)
    out = []
    for c in ctx.used:
        if c.kind != "datetime" or c.name == ctx.time_column:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = pd.to_datetime(ctx.df[c.name], errors="coerce", format="mixed", utc=True)
        both = d.notna() & ref.notna()
        if not both.any():
            continue
        after = float((d[both] > ref[both]).mean())
        if after >= 0.5:
            out.append(
                finding(
                    "leakage",
                    "warning",
                    c.name,
                    f"{c.name!r} is later than the time column {ctx.time_column!r} in {pct(after)} of rows: "
                    "it may record what happened after the prediction time",
                    f"drop it unless it is known when you predict (cleaning={{'drop': ['{c.name}']}})",
                    share_after=after,
                )
            )
    return out


def skew_check(
    train: pd.DataFrame, other: pd.DataFrame, columns: list[ColumnSpec] | None = None, config: CheckConfig | None = None
) -> list[Finding]:
    """Train/serve skew by adversarial validation.

    A LightGBM classifier learns to tell rows of ``train`` from rows of ``other`` (3-fold,
    at most ``sample_rows / 2`` rows of each).  An out-of-fold AUC near 0.5 means the tables look
    alike; above ``skew_auc`` the finding names the columns that give the difference away.
    """
    from lightgbm import LGBMClassifier

    cfg = config or CheckConfig()
    specs = columns if columns is not None else infer_columns(train)
    names = [c.name for c in specs if c.used and c.kind != "text" and c.name in other.columns]
    if not names or len(train) < 10 or len(other) < 10:
        return []
    rng = np.random.default_rng(cfg.seed)
    half = cfg.sample_rows // 2
    a = train[names].iloc[np.sort(rng.choice(len(train), min(half, len(train)), replace=False))]
    b = other[names].iloc[np.sort(rng.choice(len(other), min(half, len(other)), replace=False))]
    both = pd.concat([a, b], ignore_index=True)
    X = pd.DataFrame(index=both.index)
    for c in specs:
        if c.name not in names:
            continue
        codes = column_bins(both[c.name], c, max_bins=256)
        X[c.name] = codes if codes is not None else 0
    y = np.r_[np.zeros(len(a), int), np.ones(len(b), int)]
    fold = rng.integers(0, 3, len(y))
    pred = np.zeros(len(y))
    gain = np.zeros(len(names))
    for f in range(3):
        tr = fold != f
        m = LGBMClassifier(
            n_estimators=100,
            num_leaves=15,
            learning_rate=0.1,
            verbose=-1,
            n_jobs=1,
            random_state=cfg.seed,
            importance_type="gain",
        )
        m.fit(X[tr], y[tr])
        pred[~tr] = m.predict_proba(X[~tr])[:, 1]
        gain += m.feature_importances_
    auc = float(roc_auc_score(y, pred))
    top = [names[i] for i in np.argsort(-gain)[:5] if gain[i] > 0]
    share = gain / gain.sum() if gain.sum() > 0 else gain
    data = {"auc": auc, "top_columns": top, "importance": {names[i]: float(share[i]) for i in np.argsort(-gain)[:10]}}
    if auc < cfg.skew_auc:
        return [
            finding(
                "skew",
                "info",
                None,
                f"the two tables look alike: a classifier tells their rows apart with AUC {auc:.3f} (0.5 = not at all)",
                "nothing to do",
                **data,
            )
        ]
    return [
        finding(
            "skew",
            "critical" if auc >= 0.9 else "warning",
            top[0] if top else None,
            f"train/serve skew: a classifier tells the two tables apart with AUC {auc:.3f}; the columns that differ "
            f"most: {', '.join(map(repr, top))}",
            "check how those columns are produced in each table; retrain on recent data if the world changed",
            **data,
        )
    ]
