"""The prediction log: every scored request written to the store, off the request path.

Requests put a record on a bounded queue and return; a background thread takes what has
accumulated (up to ``batch`` records or ``interval`` seconds), joins the inputs and the outputs of
those requests into one Arrow IPC batch each per model version (columnar, text dictionary-encoded: drift
over a million logged rows decodes in seconds, not JSON), and inserts them in one transaction.  When the
queue is full the record is dropped — counted (``dropped``, exported in ``/metrics``) and logged,
never silent.
"""

from __future__ import annotations

import datetime as _dt
import logging
import queue
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import Columns, Schema, coerce
from mlwright.faults import kill_point
from mlwright.store import Store
from mlwright.store.predictions import add_error_counts, add_predictions, logged_batches

__all__ = ["PredictionLog", "as_logged", "concat_tables", "read_log"]

log = logging.getLogger("mlwright.serving")


@dataclass
class _Record:
    id: str
    at: _dt.datetime
    model: str
    version: str
    latency_ms: float
    inputs: pd.DataFrame | dict[str, list]  # small requests: plain column lists (cheap to join by the thousand)
    result: dict[str, Any]
    schema: Schema | None = None  # the served model's: inputs are logged as it coerced them

    @property
    def n_rows(self) -> int:
        return len(self.result["ids"])


def _inputs(recs: list[_Record]) -> pd.DataFrame:
    """The inputs of several requests as one table, in request order (rows line up with :func:`_outputs`):
    runs of small requests joined column by column, big ones concatenated as they are."""
    frames: list[pd.DataFrame] = []
    run: list[_Record] = []

    def close_run() -> None:
        if run:
            names = list(dict.fromkeys(k for r in run for k in r.inputs))
            cols = {}
            for k in names:
                vals: list = []
                for r in run:
                    v = r.inputs.get(k)
                    vals.extend(v if v is not None else [None] * r.n_rows)
                cols[k] = vals
            frames.append(pd.DataFrame(cols))
            run.clear()

    for r in recs:
        if isinstance(r.inputs, dict):
            run.append(r)
        else:
            close_run()
            frames.append(r.inputs)
    close_run()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


_MIXED = ("mixed", "mixed-integer")


