"""How long monitoring takes on a big prediction log: 1,000,000 logged rows × 50 features.

    .venv/bin/python bench/drift_speed.py [--rows 1000000] [--batch 250] [--features 50]

Writes a synthetic model's log into a fresh SQLite store the way the service does (one Parquet pair per
write batch: ``--batch`` rows each, as at ~1,000 one-row requests/s with a 0.25 s write interval), spread
over 7 days, the last two days shifted; then times :func:`mlwright.monitoring.monitor` over it with daily
windows and prints the time of each stage.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--store", help="SQLAlchemy URL of the store (default: a new SQLite file); the rows written "
                    "are deleted again at the end")  # fmt: skip
    args = ap.parse_args()

    from mlwright.data.schema import coerce, infer_schema
    from mlwright.monitoring import MonitorConfig, monitor
    from mlwright.monitoring.drift import log_tables
    from mlwright.monitoring.reference import build_reference
    from mlwright.serving.predlog import PredictionLog, _Record
    from mlwright.store import Store

    rng = np.random.default_rng(0)
    n_cat = args.features // 5
    n_num = args.features - n_cat

    def table(n: int, shift: float = 0.0) -> pd.DataFrame:
        cols = {f"x{i}": rng.normal(shift * (i % 3 == 0), 1.0, n) for i in range(n_num)}
        levels = np.array([f"level{j}" for j in range(12)])
        p = np.linspace(1, 2, 12)
        p /= p.sum()
        cols |= {f"c{i}": rng.choice(levels, n, p=p[::-1] if shift and i % 2 else p) for i in range(n_cat)}
        return pd.DataFrame(cols)

    train = table(50_000).assign(y=rng.choice(["no", "yes"], 50_000))
    schema = infer_schema(train, "y")
    X = coerce(train, schema)
    p_train = rng.beta(2, 5, 50_000)
    reference = build_reference(X, schema, {"proba": np.column_stack([1 - p_train, p_train]),
                                            "labels": np.where(p_train > 0.5, "yes", "no")})  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="mlwright-drift-"))
    store = Store(args.store or f"sqlite:///{work / 'log.db'}")
    name = f"drift-bench-{uuid.uuid4().hex[:8]}"
    log = PredictionLog(store, start=False)
    t0 = time.perf_counter()
    start = _dt.datetime(2026, 11, 1, tzinfo=_dt.UTC)
    n_batches = args.rows // args.batch
    per_write = 40  # batches per transaction, as the writer groups them
    for k in range(0, n_batches, per_write):
        recs = []
        for b in range(k, min(k + per_write, n_batches)):
            at = start + _dt.timedelta(days=7 * b / n_batches)
            rows = table(args.batch, shift=1.0 if b > n_batches * 5 / 7 else 0.0)
            p = rng.beta(2, 5, args.batch)
            req = uuid.uuid4().hex
            result = {"ids": [f"{req}-{i}" for i in range(args.batch)], "labels": ["no", "yes"],
                      "predictions": np.where(p > 0.5, "yes", "no").tolist(),
                      "probabilities": np.column_stack([1 - p, p]), "request_id": req}  # fmt: skip
            recs.append(_Record(req, at, name, "1", 2.0, rows, result))
        for r in recs:  # one write (Parquet pair) per batch, as the service's writer makes
            log._write([r])
    size = f", store {(work / 'log.db').stat().st_size / 1e6:.0f} MB" if not args.store else ""
    print(f"wrote {n_batches * args.batch:,} rows × {args.features} features in {n_batches:,} batches: "
          f"{time.perf_counter() - t0:.1f} s{size}")  # fmt: skip

    t0 = time.perf_counter()
    inputs, _ = log_tables(store, name)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    coerce(inputs, schema)
    t_coerce = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = monitor(name, {"1": reference}, schema, store, MonitorConfig(window="1d"))
    total = time.perf_counter() - t0
    drifted = [len(w["drifted"]) for w in res.windows]
    print(f"read + decode {t_read:.2f} s, coerce {t_coerce:.2f} s; monitor() end to end {total:.2f} s "
          f"({len(res.windows)} daily windows; features drifting per day: {drifted})")  # fmt: skip
    from sqlalchemy import delete

    from mlwright.store.tables import predictions

    store.write(lambda conn: conn.execute(delete(predictions).where(predictions.c.model == name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
