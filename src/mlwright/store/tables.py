"""The store's tables (SQLAlchemy Core).  Changing them means a new Alembic migration in
``store/migrations/versions`` — the tables here and the migrations must describe the same schema."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

metadata = MetaData()
# MySQL/MariaDB BLOBs stop at 64 KB: the log's Arrow payloads need LONGBLOB there
BLOB = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql").with_variant(mysql.LONGBLOB(), "mariadb")

runs = Table(
    "mlw_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),  # running | finished | failed
    Column("task", String(16)),
    Column("metric", String(32)),
    Column("target", String(255)),
    Column("score", Float),
    Column("params", JSON),
    Column("data", JSON),  # rows, columns, fingerprint
    Column("model_path", Text),
    Column("error", Text),  # why a failed run failed
    Column("run_dir", Text),  # the run's directory (trials.jsonl, run.json)
    Column("host", String(255)),  # the process running the fit: a run whose process is gone was killed
    Column("pid", Integer),
)

trials = Table(
    "mlw_trials",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("trial", Integer, primary_key=True),
    Column("model", String(128), nullable=False),
    Column("family", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("score", Float),
    Column("fit_seconds", Float),
    Column("params", JSON),
    Column("error", Text),
    ForeignKeyConstraint(["run_id"], ["mlw_runs.id"], ondelete="CASCADE"),
)

registered = Table(
    "mlw_models",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("description", Text),
)

versions = Table(
    "mlw_model_versions",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),  # mlwright | sklearn | onnx
    Column("path", Text, nullable=False),  # relative to the artifact root
    Column("sha256", String(64), nullable=False),  # of the artifact's manifest.json
    Column("status", String(16), nullable=False),  # ready | archived
    Column("task", String(16)),
    Column("metric", String(32)),
    Column("score", Float),
    Column("run_id", String(36)),
    Column("source", Text),
    ForeignKeyConstraint(["name"], ["mlw_models.name"], ondelete="CASCADE"),
)

aliases = Table(
    "mlw_aliases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["name", "version"], ["mlw_model_versions.name", "mlw_model_versions.version"]),
)

alias_history = Table(
    "mlw_alias_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("version", Integer),  # None: the alias was removed
    Column("previous", Integer),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),  # set | rollback | remove
)

predictions = Table(
    "mlw_prediction_batches",
    metadata,
    Column("id", String(32), primary_key=True),  # the request's batch id
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("model", String(128), nullable=False, index=True),
    Column("version", String(32), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("inputs", BLOB, nullable=False),  # Arrow IPC stream (first Parquet; both read): input rows
    Column("outputs", BLOB, nullable=False),  # the same: prediction_id, prediction, probabilities, at, latency
)

feedback = Table(
    "mlw_feedback",
    metadata,
    Column("prediction_id", String(64), primary_key=True),
    Column("model", String(128), nullable=False, index=True),
    Column("actual", Text, nullable=False),  # JSON: the true label or value
    Column("at", DateTime(timezone=True), nullable=False),
    Column("source", String(32), nullable=False),  # api | cli | review
    Column("comment", Text),  # why the prediction was wrong (review page / API)
    Column("reviewer", String(128)),
)

request_errors = Table(
    "mlw_request_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("model", String(128), nullable=False),
    Column("status", Integer, nullable=False),
    Column("code", String(64), nullable=False),
    Column("count", Integer, nullable=False),  # error answers of this kind in the log writer's interval
)

retrain_outcomes = Table(
    "mlw_retrain_outcomes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("model", String(128), nullable=False, index=True),
    Column("champion", Integer),  # version numbers
    Column("challenger", Integer),
    Column("outcome", String(16), nullable=False),  # promoted | recommended | rejected
    Column("metric", String(32)),
    Column("delta", Float),  # challenger − champion on the primary metric, positive = better
    Column("pvalue", Float),
    Column("details", JSON),  # scores, test, guards, reasons, hold-out rows
)

pipeline_runs = Table(
    "mlw_pipeline_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("pipeline", String(128), nullable=False, index=True),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),  # running | succeeded | failed
    Column("error", Text),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("file", Text),
)

pipeline_steps = Table(
    "mlw_pipeline_steps",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # running | succeeded | failed | skipped
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("log", Text),
    Column("result", JSON),
    ForeignKeyConstraint(["run_id"], ["mlw_pipeline_runs.id"], ondelete="CASCADE"),
)

pipeline_locks = Table(  # one row per running pipeline: the primary key keeps two runs from overlapping
    "mlw_pipeline_locks",
    metadata,
    Column("pipeline", String(128), primary_key=True),
    Column("run_id", String(32), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

__all__ = [
    "alias_history",
    "aliases",
    "feedback",
    "metadata",
    "pipeline_locks",
    "pipeline_runs",
    "pipeline_steps",
    "predictions",
    "registered",
    "request_errors",
    "retrain_outcomes",
    "runs",
    "trials",
    "versions",
]
