"""Trials in a worker process on this machine, with a time limit and a memory limit per trial.

The worker is a plain ``python -m mlwright.execution.local`` child (not a fork: LightGBM's and
XGBoost's OpenMP pools hang in a forked child, and a spawned ``multiprocessing`` child would re-run the
user's script).  It receives the search's data once (a file in a private temporary directory, written
by this process), then one task at a time over its stdin/stdout (length-prefixed frames; the libraries'
own prints go to stderr).  While a trial runs, this process watches the worker:

- it exits or dies by a signal (a segfault, the kernel's OOM killer) → the trial failed, with the signal;
- its resident memory passes the trial's limit → it is killed, the trial failed ("memory limit");
- it is still busy when the trial's time plus a grace period is over → killed ("time limit"); the clock
  starts when the worker starts the trial (it says so), not while it imports or reads the data.

The next trial gets a fresh worker.  Idle workers are kept for the next search of this process
(starting one costs the imports, ~1–2 s), and stop when this process exits (their stdin closes).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from mlwright.execution.trial import TrialData, TrialResult, TrialTask

__all__ = ["LocalExecutor"]

_HEADER = struct.Struct("<Q")
SETUP_SECONDS = 300.0  # most a worker may take to start a trial: imports, reading the data
_POOL: list[_Worker] = []  # idle, healthy workers
_POOL_LOCK = threading.Lock()


def _send(f: BinaryIO, obj: Any) -> None:
    blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(_HEADER.pack(len(blob)) + blob)
    f.flush()


def _recv(f: BinaryIO) -> Any:
    head = f.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    n = _HEADER.unpack(head)[0]
    blob = f.read(n)
    if len(blob) < n:
        raise EOFError
    return pickle.loads(blob)  # frames of our own worker, over its private pipe


def _rss(pid: int) -> int | None:
    """Resident bytes of process ``pid`` (Linux ``/proc``; psutil elsewhere; None if unknown)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except Exception:
        return None


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class _Worker:
    """One worker process and its pipes; ``result`` is filled by a reader thread."""

    def __init__(self):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlwright.execution.local"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches this process, which stops the worker
        )
        self.data_key: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, obj: Any) -> None:
        _send(self.proc.stdin, obj)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                f.close()


