"""The table's principal components, for the profile: how much of the variation the first components
explain, and a 2-D map of the rows coloured by the target (its class, or its value's fifth).

The columns are encoded as the unsupervised models see them (:class:`~mlwright.features.dense.DenseFeatures`:
standardised numbers, one-hot categories, …), the target left out, on a sample of rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import ColumnSpec, Schema, coerce

__all__ = ["MAP_ROWS", "components"]

FIT_ROWS = 5_000
MAP_ROWS = 1_500
MAX_COMPONENTS = 10
KINDS = {
    "numeric": ("numeric", "boolean"),
    "categorical": ("categorical",),
    "high_cardinality": ("high_cardinality",),
    "datetime": ("datetime",),
    "text": ("text",),
}


def components(
    sample: pd.DataFrame, specs: list[ColumnSpec], target: str | None, task: str | None, seed: int = 0
) -> dict[str, Any] | None:
    """Explained variance of the first principal components and the rows on the first two (``None`` with
    fewer than two encoded columns or three rows)."""
    from sklearn.decomposition import PCA

    from mlwright.features.dense import DenseFeatures

    used = [c for c in specs if c.used and c.name != target]
    if len(sample) < 3 or not used:
        return None
    rng = np.random.default_rng(seed)
    rows = sample if len(sample) <= FIT_ROWS else sample.iloc[np.sort(rng.choice(len(sample), FIT_ROWS, replace=False))]
    schema = Schema(columns=used, target=target or "", task=task or "", metric="")
    kinds = {k: schema.of_kind(*v) for k, v in KINDS.items()}
    enc = DenseFeatures(**kinds, seed=seed)
    X = enc.fit_transform(coerce(rows, schema))
    if X.shape[1] < 2 or np.ptp(X, axis=0).max() == 0:
        return None
    pca = PCA(n_components=min(MAX_COMPONENTS, X.shape[1], len(X)), random_state=seed).fit(X)
    idx = np.arange(len(X)) if len(X) <= MAP_ROWS else np.sort(rng.choice(len(X), MAP_ROWS, replace=False))
    xy = pca.transform(X[idx])[:, :2]
    out: dict[str, Any] = {
        "encoded_columns": int(X.shape[1]),
        "rows": len(X),
        "explained": [float(v) for v in pca.explained_variance_ratio_],
        "x": xy[:, 0].round(4).tolist(),
        "y": xy[:, 1].round(4).tolist(),
        "groups": None,
        "names": [],
        "loadings": _loadings(pca.components_, enc.feature_names_out_),
    }
    if target is not None and target in rows.columns:
        y = rows[target].iloc[idx]
        out["groups"], out["names"] = _groups(y, task)
    return out


def _loadings(weights: np.ndarray, names: list[str], n: int = 3, top: int = 4) -> list[list[tuple[str, float]]]:
    """The heaviest encoded columns of each of the first ``n`` components, with their signed weights."""
    out = []
    for w in weights[:n]:
        order = np.argsort(-np.abs(w))[:top]
        out.append([(str(names[j]), round(float(w[j]), 3)) for j in order])
    return out


def _groups(y: pd.Series, task: str | None) -> tuple[list[int], list[str]]:
    """Each row's colour: its class (the 7 most frequent, the rest as "other"), or its value's fifth."""
    if task == "regression":
        v = pd.to_numeric(y, errors="coerce")
        bins = pd.qcut(v, 5, labels=False, duplicates="drop")
        edges = v.quantile(np.linspace(0, 1, 6)).to_numpy()
        names = (
            [f"{edges[i]:.3g} – {edges[i + 1]:.3g}" for i in range(int(np.nanmax(bins)) + 1)]
            if bins.notna().any()
            else []
        )
        return [int(b) if b == b else len(names) for b in bins], [*names, "missing"]
    levels = y.astype(str).where(y.notna(), "(missing)")
    top = levels.value_counts().index[:7].tolist()
    names = [*top, "other"] if levels.nunique() > 7 else top
    pos = {v: i for i, v in enumerate(top)}
    return [pos.get(v, len(top)) for v in levels], names
