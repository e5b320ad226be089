"""The ``mlwright`` command line: thin — parse, call the library, print with rich.

Package: the top layer — may import everything; nothing imports it (``__main__`` aside).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mlwright.cli.console import err, names, out, quiet_third_parties, run_command

app = typer.Typer(add_completion=False, no_args_is_help=True, help="mlwright: an automated ML engineer for tables.")

DEMO_TARGET = "card"


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="also show other libraries' warnings, logs and progress bars")
    ] = False,
) -> None:
    """mlwright: an automated ML engineer for tables."""
    quiet_third_parties(verbose)


def demo_data_path() -> Path:
    """Path of the bundled demo CSV (credit-card applications, target ``card``)."""
    return Path(str(resources.files("mlwright") / "data" / "demo" / "credit_card.csv"))


_CAPTIONS = {
    "holdout": "* the model you get, scored on held-out rows no model saw (the others: cross-validated on the sample)",
    "oof": "* the model you get",
    "nested": "* the model you get; its estimate also counts choosing it (nested over the folds)",
}


def _leaderboard_table(lb, metric: str, limit: int = 15) -> Table:
    kind = lb["estimate"].iloc[0] if "estimate" in lb.columns and len(lb) else "nested"
    t = Table(
        title=f"Leaderboard (score_val = cross-validated {metric})",
        caption=_CAPTIONS.get(kind, _CAPTIONS["nested"]),
    )
    for col in ("model", "score_val", "fit_seconds", "predict_seconds"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for _, r in lb.head(limit).iterrows():
        name = f"{r['model']} *" if r.get("served", False) else str(r["model"])
        t.add_row(name, f"{r['score_val']:.5g}", f"{r['fit_seconds']:.2f}", f"{r['predict_seconds']:.3f}")
    return t


def _findings_table(findings, title: str = "Data checks", with_action: bool = False, limit: int = 40) -> Table:
    colors = {"critical": "red", "warning": "yellow", "info": "blue"}
    t = Table(title=title, show_lines=False)
    t.add_column("severity")
    t.add_column("column")
    t.add_column("finding", overflow="fold")
    t.add_column("what fit did" if with_action else "what to do", overflow="fold")
    for f in findings[:limit]:
        sev = f"[{colors.get(f.severity, 'white')}]{f.severity}[/]"
        t.add_row(sev, escape(str(f.column or "—")), escape(f.message), escape(f.action if with_action else f.fix))
    if len(findings) > limit:
        t.caption = f"{len(findings) - limit} more findings in the report"
    return t


def _parse_clean(items: list[str] | None) -> dict | None:
    """``--clean key=value`` pairs → a cleaning dict (true/false, numbers, comma-separated lists)."""
    if not items:
        return None
    from mlwright.data.cleaning import Cleaning
    from mlwright.errors import ConfigError

    lists = {"keep", "drop"}
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ConfigError(f"--clean takes key=value, got {item!r} (e.g. --clean drop_duplicates=true)")
        low = value.strip().lower()
        if key in lists:
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif low in ("true", "yes", "on", "1"):
            out[key] = True
        elif low in ("false", "no", "off", "0"):
            out[key] = False
        else:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value.strip()
    Cleaning.from_value(out)  # unknown keys and bad values: a clear error now
    return out


def _fit(
    data,
    target: str,
    time_budget: float,
    metric: str | None,
    task: str | None,
    out_dir: Path,
    seed: int,
    quiet: bool,
    constraints: dict,
):
    import mlwright
    from mlwright.data.sql import SqlSource

    df = data  # a file goes to fit as a path: under --memory-limit, fit reads one too large to hold in batches
    if isinstance(data, SqlSource):  # a query: say what came back, and let the model record where from
        from mlwright.data.sources import read_table

        df = read_table(data)
        err.print(f"read {len(df):,} rows × {df.shape[1]} columns from the query")
    sensitive = constraints.pop("sensitive", None)
    automl = mlwright.AutoML(task=task, metric=metric, time_budget=time_budget, seed=seed, **constraints)
    source = data.describe() if isinstance(data, SqlSource) else None  # where the rows came from, for retrain
    if quiet or not err.is_terminal:  # no live bar in logs and pipes: one summary line at the end
        automl.fit(df, target=target, source=source, sensitive=sensitive)
    else:
        with Progress(
            TextColumn("[bold]fitting[/bold]"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        ) as bar:
            job = bar.add_task("fit", total=time_budget, info="starting")

            def progress(s):
                best = f"{s.best_score:.5g}" if s.best_score is not None else "-"
                bar.update(
                    job,
                    completed=min(s.elapsed, time_budget),
                    info=f"trials {s.trials_done} · best {s.metric} {best} · {s.time_left:.0f}s left",
                )

            automl.fit(df, target=target, callbacks=[progress], source=source, sensitive=sensitive)
    acted = [f for f in automl.findings_ if f.severity != "info" or not f.action.startswith("none")]
    if acted:
        out.print(_findings_table(acted, "Data checks (all findings are in the model report)", with_action=True))
    for line in (automl.fairness_ or {}).get("advice", []):
        out.print(f"fairness (out of fold): {line}", highlight=False)
    if (automl.fairness_ or {}).get("mitigation"):
        out.print(f"fairness mitigation: {automl.fairness_['mitigation']}", highlight=False)
    n_trials = sum(t["status"] != "skipped" for t in automl.trials_)
    err.print(
        f"fitted in {automl.fit_seconds_:.1f}s: {n_trials} trials, best {automl.metric_} {automl.score_val_:.5g}",
        highlight=False,
    )
    big = automl.large_
    if big:  # a table too large to hold: searched on a sample, then (maybe) trained on all rows
        done = (f"{big['trial']} trained on {big['rows_trained']:,} rows out of core"
                if big["used"] == "all_rows" else f"kept the sample's model ({big.get('reason')})")  # fmt: skip
        err.print(f"{big['rows']:,} rows: searched on a {big['sample_rows']:,}-row sample; {done}; held-out "
                  f"{automl.metric_}: all rows {big.get('holdout_score_all_rows', float('nan')):.5g}, sample "
                  f"{big.get('holdout_score_sample', float('nan')):.5g}", highlight=False)  # fmt: skip
    out.print(_leaderboard_table(automl.leaderboard(), automl.metric_))
    out.print(
        f"task: [bold]{automl.task_}[/bold]   estimated {automl.metric_} "
        f"({'held-out rows' if automl.estimate_kind_ == 'holdout' else 'cross-validated'}): "
        f"[bold green]{automl.score_val_:.5g}[/bold green]   best: {automl.best_model_}"
    )
    path = automl.save(out_dir)
    out.print(f"model saved to [bold]{path}[/bold]")
    if (path / "report.html").exists():
        out.print(f"model report: [bold]{path / 'report.html'}[/bold]")
    return automl, path


@app.command()
def fit(
    data: Annotated[Path | None, typer.Argument(help="training table: .csv or .parquet (or --sql)")] = None,
    target: Annotated[str, typer.Option("--target", "-t", help="column to predict")] = "",
    time_budget: Annotated[float, typer.Option("--time-budget", help="seconds for the whole fit")] = 60.0,
    metric: Annotated[str | None, typer.Option(help="metric to optimise (default: roc_auc/log_loss/rmse)")] = None,
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression (default: inferred)")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="model directory to write")] = Path("model"),
    seed: int = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    max_trials: Annotated[
        int | None, typer.Option("--max-trials", help="stop the search after this many trials", min=1)
    ] = None,
    max_predict_ms: Annotated[
        float | None, typer.Option("--max-predict-ms", help="latency limit for a one-row prediction")
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option("--memory-limit", help="memory the fit may hold, e.g. 2GB; models must fit")
    ] = None,
    report_seconds: Annotated[
        float, typer.Option("--report-seconds", help="time bound of the model report written after fit; 0: none")
    ] = 60.0,
    clean: Annotated[
        list[str] | None,
        typer.Option(
            "--clean",
            help="cleaning option key=value, repeatable: drop_duplicates=true, impute=mean, clip_outliers=true, "
            "select_features=true, drop_leaks=false, keep=col1,col2, drop=col3, checks=false",
        ),
    ] = None,
    sql: Annotated[str | None, typer.Option("--sql", help="train on the rows of this SELECT query (with --db)")] = None,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the --sql database")] = None,
    tracking: Annotated[
        str,
        typer.Option(
            "--tracking", help="record the run: store (default), store:URL, mlflow[:URI] (MLflow too), or none"
        ),
    ] = "store",
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="where trials run: inline (default, this process), local (worker processes: a crashing or "
            "hanging trial fails alone), or a Dask scheduler tcp://host:8786",
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="keep the run's trials here; the same command again continues the run "
            "(after a crash or kill) instead of starting over",
        ),
    ] = None,
    families: Annotated[
        str | None, typer.Option("--families", help="comma-separated model families to search, e.g. lightgbm,linear")
    ] = None,
    register: Annotated[
        str | None, typer.Option("--register", help="register the saved model under this name (next version)")
    ] = None,
    alias: Annotated[str | None, typer.Option("--alias", help="with --register: point this alias at it")] = None,
    onnx: Annotated[
        bool, typer.Option("--onnx", help="search only models `mlwright export --format onnx` can convert")
    ] = False,
    sensitive: Annotated[
        str | None, typer.Option("--sensitive", help="columns a,b measured per group, not features")
    ] = None,
    fairness: Annotated[
        str | None, typer.Option("--fairness", help="METRIC=MAX, e.g. equalized_odds=0.05: thresholds per group")
    ] = None,
) -> None:
    """Fit models on DATA (or a --sql query) to predict TARGET within the time budget, and save the best."""

    def body():
        _check_fit_args(target, data, sql, alias, register, out_dir)
        if sql is not None:
            from mlwright.data.sql import SqlSource

            source = SqlSource(sql, db or "")  # the model records the query for retrain --with-history
        else:
            source = data
        constraints = {
            "limits": {"predict_ms": max_predict_ms, "memory": memory_limit},
            "max_trials": max_trials,
            "cleaning": _parse_clean(clean),
            "report_seconds": report_seconds,
            "tracking": tracking,
            "cluster": cluster,
            "workdir": str(workdir) if workdir else None,
            "sensitive": names(sensitive),
            "fairness": _fairness(fairness),
        } | _families(families, onnx)
        automl, path = _fit(source, target, time_budget, metric, task, out_dir, seed, quiet, constraints)
        if register is not None:
            from mlwright.registry import Registry

            v = Registry().register(path, register, alias=alias)
            out.print(f"registered [bold]{v.ref}[/bold]{' as ' + alias if alias else ''} (run {automl.run_id_})")

    run_command(body)


def _families(families: str | None, onnx: bool) -> dict[str, list[str]]:
    """``--families a,b`` or ``--onnx`` (only convertible families) as AutoML's ``families``."""
    if onnx:
        from mlwright.artifacts.onnx import ONNX_FAMILIES

        return {"families": list(ONNX_FAMILIES)}
    return {"families": names(families)} if families else {}


