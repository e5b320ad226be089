"""Feedback from the dashboard's review page: who reviewed and their comment.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mlw_feedback") as batch:
        batch.add_column(sa.Column("comment", sa.Text, nullable=True))
        batch.add_column(sa.Column("reviewer", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mlw_feedback") as batch:
        batch.drop_column("reviewer")
        batch.drop_column("comment")
