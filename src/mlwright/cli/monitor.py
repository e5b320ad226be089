"""``mlwright monitor`` and ``mlwright feedback``: the loop's eyes (see :mod:`mlwright.monitoring`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mlwright.cli.console import err, names, out, run_command

__all__ = ["feedback", "monitor", "pipeline_app", "retrain", "scheduler"]


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _num(v) -> str:
    return "—" if v is None else f"{v:.3g}"


def monitor(
    model: Annotated[str, typer.Argument(help="model directory or registered name (name, name@alias)")],
    window: Annotated[str | None, typer.Option("--window", "-w", help="window length: 1d, 6h, 15min, 1w")] = None,
    since: Annotated[str | None, typer.Option("--since", help="only the log since: 7d (ago) or a date")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML with [monitor] settings and [monitor.alerts] rules")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="compare with: training (default), first (each version's first window) "
            "or a period START/END of the log",
        ),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="write the monitoring report here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="exit 1 when the latest window alerts")
    ] = False,
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the store")] = None,
    sensitive: Annotated[
        str | None, typer.Option("--sensitive", help="columns a,b of the log to watch per group (default: fit's)")
    ] = None,
) -> None:
    """Drift, data quality, latency, errors, live metrics and group gaps of MODEL's predictions, per window."""

    def body():
        from mlwright.monitoring import MonitorConfig, monitor_model
        from mlwright.monitoring.alerts import fire_alerts

        cfg = MonitorConfig.from_file(config) if config else MonitorConfig()
        if window:
            cfg.window = window
        if sensitive:
            cfg.sensitive = names(sensitive)
        if reference:
            from mlwright.monitoring.drift import reference_period

            reference_period(reference)
            cfg.reference = reference
        res = monitor_model(model, cfg, since, store)
        fired = fire_alerts(res, cfg.webhook)
        if as_json:
            typer.echo(res.to_json())
        else:
            t = Table(title=f"{res.model} — windows of {res.window}", title_justify="left")
            for col in ("from", "rows", "version", "drifting", "most drifted", "pred PSI", "missing", "unseen",
                        "p99 ms", "errors", "live"):  # fmt: skip
                t.add_column(col, justify="left" if col in ("from", "version", "most drifted") else "right")
            for w in res.windows:
                drift = _pct(w.get("drift_share")) + (" [red]DRIFT[/red]" if w.get("dataset_drift") else "")
                live = w.get("live") or {}
                shown = f"{live.get('metric')} {_num(live.get('value'))} (n={live.get('rows')})" if live else "—"
                if (live.get("scores") or {}).get("coverage") is not None:  # a forecaster's interval coverage
                    shown += f", covered {_pct(live['scores']['coverage'])} of {_pct(live.get('coverage_target'))}"
                t.add_row(w["start"][:16], f"{w['rows']:,}", w["version"], drift,
                          escape(", ".join((w.get("drifted") or [])[:3]) or "—"),
                          _num((w.get("output") or {}).get("psi")), _pct(w.get("missing")), _pct(w.get("unseen")),
                          _num(w.get("latency_p99_ms")), _pct(w.get("error_rate")),
                          shown)  # fmt: skip
            out.print(t)
            for w in res.windows:  # a clusterer's segments, a detector's flags: each share against training's
                shares = (w.get("output") or {}).get("shares")
                if shares:
                    ref = w["output"]["shares_ref"]
                    out.print(f"{w['start'][:16]} shares (training): "
                              + ", ".join(f"{k} {_pct(v)} ({_pct(ref.get(k))})" for k, v in shares.items()),
                              highlight=False)  # fmt: skip
            for w in res.windows:  # the groups: their gaps (demographic parity from every row)
                f = w.get("fairness") or {}
                if f.get("disparities") or f.get("note"):
                    gaps = ", ".join(f"{k} {_num(v)}" for k, v in f.get("disparities", {}).items())
                    labelled = f" ({f['labelled']} labelled)" if f.get("labelled") else ""
                    out.print(f"{w['start'][:16]} groups: {escape(gaps or f['note'])}{labelled}", highlight=False)
            for a in fired:
                err.print(f"[yellow]alert[/yellow] {escape(a['rule'])}: {escape(str(a['value']))} "
                          f"(threshold {a['threshold']:g}) in the window from {a['window'][:16]}")  # fmt: skip
        if html is not None:
            from mlwright.report.monitor import render_monitor

            html.write_text(render_monitor(res.to_dict()), encoding="utf-8")
            err.print(f"monitoring report: {html}")
        if fired and fail_on_alert:
            raise typer.Exit(1)

    run_command(body)


