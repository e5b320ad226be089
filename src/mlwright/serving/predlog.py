"""The prediction log: every scored request written to the store, off the request path.

Requests put a record on a bounded queue and return; a background thread takes what has
accumulated (up to ``batch`` records or ``interval`` seconds), turns each record's inputs and outputs
into Parquet (compact and columnar: drift over millions of logged rows reads a few column chunks, not
JSON), and inserts them in one transaction.  When the queue is full the record is dropped — counted
(``dropped``, exported in ``/metrics``) and logged, never silent.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..store import Store
from ..store.tables import predictions

__all__ = ["PredictionLog", "read_log"]

log = logging.getLogger("mlwright.serving")


@dataclass
class _Record:
    id: str
    at: _dt.datetime
    model: str
    version: str
    latency_ms: float
    inputs: pd.DataFrame
    result: dict[str, Any]


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, compression="zstd")
    return buf.getvalue()


def _outputs(rec: _Record) -> pd.DataFrame:
    res = rec.result
    out = pd.DataFrame({"prediction_id": res["ids"], "prediction": [str(v) for v in res["predictions"]]})
    if res.get("probabilities") is not None:
        p = np.asarray(res["probabilities"], dtype=float)
        for j, lab in enumerate(res["labels"]):
            out[f"p_{lab}"] = p[:, j]
    else:
        out["value"] = np.asarray(res["predictions"], dtype=float)
    return out


class PredictionLog:
    """A bounded queue and a writer thread into the store's ``mlw_prediction_batches`` table.

    Parameters
    ----------
    store : Store
    max_queue : int
        Records waiting at most; past it new ones are dropped and counted.
    batch : int
        Records written per transaction at most.
    interval : float
        Seconds the writer waits for more records before writing what it has.
    start : bool
        Start the writer thread now.
    """

    def __init__(self, store: Store, max_queue: int = 10_000, batch: int = 500, interval: float = 0.5,
                 start: bool = True):  # fmt: skip
        self.store = store
        self.queue: queue.Queue[_Record] = queue.Queue(maxsize=max_queue)
        self.batch = batch
        self.interval = interval
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self._last_warning = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mlwright-prediction-log", daemon=True)
            self._thread.start()

    def put(self, batch_id: str, model: str, version: str, latency_ms: float, inputs: pd.DataFrame,
            result: dict[str, Any]) -> bool:  # fmt: skip
        """Queue one scored request; False (and counted) when the queue is full."""
        rec = _Record(batch_id, _dt.datetime.now(_dt.UTC), model, version, latency_ms, inputs, result)
        try:
            self.queue.put_nowait(rec)
            return True
        except queue.Full:
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_warning > 5:
                self._last_warning = now
                log.warning("prediction log queue full: %d record(s) dropped so far", self.dropped)
            return False

    def _take(self) -> list[_Record]:
        out: list[_Record] = []
        try:
            out.append(self.queue.get(timeout=self.interval))
        except queue.Empty:
            return out
        while len(out) < self.batch:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return out

    def _write(self, records: list[_Record]) -> None:
        rows = [
            {"id": r.id, "at": r.at, "model": r.model, "version": r.version, "rows": len(r.inputs),
             "latency_ms": float(r.latency_ms), "inputs": _parquet(r.inputs.reset_index(drop=True)),
             "outputs": _parquet(_outputs(r))}
            for r in records
        ]  # fmt: skip
        try:
            self.store.write(lambda conn: conn.execute(predictions.insert(), rows))
            self.written += len(rows)
        except Exception as exc:  # the service keeps answering; the loss is counted and logged
            self.failed += len(rows)
            log.error("prediction log: %d record(s) could not be written: %s", len(rows), exc)

    def _run(self) -> None:
        while not self._stop.is_set() or not self.queue.empty():
            records = self._take()
            if records:
                self._write(records)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the queue is empty (what was queued is written)."""
        end = time.monotonic() + timeout
        while not self.queue.empty() and time.monotonic() < end:
            time.sleep(0.02)
        time.sleep(self.interval + 0.05)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def read_log(
    store: Store, model: str | None = None, since: _dt.datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The logged inputs and outputs (one row per scored row, with ``batch_id``, ``at`` and ``version``)."""
    from sqlalchemy import select

    q = select(predictions)
    if model is not None:
        q = q.where(predictions.c.model == model)
    if since is not None:
        q = q.where(predictions.c.at >= since)
    ins, outs = [], []
    for r in store.read(lambda conn: conn.execute(q.order_by(predictions.c.at)).all()):
        i = pd.read_parquet(io.BytesIO(r.inputs))
        o = pd.read_parquet(io.BytesIO(r.outputs))
        meta = {"batch_id": r.id, "at": r.at, "model": r.model, "version": r.version}
        ins.append(i.assign(**meta))
        outs.append(o.assign(**meta))
    if not ins:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(ins, ignore_index=True), pd.concat(outs, ignore_index=True)
