"""Read a table from a file or take a DataFrame as is."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataReadError, EmptyDataError, UnsupportedFormatError

__all__ = ["READERS", "read_table"]

READERS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read CSV/TSV/Parquet (by extension) or return a DataFrame unchanged.

    Parameters
    ----------
    source : str, Path or DataFrame
        A path ending in .csv, .tsv, .txt, .parquet or .pq, or a DataFrame.

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
    path = Path(source)
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
    if len(df) == 0:
        raise EmptyDataError(f"{str(path)!r} has a header but no data rows")
    return df
