"""The process that fits one dashboard run: ``python -m mlwright.ui.runner JOB_DIR`` (see :mod:`.jobs`)."""

from __future__ import annotations

import signal
import sys
import time
import traceback
from pathlib import Path

from mlwright.ui.jobs import read_json, write_json


class Cancelled(KeyboardInterrupt):
    """SIGTERM from the dashboard's cancel button (an interrupt: the fit stops and records why, as on Ctrl-C)."""


def _stop(_sig, _frame):
    raise Cancelled("cancelled from the dashboard")


def main(folder: Path) -> int:
    """Fit the spec in ``folder``, writing progress after each trial; returns the exit code."""
    signal.signal(signal.SIGTERM, _stop)
    spec = read_json(folder / "spec.json")
    status = read_json(folder / "status.json")
    automl = None
    try:
        if spec.get("kind") == "forecast":
            return _forecast(folder, spec, status)
        if spec.get("kind") in ("cluster", "anomaly"):
            return _unsupervised(folder, spec, status)
        from mlwright.automl import AutoML

        tracking = f"store:{spec['store']}" if spec.get("store") else "store"
        fair = spec.get("fairness") or {}
        automl = AutoML(time_budget=spec["time_budget"], metric=spec.get("metric"), seed=spec.get("seed", 0),
                        tracking=tracking, fairness=fair.get("constraint"))  # fmt: skip

        def progress(s) -> None:
            write_json(folder / "progress.json", {
                "trials": s.trials_done, "best_model": s.best_model, "best_score": s.best_score, "metric": s.metric,
                "elapsed": s.elapsed, "time_left": s.time_left, "budget": s.budget, "last_model": s.last_model,
                "run_id": getattr(automl, "run_id_", None), "at": time.time(),
            })  # fmt: skip

        automl.fit(spec["data"], target=spec["target"], callbacks=[progress], sensitive=fair.get("sensitive"))
        path = automl.save(folder / "model")
        write_json(folder / "status.json", status | {
            "state": "finished", "finished": time.time(), "run_id": automl.run_id_, "model_dir": str(path),
            "score": automl.score_val_, "metric": automl.metric_, "best_model": automl.best_model_,
        })  # fmt: skip
        return 0
    except KeyboardInterrupt:
        write_json(folder / "status.json", status | {"state": "cancelled", "finished": time.time(),
                                                      "run_id": getattr(automl, "run_id_", None),
                                                      "error": "cancelled from the dashboard"})  # fmt: skip
        return 1
    except Exception as exc:  # shown on the run's page; the traceback goes to its log
        traceback.print_exc()
        write_json(folder / "status.json", status | {"state": "failed", "finished": time.time(),
                                                      "run_id": getattr(automl, "run_id_", None),
                                                      "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
        return 1


def _forecast(folder: Path, spec: dict, status: dict) -> int:
    """Fit a forecaster (``spec["forecast"]``: time column, ids, known covariates, horizon), save it and its
    report (``report.html`` beside the model)."""
    from mlwright.forecast import Forecaster

    fc = spec["forecast"]
    f = Forecaster(horizon=int(fc["horizon"]), time_budget=spec["time_budget"], seed=spec.get("seed", 0))
    f.fit(spec["data"], target=spec["target"], time_column=fc["time_column"], id_columns=fc.get("id_columns") or None,
          known_covariates=fc.get("known") or None)  # fmt: skip
    path = f.save(folder / "model")
    f.report(folder / "report.html")
    board = f.leaderboard()
    write_json(folder / "status.json", status | {
        "state": "finished", "finished": time.time(), "model_dir": str(path), "metric": "mase",
        "score": float(board["score_val"].iloc[0]), "best_model": str(board["model"].iloc[0]),
    })  # fmt: skip
    return 0


def _unsupervised(folder: Path, spec: dict, status: dict) -> int:
    """Fit a clusterer or a detector (``spec["unsupervised"]``), save it and its report beside it."""
    from mlwright.unsupervised import Anomaly, Cluster
    from mlwright.unsupervised.framing import read_rows

    u = spec["unsupervised"]
    df = read_rows(spec["data"])
    labels = df.pop(u["labels"]) if u.get("labels") else None
    if u["kind"] == "cluster":
        model: Cluster | Anomaly = Cluster(n_clusters=u.get("k"), time_budget=spec["time_budget"],
                                           seed=spec.get("seed", 0))  # fmt: skip
        model.fit(df, exclude=u.get("exclude") or None)
        score, metric, best = (
            model.choice_["silhouette"],
            "silhouette",
            f"{model.n_clusters_} clusters by " + (model.partition_.algorithm),
        )
    else:
        model = Anomaly(contamination=u.get("contamination"), time_budget=spec["time_budget"], seed=spec.get("seed", 0))
        model.fit(df, labels=labels, exclude=u.get("exclude") or None)
        score, metric, best = model.rate_, "flagged share", "+".join(model.detectors_)
    path = model.save(folder / "model")
    model.report(folder / "report.html")
    write_json(folder / "status.json", status | {
        "state": "finished", "finished": time.time(), "model_dir": str(path), "metric": metric,
        "score": float(score), "best_model": best,
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
