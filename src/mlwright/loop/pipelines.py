"""Declarative pipelines: a TOML file of steps over a data source, run once or on a cron schedule.

.. code-block:: toml

    [pipeline]
    name = "churn-daily"
    schedule = "0 6 * * *"             # cron: minute hour day month weekday (a 6th, leading field: seconds)

    [source]                           # the labelled data each run reads
    path = "data/churn-*.csv"          # a glob: the newest matching file (or: sql = "SELECT …", db = "URL")
    target = "churn"

    [model]                            # the registered model the pipeline keeps
    name = "churn"
    time_budget = 60                   # any AutoML setting for the first fit
    # a forecaster instead: kind = "forecast", horizon = 12, time_column = "week", id_columns = ["store"]
    # (and known_covariates, past_covariates, static_columns, quantiles as Forecaster takes them)

    [gate]                             # retraining's promotion gate (mlwright.loop.retrain.GateConfig)
    min_delta = 0.005

    [[steps]]
    kind = "check"                     # data checks: stop on a critical finding (fail_on = "warning" is stricter)
    [[steps]]
    kind = "train"                     # no champion yet: fit and register it; else retrain, gated
    [[steps]]
    kind = "score"                     # batch-score rows to a file or table (written whole or not at all)
    input = "data/to-score.csv"        # or input_sql + db
    output_table = "churn_scores"      # or out = "scores.parquet"
    db = "sqlite:///scores.db"
    [[steps]]
    kind = "monitor"                   # drift and live metrics of the served model; alerts; retrain on drift
    window = "1d"
    alerts = { drift_share = 0.3 }
    retrain_on = ["drift_share"]       # these alerts in the latest window trigger a gated retrain

Every run and step is recorded in the store (status, times, log lines, results: ``mlwright pipeline runs``).
Two runs of one pipeline never overlap: a lock row (primary key = pipeline name) is taken first; a run
killed outright leaves its lock and a ``running`` row, which the next run — or ``pipeline runs`` — marks
failed once its process is gone.  Steps are atomic where it matters: a model is registered by one
transaction after its files are complete, a scored table is written to a staging table and renamed, a
file is written under a temporary name and renamed.
"""

from __future__ import annotations

import datetime as _dt
import glob
import logging
import os
import socket
import tomllib
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlwright.errors import ConfigError, MlwrightError, PipelineError
from mlwright.faults import kill_point
from mlwright.jsonsafe import stored
from mlwright.processes import process_alive

__all__ = ["Pipeline", "PipelineError", "load_pipeline", "mark_stale_runs", "pipeline_runs", "run_pipeline"]

log = logging.getLogger("mlwright.loop.pipelines")

STEP_KINDS = ("check", "train", "score", "monitor")


