"""The prediction log: one row per scored request, inputs and outputs as compact Parquet.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql").with_variant(mysql.LONGBLOB(), "mariadb")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlw_prediction_batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("inputs", BLOB, nullable=False),
        sa.Column("outputs", BLOB, nullable=False),
    )
    op.create_index("ix_mlw_prediction_batches_at", "mlw_prediction_batches", ["at"])
    op.create_index("ix_mlw_prediction_batches_model", "mlw_prediction_batches", ["model"])


def downgrade() -> None:
    op.drop_table("mlw_prediction_batches")
