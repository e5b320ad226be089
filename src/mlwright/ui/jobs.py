"""Uploaded tables and background training runs started from the dashboard.

Each upload is a folder under ``MLWRIGHT_HOME/ui/uploads/<id>`` (the table as received, or a Parquet copy
of a SQL query's result, plus ``meta.json``).  Each run is a folder under ``MLWRIGHT_HOME/ui/jobs/<id>``:
``spec.json`` (what to fit), ``progress.json`` (rewritten atomically after every trial), ``status.json``
(running → finished | failed | cancelled, with the store's run id and the saved model), ``log.txt`` and
``model/``.  The fit runs in its own process (:mod:`mlwright.ui.runner`), so the service keeps answering
while it trains and a cancel stops it outright; its state lives in files, so a restarted service still
shows it (a run whose process is gone is marked failed).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from mlwright.config import home
from mlwright.errors import ConfigError, ModelNotFoundError, UploadError

__all__ = ["SUFFIXES", "Jobs", "UploadError"]

SUFFIXES = (".csv", ".tsv", ".parquet")
_ID = re.compile(r"^[0-9a-f]{32}$")


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, default=str), encoding="utf-8")
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class Jobs:
    """Uploads and runs of one dashboard (``root`` default ``MLWRIGHT_HOME/ui``)."""

    def __init__(self, root: Path | None = None, store_url: str | None = None):
        self.root = Path(root) if root is not None else home() / "ui"
        self.uploads = self.root / "uploads"
        self.jobs = self.root / "jobs"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.jobs.mkdir(parents=True, exist_ok=True)
        self.store_url = store_url
        self._procs: dict[str, subprocess.Popen] = {}

    # ------------------------------------------------------------------ uploads
    def new_upload(self, filename: str) -> tuple[str, Path]:
        """A fresh upload folder and the path the table goes to (named by its suffix only)."""
        suffix = Path(filename or "").suffix.lower()
        if suffix not in SUFFIXES:
            raise UploadError(f"{filename!r} is not a table mlwright reads: upload a {', '.join(SUFFIXES)} file")
        uid = uuid.uuid4().hex
        folder = self.uploads / uid
        folder.mkdir()
        return uid, folder / f"data{suffix}"

    def upload_path(self, uid: str) -> Path:
        """The table of upload ``uid``."""
        if not _ID.match(uid or ""):
            raise ModelNotFoundError(f"{uid!r} is not an upload id")
        folder = self.uploads / uid
        found = [p for p in folder.glob("data.*") if p.suffix in SUFFIXES] if folder.is_dir() else []
        if not found:
            raise ModelNotFoundError(f"upload {uid} is not here (uploads live in {self.uploads}); upload it again")
        return found[0]

    def meta(self, uid: str) -> dict[str, Any]:
        return read_json(self.upload_path(uid).parent / "meta.json")

    def set_meta(self, uid: str, **values: Any) -> None:
        path = self.upload_path(uid).parent / "meta.json"
        write_json(path, read_json(path) | values)

    # ------------------------------------------------------------------ runs
    def start(self, uid: str, target: str, time_budget: float, metric: str | None = None, seed: int = 0,
              forecast: dict[str, Any] | None = None, unsupervised: dict[str, Any] | None = None,
              fairness: dict[str, Any] | None = None) -> str:  # fmt: skip
        """Start fitting upload ``uid`` in the background; returns the job id.  ``forecast`` (time column, id
        columns, known covariates, horizon) fits a forecaster instead of a table model; ``unsupervised`` (kind
        ``cluster`` or ``anomaly``, columns to leave out, k, contamination, a labels column) a clusterer or a
        detector; ``fairness`` (``sensitive`` columns and an optional ``constraint``) measures a table model
        per group and mitigates."""
        data = self.upload_path(uid)
        if not (time_budget > 0 and time_budget <= 24 * 3600):
            raise ConfigError(f"the time budget must be between 1 second and 24 hours, got {time_budget:g} s")
        jid = uuid.uuid4().hex
        folder = self.jobs / jid
        folder.mkdir()
        meta = self.meta(uid)
        spec = {"data": str(data), "target": target, "time_budget": float(time_budget), "metric": metric or None,
                "seed": int(seed), "store": self.store_url, "upload": uid, "source": meta.get("source"),
                "name": meta.get("name") or data.name, "created": time.time(),
                "kind": "forecast" if forecast else (unsupervised or {}).get("kind", "table"), "forecast": forecast,
                "unsupervised": unsupervised, "fairness": fairness}  # fmt: skip
        write_json(folder / "spec.json", spec)
        write_json(folder / "status.json", {"state": "starting", "created": time.time()})
        log = open(folder / "log.txt", "ab")  # noqa: SIM115 - handed to the child process
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mlwright.ui.runner", str(folder)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        self._procs[jid] = proc
        write_json(folder / "status.json", {"state": "running", "pid": proc.pid, "started": time.time()})
        return jid

    def folder(self, jid: str) -> Path:
        if not _ID.match(jid or "") or not (self.jobs / jid).is_dir():
            raise ModelNotFoundError(f"no dashboard run {jid!r}; see the runs page")
        return self.jobs / jid

    def _alive(self, jid: str, pid: int | None) -> bool:
        proc = self._procs.get(jid)
        if proc is not None:
            return proc.poll() is None  # also reaps it
        if not pid:
            return False
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            try:
                os.kill(pid, 0)
            except OSError:
                return False
            return True
        return jid.encode() in cmd

    def status(self, jid: str) -> dict[str, Any]:
        """What the run is doing: state, trials, best score, time left, run id, model, error."""
        folder = self.folder(jid)
        st = read_json(folder / "status.json")
        spec = read_json(folder / "spec.json")
        out = {"id": jid, **spec, **read_json(folder / "progress.json"), **st}
        just_made = st.get("state") == "starting" and time.time() - float(st.get("created") or 0) < 60
        if out.get("state") in ("running", "starting") and not just_made and not self._alive(jid, st.get("pid")):
            time.sleep(0.2)  # the runner may be writing its last status
            st = read_json(folder / "status.json")
            if st.get("state") in ("running", "starting"):
                st = st | {"state": "failed", "error": "the training process ended without saying why (see its log)"}
                write_json(folder / "status.json", st)
            out |= st
        return out

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest dashboard runs first."""
        folders = sorted(self.jobs.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        return [self.status(p.name) for p in folders[:limit] if _ID.match(p.name)]

    def cancel(self, jid: str, wait: float = 5.0) -> dict[str, Any]:
        """Stop a running fit (SIGTERM to its process group, SIGKILL after ``wait`` seconds)."""
        st = self.status(jid)
        if st.get("state") not in ("running", "starting"):
            return st
        pid = int(st["pid"])
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        end = time.monotonic() + wait
        while time.monotonic() < end and self._alive(jid, pid):
            time.sleep(0.1)
        if self._alive(jid, pid):  # stuck in native code that does not let the interrupt through
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            end = time.monotonic() + 5
            while time.monotonic() < end and self._alive(jid, pid):  # (reaps our child)
                time.sleep(0.05)
        folder = self.folder(jid)
        now = read_json(folder / "status.json")
        if now.get("state") in ("running", "starting"):
            now = now | {"state": "cancelled", "finished": time.time(), "error": "cancelled from the dashboard"}
            write_json(folder / "status.json", now)
        self._mark_run_cancelled(now.get("run_id") or read_json(folder / "progress.json").get("run_id"))
        return self.status(jid)

    def run_pipeline(self, file: str) -> Path:
        """Run the pipeline ``file`` once in the background (``mlwright pipeline run``); returns its log file.
        Two runs of one pipeline never overlap: the store's lock refuses the second (recorded as failed)."""
        folder = self.root / "pipelines"
        folder.mkdir(exist_ok=True)
        log_path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.log"
        cmd = [sys.executable, "-m", "mlwright", "pipeline", "run", file]
        if self.store_url:
            cmd += ["--store", self.store_url]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)  # fmt: skip
        self._procs[f"pipeline-{proc.pid}"] = proc
        for key in [k for k, p in self._procs.items() if k.startswith("pipeline-") and p.poll() is not None]:
            del self._procs[key]  # reaped
        return log_path

    def _mark_run_cancelled(self, run_id: str | None) -> None:
        """The store's run record of a killed fit says it was cancelled (not 'running' forever)."""
        if not run_id:
            return

        from mlwright.store import Store
        from mlwright.store.runs import cancel_run

        s = Store(self.store_url)
        try:
            cancel_run(s, run_id, "cancelled from the dashboard")
        finally:
            s.close()


def read_upload(path: Path, rows: int | None = None, name: str | None = None):
    """An uploaded table (all of it, or its first ``rows``); one that cannot be read raises :class:`UploadError`
    naming the file as the user called it (``name``), not where it is kept."""
    import pandas as pd

    from mlwright.data.sources import no_duplicate_header, read_table

    shown = repr(name) if name else "the uploaded file"
    kind = path.suffix[1:].upper()
    try:
        if rows is not None and path.suffix in (".csv", ".tsv"):
            sep = "\t" if path.suffix == ".tsv" else ","
            head = pd.read_csv(path, nrows=rows, sep=sep)
            no_duplicate_header(path, head, sep)
            return head
        df = read_table(path)
    except Exception as exc:
        why = str(exc).replace(f"'{path}'", "it").replace(str(path), "it")
        raise UploadError(f"{shown} cannot be read as {kind}: {why}") from None
    return df.head(rows) if rows is not None else df
