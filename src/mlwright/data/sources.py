"""Read a table from a file or take a DataFrame as is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import (
    ColumnsMismatchError,
    ColumnTypeError,
    ConfigError,
    DataReadError,
    EmptyDataError,
    TargetNotFoundError,
    UnsupportedFormatError,
    did_you_mean,
)

__all__ = ["READERS", "check_array", "column_labels", "no_duplicate_header", "read_table", "training_table"]

READERS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(source: Any) -> pd.DataFrame:
    """Read CSV/TSV/Parquet (by extension) or a :class:`~mlwright.data.sql.SqlSource`, or return a DataFrame
    unchanged.

    Parameters
    ----------
    source : str, Path, SqlSource or DataFrame
        A path ending in .csv, .tsv, .txt, .parquet or .pq, a directory of Parquet files (partitioned
        as Spark writes them), a SQL query, or a DataFrame.

    Returns
    -------
    DataFrame

    Raises
    ------
    FileNotFoundError
        The path does not exist (a :class:`DataReadError`).
    UnsupportedFormatError
        The extension is not one of the supported ones.
    DataReadError
        The file is not valid UTF-8 text or cannot be parsed.
    EmptyDataError
        The file holds no rows.
    """
    if isinstance(source, pd.DataFrame):
        return source
    from mlwright.data.sql import SqlSource

    if isinstance(source, SqlSource):
        return source.read()
    path = Path(source)
    if path.is_dir() and any(path.rglob("*.parquet")):
        return _read_parquet_dir(path)
    ext = path.suffix.lower()
    if ext not in READERS:
        raise UnsupportedFormatError(
            f"cannot read {str(path)!r}: extension {ext or '(none)'!r} is not supported; "
            f"save the table as one of {', '.join(sorted(READERS))}"
        )
    if not path.exists():
        raise DataReadError(f"file {str(path)!r} does not exist; check the path")
    if path.is_dir():
        raise DataReadError(f"{str(path)!r} is a directory, not a data file")
    kind = READERS[ext]
    try:
        if kind == "parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", encoding="utf-8", low_memory=False)
    except UnicodeDecodeError as exc:
        raise DataReadError(
            f"{str(path)!r} is not valid UTF-8 text (bad byte at position {exc.start}); "
            "re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
        ) from None
    except pd.errors.EmptyDataError:
        raise EmptyDataError(f"{str(path)!r} is empty: it has no header and no rows") from None
    except pd.errors.ParserError as exc:
        raise DataReadError(f"cannot parse {str(path)!r} as {kind.upper()}: {exc}") from None
    except (OSError, ValueError) as exc:  # pyarrow errors derive from these
        raise DataReadError(f"cannot read {str(path)!r} as {kind}: {exc}") from None
    if kind != "parquet":
        no_duplicate_header(path, df, "\t" if kind == "tsv" else ",")
    if len(df) == 0:
        raise EmptyDataError(f"{str(path)!r} has a header but no data rows")
    return df


def no_duplicate_header(path: Path, df: pd.DataFrame, sep: str) -> None:
    """pandas renames a repeated header name to ``name.1``: refuse it instead (which column is meant?)."""
    if not any(str(c).rpartition(".")[2].isdigit() for c in df.columns):
        return
    head = pd.read_csv(path, sep=sep, encoding="utf-8", header=None, nrows=1, dtype=str).iloc[0].tolist()
    dup = sorted({str(h) for h in head if head.count(h) > 1})
    if dup:
        raise DataReadError(
            f"{str(path)!r}: the header names {', '.join(map(repr, dup))} more than once; "
            "give every column its own name"
        )


def column_labels(df: pd.DataFrame, what: str = "the data") -> pd.DataFrame:
    """``df`` with text column labels (a shallow copy when any were not text), or a clear error for
    MultiIndex columns and repeated names; the caller's frame is never changed."""
    if isinstance(df.columns, pd.MultiIndex):
        raise ConfigError(
            f"{what} has MultiIndex (several-level) column labels; flatten them first, e.g. "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns]"
        )
    names = [str(c) for c in df.columns]
    if len(set(names)) < len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(
            f"{what} has {len(dup)} column name(s) used more than once: {', '.join(map(repr, dup[:10]))}; "
            "give every column its own name"
        )
    if all(type(c) is str for c in df.columns):
        return df
    out = df.copy(deep=False)
    out.columns = names
    return out


