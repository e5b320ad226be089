"""mlwright's store: runs, trials and the model registry in one SQL database.

A SQLite file under ``MLWRIGHT_HOME`` by default (nothing to install); any SQLAlchemy URL works
(``MLWRIGHT_STORE_URL`` or ``Store(url)``), e.g. ``postgresql+psycopg://…`` or
``mysql+pymysql://…``.  The schema is created and upgraded by Alembic migrations
(``store/migrations``) the first time a store is opened.  Writes are transactions: a process killed
in the middle leaves the old state or the new one, never half of each.

Package: all SQL on the store lives here, as repository functions by subject — :mod:`.runs` (runs and
trials), :mod:`.registry` (names, versions, aliases), :mod:`.predictions` (the prediction log, error counts,
feedback, retraining outcomes), :mod:`.pipelines` (pipeline runs, steps and locks) — over the tables of
:mod:`.tables`; nothing outside imports SQLAlchemy or the tables.  May import config, errors and faults only.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from mlwright.config import home
from mlwright.errors import StoreError

__all__ = ["Store", "default_url", "utcnow"]

T = TypeVar("T")
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> _dt.datetime:
    """The time the store records (timezone-aware UTC)."""
    return _dt.datetime.now(_dt.UTC)


def default_url() -> str:
    """``MLWRIGHT_STORE_URL``, or a SQLite file in ``MLWRIGHT_HOME``."""
    return os.environ.get("MLWRIGHT_STORE_URL") or f"sqlite:///{home() / 'mlwright.db'}"


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say so without echoing secrets
        return "<unparseable URL>"


class Store:
    """A connection to the store's database (created and migrated on first use).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default :func:`default_url`.
    """

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        try:
            self.engine = self._engine(self.url)
            self.migrate()
        except StoreError:
            raise
        except (SQLAlchemyError, OSError, ImportError, ValueError) as exc:
            raise StoreError(
                f"cannot open the store at {redact(self.url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}; "
                "check the URL (MLWRIGHT_STORE_URL) and that the database server is running"
            ) from None

    @staticmethod
    def _engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 60})

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _rec: Any) -> None:  # we issue BEGIN ourselves (below)
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=60000")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Any) -> None:  # writers queue up instead of failing half-way
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        return create_engine(url, pool_pre_ping=True)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call from several processes at once)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                return
            except (OperationalError, IntegrityError, DBAPIError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))  # another process is creating the same tables

    def write(self, fn: Callable[[Any], T], retries: int = 8) -> T:
        """Run ``fn(connection)`` in one transaction, retried on conflicts with concurrent writers."""
        for attempt in range(retries):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except (IntegrityError, OperationalError) as exc:
                if attempt == retries - 1:
                    raise StoreError(
                        f"the store stayed busy or conflicting after {retries} tries: {exc.orig}"
                    ) from None
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def read(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(connection)`` for reading (a database error becomes a :class:`StoreError` saying which store)."""
        try:
            with self.engine.connect() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"the store {redact(self.url)} could not be read: {getattr(exc, 'orig', None) or exc}; if another "
                "mlwright version wrote it, use that version or point MLWRIGHT_STORE_URL at a new store"
            ) from None

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()
