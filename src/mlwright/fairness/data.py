"""The data checks for fairness, before any model: who is in the data, how the target differs between
groups, and which other columns stand in for a sensitive one (proxies).

A proxy is measured like a leak (:func:`~mlwright.data.leakage.single_feature_power`): how well the column
alone, binned, predicts the sensitive attribute out of fold — ROC AUC for a two-group attribute, the share
of the majority-group error removed for more groups.  Leaving a sensitive column out of the features does
not keep a model from learning it through a strong proxy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.findings import Finding, finding, pct
from mlwright.data.leakage import single_feature_power
from mlwright.data.schema import infer_columns
from mlwright.errors import ConfigError
from mlwright.fairness.groups import FOUR_FIFTHS, MIN_GROUP_ROWS, as_groups
from mlwright.monitoring.stats import column_bins

__all__ = ["PROXY_AUC", "PROXY_GAIN", "SAMPLE_ROWS", "fairness_findings", "group_summary", "sensitive_groups"]

PROXY_AUC = 0.8  # a two-group attribute: a column alone separates the groups this well
PROXY_GAIN = 0.5  # more groups: a column alone removes this share of the majority-group error
SAMPLE_ROWS = 50_000


def sensitive_groups(df: pd.DataFrame, sensitive: list[str]) -> pd.DataFrame:
    """The sensitive columns as text groups (missing values a group of their own), checked: each must exist
    and hold at least two groups."""
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    if not sensitive:
        raise ConfigError("no sensitive column given: name at least one, e.g. sensitive=['sex']")
    cols = [str(c) for c in df.columns]
    missing = [c for c in sensitive if c not in cols]
    if missing:
        raise ConfigError(f"sensitive column(s) {', '.join(map(repr, missing))} not in the data; "
                          f"columns are: {', '.join(cols[:25])}")  # fmt: skip
    return as_groups(df[list(sensitive)])


def fairness_findings(
    df: pd.DataFrame, sensitive: list[str], target: str | None = None, task: str | None = None, seed: int = 0
) -> list[Finding]:
    """Representation, the target per group and proxies, as findings (check ``"fairness"``).

    Parameters
    ----------
    df : DataFrame
        The training rows, sensitive columns included.
    sensitive : list of str
        The columns that name who could be harmed (sex, race, age group …).
    target : str, optional
        With it, the target's rate (classification) or mean (regression) per group.
    task : {"binary", "multiclass", "regression"}, optional
    seed : int

    Returns
    -------
    list of Finding
    """
    groups = sensitive_groups(df, sensitive)
    if len(df) > SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(df), SAMPLE_ROWS, replace=False))
        df, groups = df.iloc[rows], groups.iloc[rows]
    out: list[Finding] = []
    for c in groups.columns:
        out += _representation(groups[c], c)
        if target is not None and target in df.columns and task is not None:
            out += _target_by_group(df[target], groups[c], c, task)
        out += _proxies(df.drop(columns=[x for x in (*groups.columns, target) if x in df.columns]), groups[c], c, seed)
    return out


def _representation(g: pd.Series, col: str) -> list[Finding]:
    counts = g.value_counts()
    shares = {str(k): int(v) for k, v in counts.items()}
    small = counts[counts < MIN_GROUP_ROWS]
    text = ", ".join(f"{k!r} {pct(v / len(g))}" for k, v in list(counts.items())[:8])
    out = [finding("fairness", "info", col, f"groups of {col!r}: {text}", "", counts=shares)]
    if len(small):
        names = ", ".join(f"{k!r} ({v} rows)" for k, v in list(small.items())[:5])
        out.append(finding("fairness", "warning", col,
                           f"{len(small)} group(s) of {col!r} under {MIN_GROUP_ROWS} rows: {names}; their metrics "
                           f"will be noisy",
                           "collect more rows for these groups, or merge small groups into a wider one",
                           small=[str(k) for k in small.index]))  # fmt: skip
    return out


def group_summary(
    df: pd.DataFrame, sensitive: list[str], target: str | None = None, task: str | None = None
) -> list[dict[str, Any]]:
    """Each sensitive column's groups: rows, share and, with a target, its rate (classification: the share of
    the rarest class for binary, of the most common otherwise) or mean (regression) per group.

    Returns
    -------
    list of dict
        ``[{"column", "target": what the target value is, "groups": [{"group", "count", "share", "target"}]}]``
    """
    groups = sensitive_groups(df, sensitive)
    out = []
    for c in groups.columns:
        counts = groups[c].value_counts()
        means, what = (None, None)
        if target is not None and target in df.columns and task is not None:
            means, what = _target_means(df[target], groups[c], task)
        rows = [{"group": str(k), "count": int(v), "share": int(v) / len(df),
                 "target": None if means is None or k not in means.index else float(means[k])}
                for k, v in counts.items()]  # fmt: skip
        out.append({"column": c, "target": what, "groups": rows})
    return out


def _target_means(y: pd.Series, g: pd.Series, task: str) -> tuple[pd.Series, str]:
    """The target's mean (regression) or the share of one class per group, and what that value is."""
    ok = y.notna().to_numpy()
    y, g = y[ok], g[ok]
    if task == "regression":
        return pd.to_numeric(y, errors="coerce").groupby(g.to_numpy()).mean(), "mean target"
    positive = y.astype(str).value_counts().index[-1] if task == "binary" else y.astype(str).mode().iloc[0]
    return (y.astype(str) == positive).groupby(g.to_numpy()).mean(), f"share of {positive!r}"


