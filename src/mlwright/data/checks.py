"""Data-quality and leakage checks: a table (and its Schema) in, a list of :class:`Finding` out.

Checks read the column kinds from the Schema (:mod:`mlwright.data.schema`); they never re-detect
types.  Each check is a record in :data:`CHECKS` (key → function of a :class:`Ctx`);
:func:`run_checks` runs them all and returns the findings, most severe first.  Pure: no printing, no
files.  The checks that look at the target (leakage, skew) live in :mod:`mlwright.data.leakage`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mlwright.data.findings import SEVERITIES, CheckConfig, Ctx, Finding, finding, pct, show
from mlwright.data.leakage import check_leakage, skew_check
from mlwright.data.schema import FLOAT32_MAX, ColumnSpec, distinct, infer_columns, infer_task
from mlwright.errors import ConfigError, TargetNotFoundError, did_you_mean

__all__ = ["CHECKS", "SEVERITIES", "CheckConfig", "Finding", "row_hashes", "run_checks", "skew_check"]

NA_TOKENS = ("?", "na", "n/a", "#n/a", "null", "nan", "-", "--", "missing", "undefined", "not available", ".")
SOFT_NA_TOKENS = ("none", "unknown", "not known", "other")  # reported, never replaced: often real levels
NA_SENTINELS = (-1.0, -9.0, -99.0, -999.0, -9999.0, -99999.0, 99.0, 999.0, 9999.0, 99999.0, 999999.0)


# ---------------------------------------------------------------------------------------------- columns
def _check_table(ctx: Ctx) -> list[Finding]:
    n, k = ctx.df.shape
    if k == 0:
        return [finding("table", "critical", None, "the table has no columns", "check the file and its delimiter")]
    if n == 0:
        return [finding("table", "critical", None, "the table has no rows", "check the file or the query")]
    if n < 30:
        return [
            finding(
                "table",
                "warning",
                None,
                f"the table has only {n} rows",
                "estimates from so few rows are very noisy: collect more data",
            )
        ]
    return []


def _check_constant(ctx: Ctx) -> list[Finding]:
    out = []
    for c in ctx.specs:
        if c.kind == "constant":
            out.append(
                finding(
                    "constant",
                    "info",
                    c.name,
                    f"{c.name!r} holds a single value: it carries no information",
                    "nothing to do: it is left out of the models",
                )
            )
        elif c.kind == "empty":
            out.append(
                finding(
                    "missing",
                    "warning",
                    c.name,
                    f"{c.name!r} is entirely missing",
                    "nothing to do: it is left out of the models; check how the data was extracted",
                )
            )
        elif c.used and c.kind != "text":
            s = ctx.df[c.name]
            if len(s) > 100_000:  # a sample tells whether the top value could hold the near-constant share
                probe = s.sample(100_000, random_state=ctx.cfg.seed).value_counts(dropna=False)
                if probe.iloc[0] / 100_000 < ctx.cfg.near_constant - 0.01:
                    continue
            counts = s.value_counts(dropna=False)
            share = float(counts.iloc[0] / len(s)) if len(s) else 0.0
            if share >= ctx.cfg.near_constant:
                out.append(
                    finding(
                        "constant",
                        "info",
                        c.name,
                        f"{c.name!r} is nearly constant: {pct(share)} of rows hold {show(counts.index[0])}",
                        "keep it if the rare values matter; otherwise drop it",
                        share=share,
                    )
                )
    return out


def _check_id(ctx: Ctx) -> list[Finding]:
    return [
        finding(
            "id_like",
            "info",
            c.name,
            f"{c.name!r} looks like an identifier ({c.n_unique} distinct values, one per row)",
            "nothing to do: it is left out of the models; pass column_types={...: 'categorical'} if it is not an ID",
        )
        for c in ctx.specs
        if c.kind == "id"
    ]


def _check_missing(ctx: Ctx) -> list[Finding]:
    out = []
    for c in ctx.used:
        if c.missing >= ctx.cfg.missing_high:
            out.append(
                finding(
                    "missing",
                    "warning",
                    c.name,
                    f"{c.name!r} is missing in {pct(c.missing)} of rows",
                    "fill it at the source if you can; fit drops it (cleaning={'max_missing': 1.0} keeps it)",
                    share=c.missing,
                )
            )
        elif c.missing >= ctx.cfg.missing_warn:
            out.append(
                finding(
                    "missing",
                    "info",
                    c.name,
                    f"{c.name!r} is missing in {pct(c.missing)} of rows",
                    "models see the gaps through a missing-value indicator; check why it is missing",
                    share=c.missing,
                )
            )
    return out


def _check_high_cardinality(ctx: Ctx) -> list[Finding]:
    out = []
    for c in ctx.specs:
        if c.kind == "high_cardinality":
            sev = "warning" if c.n_unique >= ctx.cfg.high_cardinality else "info"
            out.append(
                finding(
                    "high_cardinality",
                    sev,
                    c.name,
                    f"{c.name!r} has {c.n_unique} distinct levels",
                    "encoded by frequency and out-of-fold target statistics; group rare levels at the "
                    "source if they share a meaning",
                    n_unique=c.n_unique,
                )
            )
    return out


def _text_values(ctx: Ctx, c: ColumnSpec) -> tuple[np.ndarray, np.ndarray] | None:
    """Distinct values and their counts of a text-typed column (None for other dtypes)."""
    s = ctx.df[c.name]
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return None
    found = distinct(s)
    if found is None:
        return None
    codes, uniques = found
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return uniques, counts


def _check_types_and_na(ctx: Ctx) -> list[Finding]:
    """Mixed types and disguised missing values ("?", "NA", -999 …)."""
    out = []
    for c in ctx.specs:
        if c.kind in ("empty", "id"):
            continue
        found = _text_values(ctx, c)
        if found is not None:
            out += _text_column_findings(ctx, c, *found)
        elif c.kind == "numeric":
            out += _sentinel_findings(ctx, c, ctx.df[c.name].to_numpy(dtype=float, na_value=np.nan))
    return out


def _text_column_findings(ctx: Ctx, c: ColumnSpec, uniques: np.ndarray, counts: np.ndarray) -> list[Finding]:
    out = []
    n = len(ctx.df)
    stripped = np.array([v.strip().lower() if isinstance(v, str) else None for v in uniques], dtype=object)
    hard = np.isin(stripped, NA_TOKENS)
    soft = np.isin(stripped, SOFT_NA_TOKENS)
    if hard.any():
        vals = [uniques[i] for i in np.flatnonzero(hard)]
        k = int(counts[hard].sum())
        out.append(
            finding(
                "disguised_missing",
                "warning",
                c.name,
                f"{c.name!r} marks missing values with {', '.join(map(show, vals))} in {k} rows ({pct(k / n)})",
                "fit reads them as missing (cleaning={'disguised_missing': False} keeps them as values)",
                values=[str(v) for v in vals],
                rows=k,
            )
        )
    if soft.any() and c.kind in ("categorical", "high_cardinality"):
        vals = [uniques[i] for i in np.flatnonzero(soft)]
        k = int(counts[soft].sum())
        out.append(
            finding(
                "disguised_missing",
                "info",
                c.name,
                f"{c.name!r} has the level(s) {', '.join(map(show, vals))} in {k} rows: missing values in disguise?",
                "if they mean 'missing', blank them at the source; kept as ordinary levels",
                rows=k,
            )
        )
    rest = ~hard & ~soft & np.array([not (isinstance(v, str) and not v.strip()) for v in uniques], dtype=bool)
    types = {type(v).__name__ for v in uniques[rest]}
    nums = pd.to_numeric(pd.Series([str(v).strip() for v in uniques[rest]], dtype=object), errors="coerce")
    is_num = nums.notna().to_numpy()
    if c.kind == "numeric" and c.from_text:
        bad = ~is_num
        if bad.any():
            k = int(counts[rest][bad].sum())
            ex = [str(v)[:100] for v in uniques[rest][bad][:5]]
            out.append(
                finding(
                    "mixed_types",
                    "warning",
                    c.name,
                    f"{c.name!r} holds numbers, but {k} row(s) hold text ({', '.join(map(show, ex))})",
                    "they are read as missing; fix them at the source",
                    examples=ex,
                    rows=k,
                )
            )
        num_vals = nums.to_numpy(dtype=float)[is_num]
        out += _sentinel_findings(ctx, c, np.repeat(num_vals, counts[rest][is_num]))
    elif len(types) > 1 and c.kind in ("categorical", "high_cardinality", "text"):
        out.append(
            finding(
                "mixed_types",
                "warning",
                c.name,
                f"{c.name!r} mixes Python types: {', '.join(sorted(types))}",
                "cast the column to one type; 3, 3.0 and '3' are read as one level",
                types=sorted(types),
            )
        )
    elif c.kind in ("categorical", "high_cardinality") and rest.any():
        share = float(counts[rest][is_num].sum() / max(1, counts[rest].sum()))
        if 0.5 <= share < 0.95:
            ex = [str(v)[:100] for v in uniques[rest][~is_num][:5]]
            out.append(
                finding(
                    "mixed_types",
                    "warning",
                    c.name,
                    f"{c.name!r} is {pct(share)} numbers and the rest text ({', '.join(map(show, ex))}), "
                    "so it is treated as categorical",
                    "clean the text values (or pass column_types={...: 'numeric'} to read them as missing)",
                    examples=ex,
                    numeric_share=share,
                )
            )
    return out


def _sentinel_findings(ctx: Ctx, c: ColumnSpec, x: np.ndarray) -> list[Finding]:
    """Numeric placeholders such as -999 or 99999 standing for missing values."""
    x = x[~np.isnan(x)]
    if len(x) < 20:
        return []
    q1, q3 = np.percentile(x, [25, 75])
    iqr = max(q3 - q1, 1e-12)
    found = []
    for v in NA_SENTINELS:
        k = int((x == v).sum())
        if k < 3 or k / len(x) < 0.005:
            continue
        rest = x[x != v]
        if len(rest) == 0:
            continue
        far = (
            (v < 0 and rest.min() >= 0)
            or (v < rest.min() and rest.min() - v > 3 * iqr)
            or (v > rest.max() and v - rest.max() > 3 * iqr)
        )
        if far:
            found.append((v, k))
    if not found:
        return []
    vals = [int(v) if float(v).is_integer() else v for v, _ in found]
    k = sum(k for _, k in found)
    ctx.sentinels[c.name] = [float(v) for v in vals]
    return [
        finding(
            "disguised_missing",
            "warning",
            c.name,
            f"{c.name!r} uses {', '.join(map(str, vals))} as a placeholder in {k} rows "
            f"(far outside the other values, {np.min(x[~np.isin(x, vals)]):.4g} to {np.max(x[~np.isin(x, vals)]):.4g})",
            "fit reads them as missing (cleaning={'disguised_missing': False} keeps them as values)",
            values=vals,
            rows=k,
        )
    ]


def _check_non_finite(ctx: Ctx) -> list[Finding]:
    """±inf and values beyond float32's range: read as missing at fit and predict (see ``schema.finite``)."""
    out = []
    for c in ctx.used:
        if c.kind != "numeric":
            continue
        s = ctx.df[c.name]
        x = (pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s.dtype) else s).to_numpy(
            dtype=float, na_value=np.nan
        )
        with np.errstate(invalid="ignore"):
            bad = np.abs(x) > FLOAT32_MAX
        k = int(bad.sum())
        if k:
            rows = [int(i) for i in np.flatnonzero(bad)[:5]]
            out.append(
                finding(
                    "non_finite",
                    "warning",
                    c.name,
                    f"{c.name!r} has {k} infinite or out-of-range value(s) (beyond ±3.4e38; rows {rows})",
                    "fit and predict read them as missing; replace them with real values if they mean something",
                    rows=k,
                )
            )
    return out


