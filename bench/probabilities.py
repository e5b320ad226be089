"""How honest are the served probabilities?  Paired measurements on the benchmark's classification tables.

For each table (the harness's 80/20 split and ``AutoML`` both seeded by ``--seed``, 0 by default), ``AutoML``
is fitted once per variant (``--refit``: refit members on all rows, or serve the fold models), and the same
fitted ensemble is scored on the test rows as it blends (``raw``, floored at ``MIN_PROB``) and as served:
through the tempering (temperature and floor) learned on its out-of-fold probabilities when it helped there
(:mod:`mlwright.evaluation.tempering`).  Paired: one fit, two outputs, no run-to-run noise between them.

    .venv/bin/python bench/probabilities.py --suite dev --datasets hawk_species,leaf_species --budget 60
    .venv/bin/python bench/probabilities.py --suite bench/suites/extra --tasks multiclass

Prints one line per (table, variant) and appends them to ``bench-results/probabilities.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT.parent / "shared" / "bench"))

import datasets as D  # noqa: E402

import mlwright  # noqa: E402
from mlwright.evaluation.tempering import apply_tempering, floor_only  # noqa: E402


def _nll(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    cost = -np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))
    return float(cost.mean()), float(cost.max())


def measure(spec: dict, budget: float, refit: bool, seed: int) -> dict:
    df = D.load(spec)
    train, test = D.split(df, spec, seed=seed)
    target = spec["target"]
    X_test = test.drop(columns=[target])
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as wd:
        warnings.simplefilter("ignore")
        t0 = time.monotonic()
        automl = mlwright.AutoML(
            task=spec["task"], time_budget=budget, seed=seed, n_jobs=2, refit=refit, workdir=wd, report_seconds=0
        ).fit(train, target=target)
        fit_s = time.monotonic() - t0
        fitted = automl.fitted_
        classes = list(fitted.classes)
        served = automl.predict_proba(X_test)[classes].to_numpy()
        raw = apply_tempering(floor_only(), fitted.blended(X_test))
    y_test = np.array([classes.index(v) for v in test[target]])
    out = {"dataset": spec["name"], "task": spec["task"], "refit": refit, "seed": seed, "fit_seconds": round(fit_s, 1)}
    out["cv"] = float(automl.leaderboard()["score_val"].iloc[0])
    out["members"] = [m.name for m in fitted.members]
    out["tempering"] = {k: v for k, v in (fitted.tempering or {}).items() if k != "prior"}
    out["test_raw"], out["max_row_raw"] = _nll(y_test, raw)
    out["test_served"], out["max_row_served"] = _nll(y_test, served)
    out["gap_served"] = (out["cv"] - out["test_served"]) / out["test_served"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="dev", help="a suite name of the shared bench, or a path without .json")
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--tasks", default="binary,multiclass")
    ap.add_argument("--budget", type=float, default=60)
    ap.add_argument("--refit", default="true,false")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    suite = args.suite if args.suite in ("dev",) else str(Path(args.suite).resolve())
    specs = [s for s in D.load_suite(suite) if s["task"] in args.tasks.split(",")]
    if args.datasets:
        specs = [s for s in specs if s["name"] in args.datasets.split(",")]
    out = ROOT / "bench-results" / "probabilities.jsonl"
    out.parent.mkdir(exist_ok=True)
    for spec in specs:
        for refit in [v == "true" for v in args.refit.split(",")]:
            rec = measure(spec, args.budget, refit, args.seed)
            rec["date"] = time.strftime("%Y-%m-%d %H:%M")
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
