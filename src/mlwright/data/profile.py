"""Exploratory profile of a table as plain values (no plotting here; :mod:`mlwright.report` draws it).

Exact on every row: counts, missing shares, distinct counts, quantiles, histograms, level counts,
duplicate rows and the data checks' column and row findings.  On a random sample (at most
``ProfileConfig.sample_rows`` rows, stated in ``profile["sampling"]``): column-kind inference on
big tables, correlations and associations, missing-value patterns, text lengths, the per-feature
relation to the target and the leakage check.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlwright.data.checks import row_hashes, run_checks
from mlwright.data.components import components
from mlwright.data.findings import CheckConfig, Ctx, Finding
from mlwright.data.leakage import target_relation
from mlwright.data.schema import ColumnSpec, finite, infer_column, infer_task
from mlwright.errors import ConfigError, TargetNotFoundError, did_you_mean
from mlwright.jsonsafe import default, plain
from mlwright.monitoring.stats import column_bins, datetime_numbers

__all__ = ["Profile", "ProfileConfig", "profile"]


@dataclass
class ProfileConfig:
    """Sizes of the profile: what is sampled and how much is shown."""

    sample_rows: int = 100_000  # correlations, patterns, text lengths, kind inference above this
    max_corr_columns: int = 40
    top_levels: int = 20
    bins: int = 30
    seed: int = 0


@dataclass
class Profile:
    """The profile of a table: :attr:`data` (plain JSON values) and the checks' :attr:`findings`."""

    data: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: the profile with its findings."""
        return self.data | {"findings": [f.to_dict() for f in self.findings]}

    def to_json(self, path: str | Path | None = None) -> str:
        """JSON text of :meth:`to_dict`; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1, default=default, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """Self-contained HTML report (figures embedded); also written to ``path`` when given."""
        from mlwright.report import render_profile

        html = render_profile(self)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def _repr_html_(self) -> str:  # notebooks
        return self.to_html()


def profile(
    df: pd.DataFrame,
    target: str | None = None,
    *,
    test: pd.DataFrame | None = None,
    time_column: str | None = None,
    config: ProfileConfig | None = None,
    sensitive: list[str] | None = None,
) -> Profile:
    """Profile a table: statistics per column, missingness, correlations, target, duplicates, findings.

    Parameters
    ----------
    df : DataFrame
        The table (target included when ``target`` is given).
    target : str, optional
        Target column: adds its distribution, each feature's relation to it, class balance and
        leakage checks.
    test : DataFrame, optional
        A second table (test or serving data): adds duplicates across the two and train/serve skew.
    time_column : str, optional
        Prediction-time column: dates later than it are flagged.
    config : ProfileConfig, optional
    sensitive : list of str, optional
        Columns naming who could be harmed: adds each group's share and target rate, and the fairness
        checks (representation, the target per group, proxies).

    Returns
    -------
    Profile
        ``.data`` (dict), ``.findings``, ``.to_html(path)``, ``.to_json(path)``.
    """
    t0 = time.monotonic()
    cfg = config or ProfileConfig()
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"profile needs a pandas DataFrame (or a file via the CLI), got {type(df).__name__}")
    df = df.copy(deep=False)
    df.columns = _unique_names(df.columns)
    if target is not None and target not in df.columns:
        raise TargetNotFoundError(f"target column {target!r} is not in the data{did_you_mean(target, df.columns)}")
    n = len(df)
    rng = np.random.default_rng(cfg.seed)
    sample_idx = np.sort(rng.choice(n, cfg.sample_rows, replace=False)) if n > cfg.sample_rows else None
    sample = df.iloc[sample_idx] if sample_idx is not None else df
    sampled: list[str] = []
    specs = _column_specs(df, sample, target, sample_idx is not None)
    if sample_idx is not None:
        sampled += ["column kinds", "correlations", "missing-value patterns", "text lengths", "components"]
    task = None
    if target is not None and df[target].notna().sum() >= 2:
        task = infer_task(df[target].dropna())
    findings = run_checks(
        df,
        target,
        columns=specs,
        task=task,
        test=test,
        time_column=time_column,
        config=CheckConfig(seed=cfg.seed, sample_rows=min(cfg.sample_rows, 50_000)),
        sensitive=sensitive,
    )
    if target is not None and n > 50_000:
        sampled += ["relation to the target", "leakage check"]
    used = [c for c in specs if c.used]
    data: dict[str, Any] = {
        "table": _table_stats(df, specs, target),
        "columns": [_column_stats(df[c.name], c, cfg, sample[c.name]) for c in specs],
        "missing": _missing(df, sample, cfg),
        "correlations": _correlations(sample, used[: cfg.max_corr_columns]),
        "target": _target(df, sample, target, task, specs, cfg) if target is not None else None,
        "components": components(sample, specs, target, task, cfg.seed),
        "sampling": {
            "rows": n,
            "sample_rows": len(sample),
            "sampled": sampled,
            "note": (
                f"{', '.join(sampled)}: computed on a random sample of {len(sample):,} of {n:,} rows; "
                "everything else on every row"
            )
            if sampled
            else "every statistic is computed on every row",
        },
    }
    if sensitive:
        from mlwright.fairness.data import group_summary

        data["groups"] = group_summary(df, list(sensitive), target, task)
    if test is not None:
        data["second_table"] = {"rows": len(test), "columns": int(test.shape[1])}
    data["seconds"] = round(time.monotonic() - t0, 3)
    return Profile(plain(data), findings)


