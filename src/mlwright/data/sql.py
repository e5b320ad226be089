"""SQL sources and sinks: read a query (whole or streamed in chunks), write a table atomically.

Any SQLAlchemy URL works (SQLite, PostgreSQL, MySQL/MariaDB …).  Reading streams through a
server-side cursor where the driver has one, so a query larger than memory is read chunk by chunk.
Writing goes to a staging table first; only when every chunk is in is it renamed to (or appended into)
the destination in one step, so a failed or killed job never leaves a half-written output table.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd

from mlwright.errors import ConfigError, DataReadError, EmptyDataError

__all__ = ["SqlSource", "SqlTableWriter", "iter_sql", "read_sql"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _engine(url: str):
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if not url:
        raise ConfigError("a SQL source needs --db URL (a SQLAlchemy URL, e.g. sqlite:///data.db)")
    try:
        return sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise ConfigError(
            f"--db {_redact(url)!r} is not a usable SQLAlchemy URL ({exc}); write e.g. sqlite:///data.db, "
            "postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db"
        ) from None


def _redact(url: str) -> str:
    from mlwright.store import redact

    return redact(url)


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def _check_query(query: str) -> str:
    """A source query must be one SELECT (or WITH … SELECT) statement: reading data never changes it."""
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("the SQL query is empty; pass a SELECT statement")
    bare = _QUOTED.sub("''", _COMMENTS.sub(" ", query)).strip().rstrip(";").strip()
    first = bare.lstrip("( \n\t").split(None, 1)[0].upper() if bare.lstrip("( \n\t") else ""
    if first not in ("SELECT", "WITH"):
        raise ConfigError(f"a SQL source must be a SELECT query (it reads, never writes); got a {first or 'blank'} "
                          "statement")  # fmt: skip
    if ";" in bare:
        raise ConfigError("a SQL source must be one SELECT statement; this query holds several (a ';' inside it)")
    return query


def _read_only(conn) -> None:
    """Make the connection's transaction read-only where the database supports it (a data-modifying CTE or a
    function with side effects then fails instead of writing)."""
    name = conn.dialect.name
    sql = {
        "sqlite": "PRAGMA query_only = ON",
        "postgresql": "SET TRANSACTION READ ONLY",
        "mysql": "SET SESSION TRANSACTION READ ONLY",
        "mariadb": "SET SESSION TRANSACTION READ ONLY",
    }.get(name)
    if sql is not None:  # not through the server-side cursor the query uses
        conn.exec_driver_sql(sql, execution_options={"stream_results": False})


def _read_error(exc: Exception, url: str) -> DataReadError:
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
    return DataReadError(f"the SQL query failed on {_redact(url)}: {msg}; check the query and the --db URL")


class SqlSource:
    """A SQL query as a training source: ``AutoML().fit(SqlSource("SELECT …", "postgresql+psycopg://…"), target=…)``.

    The model records the query and the database URL (its password hidden) as where it was trained
    from, so ``retrain --with-history`` can read the same rows again.

    Parameters
    ----------
    query : str
        A SELECT statement.
    db : str
        A SQLAlchemy URL.
    """

    def __init__(self, query: str, db: str):
        self.query, self.db = _check_query(query), db

    def read(self) -> pd.DataFrame:
        """The query's rows (see :func:`read_sql`)."""
        return read_sql(self.query, self.db)

    def describe(self) -> dict[str, str]:
        """What the model records: ``{"sql": query, "db": URL without its password}``."""
        return {"sql": self.query, "db": _redact(self.db)}

    @classmethod
    def from_record(cls, record: dict[str, str], db: str | None = None) -> SqlSource:
        """The source a model recorded; ``db`` supplies the URL when the recorded one had a password (hidden)."""
        url = db or record["db"]
        if db is None and "***" in url:
            raise ConfigError(f"the training rows came from a query on {url}, whose password is not stored; "
                              "give the URL again (--history-db URL)")  # fmt: skip
        return cls(record["sql"], url)

    def __repr__(self) -> str:
        return f"SqlSource({self.query!r}, {_redact(self.db)!r})"


