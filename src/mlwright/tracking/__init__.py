"""Run tracking: every ``fit`` records its run and trials in the store (the default tracker).

A tracker is a callback on the same progress stream as any user callback (it receives each
:class:`~mlwright.budget.Snapshot`, whose ``trial`` field holds the finished trial), plus ``start``
and ``finish``.  :class:`StoreTracker` writes from a background thread through a queue, so the
search never waits on the database: the run row when ``fit`` starts (status ``running``), each trial
as it finishes, and the outcome (``finished`` with the score, or ``failed`` with the error).  A
process killed mid-run leaves a ``running`` row and the trials finished so far.  If the store cannot
be reached the fit goes on and says, once, that the run was not recorded.

``tracking`` values: ``"store"`` (default: ``MLWRIGHT_STORE_URL`` or the SQLite file in
``MLWRIGHT_HOME``), ``"store:<SQLAlchemy URL>"``, ``"mlflow"`` / ``"mlflow:<tracking URI>"`` (MLflow
too, next to the default store: :mod:`mlwright.tracking.mlflow`), or ``None`` / ``"none"``.

Package: the store tracker (this module), MLflow (:mod:`.mlflow`) and the MLflow pyfunc loader
(:mod:`.pyfunc`, run by MLflow itself, which may import the whole package).  May import the store and the base
modules; never the estimator (trackers receive it).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import warnings
from typing import Any

from mlwright.errors import ConfigError, MlwrightWarning
from mlwright.jsonsafe import stored
from mlwright.processes import HOST, process_alive

__all__ = [
    "StoreTracker",
    "make_tracker",
    "note_model_path",
    "reap_killed_runs",
    "run_detail",
    "runs",
    "start_tracking",
]

log = logging.getLogger("mlwright")

_STOP = object()


def parse_tracking(value: str | None) -> tuple[str, str | None] | None:
    """``"store"``, ``"store:URL"``, ``None``/``"none"`` → (kind, url) or None; a clear error otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "off", "false")):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"tracking must be 'store', 'store:<SQLAlchemy URL>' or None, got {value!r}")
    kind, _, url = value.partition(":")
    kind = kind.strip().lower()
    if kind == "store":
        return "store", (url.strip() or None)
    if kind == "mlflow":
        return "mlflow", (url.strip() or None)
    raise ConfigError(f"tracking={value!r} is not known: use 'store', 'store:<SQLAlchemy URL>', 'mlflow', "
                      "'mlflow:<tracking URI>' or None")  # fmt: skip


def make_tracker(value: str | None) -> Any:
    """The tracker for an ``AutoML(tracking=…)`` value (None: no tracking)."""
    spec = parse_tracking(value)
    if spec is None:
        return None
    if spec[0] == "mlflow":
        from mlwright.tracking.mlflow import MlflowTracker

        return _Trackers(StoreTracker(None), MlflowTracker(spec[1]))
    return StoreTracker(spec[1])


class _Trackers:
    """Several trackers on the same progress stream."""

    def __init__(self, *trackers: Any):
        self.trackers = trackers
        self.url = trackers[0].url

    @property
    def resume(self) -> bool:
        return self.trackers[0].resume

    @resume.setter
    def resume(self, value: bool) -> None:
        for t in self.trackers:
            t.resume = value

    def start(self, run_id: str, info: dict[str, Any]) -> None:
        for t in self.trackers:
            t.start(run_id, info)

    def __call__(self, snapshot) -> None:
        for t in self.trackers:
            t(snapshot)

    def finish(self, outcome: dict[str, Any]) -> None:
        for t in self.trackers:
            t.finish(outcome)

    def after_fit(self, automl: Any) -> None:
        for t in self.trackers:
            if hasattr(t, "after_fit"):
                t.after_fit(automl)


def start_tracking(automl: Any, run_id: str, schema: Any, df: Any, target: str, resumed: bool = False) -> Any:
    """Open ``automl``'s run ``run_id`` with its tracker (None when tracking is off); ``resumed``: the run exists
    already (a fit continuing in its workdir), its rows are updated, never duplicated."""
    import json

    tracker = make_tracker(automl.tracking)
    if tracker is not None:
        tracker.resume = resumed
        params = {k: v for k, v in automl.get_params().items() if k not in ("workdir",)}
        tracker.start(run_id, {
            "task": schema.task, "metric": schema.metric, "target": str(target),
            "params": json.loads(json.dumps(params, default=str)),
            "data": {"rows": len(df), "columns": int(df.shape[1]), "features": len(schema.features)},
        })  # fmt: skip
    return tracker


