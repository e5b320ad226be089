"""Late ground truth (feedback per prediction id), the service's error answers per model, the outcomes
of retraining (challenger against champion), and pipeline runs with their steps and locks.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlw_feedback",
        sa.Column("prediction_id", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("actual", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
    )
    op.create_index("ix_mlw_feedback_model", "mlw_feedback", ["model"])
    op.create_table(
        "mlw_request_errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_mlw_request_errors_at", "mlw_request_errors", ["at"])
    op.create_table(
        "mlw_retrain_outcomes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("champion", sa.Integer),
        sa.Column("challenger", sa.Integer),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(32)),
        sa.Column("delta", sa.Float),
        sa.Column("pvalue", sa.Float),
        sa.Column("details", sa.JSON),
    )
    op.create_index("ix_mlw_retrain_outcomes_model", "mlw_retrain_outcomes", ["model"])
    op.create_table(
        "mlw_pipeline_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("pipeline", sa.String(128), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("file", sa.Text),
    )
    op.create_index("ix_mlw_pipeline_runs_pipeline", "mlw_pipeline_runs", ["pipeline"])
    op.create_table(
        "mlw_pipeline_steps",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("step", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.Column("log", sa.Text),
        sa.Column("result", sa.JSON),
        sa.ForeignKeyConstraint(["run_id"], ["mlw_pipeline_runs.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "mlw_pipeline_locks",
        sa.Column("pipeline", sa.String(128), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlw_pipeline_locks")
    op.drop_table("mlw_pipeline_steps")
    op.drop_table("mlw_pipeline_runs")
    op.drop_table("mlw_retrain_outcomes")
    op.drop_table("mlw_request_errors")
    op.drop_table("mlw_feedback")
