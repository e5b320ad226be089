"""Alembic environment of mlwright's store: run from :func:`mlwright.store.Store.migrate` with a live
connection in ``config.attributes["connection"]`` (or a URL in ``sqlalchemy.url``)."""

from alembic import context
from sqlalchemy import create_engine

from mlwright.store.tables import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=metadata, version_table="mlw_alembic_version")
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=metadata, version_table="mlw_alembic_version")
    with context.begin_transaction():
        context.run_migrations()


run()
