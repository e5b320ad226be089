"""Batch scoring in constant memory: CSV, Parquet or a SQL query in; CSV, Parquet, a SQL table or stdout out.

The input is read in chunks (CSV through pandas' chunked reader, Parquet row batch by row batch, SQL
through a server-side cursor), each chunk is scored and written before the next is read, so memory
stays at a few chunks whatever the file's size.  File outputs are written to a temporary name and
renamed into place at the end; SQL outputs go through a staging table (see
:class:`~mlwright.data.sql.SqlTableWriter`): a failed run never leaves a half-written result.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.sources import READERS
from mlwright.errors import ColumnsMismatchError, ConfigError, DataReadError, EmptyDataError, UnsupportedFormatError
from mlwright.faults import kill_point
from mlwright.processes import sweep_dead

__all__ = ["BatchInput", "score_batch", "score_frame"]

CHUNK_ROWS = 100_000


def score_frame(model: Any, df: pd.DataFrame, keep: list[str] | None = None) -> pd.DataFrame:
    """Predictions (and ``proba_<class>`` columns for classifiers) for ``df``, one model pass.

    ``keep``: input columns copied in front of the predictions (e.g. an id to join on).
    """
    out = pd.DataFrame(index=df.index)
    for c in keep or []:
        out[c] = df[c]
    from mlwright.predictor import decide, decision_threshold, label_array

    if model.task_ == "forecast":  # rows name a series and a future time stamp: the mean and its quantiles
        mean, q = model.predict_quantiles(df)
        out["prediction"] = mean
        for j, lv in enumerate(model.quantiles_):
            out[f"q_{lv:g}"] = q[:, j]
        return out
    known = {c.name for c in model.schema_.columns}
    df = df.drop(columns=[c for c in keep or [] if c not in known])  # an id kept for joining is no feature
    if model.task_ == "cluster":  # the segment, the distance to its centre and the membership probability
        labels, dist, proba = model.assign(df)
        out["prediction"], out["distance"] = labels, dist
        out["probability"] = proba[np.arange(len(labels)), labels]
        return out
    raw = model.predict_scores(df)
    if model.task_ == "anomaly":  # the flag at the model's threshold and the score in [0, 1]
        out["prediction"] = (raw >= model.threshold_).astype(int)
        out["score"] = raw
        return out
    if model.task_ == "regression":
        out["prediction"] = np.asarray(raw, dtype=float)
        return out
    p, pick = decide(raw, model.task_, decision_threshold(model, df))
    classes = list(model.schema_.classes)
    out["prediction"] = label_array(classes)[pick]
    for j, c in enumerate(classes):
        out[f"proba_{c}"] = p[:, j]
    return out


@dataclass
class BatchInput:
    """Where the rows come from: a file path, or a SQL ``query`` on the database at ``db``."""

    path: str | Path | None = None
    query: str | None = None
    db: str | None = None
    chunk_rows: int = CHUNK_ROWS

    def chunks(self) -> tuple[Iterator[pd.DataFrame], int | None, Callable[[], float] | None]:
        """(chunk iterator, total rows if known, fraction-done function for CSV files)."""
        if not isinstance(self.chunk_rows, int) or self.chunk_rows < 1:
            raise ConfigError(f"chunk_rows must be a positive whole number, got {self.chunk_rows!r}")
        if self.query is not None:
            if self.path is not None:
                raise ConfigError("give either an input file or --input-sql, not both")
            from mlwright.data.sql import iter_sql

            return iter_sql(self.query, self.db or "", self.chunk_rows), None, None
        if self.path is None:
            raise ConfigError("nothing to score: give an input file, or --input-sql with --db")
        path = Path(self.path)
        ext = path.suffix.lower()
        if ext not in READERS:
            raise UnsupportedFormatError(
                f"cannot read {str(path)!r}: extension {ext or '(none)'!r} is not supported; use .csv, .tsv or .parquet"
            )
        if not path.is_file():
            raise DataReadError(f"file {str(path)!r} does not exist; check the path")
        if READERS[ext] == "parquet":
            return self._parquet(path)
        return self._csv(path, "\t" if READERS[ext] == "tsv" else ",")

    def _parquet(self, path: Path):
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DataReadError(f"cannot read {str(path)!r} as Parquet: {exc}") from None

        def gen():
            for batch in pf.iter_batches(batch_size=self.chunk_rows):
                yield batch.to_pandas()

        return gen(), pf.metadata.num_rows, None

    def _csv(self, path: Path, sep: str):
        size = max(path.stat().st_size, 1)
        fh = open(path, "rb")  # noqa: SIM115 (closed by the generator)

        def gen():
            try:
                yield from pd.read_csv(fh, sep=sep, encoding="utf-8", chunksize=self.chunk_rows, low_memory=False)
            except UnicodeDecodeError as exc:
                raise DataReadError(
                    f"{str(path)!r} is not valid UTF-8 text (bad byte at position {exc.start}); re-save it as UTF-8"
                ) from None
            except pd.errors.EmptyDataError:
                raise EmptyDataError(f"{str(path)!r} is empty: it has no header and no rows") from None
            except pd.errors.ParserError as exc:
                raise DataReadError(f"cannot parse {str(path)!r} as CSV: {exc}") from None
            finally:
                fh.close()

        return gen(), None, lambda: 0.0 if fh.closed else min(fh.tell() / size, 1.0)


class _FileSink:
    """CSV or Parquet, written chunk by chunk to a temporary name and renamed into place on commit."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.kind = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(self.path.suffix.lower())
        if self.kind is None:
            raise UnsupportedFormatError(f"cannot write {str(self.path)!r}: use a .csv or .parquet file name")
        if not self.path.parent.is_dir():
            raise ConfigError(f"the folder of {str(self.path)!r} does not exist; create it first")
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        prefix = f".{self.path.name}."
        sweep_dead(self.path.parent.glob(f"{glob.escape(prefix)}*.tmp"), prefix)  # left by a killed run
        self._writer = None
        self._fh = None
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        if self.kind == "csv":
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115
                df.to_csv(self._fh, index=False)
            else:
                df.to_csv(self._fh, index=False, header=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, table.schema)
            elif table.schema != self._writer.schema:
                table = table.cast(self._writer.schema)
            self._writer.write_table(table)
        self.rows += len(df)
        kill_point("batch.chunk")

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._writer is not None:
            self._writer.close()

    def commit(self) -> int:
        self._close()
        if self.rows == 0:
            raise EmptyDataError("nothing to write: no rows were scored")
        os.replace(self.tmp, self.path)
        return self.rows

    def abort(self) -> None:
        self._close()
        self.tmp.unlink(missing_ok=True)


