"""What each forecasting family buys: one fit per dataset of the forecasting dev suite, then the ensemble and
its quantiles chosen again from subsets of the same members (no refit), each scored on the test window.

    .venv/bin/python bench/forecast_ablation.py [--suite fc_dev] [--budget 60] [--out ablation.jsonl]

Reads the suite, its split and its scores from ``../shared/bench/forecast`` (``fc_datasets``).  The fit is
``mlwright.Forecaster`` as the harness runs it; the members it backtested are captured on their way to the
ensemble choice, and for each subset — all families; without the global LightGBM models; LightGBM only;
without ARIMA; the classic ETS + ARIMA + Theta; the single best member by backtest — the combination and
the quantiles are chosen on the backtests exactly as ``fit`` does and the future forecast is scored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

SUBSETS = {
    "all": lambda n: True,
    "no LightGBM": lambda n: not n.startswith("LightGBM"),
    "LightGBM only": lambda n: n.startswith("LightGBM"),
    "no ARIMA": lambda n: not n.startswith("AutoARIMA"),
    "classic ETS+ARIMA+Theta": lambda n: n in ("AutoETS", "AutoARIMA", "AutoTheta"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="fc_dev")
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    ap.add_argument("--out", default="forecast_ablation.jsonl")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench" / "forecast"))
    import fc_datasets as fd

    warnings.simplefilter("ignore")
    with open(args.out, "w") as out:
        for spec in fd.load_suite(args.suite):
            if args.datasets and spec["name"] not in args.datasets.split(","):
                continue
            row = ablate(fd, spec, args.budget)
            out.write(json.dumps(row) + "\n")
            out.flush()
            shown = {k: round(v["mase"], 3) if v else None for k, v in row["subsets"].items()}
            print(spec["name"], shown, flush=True)


def ablate(fd, spec: dict, budget: float) -> dict:
    import mlwright
    from mlwright.forecast import ensemble
    from mlwright.forecast.gbm import predict_global, with_past
    from mlwright.forecast.scoring import future_covariates

    seen: dict = {}
    choose, calibrate = ensemble.choose_strategy, ensemble.calibrate

    def capture_choose(runs, y, scale):
        seen.update(runs=list(runs), y=y, mase_scale=scale)
        return choose(runs, y, scale)

    def capture_calibrate(runs, weights, y, scale, future_scale, qs, per_window):
        seen.update(scale=scale, future_scale=future_scale, qs=qs)
        return calibrate(runs, weights, y, scale, future_scale, qs, per_window)

    df = fd.load(spec)
    train, test = fd.split(df, spec)
    future = fd.future_frame(test, spec) if spec["known_covariates"] else None
    f = mlwright.Forecaster(horizon=int(spec["h"]), time_budget=budget, seed=0, n_jobs=2)
    ensemble.choose_strategy, ensemble.calibrate = capture_choose, capture_calibrate
    t0 = time.monotonic()
    try:
        f.fit(train, target="target", time_column="timestamp", id_columns=["item_id"],
              known_covariates=spec["known_covariates"] or None, static_columns=spec["static"] or None)  # fmt: skip
    finally:
        ensemble.choose_strategy, ensemble.calibrate = choose, calibrate
    seconds = time.monotonic() - t0
    frame, h = f.frame_, f.horizon_
    grid = f.future_grid_[["unique_id", "ds"]]
    X = future_covariates(frame, future, grid) if frame.known else None
    X = with_past(frame, X, grid, h)
    futures = {}
    for run in seen.get("runs", []):
        futures[run.name] = run.future if run.future is not None else predict_global(run.state, frame, X, h, frame.ids)
    y, mase_scale = seen.get("y"), seen.get("mase_scale")
    board = {}  # each member's backtest MASE
    for r in seen.get("runs", []):
        per = [np.nanmean(np.abs(y[w] - r.backtest[w]), axis=1) / mase_scale[w] for w in range(r.backtest.shape[0])]
        board[r.name] = float(np.nanmean(per))
    subsets = {}
    for label, keep in [*SUBSETS.items(), ("best single member", None)]:
        runs = [r for r in seen.get("runs", []) if (keep(r.name) if keep else r.name == min(board, key=board.get))]
        if not runs:
            subsets[label] = None
            continue
        by_name = {r.name: r for r in runs}
        if len(runs) == 1:
            weights, per_window = {runs[0].name: 1.0}, []
        else:
            _, weights, per_window, _ = choose(runs, seen["y"], seen["mase_scale"])
        blend = calibrate(by_name, weights, seen["y"], seen["scale"], seen["future_scale"], seen["qs"], per_window)
        mean = sum(w * futures[n] for n, w in weights.items())
        q = np.sort(mean[..., None] + blend.spread, axis=-1)
        pred = f._table(f.future_grid_, mean, q)
        scores = fd.score(spec, train, test, pred)
        subsets[label] = {"mase": scores["mase"], "wql": scores["wql"], "coverage80": scores["coverage80"],
                          "members": {k: round(v, 3) for k, v in weights.items()}}  # fmt: skip
    return {"dataset": spec["name"], "fit_seconds": seconds, "members": sorted(board), "subsets": subsets,
            "strategy": next((e["strategy"] for e in f.fit_log_ if "strategy" in e), None)}  # fmt: skip


if __name__ == "__main__":
    main()