def _encode(df: pd.DataFrame) -> bytes:
    """A batch of log rows as an Arrow IPC stream, text columns dictionary-encoded.

    Not Parquet (the first format of this log, still read): decoding thousands of small Parquet files costs
    ~2 ms each in metadata alone; an IPC stream decodes in ~0.05 ms, and dictionary encoding keeps repeated
    category levels small (measured with bench/drift_speed.py, 1M rows × 50 features in 4,000 writes: reading
    the log 14.9 → 3.7 s, the store 521 → 491 MB)."""
    import pyarrow as pa

    mixed = [c for c in df.columns if df[c].dtype == object and pd.api.types.infer_dtype(df[c]) in _MIXED]
    if mixed:  # e.g. "3" and 3 in one column (both accepted as numbers): one type per column
        df = df.assign(**{c: df[c].map(lambda v: v if v is None or v != v else str(v)) for c in mixed})
    import pyarrow.compute as pc

    table = pa.Table.from_pandas(df, preserve_index=False)
    cols = [pc.dictionary_encode(c) if pa.types.is_string(c.type) or pa.types.is_large_string(c.type) else c
            for c in table.columns]  # fmt: skip
    table = pa.Table.from_arrays(cols, names=table.column_names)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def as_logged(df: pd.DataFrame, schema: Schema | None) -> pd.DataFrame:
    """The inputs as the model read them, one type per column whatever the request sent: the schema's
    coercion for the columns the model uses (numbers and booleans as floats, levels and text as text, dates
    as datetimes; values were validated when the request was scored), text for the others.  A column of
    30 in one request and "30.5" in the next is then one float column, and monitoring can read both."""
    if schema is None or df.empty:
        return df
    used = [c for c in schema.columns if c.used and c.name in df.columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cast = coerce(df, Schema(used, schema.target, schema.task, schema.metric)) if used else pd.DataFrame()
    out = {}
    for name in df.columns:
        if name in cast.columns:
            out[name] = cast[name].to_numpy()
        else:
            col = df[name].astype(object)
            out[name] = col.where(col.isna(), col.map(str)).to_numpy()
    return pd.DataFrame(out)


def concat_tables(tables: list):
    """Logged batches as one Arrow table, whatever types each batch gave a column: batches written before
    inputs were coerced may hold 30 in one and "30.5" (dictionary-encoded text) in another; such columns
    are read as text in every batch (the schema's coercion reads the text back)."""
    import pyarrow as pa

    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    types: dict[str, set] = {}
    for t in tables:
        for f in t.schema:
            typ = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
            types.setdefault(f.name, set()).add(str(typ))
    mixed = {n for n, ts in types.items() if len(ts - {"null"}) > 1}
    fixed = []
    for t in tables:
        cols = []
        for name, col in zip(t.column_names, t.columns):
            if name in mixed:
                col = col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col
                col = col.cast(pa.large_string())
            cols.append(col)
        fixed.append(pa.Table.from_arrays(cols, names=t.column_names))
    return pa.concat_tables(fixed, promote_options="permissive")


def decode_table(blob: bytes):
    """A logged batch (Arrow IPC stream, or Parquet as first written) → a pyarrow Table."""
    import pyarrow as pa

    if blob[:4] == b"PAR1":
        import pyarrow.parquet as pq

        return pq.read_table(pa.BufferReader(blob))
    return pa.ipc.open_stream(pa.BufferReader(blob)).read_all()


def _outputs(recs: list[_Record]) -> pd.DataFrame:
    """The outputs of several requests as one table, built column by column (no frame per request)."""
    sizes = [len(r.result["ids"]) for r in recs]
    out = pd.DataFrame(
        {
            "prediction_id": [i for r in recs for i in r.result["ids"]],
            "request_id": np.repeat([r.id for r in recs], sizes),
            "at": np.repeat(pd.DatetimeIndex([r.at for r in recs]).tz_convert("UTC").tz_localize(None), sizes),
            "latency_ms": np.repeat([float(r.latency_ms) for r in recs], sizes),
            "prediction": [str(v) for r in recs for v in r.result["predictions"]],
        }
    )
    first = recs[0].result
    if first.get("probabilities") is not None:
        p = np.vstack([np.asarray(r.result["probabilities"], dtype=float) for r in recs])
        for j, lab in enumerate(first["labels"]):
            out[f"p_{lab}"] = p[:, j]
    else:  # a value, or an anomaly detector's score (its flag is the prediction)
        key = "scores" if first.get("scores") is not None else "predictions"
        out["value"] = np.asarray([v for r in recs for v in r.result[key]], dtype=float)
    if first.get("quantiles") is not None:  # a forecaster's quantiles of each row: q_0.1, …
        for lv in first["quantiles"]:
            out[f"q_{lv}"] = np.asarray([v for r in recs for v in r.result["quantiles"][lv]], dtype=float)
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

    def __init__(self, store: Store, max_queue: int = 10_000, batch: int = 500, interval: float = 0.25,
                 start: bool = True):  # fmt: skip
        self.store = store
        self.queue: queue.Queue[_Record | None] = queue.Queue(maxsize=max_queue)
        self.batch = batch
        self.interval = interval
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self._errors: dict[tuple[str, int, str], int] = {}  # (model, status, code) → answers since the last write
        self.on_count: Any = None  # called after the counts above change (the service's metrics)
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

    def put(self, batch_id: str, model: str, version: str, latency_ms: float, inputs: pd.DataFrame | Columns,
            result: dict[str, Any], schema: Schema | None = None) -> bool:  # fmt: skip
        """Queue one scored request; False (and counted) when the queue is full.  With ``schema`` (the served
        model's), the inputs are written as it coerces them (one type per column, see :func:`as_logged`)."""
        if isinstance(inputs, Columns):  # the JSON body's column lists, as they are
            inputs = inputs.data
        elif len(inputs) <= 16:  # a few rows: lists now (~20 µs) spare the writer concatenating thousands of frames
            inputs = {str(k): v.tolist() for k, v in inputs.items()}
        rec = _Record(batch_id, _dt.datetime.now(_dt.UTC), model, version, latency_ms, inputs, result, schema)
        try:
            self.queue.put_nowait(rec)
            return True
        except queue.Full:
            self.dropped += 1
            if self.on_count is not None:
                self.on_count()
            now = time.monotonic()
            if now - self._last_warning > 5:
                self._last_warning = now
                log.warning("prediction log queue full: %d record(s) dropped so far", self.dropped)
            return False

    def error_answer(self, model: str, status: int, code: str) -> None:
        """Count an error answer to a prediction request (written with the next batch, per kind)."""
        key = (model[:128], int(status), code[:64])
        self._errors[key] = self._errors.get(key, 0) + 1

    def _write_errors(self) -> None:
        if not self._errors:
            return
        counts, self._errors = self._errors, {}
        now = _dt.datetime.now(_dt.UTC)
        rows = [{"at": now, "model": m, "status": s, "code": c, "count": n} for (m, s, c), n in counts.items()]
        try:
            add_error_counts(self.store, rows)
        except Exception as exc:  # counted in the log and /metrics like lost predictions
            self.failed += sum(counts.values())
            log.error("prediction log: %d error count(s) could not be written: %s", len(rows), exc)

    def _take(self) -> list[_Record | None]:
        out: list[_Record | None] = []
        try:
            out.append(self.queue.get(timeout=self.interval))
        except queue.Empty:
            return out
        # then gather for up to `interval` seconds: one transaction per batch, not one per request (a writer
        # busy with tiny batches would hold the GIL the request loop needs)
        until = time.monotonic() + self.interval
        while len(out) < self.batch and not self._stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                break
            try:
                out.append(self.queue.get(timeout=min(left, 0.05)))
            except queue.Empty:
                continue
        while len(out) < self.batch:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return out

    def _write(self, records: list[_Record]) -> None:
        """One row per model version and flush: the requests' rows together in one Arrow batch each."""
        groups: dict[tuple[str, str], list[_Record]] = {}
        for r in records:
            groups.setdefault((r.model, r.version), []).append(r)
        rows = []
        for (model, version), recs in groups.items():
            inputs = as_logged(_inputs(recs), recs[-1].schema)
            outputs = _outputs(recs)
            rows.append(
                {"id": uuid.uuid4().hex, "at": recs[0].at, "model": model, "version": version, "rows": len(inputs),
                 "latency_ms": float(np.mean([r.latency_ms for r in recs])), "inputs": _encode(inputs),
                 "outputs": _encode(outputs)}
            )  # fmt: skip
        try:
            kill_point("predlog.write")
            add_predictions(self.store, rows)
            self.written += len(records)
        except Exception as exc:  # the service keeps answering; the loss is counted and logged
            self.failed += len(records)
            log.error("prediction log: %d record(s) could not be written: %s", len(records), exc)
        if self.on_count is not None:
            self.on_count()

    def _run(self) -> None:
        while not self._stop.is_set() or not self.queue.empty():
            taken = self._take()
            records = [r for r in taken if r is not None]  # None: a flush's marker
            if records:
                self._write(records)
            self._write_errors()
            for _ in taken:
                self.queue.task_done()
        self._write_errors()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued before the call — and the error answers counted — is written (or
        ``timeout`` seconds pass)."""
        if self._thread is None or not self._thread.is_alive():  # no writer: nothing will be written
            return
        end = time.monotonic() + timeout
        try:
            self.queue.put(None, timeout=timeout)  # taken after what is queued; the errors are written with it
        except queue.Full:
            return
        while self.queue.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.005)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def read_log(
    store: Store, model: str | None = None, since: _dt.datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The logged inputs and outputs: one row per scored row, with ``request_id``, ``at``, ``model`` and
    ``version`` (outputs also hold ``prediction_id``, the prediction, probabilities and ``latency_ms``)."""
    ins, outs = [], []
    for r in logged_batches(store, model, since):
        i = decode_table(r.inputs).to_pandas()
        o = decode_table(r.outputs).to_pandas()
        meta = {"model": r.model, "version": r.version}
        ins.append(i.assign(request_id=o["request_id"].to_numpy(), at=o["at"].to_numpy(), **meta))
        outs.append(o.assign(**meta))
    if not ins:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(ins, ignore_index=True), pd.concat(outs, ignore_index=True)
