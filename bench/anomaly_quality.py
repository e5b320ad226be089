"""Anomaly detection quality, ADBench style (``bench/anomaly_tables.py``: a rare class plays the anomaly,
down-sampled to 5 %, three seeds): ROC-AUC of ``mlwright.Anomaly`` (no labels) beside isolation forest, LOF
and pyod's ECOD at their default settings on the same encoded features, and the mean rank of each.

    .venv/bin/python bench/anomaly_quality.py [--out bench-results/anomaly_quality.jsonl]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

SYSTEMS = ("mlwright", "iforest", "lof", "ecod")


def _scores(df, seed: int) -> tuple[dict[str, np.ndarray], float, object]:
    from peak import Peak
    from pyod.models.ecod import ECOD
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor

    import mlwright

    t0 = time.monotonic()
    with Peak() as mem:
        model = mlwright.Anomaly(time_budget=60, seed=seed).fit(df)
    seconds = time.monotonic() - t0
    X = model.prep_.transform(model.validate(df)[model.schema_.features])
    return (
        {
            "mlwright": model.predict_scores(df),
            "iforest": -IsolationForest(random_state=seed).fit(X).score_samples(X),
            "lof": -LocalOutlierFactor().fit(X).negative_outlier_factor_,
            "ecod": ECOD().fit(X).decision_scores_,
        },
        seconds,
        mem,
    )


def main() -> None:
    from anomaly_tables import HELD_OUT, TABLES, load
    from sklearn.metrics import roc_auc_score

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-results/anomaly_quality.jsonl")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--held-out", action="store_true", help="the tables the default detectors were not chosen on")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ranks: dict[str, list[float]] = {s: [] for s in SYSTEMS}
    print("| table | rows | anomalies | " + " | ".join(SYSTEMS) + " | mlwright fit s | peak MB (+ fit) |")
    print("|---|---|---|" + "---|" * len(SYSTEMS) + "---|---|")
    with open(args.out, "w") as out:
        for name in HELD_OUT if args.held_out else TABLES:
            aucs: dict[str, list[float]] = {s: [] for s in SYSTEMS}
            times, peaks = [], []
            for seed in range(args.seeds):
                df, y = load(name, seed)
                scores, seconds, mem = _scores(df, seed)
                times.append(seconds)
                peaks.append((mem.mb, mem.added_mb))
                for s in SYSTEMS:
                    aucs[s].append(float(roc_auc_score(y, scores[s])))
            mean = {s: float(np.mean(v)) for s, v in aucs.items()}
            for s in SYSTEMS:
                ranks[s].append(1 + sum(mean[o] > mean[s] + 1e-9 for o in SYSTEMS)
                                + 0.5 * sum(abs(mean[o] - mean[s]) <= 1e-9 for o in SYSTEMS if o != s))  # fmt: skip
            out.write(json.dumps({"table": name, "rows": len(df), "anomaly_rate": float(y.mean()), "auc": mean,
                                  "seconds": float(np.mean(times)), "peak_mb": max(p for p, _ in peaks),
                                  "added_mb": max(a for _, a in peaks)}) + "\n")  # fmt: skip
            print(f"| {name} | {len(df)} | {y.mean():.1%} | " + " | ".join(f"{mean[s]:.3f}" for s in SYSTEMS)
                  + f" | {np.mean(times):.1f} | {max(p for p, _ in peaks):.0f}"
                  + f" (+{max(a for _, a in peaks):.0f}) |")  # fmt: skip
    print("\nmean rank (ROC-AUC): " + ", ".join(f"{s} {np.mean(r):.2f}" for s, r in ranks.items()))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    main()