def _read_parquet_dir(path: Path) -> pd.DataFrame:
    """A directory of Parquet files — one dataset, partitioned the way Spark and Hive write it
    (``col=value/`` folders; the partition columns come back as ordinary columns, their values typed)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        table = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataReadError(f"cannot read the Parquet directory {str(path)!r}: {exc}") from None
    df = decategorize(table.to_pandas())
    if len(df) == 0:
        raise EmptyDataError(f"the Parquet directory {str(path)!r} has no rows")
    return df


def decategorize(df: pd.DataFrame) -> pd.DataFrame:
    """Partition columns arrive dictionary-encoded: give them their values' own type (in place)."""
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(df[c].cat.categories.dtype)
    return df


def check_array(X: Any) -> np.ndarray:
    """A plain 2-D array of numbers or strings, or a clear error."""
    import scipy.sparse as sp

    if sp.issparse(X):
        raise ColumnTypeError("sparse input is not supported: pass a dense array or a DataFrame")
    arr = np.asarray(X)
    if np.iscomplexobj(arr):
        raise ColumnTypeError("Complex data not supported: pass real-valued features")
    if arr.ndim != 2:
        raise ColumnsMismatchError(
            f"X must be 2-D (rows × columns), got shape {arr.shape}. Reshape your data: X.reshape(1, -1) for one row"
        )
    if arr.shape[1] == 0:
        raise EmptyDataError(f"0 feature(s) (shape={arr.shape}) while a minimum of 1 is required. Add feature columns")
    if arr.dtype == object:
        for (i, j), v in np.ndenumerate(arr):
            if not (v is None or isinstance(v, (str, int, float, bool, np.generic))):
                raise ColumnTypeError(
                    f"column x{j}, row {i} holds a {type(v).__name__}; each argument must be a string or a number"
                )
    return arr


def training_table(X: Any, y: Any, target: str | None) -> tuple[pd.DataFrame, str, np.ndarray | None]:
    """The training table (features + target) from ``fit``'s arguments.

    Returns the table, the target's name, and the feature names when ``X`` was a DataFrame given
    with ``y`` (None otherwise).
    """
    names = None
    from mlwright.data.sql import SqlSource

    if isinstance(X, (str, Path, SqlSource)):  # a file or a query
        X = read_table(X)
    if y is not None:
        if target is not None:
            raise ConfigError("give either y or target=, not both")
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(check_array(X), columns=None)
            X.columns = [f"x{i}" for i in range(X.shape[1])]
        else:
            names = np.asarray([str(c) for c in X.columns], dtype=object)
            X = column_labels(X, "X")
        y_arr = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        if y_arr.ndim != 1:
            raise ConfigError(f"y must be one column of labels or values (1-D), got shape {y_arr.shape}")
        if len(y_arr) != len(X):
            raise EmptyDataError(f"X has {len(X)} rows but y has {len(y_arr)}; they must match")
        y_s = pd.Series(y_arr, index=X.index)
        target = str(getattr(y, "name", None) or "target")
        while target in X.columns:
            target = f"_{target}"
        df = X.copy()
        df.columns = [str(c) for c in df.columns]
        df[target] = y_s
    else:
        if not isinstance(X, pd.DataFrame):
            raise ConfigError("fit(X) needs a DataFrame or file with target=, or fit(X, y)")
        if target is None:
            raise ConfigError("say which column to predict: fit(df, target='column')")
        df = column_labels(X)
        target = str(target) if isinstance(target, (int, np.integer)) and not isinstance(target, bool) else target
        if not isinstance(target, str):
            raise ConfigError(f"target must be a column name (text), got {type(target).__name__} {target!r}")
        if target not in df.columns:
            raise TargetNotFoundError(
                f"target column {target!r} is not in the data{did_you_mean(target, df.columns)}; "
                f"columns are: {', '.join(list(df.columns)[:25])}"
            )
    if len(df) == 0:
        raise EmptyDataError("the data has no rows")
    if len(df) == 1:
        raise EmptyDataError("got 1 sample (n_samples=1): mlwright needs at least 2 rows to learn from")
    if df.shape[1] < 2:
        raise EmptyDataError(f"the data has only the target column {target!r}: no features to learn from")
    return df, target, names