class LocalExecutor:
    """Run each trial in a worker process, isolated from the search (see the module docstring).

    Parameters
    ----------
    trial_memory : int or str, optional
        Most resident memory a worker may use during a trial (bytes or ``"2GB"``).  Default: what the
        fit's ``memory_limit`` leaves (none without one).
    trial_timeout : float, optional
        Most seconds a trial may run, whatever its share of the budget.
    grace : float
        Seconds a trial may run past its deadline (a model that checks the time only between steps)
        before it is stopped; at least 25 % of the trial's own time is added too.
    """

    name = "local"

    def __init__(self, trial_memory: int | str | None = None, trial_timeout: float | None = None, grace: float = 5.0):
        from mlwright.config import parse_bytes

        self.trial_memory = parse_bytes(trial_memory, "trial_memory") if trial_memory is not None else None
        self.trial_timeout, self.grace = trial_timeout, grace
        self._worker: _Worker | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        self._data_path: Path | None = None
        self._spill: Path | None = None
        self.faults: list[str] = []

    # ------------------------------------------------------------------ lifecycle
    def prepare(self) -> None:
        """Start a worker now (it imports while the caller prepares the data)."""
        if self._worker is None:
            self._worker = _take_worker()

    def start(self, data: TrialData, spill_dir: Path) -> None:
        """Hand the search's data to the worker(s): written once to a private file."""
        self._dir = tempfile.TemporaryDirectory(prefix="mlwright-exec-")  # mode 0700
        self._data_path = Path(self._dir.name) / "data.pkl"
        with open(self._data_path, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        self._spill = spill_dir
        self.prepare()

    def close(self) -> None:
        """Return a healthy worker to the pool; remove the data file."""
        w, self._worker = self._worker, None
        if w is not None:
            try:
                if not w.alive():
                    raise OSError
                if w.data_key is not None:
                    w.send(("forget", None))
                    w.data_key = None
                with _POOL_LOCK:
                    _POOL.append(w)
            except OSError:
                w.kill()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    # ------------------------------------------------------------------ one trial
    def _limits(self, task: TrialTask) -> tuple[float, float]:
        seconds = task.seconds + max(self.grace, 0.25 * task.seconds) if task.seconds < float("inf") else float("inf")
        if self.trial_timeout is not None:
            seconds = min(seconds, float(self.trial_timeout))
        memory = task.memory
        if self.trial_memory is not None:
            memory = min(memory, float(self.trial_memory))
        return seconds, memory

    def run(self, task: TrialTask) -> TrialResult:
        """Run ``task`` in the worker; a worker that crashes, hangs or grows too large fails only the trial."""
        assert self._data_path is not None, "start() first"
        w = self._worker if self._worker is not None and self._worker.alive() else None
        if w is None:
            w = self._worker = _take_worker()
        key = str(self._data_path)
        t0 = time.monotonic()
        try:
            if w.data_key != key:
                w.send(("data", (key, str(self._spill))))
                w.data_key = key
            w.send(("task", task))
        except OSError:  # it died before it could take the task
            return self._fault(w, task, t0, None)
        seconds, memory = self._limits(task)
        box: dict[str, Any] = {}
        setup_limit = t0 + SETUP_SECONDS
        reader = threading.Thread(target=_read_one, args=(w, box), daemon=True)
        reader.start()
        peak = 0
        while reader.is_alive():
            reader.join(0.05)
            if not reader.is_alive():
                break
            if not w.alive():
                reader.join(1.0)
                break
            rss = _rss(w.pid) or 0
            peak = max(peak, rss)
            if rss > memory:
                w.kill()
                return self._fault(w, task, t0, f"stopped: the worker used {rss / 1e6:,.0f} MB, over the trial's "
                                                f"memory limit of {memory / 1e6:,.0f} MB")  # fmt: skip
            started = box.get("started")
            if started is None and time.monotonic() > setup_limit:
                w.kill()
                return self._fault(w, task, t0, f"stopped: the worker did not start the trial within "
                                                f"{SETUP_SECONDS:.0f} s (importing or reading the data)")  # fmt: skip
            if started is not None and time.monotonic() - started > seconds:
                w.kill()
                return self._fault(w, task, t0, f"stopped: still running after {seconds:.1f} s, over the trial's "
                                                "time limit (it hung, or cannot stop early)")  # fmt: skip
        if "result" in box:
            res: TrialResult = box["result"]
            res.worker = f"pid {w.pid}"
            return res
        return self._fault(w, task, t0, None)

    def _fault(self, w: _Worker, task: TrialTask, t0: float, reason: str | None) -> TrialResult:
        if reason is None:  # it died by itself
            with contextlib.suppress(Exception):
                w.proc.wait(timeout=5)
            code = w.proc.returncode
            if code is not None and code < 0:
                sig = _signal_name(code)
                hint = " (the system may have run out of memory)" if sig == "SIGKILL" else ""
                reason = f"the worker process died: {sig}{hint}"
            else:
                reason = f"the worker process exited (code {code})"
        w.kill()
        if self._worker is w:
            self._worker = None
        self.faults.append(reason)
        return TrialResult(status="failed", error=reason, fit_seconds=time.monotonic() - t0, worker=f"pid {w.pid}")


def _read_one(w: _Worker, box: dict[str, Any]) -> None:
    with contextlib.suppress(EOFError, OSError, pickle.UnpicklingError, ValueError):  # died: the caller says why
        while True:
            msg = _recv(w.proc.stdout)
            if msg == "started":  # data loaded, imports done: the trial's own clock starts
                box["started"] = time.monotonic()
                continue
            box["result"] = msg
            return


def _take_worker() -> _Worker:
    with _POOL_LOCK:
        while _POOL:
            w = _POOL.pop()
            if w.alive():
                return w
            w.kill()
    return _Worker()


def shutdown_pool() -> None:
    """Stop the idle workers (they also stop by themselves when this process exits)."""
    with _POOL_LOCK:
        workers = list(_POOL)
        _POOL.clear()
    for w in workers:
        w.kill()


# ---------------------------------------------------------------------------------------------- the worker
def _main() -> None:
    proto_out = os.fdopen(os.dup(1), "wb")  # frames go here; fd 1 (print, library output) now goes to stderr
    os.dup2(2, 1)
    proto_in = os.fdopen(os.dup(0), "rb")
    from mlwright.execution.trial import train_folds

    for mod in ("numpy", "pandas", "sklearn.ensemble", "lightgbm", "mlwright.models", "mlwright.features"):
        with contextlib.suppress(Exception):  # warm imports while the parent prepares; optional ones may be absent
            __import__(mod)
    data: TrialData | None = None
    spill: Path | None = None
    while True:
        try:
            kind, payload = _recv(proto_in)
        except EOFError:
            return
        if kind == "data":
            path, spill_dir = payload
            with open(path, "rb") as f:
                data = pickle.load(f)  # written by the parent process, in its private directory
            spill = Path(spill_dir)
        elif kind == "forget":
            data = None
        elif kind == "task":
            if data is None:
                res = TrialResult(status="failed", error="the worker has no data (internal error)")
            else:
                _send(proto_out, "started")
                res = train_folds(data, payload, spill)
            _send(proto_out, res)


if __name__ == "__main__":
    _main()
