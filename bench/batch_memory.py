"""Batch scoring in constant memory: `mlwright predict` over a generated N-row CSV, peak RSS sampled.

    .venv/bin/python bench/batch_memory.py [--rows 5000000] [--chunk-rows 100000] [--model DIR]

Writes an N-row CSV shaped like the bundled demo data (its rows resampled with noise, written in
pieces), fits the demo model when none is given, then runs `mlwright predict MODEL big.csv --out
out.parquet` as a child process and samples its resident memory every 0.2 s.  Prints rows, seconds,
rows/s, the input size and the peak RSS; the same run on a tenth of the rows shows that memory does not
grow with the file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "mlwright" / "data" / "demo" / "credit_card.csv"


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    base = pd.read_csv(DEMO).drop(columns=["card"])
    rng = np.random.default_rng(seed)
    num = [c for c in base.columns if pd.api.types.is_float_dtype(base[c])]
    piece = 250_000
    with open(path, "w", encoding="utf-8", newline="") as f:
        for start in range(0, rows, piece):
            n = min(piece, rows - start)
            df = base.sample(n, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
            for c in num:
                df[c] = df[c] * rng.normal(1.0, 0.05, n)
            df.to_csv(f, index=False, header=start == 0)


def peak_rss(cmd: list[str]) -> tuple[float, int]:
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, ps.memory_info().rss)
        time.sleep(0.2)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"predict failed: {proc.stderr.read()}")
    return secs, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--chunk-rows", type=int, default=100_000)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("mlwright"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model
        if model is None:
            model = tmp / "model"
            fit = [exe, "fit", str(DEMO), "--target", "card", "--time-budget", "30", "--report-seconds", "0",
                   "--out", str(model), "-q", "--tracking", "none"]  # fmt: skip
            subprocess.run(fit, check=True, capture_output=True)
        results = []
        for rows in (args.rows // 10, args.rows):
            data = tmp / f"big_{rows}.csv"
            make_csv(data, rows)
            secs, peak = peak_rss([exe, "predict", str(model), str(data), "--out", str(tmp / "out.parquet"),
                                   "--chunk-rows", str(args.chunk_rows), "-q"])  # fmt: skip
            out_rows = len(pd.read_parquet(tmp / "out.parquet", columns=["prediction"]))
            assert out_rows == rows, (out_rows, rows)
            r = {"rows": rows, "input_mb": round(data.stat().st_size / 1e6), "seconds": round(secs, 1),
                 "rows_per_s": round(rows / secs), "peak_rss_mb": round(peak / 1e6)}  # fmt: skip
            print(json.dumps(r), flush=True)
            results.append(r)
            data.unlink()
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
