"""Repository functions for recorded runs and their trials (written as a fit goes, read by the CLI, the
dashboard and the report)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from mlwright.errors import ModelNotFoundError
from mlwright.store import Store, utcnow
from mlwright.store.tables import runs, trials

__all__ = [
    "cancel_run",
    "fail_run",
    "newest_runs",
    "record_events",
    "run_and_trials",
    "running_on",
    "set_model_path",
]


def record_events(
    store: Store, run_id: str, events: list[tuple[str, dict[str, Any]]], resume: bool, host: str, pid: int
) -> None:
    """Write a run's events in one transaction: ``("start", run columns)``, ``("trial", trial columns)``,
    ``("finish", run columns)``.  With ``resume``, rows that exist are updated, never duplicated."""

    def write(conn: Any) -> None:
        for what, data in events:
            if what == "start":
                if resume and conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first():
                    conn.execute(update(runs).where(runs.c.id == run_id).values(
                        status="running", finished=None, error=None, host=host, pid=pid, **data))  # fmt: skip
                else:
                    conn.execute(runs.insert().values(id=run_id, created=utcnow(), status="running", host=host,
                                                      pid=pid, **data))  # fmt: skip
            elif what == "trial":
                key = (trials.c.run_id == run_id) & (trials.c.trial == data["trial"])
                if resume and conn.execute(select(trials.c.trial).where(key)).first():
                    conn.execute(update(trials).where(key).values(**data))
                else:
                    conn.execute(trials.insert().values(run_id=run_id, **data))
            else:
                conn.execute(update(runs).where(runs.c.id == run_id).values(finished=utcnow(), **data))

    store.write(write)


def running_on(store: Store, host: str) -> list[tuple[str, int]]:
    """``(run id, pid)`` of the runs recorded as running by a process of ``host``."""
    q = select(runs.c.id, runs.c.pid).where(runs.c.status == "running", runs.c.host == host, runs.c.pid.is_not(None))
    return store.read(lambda conn: [(r[0], int(r[1])) for r in conn.execute(q)])


def fail_run(store: Store, run_id: str, error: str) -> None:
    """Mark a run that is still ``running`` failed with ``error``."""
    q = update(runs).where(runs.c.id == run_id, runs.c.status == "running")
    store.write(lambda conn: conn.execute(q.values(status="failed", finished=utcnow(), error=error)))


def cancel_run(store: Store, run_id: str, error: str) -> None:
    """Mark a run failed with ``error`` when it is still running or ended by an interrupt (a native library
    may re-raise the signal bare)."""
    interrupted = (
        (runs.c.status == "running")
        | runs.c.error.startswith("KeyboardInterrupt")
        | runs.c.error.startswith("Cancelled")
    )
    q = update(runs).where(runs.c.id == run_id, interrupted).values(status="failed", error=error, finished=utcnow())
    store.write(lambda conn: conn.execute(q))


def set_model_path(store: Store, run_id: str, path: str) -> None:
    """Record where a run's model was saved."""
    store.write(lambda conn: conn.execute(update(runs).where(runs.c.id == run_id).values(model_path=path)))


def newest_runs(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs (every column) with their number of trials (``trials``)."""
    n_trials = select(trials.c.run_id, func.count().label("n")).group_by(trials.c.run_id).subquery()
    q = (
        select(runs, n_trials.c.n)
        .select_from(runs.outerjoin(n_trials, n_trials.c.run_id == runs.c.id))
        .order_by(runs.c.created.desc())
        .limit(limit)
    )
    return store.read(lambda conn: [dict(r._mapping) | {"trials": int(r.n or 0)} for r in conn.execute(q)])


def run_and_trials(store: Store, prefix: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run whose id starts with ``prefix`` (every column) and its trials in order.

    Raises
    ------
    ModelNotFoundError
        No run, or several, match the prefix.
    """

    def q(conn: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        found = conn.execute(select(runs).where(runs.c.id.startswith(prefix, autoescape=True)).limit(2)).all()
        if len(found) != 1:
            why = "matches several runs; give more of it" if found else "matches no recorded run"
            raise ModelNotFoundError(f"run id {prefix!r} {why} (see 'mlwright runs list')")
        run = dict(found[0]._mapping)
        rows = conn.execute(select(trials).where(trials.c.run_id == run["id"]).order_by(trials.c.trial))
        return run, [{k: v for k, v in r._mapping.items() if k != "run_id"} for r in rows]

    return store.read(q)
