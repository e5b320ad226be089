"""Drift statistics: a column's reference (from training) against the same column in a window of traffic.

Pure functions on arrays and plain dicts.  The reference of a column is summarised once, on every
training row, by :func:`numeric_reference` / :func:`level_reference` (quantile edges from the same code
as the profile's and the leakage check's bins); the window is compared with it by :func:`numeric_drift` /
:func:`level_drift`:

- numbers: PSI over the reference deciles (missing values in their own bin), Kolmogorov–Smirnov
  (statistic and asymptotic p-value, as ``scipy.stats.ks_2samp(method="asymp")``) and the
  Wasserstein-1 distance (also divided by the reference's standard deviation, comparable across
  columns), both from the reference's quantile function (501 points), so no training rows are kept;
- levels: PSI, chi² test of homogeneity (``scipy.stats.chi2_contingency``) and the Jensen–Shannon
  distance (``scipy.spatial.distance.jensenshannon``, base 2: 0 … 1) over the reference's levels,
  an "other" bin and a missing bin; plus the share of values never seen in training.

Every result also carries the window's missing-value share next to the reference's.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlwright.data.schema import ColumnSpec

__all__ = [
    "QUANTILES",
    "column_bins",
    "datetime_numbers",
    "level_drift",
    "level_reference",
    "numeric_drift",
    "numeric_reference",
    "psi",
    "quantile_edges",
]

QUANTILES = np.linspace(0.0, 1.0, 501)  # the reference's quantile function, for KS and Wasserstein
PSI_BINS = 10
MAX_LEVELS = 200  # levels kept with their counts (the rest share one "other" bin)
MAX_KNOWN = 5000  # levels remembered by name, for the unseen-value share
_EPS = 1e-4  # an empty bin counts as this share in PSI (the usual smoothing)


def quantile_edges(x: np.ndarray, bins: int) -> np.ndarray:
    """Inner edges of ``bins`` equal-frequency bins of the finite values ``x`` (duplicates merged).

    Shared by the profile's and the leakage check's binning and by drift's PSI."""
    return np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])) if len(x) else np.zeros(0)