# ---------------------------------------------------------------------------------------------- pieces
def _unique_names(cols) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        name = str(c)
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _column_specs(df: pd.DataFrame, sample: pd.DataFrame, target: str | None, sampled: bool) -> list[ColumnSpec]:
    specs = []
    for name in df.columns:
        if name == target:
            continue
        spec = infer_column(name, sample[name], len(sample))
        if sampled:  # kinds from the sample; counts from every row
            s = df[name]
            spec.missing = float(s.isna().mean())
            spec.n_unique = int(s.nunique())
        specs.append(spec)
    return specs


def _table_stats(df: pd.DataFrame, specs: list[ColumnSpec], target: str | None) -> dict[str, Any]:
    n = len(df)
    kinds: dict[str, int] = {}
    for c in specs:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    dup = int(pd.Series(row_hashes(df)).duplicated().sum()) if n > 1 else 0
    cells = n * df.shape[1]
    return {
        "rows": n,
        "columns": int(df.shape[1]),
        "target": target,
        "memory_bytes": int(df.memory_usage(deep=True).sum()),
        "missing_cells": float(df.isna().to_numpy().sum() / cells) if cells else 0.0,
        "duplicate_rows": dup,
        "kinds": kinds,
    }


def _numbers(s: pd.Series, c: ColumnSpec) -> np.ndarray:
    if c.kind == "datetime":
        return datetime_numbers(s)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan)
    conv = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s.dtype) else s
    return finite(conv.to_numpy(dtype=float, na_value=np.nan), warn=False)  # as fit reads them: ±inf → missing


def _column_stats(s: pd.Series, c: ColumnSpec, cfg: ProfileConfig, sample: pd.Series) -> dict[str, Any]:
    n = len(s)
    out: dict[str, Any] = {
        "name": c.name,
        "kind": c.kind,
        "dtype": c.dtype,
        "missing": c.missing,
        "missing_count": int(s.isna().sum()),
        "n_unique": c.n_unique,
        "unique_share": c.n_unique / n if n else 0.0,
    }
    if c.kind in ("numeric", "datetime"):
        x = _numbers(s, c)
        x = x[np.isfinite(x)]
        if len(x):
            q = np.percentile(x, [0, 5, 25, 50, 75, 95, 100])
            counts, edges = np.histogram(x, bins=min(cfg.bins, max(1, len(np.unique(x[:10000])))))
            out["histogram"] = {"edges": edges.tolist(), "counts": counts.tolist()}
            if c.kind == "datetime":
                out["stats"] = {"min": str(pd.Timestamp(int(q[0]))), "max": str(pd.Timestamp(int(q[-1])))}
                out["histogram"]["dates"] = True
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    skew = float(stats.skew(x)) if len(x) > 2 and np.ptp(x) > 0 else 0.0
                out["stats"] = dict(
                    zip(["min", "p5", "q1", "median", "q3", "p95", "max"], map(float, q)),
                    mean=float(x.mean()),
                    std=float(x.std()),
                    skew=skew,
                    zeros=int((x == 0).sum()),
                    negatives=int((x < 0).sum()),
                )
    elif c.kind in ("categorical", "high_cardinality", "boolean", "constant", "id"):
        vc = s.astype(object).where(s.notna()).value_counts()
        top = vc.head(cfg.top_levels)
        out["levels"] = {
            "values": [str(v)[:200] for v in top.index],
            "counts": [int(v) for v in top.to_numpy()],
            "other": int(vc.iloc[cfg.top_levels :].sum()),
        }
    elif c.kind == "text":
        lengths = sample.dropna().astype(str).str.len().to_numpy(dtype=float)
        if len(lengths):
            counts, edges = np.histogram(lengths, bins=cfg.bins)
            out["histogram"] = {"edges": edges.tolist(), "counts": counts.tolist(), "of": "length in characters"}
            out["stats"] = {"mean_length": float(lengths.mean()), "max_length": float(lengths.max())}
    return out


def _missing(df: pd.DataFrame, sample: pd.DataFrame, cfg: ProfileConfig) -> dict[str, Any]:
    share = df.isna().mean()
    cols = [str(c) for c in share.index[share > 0]]
    out: dict[str, Any] = {"share": {str(k): float(v) for k, v in share.items()}, "patterns": [], "matrix": None}
    if not cols:
        return out
    m = sample[cols].isna().to_numpy()
    patterns = pd.Series([row.tobytes() for row in m]).value_counts().head(10)
    for key, count in patterns.items():
        row = np.frombuffer(key, dtype=bool)
        out["patterns"].append({"missing": [c for c, b in zip(cols, row) if b], "rows": int(count)})
    rng = np.random.default_rng(cfg.seed)
    pick = np.sort(rng.choice(len(m), min(len(m), 300), replace=False))
    out["matrix"] = {"columns": cols[:60], "rows": m[pick][:, :60].astype(int).tolist()}
    return out


