"""Segments described in words a manager reads: each cluster's size, the columns that set it apart from the
rest (by effect size) and a representative row.

Effect sizes: a number's standardised mean difference (Cohen's d: the gap between the cluster's mean and the
rest's, in pooled standard deviations); a category's largest gap in a level's share (Cohen's h,
``2·asin√p₁ − 2·asin√p₂``).  By Cohen's rule of thumb 0.2 is small, 0.5 medium, 0.8 large.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import Schema

__all__ = ["EFFECT_SHOWN", "describe_clusters", "effects"]

EFFECT_SHOWN = 0.5  # effects at least this large (Cohen's "medium") are named in the summary
TOP = 4  # columns named per cluster


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "–"
    a = abs(v)
    if a >= 1e5 or (0 < a < 1e-3):
        return f"{v:.3g}"
    return f"{v:,.0f}" if a >= 100 else f"{v:.3g}"


def _number_effect(x: np.ndarray, inside: np.ndarray) -> dict[str, Any] | None:
    a, b = x[inside], x[~inside]
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    d = float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0
    word = "higher" if d > 0 else "lower"
    return {
        "effect": d,
        "kind": "number",
        "cluster_mean": float(a.mean()),
        "rest_mean": float(b.mean()),
        "text": f"{word} {{col}} (mean {_fmt(a.mean())} vs {_fmt(b.mean())})",
    }


def _level_effect(s: pd.Series, inside: np.ndarray) -> dict[str, Any] | None:
    v = s.astype(object).where(s.notna(), "(missing)").astype(str).to_numpy()
    if inside.sum() == 0 or (~inside).sum() == 0:
        return None
    levels, counts = np.unique(v[inside], return_counts=True)
    best: dict[str, Any] | None = None
    for lv in levels[np.argsort(-counts)][:20]:
        p1, p2 = float(np.mean(v[inside] == lv)), float(np.mean(v[~inside] == lv))
        h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2))
        if best is None or abs(h) > abs(best["effect"]):
            best = {
                "effect": float(h),
                "kind": "level",
                "level": lv,
                "cluster_share": p1,
                "rest_share": p2,
                "text": f"{'more often' if h > 0 else 'less often'} {{col}} = {lv} ({p1:.0%} vs {p2:.0%})",
            }
    return best


def effects(df: pd.DataFrame, schema: Schema, inside: np.ndarray) -> list[dict[str, Any]]:
    """Every used column's effect for the rows ``inside`` against the rest, largest first."""
    out = []
    for c in schema.columns:
        if not c.used or c.name not in df.columns or c.kind == "text":
            continue
        s = df[c.name]
        if c.kind in ("numeric", "boolean"):
            e = _number_effect(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float), inside)
        elif c.kind == "datetime":
            days = (pd.to_datetime(s, errors="coerce") - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            e = _number_effect(days.to_numpy(dtype=float), inside)
            if e is not None:
                e["text"] = f"{'later' if e['effect'] > 0 else 'earlier'} {{col}}"
        else:
            e = _level_effect(s, inside)
        if e is not None:
            e["column"] = c.name
            e["text"] = e["text"].replace("{col}", repr(c.name))
            out.append(e)
    return sorted(out, key=lambda e: -abs(e["effect"]))


def describe_clusters(
    df: pd.DataFrame, schema: Schema, X: np.ndarray, labels: np.ndarray, centroids: np.ndarray
) -> list[dict[str, Any]]:
    """Per cluster: ``cluster``, ``size``, ``share``, the top effects, a one-line ``summary`` and the
    representative row (the training row nearest the cluster's centre, in the user's columns)."""
    from mlwright.jsonsafe import plain

    out = []
    for k in range(len(centroids)):
        inside = labels == k
        eff = effects(df, schema, inside)
        named = [e for e in eff if abs(e["effect"]) >= EFFECT_SHOWN][:TOP] or eff[:1]
        members = np.flatnonzero(inside)
        rep: dict[str, Any] = {}
        if len(members):
            j = members[np.argmin(((X[members] - centroids[k]) ** 2).sum(1))]
            rep = {str(c): (None if v is pd.NA else plain(v)) for c, v in df.iloc[int(j)].items()}
        share = float(inside.mean())
        summary = f"Cluster {k} ({share:.0%} of rows): " + (
            "; ".join(e["text"] for e in named) if named else "no column sets it apart"
        )
        out.append(
            {
                "cluster": k,
                "size": int(inside.sum()),
                "share": share,
                "effects": eff[:8],
                "summary": summary,
                "representative": rep,
            }
        )
    return out