@dataclass
class Pipeline:
    """A parsed pipeline file."""

    name: str
    source: dict[str, Any]
    model: dict[str, Any]
    steps: list[dict[str, Any]]
    schedule: str | None = None
    gate: dict[str, Any] = field(default_factory=dict)
    file: str | None = None

    @property
    def target(self) -> str:
        return self.source["target"]


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and check a pipeline file (every problem named, with the file)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read pipeline file {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    where = f"in {path}"
    head = data.get("pipeline") or {}
    name = head.get("name") or path.stem
    source, model, steps = data.get("source"), data.get("model"), data.get("steps")
    if not isinstance(source, dict) or "target" not in source or not ("path" in source or "sql" in source):
        raise ConfigError(f"{where}: [source] needs target and either path (a file or glob) or sql + db")
    if "sql" in source and "db" not in source:
        raise ConfigError(f"{where}: [source] sql needs db (a SQLAlchemy URL)")
    if not isinstance(model, dict) or "name" not in model:
        raise ConfigError(f'{where}: [model] needs name (the registered model), e.g. name = "churn"')
    if not isinstance(steps, list) or not steps:
        raise ConfigError(f"{where}: add [[steps]] with kind = one of {', '.join(STEP_KINDS)}")
    for i, s in enumerate(steps):
        if s.get("kind") not in STEP_KINDS:
            raise ConfigError(f"{where}: step {i + 1} has kind {s.get('kind')!r}; use one of {', '.join(STEP_KINDS)}")
    schedule = head.get("schedule")
    if schedule is not None:
        cron_trigger(schedule)  # a bad expression fails now, not at 6 a.m.
    from mlwright.loop.retrain import GateConfig

    gate = data.get("gate") or {}
    try:
        GateConfig(**gate)
    except TypeError as exc:
        raise ConfigError(f"{where}: [gate] {exc}") from None
    return Pipeline(str(name), source, model, steps, schedule, gate, str(path.resolve()))


def cron_trigger(expr: str):
    """An APScheduler trigger from a 5-field cron expression (or 6 fields, the first for seconds)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(expr, timezone="UTC")
        if len(fields) == 6:
            names = ("second", "minute", "hour", "day", "month", "day_of_week")
            return CronTrigger(**dict(zip(names, fields)), timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"schedule {expr!r} is not a valid cron expression: {exc}") from None
    raise ConfigError(f"schedule {expr!r}: write 5 cron fields (minute hour day month weekday), e.g. '0 6 * * *'")


def _read_source(p: Pipeline) -> tuple[pd.DataFrame, str]:
    from mlwright.data.sources import read_table

    src = p.source
    if "sql" in src:
        from mlwright.data.sql import read_sql

        return read_sql(src["sql"], src["db"]), "sql query"
    matches = sorted(glob.glob(os.path.expanduser(src["path"])), key=os.path.getmtime)
    if not matches:
        raise PipelineError(f"no file matches the source path {src['path']!r}")
    return read_table(matches[-1]), matches[-1]


# ---------------------------------------------------------------------------------------------- the run
class _Run:
    def __init__(self, store, p: Pipeline):
        self.store, self.p = store, p
        self.id = uuid.uuid4().hex
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        log.info("%s: %s", self.p.name, text)
        self.lines.append(f"{_dt.datetime.now(_dt.UTC):%H:%M:%S} {text}")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def mark_stale_runs(store, pipeline: str | None = None) -> int:
    """Runs left ``running`` by a process that is gone (killed): marked failed, their locks released."""
    from mlwright.store.pipelines import fail_runs, running_runs

    stale = [r for r in running_runs(store, pipeline) if not process_alive(r.pid, r.host)]
    fail_runs(store, {r.id: f"interrupted: process {r.pid} on {r.host} ended without finishing the run" for r in stale})
    return len(stale)


def _lock(store, run: _Run) -> None:
    """Take the pipeline's lock row (one transaction: look, then insert; two racing inserts → the primary key
    fails one, whose retry then sees the other's lock)."""
    from mlwright.store.pipelines import release_lock, take_lock

    row = {"pipeline": run.p.name, "run_id": run.id, "host": socket.gethostname(), "pid": os.getpid(), "at": _now()}
    for _ in range(2):
        holder = take_lock(store, row)
        if holder is None:
            return
        if process_alive(holder.pid, holder.host):
            raise PipelineError(
                f"pipeline {run.p.name!r} is already running (run {holder.run_id[:8]}, process {holder.pid} on "
                f"{holder.host}); runs of one pipeline never overlap"
            )
        mark_stale_runs(store, run.p.name)  # its process is gone: that run failed; free the lock
        release_lock(store, holder.run_id)
    raise PipelineError(f"could not take the lock of pipeline {run.p.name!r}; try again")


def run_pipeline(path: str | Path, store: str | None = None) -> dict[str, Any]:
    """Run a pipeline file once, step by step, recording everything; returns the run's record.

    Raises :class:`PipelineError` when a step fails (the run is recorded as failed, with the step's error).
    """
    from mlwright.store import Store
    from mlwright.store.pipelines import finish_run, finish_step, start_run, start_step

    p = load_pipeline(path)
    st = Store(store)
    run = _Run(st, p)
    mark_stale_runs(st, p.name)
    _lock(st, run)
    start_run(st, {"id": run.id, "pipeline": p.name, "host": socket.gethostname(), "pid": os.getpid(), "file": p.file})
    ctx: dict[str, Any] = {"store": store}
    status, error = "succeeded", None
    try:
        for i, step in enumerate(p.steps, 1):
            run.lines = []
            start_step(st, run.id, i, step["kind"])
            kill_point("pipeline.step")
            try:
                result = STEPS[step["kind"]](run, step, ctx)
                s_status, s_error = "succeeded", None
            except Exception as exc:
                result, s_status = {"error": f"{type(exc).__name__}: {exc}"}, "failed"
                s_error = exc
                run.say(f"failed: {exc}")
                if not isinstance(exc, MlwrightError):
                    run.lines.append(traceback.format_exc(limit=5))
            finish_step(st, run.id, i, s_status, "\n".join(run.lines), stored(result))
            if s_error is not None:
                status, error = "failed", f"step {i} ({step['kind']}): {s_error}"
                break
    except BaseException as exc:  # interrupted (Ctrl-C): recorded, then re-raised
        status, error = "failed", f"interrupted: {type(exc).__name__}"
        raise
    finally:
        finish_run(st, run.id, status, error)
    if error:
        raise PipelineError(f"pipeline {p.name!r} failed at {error} (run {run.id[:8]}; see mlwright pipeline runs)")
    return {"id": run.id, "pipeline": p.name, "status": status}


# ---------------------------------------------------------------------------------------------- steps
def _step_check(run: _Run, step: dict, ctx: dict) -> dict:
    from mlwright.data.checks import run_checks

    df, where = _read_source(run.p)
    ctx["data"], ctx["data_from"] = df, where
    findings = run_checks(df, run.p.target)
    levels = {"critical": 2, "warning": 1, "info": 0}
    fail_on = step.get("fail_on", "critical")
    if fail_on not in levels:
        raise PipelineError(f"fail_on {fail_on!r}: use critical, warning or info")
    bad = [f for f in findings if levels.get(f.severity, 0) >= levels[fail_on]]
    run.say(f"{len(df):,} rows from {where}; {len(findings)} finding(s), {len(bad)} at or above {fail_on}")
    if bad:
        raise PipelineError("; ".join(f"{f.column or 'table'}: {f.message}" for f in bad[:3]))
    return {"rows": len(df), "source": where, "findings": [f.to_dict() for f in findings[:50]]}


def _data(run: _Run, ctx: dict) -> pd.DataFrame:
    if "data" not in ctx:
        ctx["data"], ctx["data_from"] = _read_source(run.p)
    return ctx["data"]


def _step_train(run: _Run, step: dict, ctx: dict) -> dict:
    from mlwright.automl import AutoML
    from mlwright.loop.retrain import GateConfig, retrain
    from mlwright.registry import Registry

    reg = Registry(ctx["store"])
    name = run.p.model["name"]
    df = _data(run, ctx)
    try:
        champion = reg.resolve(f"{name}@champion")
    except MlwrightError:  # no such model or alias yet
        champion = None
    settings = {k: v for k, v in run.p.model.items() if k != "name"}
    if champion is None:
        import tempfile

        run.say(f"no champion of {name!r} yet: fitting one on {len(df):,} rows")
        src = run.p.source  # where the rows came from, for a later retrain with history
        from mlwright.data.sql import SqlSource

        source = (SqlSource(src["sql"], src["db"]).describe() if "sql" in src
                  else str(Path(ctx["data_from"]).resolve()))  # fmt: skip
        if settings.get("kind") == "forecast":
            model = _first_forecaster(settings, df, run.p.target)
            metric, score = "mase (backtest)", float(model.leaderboard()["score_val"].iloc[0])
        else:
            model = AutoML(**settings).fit(df, target=run.p.target, source=source)
            metric, score = model.metric_, model.score_val_
        with tempfile.TemporaryDirectory(prefix="mlwright-pipeline-") as tmp:
            v = reg.register(model.save(Path(tmp) / name), name, alias="champion")
        run.say(f"registered {name} v{v.version} as champion ({metric} {score:.4f})")
        return {"outcome": "first", "version": v.version, "score": score}
    gate = GateConfig(**run.p.gate)
    out = retrain(name, df, config=gate, time_budget=settings.get("time_budget"), store=ctx["store"])
    c = out.comparison
    run.say(
        f"challenger v{out.challenger_version} vs champion v{out.champion_version}: {out.metric} "
        f"{c['champion']:.4f} → {c['challenger']:.4f}, {c['test']} p = {c['pvalue']:.3g}: {out.outcome}"
    )
    for r in out.reasons:
        run.say(f"  {r}")
    return out.to_dict()


_FORECAST_FIT = ("time_column", "id_columns", "known_covariates", "past_covariates", "static_columns", "freq")


def _first_forecaster(settings: dict, df: pd.DataFrame, target: str):
    """A forecaster fitted from a pipeline's ``[model]`` (``kind = "forecast"``): constructor settings and the
    fit's column roles in one table."""
    from mlwright.forecast import Forecaster

    params = {k: v for k, v in settings.items() if k not in (*_FORECAST_FIT, "kind")}
    fit_kw = {k: settings[k] for k in _FORECAST_FIT if k in settings}
    if "horizon" not in params or "time_column" not in fit_kw:
        raise PipelineError('a forecast pipeline\'s [model] needs horizon and time_column (kind = "forecast")')
    return Forecaster(**params).fit(df, target=target, **fit_kw)


def _step_score(run: _Run, step: dict, ctx: dict) -> dict:
    from mlwright.registry import load_model
    from mlwright.serving.batch import BatchInput, score_batch

    model = load_model(step.get("model", f"{run.p.model['name']}@champion"), ctx["store"])
    if "input_sql" in step:
        src = BatchInput(query=step["input_sql"], db=step.get("input_db", step.get("db")))
    elif "input" in step:
        src = BatchInput(path=step["input"])
    else:
        raise PipelineError("a score step needs input (a file) or input_sql (+ db)")
    if not step.get("out") and not step.get("output_table"):
        raise PipelineError("a score step needs out (a .csv/.parquet file) or output_table (+ db)")
    res = score_batch(
        model,
        src,
        out=step.get("out"),
        table=step.get("output_table"),
        out_db=step.get("db"),
        if_exists=step.get("if_exists", "replace"),
        keep=step.get("keep"),
    )
    run.say(f"scored {res.get('rows', 0):,} rows into {step.get('output_table') or step.get('out')}")
    return res


def _step_monitor(run: _Run, step: dict, ctx: dict) -> dict:
    from mlwright.monitoring import MonitorConfig, monitor_model
    from mlwright.monitoring.alerts import fire_alerts

    given = {k: step[k] for k in ("psi", "alpha", "drift_share", "min_rows", "reference", "webhook") if k in step}
    cfg = MonitorConfig(window=step.get("window", "1d"), alerts=dict(step.get("alerts") or {}), **given)
    from mlwright.errors import MonitoringError

    try:
        res = monitor_model(run.p.model["name"], cfg, step.get("since"), ctx["store"])
    except MonitoringError as exc:  # nothing served yet: nothing to judge
        run.say(str(exc))
        return {"skipped": str(exc)}
    fired = fire_alerts(res, cfg.webhook)
    latest = res.windows[-1]
    run.say(
        f"latest window {latest['start'][:16]}: {latest['rows']:,} rows, {len(latest.get('drifted') or [])} "
        f"feature(s) drifting; alerts: {', '.join(a['rule'] for a in fired) or 'none'}"
    )
    out: dict[str, Any] = {
        "alerts": fired,
        "latest": {k: latest.get(k) for k in ("start", "rows", "drifted", "drift_share", "dataset_drift")},
    }
    triggers = set(step.get("retrain_on") or [])
    if triggers & {a["rule"] for a in fired}:
        run.say("an alert in retrain_on fired: retraining")
        out["retrain"] = _step_train(run, {"kind": "train"}, ctx)
    return out


STEPS = {"check": _step_check, "train": _step_train, "score": _step_score, "monitor": _step_monitor}


def pipeline_runs(store: str | None = None, pipeline: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Recent runs (newest first), each with its steps; stale ``running`` rows are marked failed first."""
    from mlwright.store import Store
    from mlwright.store.pipelines import recent_runs

    st = Store(store)
    mark_stale_runs(st, pipeline)
    runs = recent_runs(st, pipeline, limit)
    return runs
