"""Clustering quality on labelled tables whose label the clusterer never sees (``bench/cluster_tables.py``):
adjusted mutual information of ``mlwright.Cluster`` (k and the algorithm chosen by it) beside k-means told
the true number of classes, on the same encoded features.

    .venv/bin/python bench/cluster_quality.py [--budget 30] [--out bench-results/cluster_quality.jsonl]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    from cluster_tables import TABLES, load
    from peak import Peak
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score as ami

    import mlwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=30.0)
    ap.add_argument("--out", default="bench-results/cluster_quality.jsonl")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows = []
    print("| table | rows | columns | classes | k-means told k: AMI | mlwright: algorithm, k | AMI | fit s | "
          "peak MB (+ fit) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    with open(args.out, "w") as out:
        for name in TABLES:
            df, y = load(name)
            t0 = time.monotonic()
            with Peak() as mem:
                model = mlwright.Cluster(time_budget=args.budget, seed=0).fit(df)
            seconds = time.monotonic() - t0
            X = model.prep_.transform(model.validate(df)[model.schema_.features])
            base = ami(y, KMeans(y.nunique(), n_init=10, random_state=0).fit_predict(X))
            ours = ami(y, model.labels_)
            rec = {"table": name, "rows": len(df), "columns": df.shape[1], "classes": int(y.nunique()),
                   "kmeans_true_k": base, "algorithm": model.partition_.algorithm, "k": model.n_clusters_,
                   "ami": ours, "seconds": seconds, "peak_mb": mem.mb, "added_mb": mem.added_mb}  # fmt: skip
            out.write(json.dumps(rec) + "\n")
            rows.append(rec)
            print(f"| {name} | {len(df)} | {df.shape[1]} | {rec['classes']} | {base:.3f} | "
                  f"{rec['algorithm']}, {rec['k']} | {ours:.3f} | {seconds:.1f} | "
                  f"{mem.mb:.0f} (+{mem.added_mb:.0f}) |")  # fmt: skip
    wins = sum(r["ami"] >= r["kmeans_true_k"] - 0.005 for r in rows)
    print(f"\nAMI at least k-means' (told k) on {wins} of {len(rows)} tables; mean AMI "
          f"{np.mean([r['ami'] for r in rows]):.3f} vs {np.mean([r['kmeans_true_k'] for r in rows]):.3f}")  # fmt: skip


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    main()
