"""A table larger than the memory cap, trained end to end: 20,000,000 rows × 20 columns under ``--memory-limit 4GB``.

    .venv/bin/python bench/large_fit.py [--rows 20000000] [--memory-limit 4GB] [--budget 1200]
                                        [--baseline-rows 1000000] [--dir bench-data/large]

1. Generates (once; kept in ``--dir``) a Parquet file of ``--rows`` rows: 15 numeric and 4 categorical features
   and a binary target ``y`` drawn from a logistic model with interactions, thresholds and periodic terms (so
   more rows keep paying off), plus a 500,000-row test file from another seed and a ``--baseline-rows`` sample
   (the first rows of the big file: its rows are independent draws).
2. Runs ``mlwright fit BIG --target y --memory-limit 4GB --time-budget B`` as a child process and samples the
   resident memory of its whole process tree every 50 ms (psutil): the peak must stay under the cap.
3. Runs ``mlwright fit SAMPLE --target y --time-budget B`` on the 1M-row sample (the baseline).
4. Scores both saved models on the test file (ROC AUC, log loss) and writes everything to
   ``bench-results/large_fit.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_NUM, CATS = 15, {"c0": 8, "c1": 20, "c2": 50, "c3": 4}


def _rows(n: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(size=(n, N_NUM)).astype(np.float32)
    c = {k: rng.integers(0, v, size=n) for k, v in CATS.items()}
    effect1 = np.random.default_rng(7).normal(0, 1.0, CATS["c1"])  # fixed per-level effects (same for every file)
    slope2 = np.random.default_rng(8).normal(0, 1.0, CATS["c2"])
    logit = (
        np.sin(2.5 * x[:, 0]) * x[:, 1]
        + 0.8 * np.sign(x[:, 2]) * np.abs(x[:, 3]) ** 0.5
        + 0.6 * x[:, 4] * x[:, 5] * x[:, 6]
        + np.cos(4.0 * x[:, 7]) * 0.8
        + 0.5 * np.floor(2 * x[:, 8]) % 3
        + effect1[c["c1"]] * 0.7
        + slope2[c["c2"]] * x[:, 9]
        + np.where(c["c0"] < 3, x[:, 10], -x[:, 10]) * 0.8
        + 0.4 * (x[:, 11] > 0.5) * (x[:, 12] < 0) * (c["c3"] == 1) * 3
        + 0.3 * x[:, 13]
        - 0.8
    )
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(N_NUM)])
    for k, v in c.items():
        df[k] = pd.Categorical.from_codes(v, [f"{k}_{i}" for i in range(CATS[k])]).astype(str)
    df["y"] = y.astype(np.int8)
    return df


def generate(path: Path, rows: int, seed: int, chunk: int = 1_000_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, rows, chunk):
        table = pa.Table.from_pandas(_rows(min(chunk, rows - start), rng), preserve_index=False)
        writer = writer or pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=250_000)
    writer.close()
    tmp.rename(path)


def head(src: Path, dst: Path, rows: int) -> None:
    import pyarrow.parquet as pq

    if not dst.exists():
        f = pq.ParquetFile(src)
        batches, n = [], 0
        for b in f.iter_batches(batch_size=250_000):
            batches.append(b)
            n += b.num_rows
            if n >= rows:
                break
        import pyarrow as pa

        pq.write_table(pa.Table.from_batches(batches).slice(0, rows), dst)


def run_measured(cmd: list[str], log_path: Path) -> dict:
    """Run ``cmd``; its wall time and the peak resident memory of its process tree (sampled every 50 ms)."""
    import psutil

    t0 = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        peak = [0]
        done = threading.Event()

        def poll() -> None:
            p = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    total = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
                    peak[0] = max(peak[0], total)
                except psutil.Error:
                    pass
                time.sleep(0.05)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        code = proc.wait()
        done.set()
        th.join()
    return {"exit": code, "seconds": round(time.monotonic() - t0, 1), "peak_tree_rss_mb": round(peak[0] / 1e6)}


def score(model_dir: Path, test: pd.DataFrame) -> dict:
    from sklearn.metrics import log_loss, roc_auc_score

    import mlwright

    m = mlwright.load(model_dir)
    p = np.concatenate([m.predict_proba(test.iloc[i:i + 100_000].drop(columns="y")).to_numpy()[:, 1]
                        for i in range(0, len(test), 100_000)])  # fmt: skip
    return {"roc_auc": round(float(roc_auc_score(test["y"], p)), 5),
            "log_loss": round(float(log_loss(test["y"], p)), 5), "model": str(m.best_model_),
            "large": getattr(m, "large_", None)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--budget", type=float, default=1200)
    ap.add_argument("--baseline-rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-budget", type=float, help="time budget of the baseline fit (default: --budget)")
    ap.add_argument("--dir", default="bench-data/large")
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    big, test_path = d / f"train_{args.rows}.parquet", d / "test.parquet"
    small = d / f"sample_{args.baseline_rows}.parquet"
    t0 = time.monotonic()
    generate(big, args.rows, seed=1)
    generate(test_path, 500_000, seed=2)
    head(big, small, args.baseline_rows)
    print(f"data ready in {time.monotonic() - t0:.0f}s: {big} ({big.stat().st_size / 1e9:.2f} GB on disk)", flush=True)
    exe = str(Path(sys.executable).with_name("mlwright"))
    out: dict = {"rows": args.rows, "memory_limit": args.memory_limit, "budget": args.budget, "cpus": os.cpu_count()}
    main_cmd = [exe, "fit", str(big), "--target", "y", "--memory-limit", args.memory_limit, "--time-budget",
                str(args.budget), "--out", str(d / "model_all"), "--tracking", "none"]  # fmt: skip
    out["all_rows"] = run_measured(main_cmd, d / "fit_all.log")
    print("all rows:", out["all_rows"], flush=True)
    test = pd.read_parquet(test_path)
    if out["all_rows"]["exit"] == 0:
        out["all_rows"].update(score(d / "model_all", test))
    if not args.skip_baseline:
        base_cmd = [exe, "fit", str(small), "--target", "y", "--time-budget", str(args.baseline_budget or args.budget),
                    "--out", str(d / "model_sample"), "--tracking", "none"]  # fmt: skip
        out["sample"] = run_measured(base_cmd, d / "fit_sample.log")
        if out["sample"]["exit"] == 0:
            out["sample"].update(score(d / "model_sample", test))
    Path("bench-results").mkdir(exist_ok=True)
    Path("bench-results/large_fit.json").write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
