"""Runs, trials, registered models, versions, aliases and the alias history.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mlw_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created", TZ, nullable=False),
        sa.Column("finished", TZ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task", sa.String(16)),
        sa.Column("metric", sa.String(32)),
        sa.Column("target", sa.String(255)),
        sa.Column("score", sa.Float),
        sa.Column("params", sa.JSON),
        sa.Column("data", sa.JSON),
        sa.Column("model_path", sa.Text),
    )
    op.create_table(
        "mlw_trials",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("trial", sa.Integer, primary_key=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("fit_seconds", sa.Float),
        sa.Column("params", sa.JSON),
        sa.Column("error", sa.Text),
        sa.ForeignKeyConstraint(["run_id"], ["mlw_runs.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "mlw_models",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("created", TZ, nullable=False),
        sa.Column("description", sa.Text),
    )
    op.create_table(
        "mlw_model_versions",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("created", TZ, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task", sa.String(16)),
        sa.Column("metric", sa.String(32)),
        sa.Column("score", sa.Float),
        sa.Column("run_id", sa.String(36)),
        sa.Column("source", sa.Text),
        sa.ForeignKeyConstraint(["name"], ["mlw_models.name"], ondelete="CASCADE"),
    )
    op.create_table(
        "mlw_aliases",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated", TZ, nullable=False),
        sa.ForeignKeyConstraint(["name", "version"], ["mlw_model_versions.name", "mlw_model_versions.version"]),
    )
    op.create_table(
        "mlw_alias_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("previous", sa.Integer),
        sa.Column("at", TZ, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    for table in ("mlw_alias_history", "mlw_aliases", "mlw_model_versions", "mlw_models", "mlw_trials", "mlw_runs"):
        op.drop_table(table)