def _correlations(sample: pd.DataFrame, used: list[ColumnSpec]) -> dict[str, Any]:
    """Pearson and Spearman (numbers), Cramér's V (categories), correlation ratio (number × category).

    The association matrix mixes them: |Spearman| between numbers and dates, Cramér's V between
    categories, the correlation ratio η between a number and a category; all lie in [0, 1].
    """
    numeric = ("numeric", "datetime")
    nums = [c for c in used if c.kind in ("numeric", "boolean")]
    out: dict[str, Any] = {}
    ranked = [c for c in used if c.kind in numeric]
    values = {c.name: _numbers(sample[c.name], c) for c in used if c.kind in (*numeric, "boolean")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(nums) >= 2:
            X = pd.DataFrame({c.name: values[c.name] for c in nums})
            out["pearson"] = _matrix(X.corr(method="pearson"))
            out["spearman"] = _matrix(X.rank().corr(method="pearson"))
        rho = pd.DataFrame({c.name: values[c.name] for c in ranked}).rank().corr(method="pearson") if ranked else None
    cols = [c for c in used if c.kind in ("numeric", "categorical", "high_cardinality", "boolean", "datetime")]
    if len(cols) >= 2:
        codes = {c.name: column_bins(sample[c.name], c, max_bins=64) for c in cols if c.kind not in numeric}
        k = len(cols)
        mat = np.full((k, k), np.nan)
        method = [["" for _ in range(k)] for _ in range(k)]
        for i, a in enumerate(cols):
            mat[i, i] = 1.0
            for j in range(i + 1, k):
                b = cols[j]
                if a.kind in numeric and b.kind in numeric:
                    v, how = abs(float(rho.loc[a.name, b.name])), "spearman"
                elif a.kind in numeric or b.kind in numeric:
                    num, cat = (a, b) if a.kind in numeric else (b, a)
                    v, how = _correlation_ratio(values[num.name], codes[cat.name]), "correlation ratio"
                else:
                    v, how = _cramers_v(codes[a.name], codes[b.name]), "cramér's v"
                mat[i, j] = mat[j, i] = v
                method[i][j] = method[j][i] = how
        out["association"] = {"columns": [c.name for c in cols], "matrix": _nan_none(mat), "method": method}
    return out


def _cramers_v(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return np.nan
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, k = table.shape
    if r < 2 or k < 2:
        return 0.0
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    n = table.sum()
    return float(np.sqrt(chi2 / n / min(r - 1, k - 1)))


def _correlation_ratio(x: np.ndarray, codes: np.ndarray | None) -> float:
    if codes is None:
        return np.nan
    ok = ~np.isnan(x)
    x, g = x[ok], codes[ok]
    if len(x) < 3 or x.var() == 0:
        return np.nan
    k = int(g.max()) + 1
    cnt = np.bincount(g, minlength=k)
    means = np.bincount(g, x, minlength=k) / np.maximum(cnt, 1)
    between = float((cnt * (means - x.mean()) ** 2).sum())
    return float(np.sqrt(between / (x.var() * len(x))))


def _matrix(m: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [str(c) for c in m.columns], "matrix": _nan_none(m.to_numpy())}


def _nan_none(a: np.ndarray) -> list[list[float | None]]:
    return [[None if not np.isfinite(v) else round(float(v), 4) for v in row] for row in a]


def _target(
    df: pd.DataFrame, sample: pd.DataFrame, target: str, task: str | None, specs: list[ColumnSpec], cfg: ProfileConfig
) -> dict[str, Any]:
    y = df[target]
    out: dict[str, Any] = {"name": target, "task": task, "missing": int(y.isna().sum())}
    if task is None:
        return out
    if task == "regression":
        x = pd.to_numeric(y, errors="coerce").dropna().to_numpy(dtype=float)
        counts, edges = np.histogram(x, bins=cfg.bins)
        out["histogram"] = {"edges": edges.tolist(), "counts": counts.tolist()}
        out["stats"] = {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}
    else:
        vc = y.astype(object).value_counts()
        out["classes"] = {"values": [str(v) for v in vc.index[:50]], "counts": [int(v) for v in vc.to_numpy()[:50]]}
    ctx = Ctx(df, specs, target, task, CheckConfig(seed=cfg.seed, sample_rows=min(cfg.sample_rows, 50_000)))
    rel = target_relation(ctx)
    out["relation"] = [
        {"column": k, "measure": v["measure"], "score": float(v["score"])}
        for k, v in sorted(rel.items(), key=lambda kv: -kv[1]["score"])
    ]
    return out