def _target_by_group(y: pd.Series, g: pd.Series, col: str, task: str) -> list[Finding]:
    means, what = _target_means(y, g, task)
    means = means[g[y.notna().to_numpy()].value_counts().reindex(means.index).to_numpy() >= MIN_GROUP_ROWS]
    if len(means) < 2:
        return []
    lo, hi = means.idxmin(), means.idxmax()
    ratio = float(means[lo] / means[hi]) if means[hi] > 0 else 1.0
    data: dict[str, Any] = {"by_group": {str(k): float(v) for k, v in means.items()}, "ratio": ratio}
    msg = f"{what} by {col!r}: {lo!r} {means[lo]:.3g} against {hi!r} {means[hi]:.3g} (ratio {ratio:.2f})"
    if ratio >= FOUR_FIFTHS or (task == "regression" and means[lo] <= 0):
        return [finding("fairness", "info", col, msg, "", **data)]
    return [finding("fairness", "warning", col, msg + f", below the {FOUR_FIFTHS} rule of thumb",
                    "a model learns this gap: check whether the labels themselves carry a bias, and measure the "
                    "model per group (mlwright.fairness.group_metrics)", **data)]  # fmt: skip


def _proxies(X: pd.DataFrame, g: pd.Series, col: str, seed: int) -> list[Finding]:
    codes_g = pd.factorize(g, sort=True)[0]
    k = int(codes_g.max()) + 1
    out = []
    for spec in infer_columns(X):
        if spec.kind == "text" or not spec.used:
            continue
        codes = column_bins(X[spec.name], spec)
        if codes is None:
            continue
        r = single_feature_power(codes, codes_g, "binary" if k == 2 else "multiclass", seed)
        if r["score"] >= (PROXY_AUC if k == 2 else PROXY_GAIN):
            out.append(finding("fairness", "warning", spec.name,
                               f"{spec.name!r} predicts {col!r} on its own ({r['measure']} {r['score']:.2f}): a proxy",
                               f"leaving {col!r} out of the features does not hide it while {spec.name!r} is in; "
                               f"drop or coarsen {spec.name!r}, or mitigate and measure per group",
                               sensitive=col, measure=r["measure"], score=float(r["score"])))  # fmt: skip
    return out
