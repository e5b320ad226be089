"""``mlwright models …``: the registry from the command line (thin: parse, call, print)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlwright.cli.console import out, run_command

models_app = typer.Typer(no_args_is_help=True, help="The model registry: register, list, show, promote, roll back.")
StoreOpt = Annotated[
    str | None, typer.Option("--store", help="SQLAlchemy URL of the store (default: MLWRIGHT_STORE_URL or SQLite)")
]


def _registry(store: str | None):
    from mlwright.registry import Registry

    return Registry(store)


@models_app.command("register")
def register(
    model: Annotated[Path, typer.Argument(help="model directory written by `mlwright fit`, or an .onnx file")],
    name: Annotated[str, typer.Argument(help="registered model name")],
    alias: Annotated[str | None, typer.Option("--alias", help="also point this alias at it, e.g. champion")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    sample: Annotated[
        Path | None, typer.Option("--sample", help="for an .onnx file: a CSV/Parquet of input rows (names columns)")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Copy MODEL into the registry as the next version of NAME (files verified first)."""

    def body():
        reg = _registry(store)
        if model.suffix.lower() == ".onnx":
            from mlwright.data.sources import read_table
            from mlwright.external import from_onnx

            rows = read_table(sample) if sample is not None else None
            v = reg.register_model(from_onnx(model, sample=rows), name, alias=alias, description=description)
        else:
            v = reg.register(model, name, alias=alias, description=description)
        out.print(f"registered [bold]{v.ref}[/bold]{' as ' + alias if alias else ''} (sha256 {v.sha256[:12]}…)")

    run_command(body)


@models_app.command("list")
def list_models(store: StoreOpt = None) -> None:
    """Every registered model with its versions and aliases."""

    def body():
        t = Table(title="Registered models")
        for col in ("name", "versions", "latest", "aliases"):
            t.add_column(col)
        for m in _registry(store).models():
            al = ", ".join(f"{k}→{v}" for k, v in sorted(m["aliases"].items()))
            t.add_row(m["name"], str(m["versions"]), str(m["latest"]), al or "—")
        out.print(t)

    run_command(body)


@models_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="registered model name")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    store: StoreOpt = None,
) -> None:
    """Every version of NAME: status, aliases, task, score, where it lives."""

    def body():
        vs = _registry(store).versions(name)
        if as_json:
            sys.stdout.write(json.dumps([v.to_dict() for v in vs], indent=2) + "\n")
            return
        t = Table(title=f"{name}: versions")
        for col in ("version", "status", "aliases", "task", "metric", "score", "created"):
            t.add_column(col)
        for v in vs:
            score = f"{v.score:.5g}" if v.score is not None else "—"
            t.add_row(str(v.version), v.status, ", ".join(v.aliases) or "—", v.task or "—", v.metric or "—", score,
                      v.created.strftime("%Y-%m-%d %H:%M") if v.created else "—")  # fmt: skip
        out.print(t)

    run_command(body)


@models_app.command("outcomes")
def outcomes(
    name: Annotated[str, typer.Argument(help="registered model name")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    store: StoreOpt = None,
) -> None:
    """Every retraining of NAME: challenger against champion, the gate's outcome and its numbers."""

    def body():
        from mlwright.loop.retrain import outcomes as recorded

        rows = recorded(name, store)
        if as_json:
            sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
            return
        t = Table(title=f"{name}: retraining outcomes")
        for col in ("at", "champion", "challenger", "outcome", "metric", "delta", "p-value", "why not"):
            t.add_column(col)
        for r in rows:
            why = "; ".join((r["details"] or {}).get("reasons", [])) or "—"
            t.add_row(r["at"].strftime("%Y-%m-%d %H:%M"), f"v{r['champion']}", f"v{r['challenger']}", r["outcome"],
                      r["metric"] or "—", f"{r['delta']:+.4g}", f"{r['pvalue']:.3g}", why)  # fmt: skip
        out.print(t)

    run_command(body)


@models_app.command("promote")
def promote(
    name: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument()],
    alias: Annotated[str, typer.Option("--alias", help="alias to move")] = "champion",
    store: StoreOpt = None,
) -> None:
    """Point NAME@ALIAS (champion by default) at VERSION."""

    def body():
        v = _registry(store).promote(name, version, alias)
        out.print(f"[bold]{v.ref}[/bold] is now {alias}")

    run_command(body)


@models_app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument()],
    alias: Annotated[str, typer.Option("--alias", help="alias to move back")] = "champion",
    store: StoreOpt = None,
) -> None:
    """Point NAME@ALIAS back at the version it held before."""

    def body():
        v = _registry(store).rollback(name, alias)
        out.print(f"rolled back: [bold]{v.ref}[/bold] is now {alias}")

    run_command(body)


@models_app.command("archive")
def archive(
    name: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument()],
    store: StoreOpt = None,
) -> None:
    """Archive VERSION of NAME (kept, never served; refused while an alias points at it)."""

    def body():
        v = _registry(store).archive(name, version)
        out.print(f"{v.ref} archived")

    run_command(body)


runs_app = typer.Typer(no_args_is_help=True, help="Runs recorded by fit: list them, show one with its trials.")


@runs_app.command("list")
def list_runs(
    limit: Annotated[int, typer.Option("--limit", help="newest N runs")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    store: StoreOpt = None,
) -> None:
    """The newest runs: id, status, task, target, score, trials."""

    def body():
        from mlwright.tracking import runs

        rs = runs(store, limit)
        if as_json:
            sys.stdout.write(json.dumps(rs, indent=2, default=str) + "\n")
            return
        t = Table(title="Runs")
        t.add_column("id", no_wrap=True, min_width=24)
        t.add_column("status", no_wrap=True)
        for col in ("task", "target", "score", "trials"):
            t.add_column(col, no_wrap=col == "score")
        for r in rs:
            score = f"{r['metric']} {r['score']:.4g}" if r["score"] is not None else "—"
            t.add_row(r["id"], r["status"], r["task"] or "—", r["target"] or "—", score, str(r["trials"]))
        out.print(t)

    run_command(body)


@runs_app.command("show")
def show_run(
    run_id: Annotated[str, typer.Argument(help="run id (a unique prefix is enough)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    store: StoreOpt = None,
) -> None:
    """One run: its settings, outcome and every trial."""

    def body():
        from mlwright.tracking import run_detail

        r = run_detail(run_id, store)
        if as_json:
            sys.stdout.write(json.dumps(r, indent=2, default=str) + "\n")
            return
        score = f"{r['score']:.5g}" if r["score"] is not None else "—"
        out.print(f"run [bold]{r['id']}[/bold]: {r['status']}, {r['task']} on {r['target']!r}, "
                  f"{r['metric']} {score}; model: {r['model_path'] or 'not saved'}")  # fmt: skip
        if r.get("error"):
            out.print(f"[red]error:[/red] {r['error']}")
        t = Table(title="Trials")
        for col in ("trial", "model", "status", "score", "seconds", "params"):
            t.add_column(col)
        for tr in r["trial_records"]:
            sc = f"{tr['score']:.5g}" if tr["score"] is not None else "—"
            t.add_row(str(tr["trial"]), tr["model"], tr["status"], sc, f"{tr['fit_seconds'] or 0:.2f}",
                      json.dumps(tr["params"])[:60] if tr["status"] == "ok" else (tr["error"] or "")[:60])  # fmt: skip
        out.print(t)

    run_command(body)
