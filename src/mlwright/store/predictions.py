"""Repository functions for what the service logs and what comes back: logged prediction batches, error
answers, feedback labels, and retraining outcomes.

Rows come back as SQLAlchemy rows (attribute access by column name); blobs stay encoded (the prediction
log's Arrow IPC), so decoding stays with the prediction log.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select

from mlwright.faults import kill_point
from mlwright.store import Store
from mlwright.store.tables import feedback, predictions, request_errors, retrain_outcomes

__all__ = [
    "add_error_counts",
    "add_predictions",
    "add_retrain_outcome",
    "error_counts",
    "feedback_for",
    "feedback_labels",
    "logged_batches",
    "logged_models",
    "replace_feedback",
    "retrain_outcomes_of",
    "scan_outputs",
]


def add_predictions(store: Store, rows: list[dict[str, Any]]) -> None:
    """Append logged batches (one row per model version and write)."""
    store.write(lambda conn: conn.execute(predictions.insert(), rows))


def add_error_counts(store: Store, rows: list[dict[str, Any]]) -> None:
    """Append counts of error answers (``at``, ``model``, ``status``, ``code``, ``count``)."""
    store.write(lambda conn: conn.execute(request_errors.insert(), rows))


def logged_batches(
    store: Store,
    model: str | None = None,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[Any]:
    """Logged batches (every column) of ``model`` (all models when None) in ``[since, until)``, oldest first."""
    q = select(predictions)
    if model is not None:
        q = q.where(predictions.c.model == model)
    if since is not None:
        q = q.where(predictions.c.at >= since)
    if until is not None:
        q = q.where(predictions.c.at < until)
    q = q.order_by(predictions.c.at.desc() if newest_first else predictions.c.at)
    if limit is not None:
        q = q.limit(limit)
    return store.read(lambda conn: conn.execute(q).all())


def scan_outputs(store: Store, model: str, visit: Callable[[bytes], bool]) -> None:
    """Pass each logged batch's encoded outputs of ``model`` to ``visit``, newest first, until it returns True."""
    q = select(predictions.c.outputs).where(predictions.c.model == model).order_by(predictions.c.at.desc())

    def scan(conn: Any) -> None:
        for (blob,) in conn.execute(q):
            if visit(blob):
                return

    store.read(scan)


def logged_models(store: Store) -> list[str]:
    """Every model name the prediction log holds."""
    return store.read(lambda conn: [r[0] for r in conn.execute(select(predictions.c.model).distinct())])


def error_counts(store: Store, model: str, since: _dt.datetime | None = None) -> list[tuple[Any, ...]]:
    """``(at, status, code, count)`` of the error answers counted for ``model``."""
    q = select(request_errors.c.at, request_errors.c.status, request_errors.c.code, request_errors.c["count"])
    q = q.where(request_errors.c.model == model)
    if since is not None:
        q = q.where(request_errors.c.at >= since)
    return store.read(lambda conn: [tuple(r) for r in conn.execute(q)])


def feedback_labels(store: Store, model: str) -> list[tuple[str, str]]:
    """``(prediction_id, actual as JSON text)`` of every label received for ``model``."""
    q = select(feedback.c.prediction_id, feedback.c.actual).where(feedback.c.model == model)
    return store.read(lambda conn: [(r[0], r[1]) for r in conn.execute(q)])


def feedback_for(store: Store, ids: Sequence[str]) -> list[Any]:
    """The feedback rows (every column) of these prediction ids."""
    if not ids:
        return []
    return store.read(lambda conn: conn.execute(select(feedback).where(feedback.c.prediction_id.in_(ids))).all())


def replace_feedback(store: Store, model: str, rows: list[dict[str, Any]]) -> None:
    """Store ``rows`` as the labels of their prediction ids, replacing earlier ones (one transaction)."""

    def write(conn: Any) -> None:
        ids = [r["prediction_id"] for r in rows]
        for k in range(0, len(ids), 500):
            chunk = ids[k : k + 500]
            conn.execute(delete(feedback).where(feedback.c.model == model, feedback.c.prediction_id.in_(chunk)))
        kill_point("feedback.write")
        conn.execute(feedback.insert(), rows)

    store.write(write)


def add_retrain_outcome(store: Store, row: dict[str, Any]) -> None:
    """Record one retraining outcome."""
    store.write(lambda conn: conn.execute(retrain_outcomes.insert(), [row]))


def retrain_outcomes_of(store: Store, model: str) -> list[dict[str, Any]]:
    """Every recorded retraining outcome of ``model``, newest first, as dicts."""
    t = retrain_outcomes
    q = select(t).where(t.c.model == model).order_by(t.c.at.desc())
    return store.read(lambda conn: [dict(r._mapping) for r in conn.execute(q)])