class _StdoutSink:
    def __init__(self):
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        df.to_csv(sys.stdout, index=False, header=self.rows == 0)
        self.rows += len(df)

    def commit(self) -> int:
        sys.stdout.flush()
        return self.rows

    def abort(self) -> None:
        sys.stdout.flush()


def _sink(out: str | Path | None, table: str | None, db: str | None, if_exists: str):
    if table is not None:
        if out is not None:
            raise ConfigError("give either --out FILE or --output-table, not both")
        from mlwright.data.sql import SqlTableWriter

        return SqlTableWriter(db or "", table, if_exists)
    return _StdoutSink() if out is None else _FileSink(out)


def score_batch(
    model: Any,
    source: BatchInput,
    out: str | Path | None = None,
    *,
    table: str | None = None,
    out_db: str | None = None,
    if_exists: str = "fail",
    keep: list[str] | None = None,
    progress: Callable[[int, float | None], None] | None = None,
) -> dict[str, Any]:
    """Score ``source`` chunk by chunk with ``model`` and write the predictions.

    Parameters
    ----------
    model : AutoML
        A fitted or loaded model.
    source : BatchInput
        The rows: a CSV/Parquet file, or a SQL query and its database.
    out : path, optional
        A .csv or .parquet file; with neither ``out`` nor ``table``, CSV goes to stdout.
    table, out_db, if_exists :
        A SQL output table, its database (default: the input's), and what to do if it exists.
    keep : list of str, optional
        Input columns copied to the output before the predictions (e.g. an id).
    progress : callable, optional
        Called after each chunk with (rows done, fraction done or None when unknown).

    Returns
    -------
    dict
        ``rows``, ``chunks`` and ``total_rows`` (when known up front).
    """
    chunks, total, fraction = source.chunks()
    sink = _sink(out, table, out_db or source.db, if_exists)
    done = n_chunks = 0
    try:
        for df in chunks:
            missing = [c for c in keep or [] if c not in df.columns]
            if missing:
                raise ColumnsMismatchError(f"--keep column(s) {missing} are not in the input; its columns: "
                                           f"{', '.join(map(str, df.columns[:20]))}")  # fmt: skip
            sink.write(score_frame(model, df, keep))
            done += len(df)
            n_chunks += 1
            if progress is not None:
                frac = done / total if total else (fraction() if fraction else None)
                progress(done, frac)
        if done == 0:
            raise EmptyDataError("the input holds no rows to score")
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return {"rows": done, "chunks": n_chunks, "total_rows": total}