def feedback(
    model: Annotated[str, typer.Argument(help="model directory or registered name the predictions came from")],
    labels: Annotated[Path, typer.Argument(help="CSV/Parquet with prediction_id and actual (or the target column)")],
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the store")] = None,
) -> None:
    """Record ground truth for logged predictions (the monitor turns it into live metrics)."""

    def body():
        from mlwright.monitoring.feedback import model_info, read_feedback_file, record_feedback
        from mlwright.store import Store

        st = Store(store)
        name, schema, _ = model_info(model, st)
        n = record_feedback(st, name, schema, read_feedback_file(labels, schema.target, schema), source="cli")
        out.print(f"stored {n:,} label(s) for {name}")

    run_command(body)


def retrain(
    name: Annotated[str, typer.Argument(help="registered model name (its champion is challenged)")],
    data: Annotated[
        Path, typer.Option("--data", help="new labelled rows (CSV/Parquet); a forecaster: the new actuals by series")
    ],
    with_history: Annotated[
        bool, typer.Option("--with-history", help="also train on the champion's training rows")
    ] = False,
    history: Annotated[Path | None, typer.Option("--history", help="where those rows are, if moved")] = None,
    history_db: Annotated[
        str | None,
        typer.Option("--history-db", help="database URL, when the champion came from a query on a URL with a password"),
    ] = None,
    min_delta: Annotated[float, typer.Option("--min-delta", help="least improvement of the primary metric")] = 0.0,
    alpha: Annotated[float, typer.Option("--alpha", help="significance level of the paired test")] = 0.05,
    guard: Annotated[
        list[str] | None, typer.Option("--guard", help="METRIC=TOLERANCE: largest allowed regression (repeatable)")
    ] = None,
    approval: Annotated[str, typer.Option("--approval", help="auto: promote if it passes; human: recommend")] = "auto",
    holdout: Annotated[float, typer.Option("--holdout", help="share of the new rows held out (most recent)")] = 0.25,
    time_budget: Annotated[float | None, typer.Option("--time-budget", help="seconds (default: champion's)")] = None,
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the store")] = None,
    sensitive: Annotated[
        str | None,
        typer.Option("--sensitive", help="columns a,b measured per group (default: the champion's); fairness guards"),
    ] = None,
) -> None:
    """Train a challenger for NAME on new data; promote it only when it beats the champion (see the gate)."""

    def body():
        from mlwright.errors import ConfigError
        from mlwright.loop.retrain import GateConfig
        from mlwright.loop.retrain import retrain as run

        guards = {}
        for g in guard or []:
            metric, sep, tol = g.partition("=")
            try:
                guards[metric.strip()] = float(tol)
            except ValueError:
                raise ConfigError(f"--guard {g!r}: write METRIC=TOLERANCE, e.g. log_loss=0.02") from None
            if not sep:
                raise ConfigError(f"--guard {g!r}: write METRIC=TOLERANCE, e.g. log_loss=0.02")
        cfg = GateConfig(min_delta=min_delta, alpha=alpha, guards=guards, approval=approval, holdout=holdout)
        res = run(name, data, with_history=with_history, history=history, history_db=history_db, config=cfg,
                  time_budget=time_budget, store=store, sensitive=names(sensitive) or None)  # fmt: skip
        c = res.comparison
        colour = {"promoted": "green", "recommended": "yellow", "rejected": "red"}[res.outcome]
        held = "points of the newest window" if "window" in c else "held-out rows"
        out.print(f"[{colour}]{res.outcome}[/{colour}]: {name} v{res.challenger_version} (challenger) against "
                  f"v{res.champion_version} (champion) on {res.holdout_rows:,} {held}")  # fmt: skip
        out.print(f"  {res.metric}: {c['champion']:.4f} → {c['challenger']:.4f} ({c['delta']:+.4f}); "
                  f"{c['test']} p = {c['pvalue']:.3g}")  # fmt: skip
        for g, v in res.guards.items():
            out.print(f"  guard {g}: {v['champion']:.4f} → {v['challenger']:.4f} ({'ok' if v['ok'] else 'REGRESSED'})")
        for r in [*res.reasons, *c.get("notes", [])]:
            out.print(f"  - {escape(r)}")
        if res.outcome == "recommended":
            out.print(f"  promote it with: mlwright models promote {name} {res.challenger_version}")

    run_command(body)


