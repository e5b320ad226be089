"""MLflow tracking: ``AutoML(tracking="mlflow")`` / ``mlwright fit --tracking mlflow[:URI]``.

The same callbacks as the store tracker, on the same progress stream: ``start`` opens an MLflow run
(experiment ``mlwright``, or ``MLFLOW_EXPERIMENT_NAME``) with the fit's settings as parameters; each
finished trial becomes a child run (its family, parameters, validation score, fit seconds, status and
error); ``finish`` closes the run with the score; ``after_fit`` logs the model report (``report.html``)
and the fitted model as an MLflow **pyfunc** — mlwright's own model directory as the artifact, loaded
by ``mlflow.pyfunc.load_model(uri)`` through a small models-from-code file
(:mod:`mlwright.tracking.pyfunc`: no pickled object), whose ``predict(df)`` is ``mlwright.load(…).predict(df)``.
Writes go through one background thread, so the
search never waits on the tracking server.

``URI``: any MLflow tracking URI (``sqlite:///mlflow.db``, ``http://host:5000``, ``file:///…``); without
one, MLflow's own default (``MLFLOW_TRACKING_URI``) applies.  Needs the ``mlflow`` extra.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

from mlwright.errors import ConfigError, MlwrightWarning

__all__ = ["MlflowTracker"]

log = logging.getLogger("mlwright")
_STOP = object()
EXPERIMENT = "mlwright"


def _client(uri: str | None):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError("tracking='mlflow' needs MLflow: pip install 'mlwright[mlflow]'") from None
    return MlflowClient(tracking_uri=uri) if uri else MlflowClient()


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flat(v, f"{key}.")
        else:
            out[key] = str(v)[:6000]
    return out


class MlflowTracker:
    """Logs a fit to MLflow (see the module docstring).

    Parameters
    ----------
    uri : str, optional
        The MLflow tracking URI (default: MLflow's own).
    """

    def __init__(self, uri: str | None = None):
        self.uri = uri
        self.url = None  # no mlwright store behind it
        self.resume = False
        self.run_id: str | None = None
        self.mlflow_run_id: str | None = None
        self.experiment_id: str | None = None
        self.error: str | None = None
        self._client = _client(uri)  # fails at once when MLflow is missing
        self._q: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- the callbacks
    def start(self, run_id: str, info: dict[str, Any]) -> None:
        """Open the MLflow run (synchronously: its id is needed by everything after)."""
        self.run_id = run_id
        c = self._client
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", EXPERIMENT)
        try:
            exp = c.get_experiment_by_name(name)
            self.experiment_id = exp.experiment_id if exp is not None else c.create_experiment(name)
            tags = {"mlwright.run_id": run_id, "mlwright.task": str(info.get("task")),
                    "mlwright.target": str(info.get("target"))}  # fmt: skip
            run = c.create_run(self.experiment_id, run_name=f"mlwright-{run_id[:8]}", tags=tags)
            self.mlflow_run_id = run.info.run_id
            c.log_batch(self.mlflow_run_id, params=_params(_flat(info.get("params") or {}) | _flat(
                {"metric": info.get("metric"), "data": info.get("data") or {}})))  # fmt: skip
        except Exception as exc:  # an unreachable server must not stop the fit
            self.error = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"MLflow tracking is off for this run: {self.error}", MlwrightWarning, stacklevel=3)
            return
        self._thread = threading.Thread(target=self._work, name="mlwright-mlflow", daemon=True)
        self._thread.start()

    def __call__(self, snapshot) -> None:
        trial = getattr(snapshot, "trial", None)
        if trial is not None and self._thread is not None:
            self._q.put(("trial", (trial, snapshot.metric)))

    def finish(self, outcome: dict[str, Any], wait: float = 60.0) -> None:
        """Close the run (``{"status", "score", "error"}``); waits for the queued writes."""
        if self._thread is None:
            return
        self._q.put(("finish", outcome))
        self._q.put(_STOP)
        self._thread.join(wait)
        self._thread = None

    def after_fit(self, automl: Any) -> None:
        """Log the model report and the model (a pyfunc) to the run."""
        if self.mlflow_run_id is None:
            return
        try:
            uri = log_model(automl, self.mlflow_run_id, self.uri)
            self._client.set_tag(self.mlflow_run_id, "mlwright.model_uri", uri)
        except Exception as exc:
            warnings.warn(f"logging the model to MLflow failed: {type(exc).__name__}: {exc}", MlwrightWarning,
                          stacklevel=3)  # fmt: skip

    # ---------------------------------------------------------------- the writer thread
    def _work(self) -> None:
        from mlflow.entities import RunStatus

        c = self._client
        while True:
            item = self._q.get()
            if item is _STOP:
                break
            what, data = item
            try:
                if what == "trial":
                    rec, metric = data
                    child = c.create_run(self.experiment_id, run_name=rec["model"], tags={
                        "mlflow.parentRunId": self.mlflow_run_id, "mlwright.family": rec["family"],
                        "mlwright.status": rec["status"], "mlwright.source": str(rec.get("source")),
                        "mlwright.worker": str(rec.get("worker", "")),
                        "mlwright.error": str(rec.get("error") or "")[:5000],
                    })  # fmt: skip
                    cid = child.info.run_id
                    metrics = {"fit_seconds": rec.get("fit_seconds"), "predict_seconds": rec.get("predict_seconds")}
                    if rec.get("score") is not None:
                        metrics[metric] = rec["score"]
                    c.log_batch(cid, metrics=_metrics(metrics), params=_params(_flat(rec.get("params") or {})))
                    c.set_terminated(cid, status="FINISHED" if rec["status"] == "ok" else "FAILED")
                else:
                    if data.get("score") is not None:
                        c.log_metric(self.mlflow_run_id, "score_val", float(data["score"]))
                    if data.get("error"):
                        c.set_tag(self.mlflow_run_id, "mlwright.error", str(data["error"])[:5000])
                    status = "FINISHED" if data.get("status") == "finished" else "FAILED"
                    c.set_terminated(self.mlflow_run_id, status=RunStatus.to_string(RunStatus.from_string(status)))
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("MLflow tracking of run %s failed: %s", self.run_id, self.error)


def _params(d: dict[str, str]) -> list:
    from mlflow.entities import Param

    return [Param(k[:250], v) for k, v in d.items()]


def _metrics(d: dict[str, Any]) -> list:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in d.items() if v is not None]


def log_model(automl: Any, run_id: str, uri: str | None = None) -> str:
    """Save ``automl`` and log it to MLflow run ``run_id`` as a pyfunc (plus its report); returns the model URI."""
    import mlflow
    import mlflow.pyfunc

    code = Path(__file__).with_name("pyfunc.py")  # run by MLflow when it loads the model, not here
    if uri:
        mlflow.set_tracking_uri(uri)
    with tempfile.TemporaryDirectory(prefix="mlwright-mlflow-") as tmp:
        path = automl.save(Path(tmp) / "model")
        client = _client(uri)
        report = path / "report.html"
        if report.exists():
            client.log_artifact(run_id, str(report))
        with mlflow.start_run(run_id=run_id):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(code),
                artifacts={"mlwright_model": str(path)},
                pip_requirements=["mlwright"],
            )
    return info.model_uri