def read_sql(query: str, url: str) -> pd.DataFrame:
    """The result of ``query`` on the database at ``url`` as a DataFrame.

    Raises
    ------
    ConfigError
        The URL is not usable.
    DataReadError
        The database is unreachable or the query fails.
    EmptyDataError
        The query returns no rows.
    """
    chunks = list(iter_sql(query, url, chunk_rows=200_000))
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def iter_sql(query: str, url: str, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """Stream the result of ``query`` in DataFrames of at most ``chunk_rows`` rows (server-side cursor)."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    _check_query(query)
    engine = _engine(url)
    try:
        try:
            conn = engine.connect().execution_options(stream_results=True, max_row_buffer=chunk_rows)
        except SQLAlchemyError as exc:
            raise _read_error(exc, url) from None
        with conn:
            try:
                _read_only(conn)
                result = conn.execute(sa.text(query))
            except SQLAlchemyError as exc:
                raise _read_error(exc, url) from None
            if not result.returns_rows:
                raise ConfigError("the SQL statement returns no rows; pass a SELECT query")
            cols = list(result.keys())
            n = 0
            while True:
                try:
                    rows = result.fetchmany(chunk_rows)
                except SQLAlchemyError as exc:
                    raise _read_error(exc, url) from None
                if not rows:
                    break
                n += len(rows)
                yield pd.DataFrame.from_records(rows, columns=cols)
            if n == 0:
                raise EmptyDataError("the SQL query returned no rows")
    finally:
        engine.dispose()


class SqlTableWriter:
    """Write DataFrames to ``table`` through a staging table; :meth:`commit` publishes them in one step.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the database.
    table : str
        Destination table (letters, digits, underscores).
    if_exists : {"fail", "replace", "append"}
        What to do when ``table`` already exists (checked before anything is written).
    """

    def __init__(self, url: str, table: str, if_exists: str = "fail"):
        import sqlalchemy as sa

        if not isinstance(table, str) or not _IDENT.match(table):
            raise ConfigError(
                f"output table name {table!r} is not allowed: use letters, digits and underscores, starting with "
                "a letter or underscore (at most 63 characters)"
            )
        if if_exists not in ("fail", "replace", "append"):
            raise ConfigError(f"if_exists must be fail, replace or append, got {if_exists!r}")
        self.url, self.table, self.if_exists = url, table, if_exists
        self.engine = _engine(url)
        self.staging = f"{table[:40]}__mlw_{uuid.uuid4().hex[:8]}"
        self.rows = 0
        try:
            exists = sa.inspect(self.engine).has_table(table)
        except sa.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            raise _read_error(exc, url) from None
        if exists and if_exists == "fail":
            self.engine.dispose()
            raise ConfigError(
                f"table {table!r} already exists; choose another --output-table, or pass --if-exists replace "
                "(swap it for the new predictions) or --if-exists append"
            )
        if self.engine.dialect.name == "sqlite":
            # WAL lets the job read its input from the same SQLite file while it writes the staging table
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._started = False

    def write(self, df: pd.DataFrame) -> None:
        """Append one chunk to the staging table (its own transaction)."""
        with self.engine.begin() as conn:
            df.to_sql(self.staging, conn, if_exists="append" if self._started else "fail", index=False,
                      chunksize=5_000)  # fmt: skip
        self._started = True
        self.rows += len(df)

    def commit(self) -> int:
        """Publish the staged rows as ``table`` (rename, or one INSERT … SELECT for append); rows written."""
        import sqlalchemy as sa

        if not self._started:
            raise EmptyDataError("nothing to write: no rows were scored")
        prep = self.engine.dialect.identifier_preparer
        dst, stg = prep.quote(self.table), prep.quote(self.staging)
        with self.engine.begin() as conn:
            exists = sa.inspect(conn).has_table(self.table)
            if exists and self.if_exists == "append":
                cols = ", ".join(prep.quote(c["name"]) for c in sa.inspect(conn).get_columns(self.staging))
                conn.exec_driver_sql(f"INSERT INTO {dst} ({cols}) SELECT {cols} FROM {stg}")
                conn.exec_driver_sql(f"DROP TABLE {stg}")
            else:
                if exists:  # replace (fail was refused up front; a table created since then is replaced too)
                    conn.exec_driver_sql(f"DROP TABLE {dst}")
                conn.exec_driver_sql(f"ALTER TABLE {stg} RENAME TO {dst}")
        self.engine.dispose()
        return self.rows

    def abort(self) -> None:
        """Drop the staging table; the destination is left as it was."""
        stg = self.engine.dialect.identifier_preparer.quote(self.staging)
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stg}")
        except Exception as exc:  # best effort: the staging table has a recognisable name
            import logging

            logging.getLogger("mlwright").warning("could not drop the staging table %s: %s", self.staging, exc)
        self.engine.dispose()

    def __enter__(self) -> SqlTableWriter:
        return self

    def __exit__(self, exc_type, *_: Any) -> None:
        if exc_type is not None:
            self.abort()
