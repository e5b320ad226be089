"""Runs record why they failed and where their trial log lives.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mlw_runs") as batch:
        batch.add_column(sa.Column("error", sa.Text))
        batch.add_column(sa.Column("run_dir", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("mlw_runs") as batch:
        batch.drop_column("run_dir")
        batch.drop_column("error")
