"""Repository functions for pipeline runs: the run and step rows, and the lock row that keeps two runs of
one pipeline from overlapping."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from mlwright.store import Store, utcnow
from mlwright.store.tables import pipeline_locks, pipeline_runs, pipeline_steps

__all__ = [
    "fail_runs",
    "finish_run",
    "finish_step",
    "recent_runs",
    "release_lock",
    "running_runs",
    "start_run",
    "start_step",
    "take_lock",
]


def running_runs(store: Store, pipeline: str | None = None) -> list[Any]:
    """The run rows still ``running`` (of one pipeline, or all)."""
    q = select(pipeline_runs).where(pipeline_runs.c.status == "running")
    if pipeline is not None:
        q = q.where(pipeline_runs.c.pipeline == pipeline)
    return store.read(lambda conn: conn.execute(q).all())


def fail_runs(store: Store, failures: dict[str, str]) -> None:
    """Mark these runs (id → error) failed, with their running steps, and release their locks (one transaction)."""

    def fix(conn: Any) -> None:
        for run_id, error in failures.items():
            conn.execute(
                update(pipeline_runs).where(pipeline_runs.c.id == run_id).values(
                    status="failed", finished=utcnow(), error=error)
            )  # fmt: skip
            conn.execute(
                update(pipeline_steps)
                .where((pipeline_steps.c.run_id == run_id) & (pipeline_steps.c.status == "running"))
                .values(status="failed", finished=utcnow())
            )
            conn.execute(delete(pipeline_locks).where(pipeline_locks.c.run_id == run_id))

    if failures:
        store.write(fix)


def take_lock(store: Store, row: dict[str, Any]) -> Any:
    """Take the pipeline's lock (``row``: pipeline, run_id, host, pid, at) unless held: returns the holder's row,
    or None once taken.  Look-then-insert in one transaction; of two racing inserts the primary key fails one,
    whose retry then sees the other's lock."""

    def take(conn: Any) -> Any:
        holder = conn.execute(select(pipeline_locks).where(pipeline_locks.c.pipeline == row["pipeline"])).first()
        if holder is None:
            conn.execute(pipeline_locks.insert(), [row])
        return holder

    return store.write(take)


def release_lock(store: Store, run_id: str) -> None:
    """Release the lock held by the run ``run_id``."""
    store.write(lambda conn: conn.execute(delete(pipeline_locks).where(pipeline_locks.c.run_id == run_id)))


def start_run(store: Store, row: dict[str, Any]) -> None:
    """Record a run as started (``row``: id, pipeline, host, pid, file)."""
    store.write(lambda conn: conn.execute(pipeline_runs.insert(), [row | {"started": utcnow(), "status": "running"}]))


def start_step(store: Store, run_id: str, step: int, kind: str) -> None:
    """Record step ``step`` of a run as running."""
    row = {"run_id": run_id, "step": step, "kind": kind, "status": "running", "started": utcnow()}
    store.write(lambda conn: conn.execute(pipeline_steps.insert(), [row]))


def finish_step(store: Store, run_id: str, step: int, status: str, log: str, result: Any) -> None:
    """Record how step ``step`` ended, with its log and result."""
    q = update(pipeline_steps).where((pipeline_steps.c.run_id == run_id) & (pipeline_steps.c.step == step))
    store.write(lambda conn: conn.execute(q.values(status=status, finished=utcnow(), log=log, result=result)))


def finish_run(store: Store, run_id: str, status: str, error: str | None) -> None:
    """Record how a run ended and release its lock (one transaction)."""

    def end(conn: Any) -> None:
        conn.execute(
            update(pipeline_runs).where(pipeline_runs.c.id == run_id).values(
                status=status, finished=utcnow(), error=error)
        )  # fmt: skip
        conn.execute(delete(pipeline_locks).where(pipeline_locks.c.run_id == run_id))

    store.write(end)


def recent_runs(store: Store, pipeline: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs (every column, newest first), each with its ``steps`` in order."""
    q = select(pipeline_runs)
    if pipeline is not None:
        q = q.where(pipeline_runs.c.pipeline == pipeline)
    q = q.order_by(pipeline_runs.c.started.desc()).limit(limit)

    def read(conn: Any) -> list[dict[str, Any]]:
        runs = [dict(r._mapping) for r in conn.execute(q)]
        for r in runs:
            steps = select(pipeline_steps).where(pipeline_steps.c.run_id == r["id"]).order_by(pipeline_steps.c.step)
            r["steps"] = [dict(s._mapping) for s in conn.execute(steps)]
        return runs

    return store.read(read)