def _fairness(text: str | None) -> dict[str, Any] | None:
    """``--fairness equalized_odds=0.05`` as AutoML's ``fairness``."""
    if not text:
        return None
    metric, sep, value = text.partition("=")
    try:
        return {"metric": metric.strip(), "max_difference": float(value) if sep else 0.05}
    except ValueError:
        from mlwright.errors import ConfigError

        raise ConfigError(f"--fairness {text!r}: write METRIC=MAX_DIFFERENCE, e.g. equalized_odds=0.05") from None


def _check_fit_args(target: str, data: Path | None, sql: str | None, alias: str | None, register: str | None,
                    out_dir: Path) -> None:  # fmt: skip
    """What ``mlwright fit`` refuses before fitting (a fit lost to a bad flag would waste the budget)."""
    from mlwright.artifacts import check_save_target
    from mlwright.errors import ConfigError

    if not target:
        raise ConfigError("name the column to predict with --target")
    if (data is None) == (sql is None):
        raise ConfigError("give the training data: a file path, or --sql QUERY with --db URL (one of them)")
    if alias is not None and register is None:
        raise ConfigError("--alias needs --register NAME")
    check_save_target(out_dir)  # before the fit, not after it (the fit would be lost)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="model directory")],
    data: Annotated[Path, typer.Argument(help="labelled table: .csv or .parquet, with the target column")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Score a saved MODEL on labelled DATA with every applicable metric."""

    def body():
        import mlwright
        from mlwright.predictor import require_rows_model

        res = require_rows_model(mlwright.load(model), "`mlwright evaluate`").evaluate(data)
        if as_json:
            from mlwright.jsonsafe import plain as plain_json

            sys.stdout.write(json.dumps(plain_json(res), indent=2, allow_nan=False) + "\n")  # NaN (one class): null
            return
        t = Table(title=f"Evaluation on {res['n_rows']} rows")
        t.add_column("metric")
        t.add_column("value", justify="right")
        for k, v in res.items():
            if isinstance(v, float):
                t.add_row(k + (" *" if k == res["metric"] else ""), f"{v:.5g}")
        out.print(t)
        if "confusion_matrix" in res:
            cm = Table(title="Confusion matrix (rows: true, columns: predicted)")
            cm.add_column("")
            for lab in res["labels"]:
                cm.add_column(str(lab), justify="right")
            for lab, row in zip(res["labels"], res["confusion_matrix"]):
                cm.add_row(str(lab), *map(str, row))
            out.print(cm)

    run_command(body)


@app.command()
def info(model: Annotated[Path, typer.Argument(help="model directory")]) -> None:
    """Describe a saved MODEL: task, metric, estimate, members, columns, versions (verifies hashes)."""

    def body():
        from mlwright import artifacts

        m = artifacts.read_manifest(model)
        artifacts.verify(model, m)
        if m.get("kind") == "forecast":
            _forecast_info(model, m)
            return
        est = m["estimate"]
        out.print(f"[bold]{model}[/bold]  (mlwright {m['mlwright_version']}, created {m['created']}, files verified)")
        out.print(
            f"task {m['task']} · metric {m['metric']} · estimate {est['score_val']:.5g} "
            f"({est['validation']}, {est['n_folds']} folds) · best {m['best_model']}"
        )
        if m.get("training_data"):
            td = m["training_data"]
            out.print(f"trained on {td['rows']} rows × {td['columns']} columns (sha256 {td['sha256'][:12]}…)")
        t = Table(title="Ensemble members")
        t.add_column("member")
        t.add_column("weight", justify="right")
        for mem in m["members"]:
            t.add_row(mem["name"], f"{mem['weight']:.3f}")
        out.print(t)
        c = Table(title="Columns")
        for col in ("column", "kind", "missing", "unique"):
            c.add_column(col)
        for col in m["schema"]["columns"]:
            c.add_row(col["name"], col["kind"], f"{col['missing']:.1%}", str(col["n_unique"]))
        out.print(c)
        out.print("libraries: " + ", ".join(f"{k} {v}" for k, v in m["library_versions"].items() if v))

    run_command(body)


def _forecast_info(model: Path, m: dict) -> None:
    spec, fr = m["forecast"], m["forecast"]["frame"]
    ids = ", ".join(fr["id_columns"]) or "one series"
    out.print(f"[bold]{model}[/bold]  forecast model (mlwright {m.get('mlwright_version', '?')}, created "
              f"{m['created']}, files verified)")  # fmt: skip
    out.print(f"target {fr['target']} · time {fr['time_column']} ({fr['freq']}, season {fr['m']}) · series: {ids} · "
              f"horizon {spec['horizon']} · backtest {m['metric']} {m['estimate']['score_val']:.4g} "
              f"on {spec['windows']} windows")  # fmt: skip
    if fr["known"]:
        out.print(f"known covariates (needed by predict): {', '.join(fr['known'])}")
    t = Table(title="Forecast = weighted members")
    t.add_column("member")
    t.add_column("weight", justify="right")
    for name, w in spec["weights"].items():
        t.add_row(name, f"{w:.3f}")
    out.print(t)
    out.print("libraries: " + ", ".join(f"{k} {v}" for k, v in m["library_versions"].items() if v))


@app.command()
def report(
    model: Annotated[Path, typer.Argument(help="model directory written by `mlwright fit`")],
    data: Annotated[
        Path | None, typer.Option("--data", help="labelled test table: adds a test evaluation and explains on it")
    ] = None,
    out_file: Annotated[Path, typer.Option("--out", help="HTML report to write (a .json twin too)")] = Path(
        "report.html"
    ),
    seconds: Annotated[float, typer.Option("--seconds", help="time bound for the test-data parts")] = 60.0,
    sensitive: Annotated[
        str | None, typer.Option("--sensitive", help="columns a,b of --data to measure the model per group on")
    ] = None,
) -> None:
    """Write the model report of MODEL (leaderboard, evaluation, diagnosis, explanations, fairness, model card)."""

    def body():
        import mlwright

        automl = mlwright.load(model)
        if getattr(automl, "kind", None) == "forecast":  # the forecast report (charts need no test data)
            automl.report(out_file)
            out.print(f"forecast report written to [bold]{out_file}[/bold] (covariates for the charts: "
                      "`mlwright forecast report MODEL --future f.csv`)")  # fmt: skip
            return
        automl.report_seconds = seconds
        groups = names(sensitive)
        if groups and data is None:
            from mlwright.errors import ConfigError

            raise ConfigError("--sensitive needs labelled test rows to measure on: add --data TEST")
        payload = automl.report_data(data, groups)
        if payload is None:
            from mlwright.report.build import build_report_data

            payload = build_report_data(automl, None, seconds=0.0)
        from mlwright.report import render_model_report

        out_file.write_text(render_model_report(payload), encoding="utf-8")
        out_file.with_suffix(".json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
        for a in payload.get("advice") or []:
            out.print(f"[{'red' if a['level'] == 'bad' else 'yellow' if a['level'] == 'warn' else 'green'}]•[/] "
                      f"{escape(a['text'])}")  # fmt: skip
        if payload.get("test"):
            t = payload["test"]
            out.print(f"test {t['metric']}: {t['scores'][t['metric']]:.5g} on {t['rows']} rows")
        for line in (payload.get("fairness_test") or {}).get("advice", []):
            out.print(f"fairness (test rows): {line}", highlight=False)
        out.print(f"report written to [bold]{out_file}[/bold] and {out_file.with_suffix('.json')}")

    run_command(body)


@app.command()
def profile(
    data: Annotated[Path, typer.Argument(help="table to profile: .csv or .parquet")],
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="column to predict (adds target analysis)")
    ] = None,
    test: Annotated[
        Path | None, typer.Option("--test", help="a second table (test/serving): cross duplicates and skew")
    ] = None,
    out_file: Annotated[Path, typer.Option("--out", help="HTML report to write (a .json twin is written too)")] = Path(
        "profile.html"
    ),
    sensitive: Annotated[
        str | None, typer.Option("--sensitive", help="columns a,b naming who could be harmed: groups and checks")
    ] = None,
) -> None:
    """Profile DATA: statistics, charts, correlations, target relation and findings, as HTML + JSON."""

    def body():
        from mlwright.data.profile import profile as run_profile
        from mlwright.data.sources import read_table

        df = read_table(data)
        other = read_table(test) if test is not None else None
        p = run_profile(df, target, test=other, sensitive=names(sensitive) or None)
        p.to_html(out_file)
        p.to_json(out_file.with_suffix(".json"))
        t = p.data["table"]
        out.print(f"{t['rows']:,} rows × {t['columns']} columns · {p.data['sampling']['note']}")
        out.print(_findings_table(p.findings))
        out.print(f"report written to [bold]{out_file}[/bold] and {out_file.with_suffix('.json')}")

    run_command(body)


@app.command()
def check(
    data: Annotated[Path, typer.Argument(help="table to check: .csv or .parquet")],
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="column to predict (adds leakage checks)")
    ] = None,
    test: Annotated[Path | None, typer.Option("--test", help="a second table: cross duplicates and skew")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False,
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="exit with code 1 on findings this severe: critical, warning or never")
    ] = "never",
    sensitive: Annotated[
        str | None,
        typer.Option("--sensitive", help="comma-separated columns naming who could be harmed (adds fairness checks)"),
    ] = None,
) -> None:
    """Run the data-quality and leakage checks on DATA and list the findings."""

    def body():
        from mlwright.data.checks import SEVERITIES, run_checks
        from mlwright.data.sources import read_table
        from mlwright.errors import ConfigError

        if fail_on not in ("critical", "warning", "never"):
            raise ConfigError(f"--fail-on must be critical, warning or never, got {fail_on!r}")
        groups = names(sensitive)
        findings = run_checks(read_table(data), target, test=read_table(test) if test is not None else None,
                              sensitive=groups)  # fmt: skip
        if as_json:
            sys.stdout.write(json.dumps([f.to_dict() for f in findings], indent=2, default=str) + "\n")
        else:
            out.print(_findings_table(findings, limit=200))
        if fail_on != "never":
            worst = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
            if any(f.severity in worst for f in findings):
                raise typer.Exit(1)

    run_command(body)


@app.command()
def demo(
    time_budget: Annotated[float, typer.Option("--time-budget", help="seconds for the fit")] = 20.0,
    out_dir: Annotated[Path, typer.Option("--out", help="model directory to write")] = Path("demo-model"),
) -> None:
    """Run the whole job on the bundled demo data: fit, leaderboard, save, predict with the saved model."""

    def body():
        import mlwright
        from mlwright.data.sources import read_table

        path = demo_data_path()
        out.print(f"demo data: {path.name} (credit-card applications; target '{DEMO_TARGET}')")
        _, saved = _fit(path, DEMO_TARGET, time_budget, None, None, out_dir, 0, False, {})
        model = mlwright.load(saved)
        rows = read_table(path).drop(columns=[DEMO_TARGET]).head(5)
        proba = model.predict_proba(rows)
        t = Table(title="Saved model, 5 rows")
        t.add_column("row")
        t.add_column("prediction")
        for lab in proba.columns:
            t.add_column(f"P({lab})", justify="right")
        for i, (pred, (_, p)) in enumerate(zip(model.predict(rows), proba.iterrows())):
            t.add_row(str(i), str(pred), *(f"{v:.3f}" for v in p))
        out.print(t)
        _serve_once(saved, rows.head(1))

    run_command(body)


@app.command()
def serve(
    models: Annotated[
        list[str] | None,
        typer.Argument(help="model directories or registered names (name, name@alias, name@3); none: dashboard only"),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="interface to bind; 0.0.0.0 exposes the service")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option("--port", help="default 8080, or AIP_HTTP_PORT (Vertex)")] = None,
    public_predict: Annotated[
        bool, typer.Option("--public-predict", help="predictions without the token (write endpoints keep it)")
    ] = False,
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the registry's store")] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", help="rows per request")] = 100_000,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds per request")] = 30.0,
    workers: Annotated[int, typer.Option("--workers", help="server processes (each loads the models)")] = 1,
    no_log: Annotated[bool, typer.Option("--no-log", help="do not log predictions to the store")] = False,
    reload_seconds: Annotated[
        float, typer.Option("--reload-seconds", help="how often name@alias models check the registry (0: never)")
    ] = 5.0,
    shadow: Annotated[
        list[str] | None,
        typer.Option("--shadow", help="NAME@ALIAS scored alongside NAME's served model, logged, never answered"),
    ] = None,
) -> None:
    """Serve MODELS over HTTP (FastAPI + uvicorn) with the web dashboard at /ui; a token is required (see
    MLWRIGHT_HOME/token)."""

    def body():
        from mlwright.serving import ServeConfig
        from mlwright.serving import serve as run_server
        from mlwright.serving.auth import service_token, token_path

        token = service_token()
        cfg = ServeConfig(token=token, public_predict=public_predict, max_rows=max_rows, timeout_seconds=timeout,
                          reload_seconds=reload_seconds)  # fmt: skip
        where = "MLWRIGHT_TOKEN" if os.environ.get("MLWRIGHT_TOKEN") else str(token_path())
        bind = port if port is not None else int(os.environ.get("AIP_HTTP_PORT", "8080"))
        what = ", ".join(models or []) or "no model (the dashboard only)"
        run_server(list(models or []), host=host, port=bind, config=cfg, store=store, log_predictions=not no_log,
                   workers=workers, shadows=shadow,
                   announce=lambda: err.print(f"serving {what} on http://{host}:{bind} (dashboard at /ui, API docs "
                                              f"at /docs); token in {where}"))  # fmt: skip

    run_command(body)


def _serve_once(model_dir: Path, row) -> None:
    """Serve the saved model on loopback, send it one request as a client would, print both, shut down."""
    import secrets
    import socket
    import threading
    import time
    import urllib.request

    import uvicorn

    from mlwright.serving import ServeConfig, create_app, load_models

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_urlsafe(16)
    app = create_app(load_models([str(model_dir)]), ServeConfig(token=token))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    name = model_dir.name
    body = json.dumps({"records": json.loads(row.to_json(orient="records"))}).encode()
    url = f"http://127.0.0.1:{port}/v1/models/{name}/predict"
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            answer = json.loads(resp.read())
    finally:
        server.should_exit = True
        thread.join(10)
    out.print(f"served it at {url} (token auth) and sent one request:")
    out.print(f"  POST {body.decode()[:160]}")
    shown = {k: answer[k] for k in ("model", "version", "predictions", "probabilities") if k in answer}
    out.print(f"  → {json.dumps(shown)}")
    out.print(
        f"service stopped. To run it yourself: [bold]mlwright serve {model_dir}[/bold], then open "
        "http://127.0.0.1:8080/ui for the dashboard (log in with the token in MLWRIGHT_HOME/token)"
    )


def _add_subcommands() -> None:
    from mlwright.cli.batch import export, predict
    from mlwright.cli.forecast import forecast_app
    from mlwright.cli.models import models_app, runs_app
    from mlwright.cli.monitor import feedback, monitor, pipeline_app, retrain, scheduler
    from mlwright.cli.unsupervised import anomaly, cluster

    app.command("predict")(predict)
    app.command("monitor")(monitor)
    app.command("feedback")(feedback)
    app.command("retrain")(retrain)
    app.command("scheduler")(scheduler)
    app.add_typer(pipeline_app, name="pipeline")
    app.command("export")(export)

    app.add_typer(models_app, name="models")
    app.add_typer(runs_app, name="runs")
    app.add_typer(forecast_app, name="forecast")
    app.command("cluster")(cluster)
    app.command("anomaly")(anomaly)


_add_subcommands()


def main() -> None:
    """Entry point of the ``mlwright`` command."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
