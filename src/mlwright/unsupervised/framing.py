"""Rows without a label → the Schema (what a request must hold), the findings (columns left out and why)
and the dense matrix the clusterers and detectors measure distances in.

Bad input gets one typed line: no rows or one row, no usable column left, every row the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.findings import Finding, finding
from mlwright.data.schema import Schema, coerce, infer_columns
from mlwright.errors import ConfigError, DataError, EmptyDataError
from mlwright.features.dense import DenseFeatures

__all__ = ["Framed", "frame_rows", "pca_map", "read_rows"]

MAP_ROWS = 2_000  # rows drawn on a report's 2-D map

LEFT_OUT = {
    "id": ("looks like an identifier (a different value on almost every row)", "it would split every row apart"),
    "constant": ("holds one value on every row", "it cannot tell rows apart"),
    "empty": ("is empty", "it holds nothing"),
}


@dataclass
class Framed:
    """A table framed for unsupervised learning."""

    df: pd.DataFrame  # the used columns, coerced to their kinds
    schema: Schema
    prep: DenseFeatures
    X: np.ndarray
    findings: list[Finding]


def read_rows(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a CSV/Parquet path or a SQL source."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, Path)) or hasattr(data, "query"):
        from mlwright.data.sources import read_table

        return read_table(data)
    raise ConfigError(f"expected a DataFrame, a CSV/Parquet path or a SqlSource, got {type(data).__name__}")


def _select(df: pd.DataFrame, columns: list[str] | None, exclude: list[str] | None) -> pd.DataFrame:
    have = [str(c) for c in df.columns]
    for name, given in (("columns", columns), ("exclude", exclude)):
        missing = [c for c in given or [] if c not in have]
        if missing:
            raise ConfigError(
                f"{name}= names {', '.join(map(repr, missing[:5]))}, not in the data; its columns are "
                f"{', '.join(have[:20])}"
            )
    keep = [c for c in (columns or have) if c not in set(exclude or [])]
    return df[keep]


def frame_rows(
    data: Any,
    task: str,
    columns: list[str] | None = None,
    exclude: list[str] | None = None,
    column_types: dict[str, str] | None = None,
    seed: int = 0,
) -> Framed:
    """Read, check and encode the rows a clusterer or detector learns from (see the module docstring)."""
    df = _select(read_rows(data), columns, exclude)
    if len(df) == 0 or df.shape[1] == 0:
        raise EmptyDataError(f"the data has {len(df)} rows and {df.shape[1]} columns; {task} needs rows and columns")
    if len(df) < 3:
        raise DataError(f"the data has {len(df)} row(s); {task} needs at least 3 rows to find structure")
    specs = infer_columns(df, hints=column_types)
    findings = []
    for c in specs:
        if c.kind in LEFT_OUT:
            what, why = LEFT_OUT[c.kind]
            findings.append(
                finding(
                    "unused_column",
                    "info",
                    c.name,
                    f"column {c.name!r} {what}; left out because {why}",
                    f"pass column_types={{{c.name!r}: 'categorical'}} to use it anyway",
                )
            )
    schema = Schema(columns=specs, target="", task=task, metric="")
    used = schema.features
    if not used:
        raise DataError(
            f"no column is left to learn from: every column is an identifier, constant or empty "
            f"({', '.join(c.name for c in specs[:10])}); give the data measured columns"
        )
    frame = coerce(df, schema)
    prep = DenseFeatures(
        numeric=schema.of_kind("numeric", "boolean"),
        categorical=schema.of_kind("categorical"),
        high_cardinality=schema.of_kind("high_cardinality"),
        datetime=schema.of_kind("datetime"),
        text=schema.of_kind("text"),
        seed=seed,
    )
    X = prep.fit_transform(frame[used])
    if X.shape[1] == 0 or np.ptp(X, axis=0).max() == 0:
        raise DataError(f"all {len(df)} rows are identical in the columns used ({', '.join(used[:10])}); "
                        "there is nothing to separate — check the data")  # fmt: skip
    return Framed(frame[used], schema, prep, X, findings)


def pca_map(X: np.ndarray, groups: np.ndarray, seed: int) -> dict[str, Any]:
    """A 2-D PCA map of (a sample of) the rows with their group (cluster, or flagged), and the variance each
    axis explains."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    idx = np.arange(len(X)) if len(X) <= MAP_ROWS else np.sort(rng.choice(len(X), MAP_ROWS, replace=False))
    n = min(2, X.shape[1])
    pca = PCA(n_components=n, random_state=seed).fit(X)
    xy = pca.transform(X[idx])
    if n == 1:
        xy = np.hstack([xy, np.zeros((len(xy), 1))])
    return {
        "x": xy[:, 0].round(4).tolist(),
        "y": xy[:, 1].round(4).tolist(),
        "groups": np.asarray(groups)[idx].astype(int).tolist(),
        "explained": [round(float(v), 4) for v in pca.explained_variance_ratio_],
    }