pipeline_app = typer.Typer(no_args_is_help=True, help="Declarative pipelines: run once, list runs, show a run.")


@pipeline_app.command("run")
def pipeline_run(
    file: Annotated[Path, typer.Argument(help="pipeline file (TOML)")],
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the store")] = None,
) -> None:
    """Run the pipeline FILE once, step by step (recorded in the store)."""

    def body():
        import logging

        from mlwright.loop.pipelines import run_pipeline

        logging.getLogger("mlwright.loop.pipelines").setLevel(logging.INFO)
        res = run_pipeline(file, store)
        out.print(f"pipeline {res['pipeline']}: [green]{res['status']}[/green] (run {res['id'][:8]})")

    run_command(body)


@pipeline_app.command("runs")
def pipeline_runs_cmd(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="only this pipeline")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (with every step's log)")] = False,
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the store")] = None,
) -> None:
    """Recent pipeline runs with their steps (runs left by a killed process are marked failed)."""

    def body():
        import json

        from mlwright.loop.pipelines import pipeline_runs

        runs = pipeline_runs(store, pipeline, limit)
        if as_json:
            typer.echo(json.dumps(runs, default=str, indent=1))
            return
        t = Table(title="pipeline runs", title_justify="left")
        for col in ("run", "pipeline", "started", "status", "steps", "error"):
            t.add_column(col)
        for r in runs:
            steps = " → ".join(f"{s['kind']}:{s['status']}" for s in r["steps"])
            t.add_row(r["id"][:8], r["pipeline"], f"{r['started']:%Y-%m-%d %H:%M:%S}", r["status"], steps,
                      escape(r["error"] or "—"))  # fmt: skip
        out.print(t)

    run_command(body)


def scheduler(
    files: Annotated[list[Path], typer.Argument(help="pipeline files with [pipeline] schedule (cron)")],
    stop_after: Annotated[
        float | None, typer.Option("--stop-after", help="stop after this many seconds (default: run until Ctrl-C)")
    ] = None,
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the store")] = None,
) -> None:
    """Run pipelines on their cron schedules (APScheduler); each run in its own process, never overlapping."""

    def body():
        import subprocess
        import sys
        import threading

        from apscheduler.schedulers.blocking import BlockingScheduler

        from mlwright.errors import ConfigError
        from mlwright.loop.pipelines import cron_trigger, load_pipeline

        sched = BlockingScheduler(timezone="UTC")
        for f in files:
            p = load_pipeline(f)
            if not p.schedule:
                raise ConfigError(f'{f}: no schedule; add schedule = "0 6 * * *" under [pipeline]')
            cmd = [sys.executable, "-m", "mlwright", "pipeline", "run", str(f)] + (["--store", store] if store else [])
            sched.add_job(subprocess.run, cron_trigger(p.schedule), args=[cmd], id=p.name, max_instances=1,
                          coalesce=True, misfire_grace_time=60)  # fmt: skip
            err.print(f"scheduled {p.name}: {p.schedule}")
        if stop_after is not None:
            timer = threading.Timer(stop_after, lambda: sched.shutdown(wait=True))
            timer.daemon = True
            timer.start()
        sched.start()

    run_command(body)