def _check_date_order(ctx: Ctx) -> list[Finding]:
    """Dates like 02/01/2020 where no value says whether the day or the month comes first."""
    return [
        finding(
            "date_order",
            "warning",
            c.name,
            f"{c.name!r} writes dates as n/n/yyyy and no value has a first or second field above 12: "
            "day-first or month-first cannot be told; read month-first",
            f"if the day comes first, fit with column_types={{{c.name!r}: 'datetime_dayfirst'}} "
            "(or 'datetime_monthfirst' to confirm)",
        )
        for c in ctx.used
        if c.kind == "datetime" and c.date_order == "ambiguous"
    ]


def _check_outliers(ctx: Ctx) -> list[Finding]:
    out = []
    k_iqr = ctx.cfg.outlier_iqr
    for c in ctx.used:
        if c.kind != "numeric":
            continue
        s = ctx.df[c.name]
        x = (pd.to_numeric(s, errors="coerce") if c.from_text else s).to_numpy(dtype=float, na_value=np.nan)
        placeholders = [v for v in c.na_values if not isinstance(v, str)] + ctx.sentinels.get(c.name, [])
        if placeholders:
            x = np.where(np.isin(x, placeholders), np.nan, x)
        x = x[~np.isnan(x)]
        if len(x) < 20:
            continue
        q1, q3 = np.percentile(x, [25, 75])
        iqr = q3 - q1
        if iqr <= 0:
            continue
        lo, hi = q1 - k_iqr * iqr, q3 + k_iqr * iqr
        mask = (x < lo) | (x > hi)
        k = int(mask.sum())
        share = k / len(x)
        gross = int(((x < q1 - 2 * k_iqr * iqr) | (x > q3 + 2 * k_iqr * iqr)).sum())
        # a heavy tail (> 5 %) is a shape, not outliers; a handful just past the fences in a million rows is
        # what a normal distribution gives (about 2.6 per million beyond 3×IQR): only gross ones count then
        if k == 0 or share > 0.05 or (share < 0.001 and gross == 0):
            continue
        ext = x[mask]
        out.append(
            finding(
                "outliers",
                "info",
                c.name,
                f"{c.name!r} has {k} value(s) ({pct(share)}) beyond the {k_iqr}×IQR fences "
                f"({lo:.4g}, {hi:.4g}; extremes {ext.min():.4g} and {ext.max():.4g})",
                "tree models are not affected; cleaning={'clip_outliers': True} clips them at the training "
                "quantiles for the other families",
                rows=k,
                low=float(lo),
                high=float(hi),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------- rows
def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row (column order as given); equal rows hash equal."""
    if df.shape[1] == 0:
        return np.zeros(len(df), dtype=np.uint64)
    frame = df.copy()
    for name in frame.columns:  # unhashable cells (lists, dicts) hash by their text
        if frame[name].dtype == object:
            frame[name] = frame[name].map(
                lambda v: v if isinstance(v, (str, int, float, bool)) or v is None else repr(v)
            )
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _check_duplicates(ctx: Ctx) -> list[Finding]:
    n = len(ctx.df)
    if n < 2:
        return []
    has_target = ctx.target is not None and ctx.target in ctx.df.columns
    feats = [c for c in ctx.df.columns if c != ctx.target]
    hf = row_hashes(ctx.df[feats])
    h = hf
    if has_target:  # whole rows: the features' hash combined with the target's
        hy = pd.util.hash_pandas_object(ctx.df[ctx.target].astype(str), index=False).to_numpy()
        h = hf * np.uint64(1_000_003) ^ hy
    k = int(pd.Series(h).duplicated().sum())
    out = []
    if k:
        out.append(
            finding(
                "duplicates",
                "warning" if k / n >= 0.01 else "info",
                None,
                f"{k} row(s) ({pct(k / n)}) repeat an earlier row exactly",
                "copies of a row in both training and validation folds flatter the estimate; "
                "cleaning={'drop_duplicates': True} removes them",
                rows=k,
                scope="rows",
            )
        )
    if has_target:
        k_feat = int(pd.Series(hf).duplicated().sum())
        if k_feat > k:  # some rows repeat the features of another with a different target
            y = ctx.df[ctx.target].astype(str).to_numpy()
            g = pd.DataFrame({"h": hf, "y": y}).groupby("h")["y"].nunique()
            conflicted = int((g > 1).sum())
            out.append(
                finding(
                    "duplicates",
                    "info",
                    None,
                    f"{conflicted} group(s) of rows have identical features but different targets",
                    "the target is not a function of these columns alone: expect some irreducible error",
                    groups=conflicted,
                    scope="conflicting targets",
                )
            )
    return out


def _check_imbalance(ctx: Ctx) -> list[Finding]:
    if ctx.task not in ("binary", "multiclass"):
        return []
    counts = ctx.df[ctx.target].value_counts()
    share = counts / counts.sum()
    out = []
    minority, m_share = counts.index[-1], float(share.iloc[-1])
    if m_share < ctx.cfg.imbalance:
        out.append(
            finding(
                "class_imbalance",
                "warning" if m_share < 0.01 else "info",
                ctx.target,
                f"class {show(minority)} is {pct(m_share)} of rows ({int(counts.iloc[-1])} of {int(counts.sum())})",
                "the default metric (ROC AUC / log loss) and stratified folds handle it; for decisions, tune "
                "the threshold in the model report",
                shares={str(k): float(v) for k, v in share.items()},
            )
        )
    rare = [str(k) for k, v in counts.items() if v < 5]
    if rare:
        out.append(
            finding(
                "class_imbalance",
                "warning",
                ctx.target,
                f"{len(rare)} class(es) have fewer than 5 rows: {', '.join(rare[:10])}",
                "merge or drop them: they cannot appear in every validation fold",
                classes=rare,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------- registry
CHECKS: dict[str, Callable[[Ctx], list[Finding]]] = {
    "table": _check_table,
    "constant": _check_constant,
    "id_like": _check_id,
    "missing": _check_missing,
    "types_and_missing_values": _check_types_and_na,
    "non_finite": _check_non_finite,
    "date_order": _check_date_order,
    "outliers": _check_outliers,
    "high_cardinality": _check_high_cardinality,
    "duplicates": _check_duplicates,
    "class_imbalance": _check_imbalance,
    "leakage": check_leakage,
}


def run_checks(
    df: pd.DataFrame,
    target: str | None = None,
    *,
    columns: list[ColumnSpec] | None = None,
    task: str | None = None,
    test: pd.DataFrame | None = None,
    time_column: str | None = None,
    config: CheckConfig | None = None,
    only: list[str] | None = None,
    sensitive: list[str] | None = None,
) -> list[Finding]:
    """Run the data checks on a table.

    Parameters
    ----------
    df : DataFrame
        The (training) table, target included when ``target`` is given.
    target : str, optional
        Target column: enables the class-balance and leakage checks.
    columns : list of ColumnSpec, optional
        Column kinds from a Schema (``schema.columns``); inferred when not given.
    task : str, optional
        ``binary``, ``multiclass`` or ``regression``; inferred from the target when not given.
    test : DataFrame, optional
        A second table (test or serving data): adds rows duplicated across the two and train/serve
        skew (adversarial validation, :func:`skew_check`).
    time_column : str, optional
        Column holding each row's prediction time: dates later than it are flagged.
    config : CheckConfig, optional
        Thresholds.
    only : list of str, optional
        Keys of :data:`CHECKS` to run (default: all).
    sensitive : list of str, optional
        Columns naming who could be harmed: adds each group's share, the target per group and the columns
        that stand in for a sensitive one (:func:`mlwright.fairness.data.fairness_findings`).

    Returns
    -------
    list of Finding
        Sorted critical first.
    """
    cfg = config or CheckConfig()
    if target is not None and target not in df.columns:
        raise TargetNotFoundError(f"target column {target!r} is not in the data{did_you_mean(target, df.columns)}")
    for key in only or ():
        if key not in CHECKS:
            raise ConfigError(f"unknown check {key!r}{did_you_mean(key, CHECKS)}; checks are: {', '.join(CHECKS)}")
    specs = columns if columns is not None else infer_columns(df, exclude=(target,) if target else ())
    if target is not None and task is None and df[target].notna().sum() >= 2:
        task = infer_task(df[target])
    ctx = Ctx(df, specs, target, task, cfg, time_column)
    findings: list[Finding] = []
    for key, check in CHECKS.items():
        if only is None or key in only:
            findings += check(ctx)
    if test is not None:
        shared = [c for c in test.columns if c in df.columns and c != target]
        if not shared:
            from mlwright.errors import ColumnsMismatchError

            raise ColumnsMismatchError(
                f"the second table shares no column with the first (it has {', '.join(map(str, test.columns[:10]))})"
                "; compare tables with the same columns"
            )
        findings += _cross_duplicates(ctx, test)
        findings += skew_check(df.drop(columns=[target]) if target else df, test, specs, cfg)
    if sensitive:
        from mlwright.fairness.data import fairness_findings

        findings += fairness_findings(df, list(sensitive), target, task, cfg.seed)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: order[f.severity])


def _cross_duplicates(ctx: Ctx, test: pd.DataFrame) -> list[Finding]:
    common = [c for c in ctx.df.columns if c in test.columns and c != ctx.target]
    if not common or len(test) == 0:
        return []
    train_h = row_hashes(ctx.df[common])
    test_h = row_hashes(test[common])
    k = int(np.isin(test_h, train_h).sum())
    if not k:
        return []
    return [
        finding(
            "duplicates",
            "warning",
            None,
            f"{k} row(s) of the second table ({pct(k / len(test))}) also appear in the training table",
            "a test set must not contain training rows: remove them, or the test score will be optimistic",
            rows=k,
            scope="across tables",
        )
    ]
