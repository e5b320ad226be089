"""Ablation runs: the shared harness, with extra ``mlwright.AutoML`` parameters for one variant.

The harness (``../shared/bench/run_peer.py``) builds ``AutoML`` with the benchmark's fixed
arguments.  This script copies the harness to a temporary directory, adds the variant's keyword
arguments to that one call, and runs it, so every figure (fit time, latency, peak memory, score,
CV estimate) is measured exactly as in the main benchmark.

    .venv/bin/python bench/ablate.py --name no-refit --kw '{"refit": false}' \\
        --datasets telco_churn,hawk_species --budget 60
    # → bench-results/ablate_no-refit.jsonl, then summarize.py as usual
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT.parent / "shared" / "bench"
CALL = '            workdir=str(workdir / "mlwright"),\n        )'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="variant name (used in the output file name)")
    ap.add_argument("--kw", default="{}", help="JSON object of extra AutoML keyword arguments")
    ap.add_argument("--datasets", default=None, help="comma-separated dev datasets (default: all)")
    ap.add_argument("--budget", default="60")
    ap.add_argument("--suite", default="dev")
    ap.add_argument("--harness", default=str(HARNESS), help="the shared benchmark directory")
    args = ap.parse_args()
    kw = json.loads(args.kw)
    out = ROOT / "bench-results" / f"ablate_{args.name}.jsonl"
    out.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlwright-ablate-") as tmp:
        bench = Path(tmp) / "bench"
        shutil.copytree(args.harness, bench, ignore=shutil.ignore_patterns("results", "__pycache__"))
        src = (bench / "run_peer.py").read_text()
        if CALL not in src:
            raise SystemExit("the harness changed: cannot find the AutoML call to extend")
        extra = "".join(f"            {k}={v!r},\n" for k, v in kw.items())
        (bench / "run_peer.py").write_text(src.replace(CALL, CALL.replace("        )", extra + "        )"), 1))
        cmd = [
            sys.executable,
            str(bench / "run_peer.py"),
            "--system",
            "mlwright",
            "--suite",
            args.suite,
            "--budget",
            args.budget,
            "--out",
            str(out),
        ]
        if args.datasets:
            cmd += ["--datasets", args.datasets]
        return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