def _in_gaps(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Each edge moved to the middle of the gap above it, between two training values: on discrete data
    an edge sitting on a value would put 3.9 and 3.9000000001 (a float32 sent back as float64, or a
    client's rounding) in different bins."""
    u = np.unique(x)
    nxt = np.searchsorted(u, edges, side="right")
    return np.where(nxt < len(u), (edges + u[np.minimum(nxt, len(u) - 1)]) / 2, edges)


def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """Population stability index of two count (or share) vectors over the same bins."""
    p = np.asarray(ref, float) / max(float(np.sum(ref)), 1e-12)
    q = np.asarray(cur, float) / max(float(np.sum(cur)), 1e-12)
    p, q = np.maximum(p, _EPS), np.maximum(q, _EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_reference(x: np.ndarray) -> dict[str, Any]:
    """Summary of a numeric column on every training row: decile edges and counts, quantile function."""
    x = np.asarray(x, dtype=float)
    finite = x[np.isfinite(x)]
    n_missing = int(len(x) - len(finite))
    edges = _in_gaps(quantile_edges(finite, PSI_BINS), finite)
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
    return {
        "type": "numeric",
        "n": len(x),
        "missing": n_missing / len(x) if len(x) else 0.0,
        "edges": edges.tolist(),
        "counts": [*counts.tolist(), n_missing],  # last bin: missing values
        "quantiles": np.quantile(finite, QUANTILES).tolist() if len(finite) else [],
        "std": float(finite.std()) if len(finite) else 0.0,
        "mean": float(finite.mean()) if len(finite) else None,
    }


def level_reference(levels: pd.Series) -> dict[str, Any]:
    """Summary of a categorical column on every training row: level counts (top levels), known levels."""
    s = pd.Series(levels, dtype=object)
    vc = s.where(s.notna()).value_counts()
    top = vc.head(MAX_LEVELS)
    n_missing = int(s.isna().sum())
    return {
        "type": "levels",
        "n": len(s),
        "missing": n_missing / len(s) if len(s) else 0.0,
        "levels": [str(v) for v in top.index],
        "counts": [int(c) for c in top.to_numpy()] + [int(vc.iloc[MAX_LEVELS:].sum()), n_missing],  # + other, missing
        "known": [str(v) for v in vc.index[:MAX_KNOWN]],
        "known_complete": bool(len(vc) <= MAX_KNOWN),
    }


def numeric_drift(ref: dict[str, Any], x: np.ndarray) -> dict[str, Any]:
    """A window's numeric column against its reference (see the module docstring)."""
    x = np.asarray(x, dtype=float)
    finite = np.sort(x[np.isfinite(x)])
    n, m = len(x), len(finite)
    out: dict[str, Any] = {"rows": n, "missing": (n - m) / n if n else 0.0, "missing_ref": ref["missing"]}
    edges = np.asarray(ref["edges"], float)
    counts = [*np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1).tolist(), n - m]
    out["psi"] = psi(ref["counts"], counts) if n else None
    q = np.asarray(ref["quantiles"], float)
    if m == 0 or len(q) == 0:
        return out | {"ks": None, "ks_pvalue": None, "wasserstein": None, "wasserstein_std": None, "mean": None}
    # KS: the reference's quantiles stand in for its rows (a stratified sample of 501: CDF within ~0.002),
    # compared at every point where either CDF jumps, as scipy's ks_2samp does
    points = np.concatenate([q, finite])
    d = float(np.max(np.abs(np.searchsorted(q, points, side="right") / len(q)
                            - np.searchsorted(finite, points, side="right") / m)))  # fmt: skip
    n_ref = max(round(ref["n"] * (1 - ref["missing"])), 1)
    out["ks"] = d
    out["ks_pvalue"] = float(stats.kstwobign.sf(d * np.sqrt(n_ref * m / (n_ref + m))))
    # Wasserstein-1: the area between the two quantile functions
    cur_q = np.quantile(finite, QUANTILES)
    w = float(np.trapezoid(np.abs(cur_q - q), QUANTILES))
    out["wasserstein"] = w
    out["wasserstein_std"] = w / ref["std"] if ref.get("std") else None
    out["mean"] = float(finite.mean())
    return out


def level_drift(ref: dict[str, Any], levels: pd.Series) -> dict[str, Any]:
    """A window's categorical column against its reference (see the module docstring)."""
    s = pd.Series(levels, dtype=object)
    n = len(s)
    missing = s.isna().to_numpy()
    vc = s[~missing].value_counts()
    index = {lev: i for i, lev in enumerate(ref["levels"])}
    counts = np.zeros(len(ref["levels"]) + 2)
    for lev, c in vc.items():
        counts[index.get(str(lev), len(ref["levels"]))] += c
    counts[-1] = missing.sum()
    known = set(ref["known"])
    unseen = int(sum(c for lev, c in vc.items() if str(lev) not in known)) if ref["known_complete"] else None
    out: dict[str, Any] = {
        "rows": n,
        "missing": float(missing.mean()) if n else 0.0,
        "missing_ref": ref["missing"],
        "unseen": unseen / n if unseen is not None and n else (0.0 if n else None),
    }
    if not n:
        return out | {"psi": None, "chi2": None, "chi2_pvalue": None, "js": None}
    ref_counts = np.asarray(ref["counts"], float)
    out["psi"] = psi(ref_counts, counts)
    both = np.vstack([ref_counts, counts])
    keep = both.sum(axis=0) > 0
    if keep.sum() >= 2:
        chi2, p, _, _ = stats.chi2_contingency(both[:, keep], correction=False)
        out["chi2"], out["chi2_pvalue"] = float(chi2), float(p)
    else:
        out["chi2"], out["chi2_pvalue"] = 0.0, 1.0
    out["js"] = float(jensenshannon(ref_counts / ref_counts.sum(), counts / counts.sum(), base=2))
    return out


def column_bins(s: pd.Series, c: ColumnSpec, max_bins: int = 64) -> np.ndarray | None:
    """Bin codes 0..B of a column (missing values in their own bin), None if it cannot be binned."""
    if c.kind in ("numeric", "datetime"):
        if c.kind == "datetime":
            x = datetime_numbers(s)
        else:
            x = (pd.to_numeric(s, errors="coerce") if c.from_text else s).to_numpy(dtype=float, na_value=np.nan)
        nan = np.isnan(x)
        if nan.all():
            return None
        edges = quantile_edges(x[~nan], max_bins)
        codes = np.searchsorted(edges, np.where(nan, 0, x), side="right")
        return np.where(nan, len(edges) + 1, codes)
    if c.kind in ("categorical", "high_cardinality", "boolean"):
        codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
        if len(uniques) >= max_bins:
            freq = np.bincount(codes[codes >= 0], minlength=len(uniques))
            keep = np.argsort(-freq, kind="stable")[: max_bins - 1]
            remap = np.full(len(uniques), max_bins - 1)
            remap[keep] = np.arange(len(keep))
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        return np.where(codes < 0, codes.max() + 1, codes)
    return None


def datetime_numbers(s: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch as floats (NaN where missing or unparseable)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = (
            s
            if pd.api.types.is_datetime64_any_dtype(s.dtype)
            else pd.to_datetime(s, errors="coerce", format="mixed", utc=True)
        )
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert(None)
    x = d.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
    return np.where(d.isna().to_numpy(), np.nan, x)
