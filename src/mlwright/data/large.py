"""Tables larger than memory: read them in batches, and draw a stratified sample sized to a memory budget.

:func:`scan` streams a CSV file, a Parquet file or a directory of Parquet files (partitioned as Spark
writes them) as pandas batches of at most ``batch_rows`` rows — pyarrow's streaming CSV reader and
dataset scanner, never the whole file at once.  :func:`sample_rows` picks how many rows fit a memory
budget from the bytes a row takes in the first batch; :func:`stratified_sample` draws that many rows in
two passes — the first reads only the target column and counts its classes, the second keeps each row
with its class's probability (seeded) — so every class keeps its share, rare ones raised to at least
``min_per_class`` rows (a numeric target: a uniform sample, which keeps its distribution).

``fit`` uses them for tables larger than its ``memory_limit`` allows to hold (see :mod:`mlwright.automl.outofcore`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.sources import decategorize
from mlwright.errors import DataReadError, TargetNotFoundError, did_you_mean

__all__ = ["holdout_rows", "sample_rows", "scan", "stratified_sample", "table_rows"]


def _dataset(path: Path):
    import pyarrow.dataset as ds

    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return ds.dataset(path, format="parquet", partitioning="hive" if path.is_dir() else None)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        import pyarrow.csv as pcsv

        parse = pcsv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",", newlines_in_values=True)
        return ds.dataset(path, format=ds.CsvFileFormat(parse_options=parse))
    raise DataReadError(f"cannot stream {str(path)!r}: use a .csv, .tsv, .parquet file or a Parquet directory")


def scan(source: str | Path, columns: list[str] | None = None, batch_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """The rows of ``source`` as DataFrames of at most ``batch_rows`` rows (only ``columns``, if given)."""
    import pyarrow as pa

    path = Path(source)
    if not path.exists():
        raise DataReadError(f"{str(path)!r} does not exist; check the path")
    data = _dataset(path)
    if columns is not None:
        missing = [c for c in columns if c not in data.schema.names]
        if missing:
            raise TargetNotFoundError(f"column {missing[0]!r} is not in {str(path)!r}"
                                      f"{did_you_mean(missing[0], data.schema.names)}")  # fmt: skip
    try:
        for batch in _batches(path, data, columns, batch_rows):
            if len(batch):
                yield decategorize(batch)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataReadError(f"cannot read {str(path)!r}: {exc}") from None


def _batches(path: Path, data, columns: list[str] | None, batch_rows: int) -> Iterator[pd.DataFrame]:
    """Batches read synchronously, one at a time.

    Not ``Dataset.to_batches``: its background reader runs ahead of a slow consumer and keeps what it read
    (apache/arrow#39808) — measured on a 1.9 GB, 20M-row Parquet file with ~0.2 s of work per 250k-row batch:
    1.1 GB of Arrow memory live after 12 batches; Parquet files are read here with ``ParquetFile.iter_batches``
    (no pre-buffering), CSV with pyarrow's streaming reader, both of which read only when asked.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if isinstance(data.format, ds.ParquetFileFormat):
        for fragment in data.get_fragments():
            keys = ds.get_partition_keys(fragment.partition_expression) or {}
            pf = pq.ParquetFile(fragment.path, pre_buffer=False)
            names = pf.schema_arrow.names
            own = None if columns is None else [c for c in columns if c in names]
            for b in pf.iter_batches(batch_size=batch_rows, columns=own):
                df = b.to_pandas()
                for k, v in keys.items():  # hive partition values: from the path, typed as the dataset infers
                    if columns is None or k in columns:
                        df[k] = pa.array([v], type=data.schema.field(k).type).to_pandas().iloc[0]
                yield df[[c for c in (columns or data.schema.names) if c in df.columns]]
        return
    import pyarrow.csv as pcsv

    fmt = data.format
    reader = pcsv.open_csv(path, parse_options=fmt.parse_options,
                           read_options=pcsv.ReadOptions(block_size=max(1 << 20, min(batch_rows * 200, 1 << 28))),
                           convert_options=pcsv.ConvertOptions(include_columns=columns))  # fmt: skip
    for b in reader:
        for start in range(0, b.num_rows, batch_rows):
            yield b.slice(start, batch_rows).to_pandas()


def table_rows(source: str | Path) -> int:
    """How many rows ``source`` has (Parquet: from the footers; CSV: one streaming pass)."""
    path = Path(source)
    data = _dataset(path)
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return int(data.count_rows())
    return sum(len(b) for b in scan(path, columns=[data.schema.names[0]]))


def sample_rows(first_batch: pd.DataFrame, memory_bytes: int, share: float = 0.1) -> int:
    """Rows a sample may have so that it takes ``share`` of ``memory_bytes`` in memory (the search copies
    and transforms its data several times over: folds, preprocessed matrices, models)."""
    per_row = max(float(first_batch.memory_usage(deep=True).sum()) / max(len(first_batch), 1), 1.0)
    return max(1000, int(memory_bytes * share / per_row))


def holdout_rows(index: np.ndarray, every: int | None) -> np.ndarray:
    """Which rows (by their position in the table) are held out: every ``every``-th one (none if None)."""
    return (index % every == 0) if every else np.zeros(len(index), dtype=bool)


def stratified_sample(source: str | Path, target: str, n_rows: int, seed: int = 0, batch_rows: int = 200_000,
                      min_per_class: int = 50, holdout_every: int | None = None
                      ) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """About ``n_rows`` rows of ``source``, each class of ``target`` keeping its share and every class at
    least ``min_per_class`` rows where it has them (a numeric target with many values: a uniform sample).
    Rows with a missing target are not drawn; with ``holdout_every``, neither are the held-out rows
    (:func:`holdout_rows`), so they can judge models trained on the sample.
    Returns the sample and what was done: ``{"rows", "sampled", "classes", "rates"}``."""
    counts: dict[Any, int] = {}
    numeric = None
    for b in scan(source, columns=[target], batch_rows=batch_rows):
        t = b[target]
        if numeric is None:
            numeric = bool(pd.api.types.is_numeric_dtype(t) and t.nunique(dropna=True) > 20)
        if numeric:
            counts[None] = counts.get(None, 0) + len(t)
            continue
        for k, v in t.astype(object).where(t.notna(), None).value_counts(dropna=False).items():
            counts[k] = counts.get(k, 0) + int(v)
    total = sum(counts.values())
    base = n_rows / max(total, 1)
    rate = {k: min(1.0, base if numeric else max(base, min_per_class / c)) for k, c in counts.items()}
    rng = np.random.default_rng(seed)
    parts = []
    start = 0
    for b in scan(source, batch_rows=batch_rows):
        if numeric:
            p = np.full(len(b), rate[None])
        else:
            p = b[target].astype(object).where(b[target].notna(), None).map(rate).to_numpy(dtype=float)
        keep = (rng.random(len(b)) < p) & b[target].notna().to_numpy()
        keep &= ~holdout_rows(np.arange(start, start + len(b)), holdout_every)
        start += len(b)
        if keep.any():
            parts.append(b.loc[keep])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    info = {"rows": total, "sampled": len(out), "classes": 0 if numeric else len(counts),
            "rates": {str(k): v for k, v in rate.items()}}  # fmt: skip
    return out, info