class StoreTracker:
    """Records a run and its trials in the store, off the search's path.

    Parameters
    ----------
    url : str, optional
        The store's SQLAlchemy URL (default: the default store).
    """

    def __init__(self, url: str | None = None):
        self.url = url
        self.run_id: str | None = None
        self.error: str | None = None
        self.resume = False  # the run's rows exist (a resumed fit): update them
        self._q: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self, run_id: str, info: dict[str, Any]) -> None:
        """Open the run (status ``running``); ``info``: task, metric, target, params, data."""
        self.run_id = run_id
        self._thread = threading.Thread(target=self._work, name="mlwright-tracking", daemon=True)
        self._thread.start()
        self._q.put(("start", info))

    def __call__(self, snapshot) -> None:
        trial = getattr(snapshot, "trial", None)
        if trial is not None and self._thread is not None:
            self._q.put(("trial", trial))

    def finish(self, outcome: dict[str, Any], wait: float = 30.0) -> None:
        """Close the run: ``{"status": "finished"|"failed", "score", "error", …}``; waits for the writes."""
        if self._thread is None:
            return
        self._q.put(("finish", outcome))
        self._q.put(_STOP)
        self._thread.join(wait)
        if self._thread.is_alive():
            warnings.warn("the run's record in the store is still being written", MlwrightWarning, stacklevel=3)
        elif self.error:
            warnings.warn(f"the run was not recorded in the store: {self.error}", MlwrightWarning, stacklevel=3)
        self._thread = None

    # ---------------------------------------------------------------- the writer thread
    def _work(self) -> None:
        from mlwright.store import Store
        from mlwright.store.runs import record_events

        store = None
        try:
            store = Store(self.url)
            reap_killed_runs(store)
        except Exception as exc:
            self.error = str(exc)
        while True:
            item = self._q.get()
            if item is _STOP:
                break
            if store is None:
                continue
            batch = [item]
            while not self._q.empty():  # everything waiting goes in one transaction
                nxt = self._q.get()
                if nxt is _STOP:
                    self._q.put(_STOP)
                    break
                batch.append(nxt)

            events = [(what, _trial_row(data) if what == "trial" else data) for what, data in batch]
            try:
                record_events(store, self.run_id, events, self.resume, HOST, os.getpid())
            except Exception as exc:
                self.error = str(exc)
                log.warning("recording run %s in the store failed: %s", self.run_id, exc)
        if store is not None:
            store.close()


def reap_killed_runs(store: Any) -> int:
    """Mark failed the runs still ``running`` whose process on this host is gone (killed, or the machine
    restarted): ``failed`` with the error ``killed: …``.  Returns how many.  Runs of other hosts are left
    alone (their processes cannot be seen from here)."""
    import os

    from mlwright.store.runs import fail_run, running_on

    dead = [(rid, pid) for rid, pid in running_on(store, HOST) if pid != os.getpid() and not process_alive(pid)]
    for rid, pid in dead:
        fail_run(store, rid, f"killed: its process (pid {pid}) ended before the run finished; run the same "
                 "command again to start over (or with --workdir, to continue)")  # fmt: skip
    return len(dead)


def _trial_row(rec: dict[str, Any]) -> dict[str, Any]:
    score = rec.get("score")
    return {
        "trial": int(rec["id"]),
        "model": rec["model"],
        "family": rec["family"],
        "status": rec["status"],
        "score": None if score is None or score != score else float(score),
        "fit_seconds": rec.get("fit_seconds"),
        "params": stored(rec.get("params") or {}),
        "error": rec.get("error"),
    }


def note_model_path(run_id: str, path: str, url: str | None = None) -> None:
    """Record where a run's model was saved (best effort: the model is saved either way)."""
    from mlwright.store import Store
    from mlwright.store.runs import set_model_path

    try:
        store = Store(url)
        set_model_path(store, run_id, path)
        store.close()
    except Exception as exc:
        log.warning("could not note the model path of run %s: %s", run_id, exc)


# -------------------------------------------------------------------- reading
def runs(store: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs recorded in the store (id, created, status, task, metric, target, score, trials)."""
    from mlwright.store import Store
    from mlwright.store.runs import newest_runs

    s = Store(store)
    try:
        reap_killed_runs(s)
        return [_run_dict(r) for r in newest_runs(s, limit)]
    finally:
        s.close()


def run_detail(run_id: str, store: str | None = None) -> dict[str, Any]:
    """One run with its trials (a unique prefix of the id is enough)."""
    from mlwright.store import Store
    from mlwright.store.runs import run_and_trials

    s = Store(store)
    try:
        run, trial_rows = run_and_trials(s, run_id)
        return _run_dict(run) | {"trial_records": trial_rows}
    finally:
        s.close()


def _run_dict(m) -> dict[str, Any]:
    out = dict(m)
    for k in ("created", "finished"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    out.pop("n", None)
    return out
