"""``mlwright cluster`` and ``mlwright anomaly``: segments and anomalies from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mlwright.cli.console import err, names, out, run_command

DataArg = Annotated[Path, typer.Argument(help="the rows (.csv/.tsv/.parquet)")]
ExcludeOpt = Annotated[
    list[str] | None, typer.Option("--exclude", help="column(s) to leave out (a label, an id); repeatable")
]
BudgetOpt = Annotated[float, typer.Option("--time-budget", help="seconds for the whole fit")]
SeedOpt = Annotated[int, typer.Option("--seed")]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="the report (HTML); default: DIR/report.html")]


def _show(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _findings(model) -> None:
    for f in model.findings_:
        out.print(f"[yellow]{f.check}[/yellow]: {escape(f.message)}", highlight=False)


def _save(model, out_dir: Path, report_file: Path | None) -> None:
    path = model.save(out_dir)
    report = report_file or path / "report.html"
    model.report(report)
    out.print(f"saved to [bold]{path}[/bold]; report: [bold]{report}[/bold] — next: mlwright predict {path} rows.csv")


def cluster(
    data: DataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="model directory to write")] = Path("cluster-model"),
    k: Annotated[int | None, typer.Option("--k", help="fix the number of clusters (default: choose it)")] = None,
    max_k: Annotated[int, typer.Option("--max-k", help="the largest number of clusters tried")] = 10,
    exclude: ExcludeOpt = None,
    time_budget: BudgetOpt = 60.0,
    seed: SeedOpt = 0,
    report_file: ReportOpt = None,
) -> None:
    """Find the segments in DATA (algorithm and k chosen by measurement), describe them, save to --out."""

    def body():
        from mlwright.artifacts import check_save_target
        from mlwright.unsupervised import Cluster

        check_save_target(out_dir)
        model = Cluster(n_clusters=k, time_budget=time_budget, seed=seed, max_clusters=max_k)
        with err.status(f"clustering for up to {time_budget:g}s …"):
            model.fit(data, exclude=names(exclude))
        _findings(model)
        table = Table(title="Candidates (best silhouette first; the chosen one on top)")
        for col in ("algorithm", "k", "silhouette", "stability", "chosen"):
            table.add_column(col, justify="left" if col == "algorithm" else "right")
        for r in model.leaderboard().head(8).itertuples():
            stab = "" if r.stability is None or r.stability != r.stability else f"{r.stability:.3f}"
            table.add_row(r.algorithm, str(r.k), f"{r.silhouette:.3f}", stab, "✓" if r.chosen else "")
        out.print(table)
        out.print(escape(model.summary()), highlight=False)
        _save(model, out_dir, report_file)

    run_command(body)


def anomaly(
    data: DataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="model directory to write")] = Path("anomaly-model"),
    contamination: Annotated[
        float | None, typer.Option("--contamination", help="expected share of anomalies (default: estimate it)")
    ] = None,
    labels: Annotated[
        str | None, typer.Option("--labels", help="a column of known labels: 1 anomaly, 0 normal, empty unknown")
    ] = None,
    exclude: ExcludeOpt = None,
    time_budget: BudgetOpt = 60.0,
    seed: SeedOpt = 0,
    report_file: ReportOpt = None,
) -> None:
    """Score how unusual each row of DATA is, set a threshold, explain the flagged rows; save to --out."""

    def body():
        from mlwright.artifacts import check_save_target
        from mlwright.errors import ConfigError
        from mlwright.unsupervised import Anomaly
        from mlwright.unsupervised.framing import read_rows

        check_save_target(out_dir)
        df = read_rows(data)
        y = None
        if labels is not None:
            if labels not in df.columns:
                raise ConfigError(f"--labels names {labels!r}, not a column of {data}; its columns are "
                                  f"{', '.join(map(str, df.columns[:20]))}")  # fmt: skip
            y = df.pop(labels)
        model = Anomaly(contamination=contamination, time_budget=time_budget, seed=seed)
        with err.status(f"fitting detectors for up to {time_budget:g}s …"):
            model.fit(df, labels=y, exclude=names(exclude))
        _findings(model)
        out.print(escape(model.summary()), highlight=False)
        table = Table(title="The most unusual rows")
        for col in ("row", "score", "why"):
            table.add_column(col, justify="left" if col == "why" else "right")
        for r in model.top_[:8]:
            why = "; ".join(f"{w['column']} = {_show(w['value'])} ({w['tail_probability']:.1%})" for w in r["why"])
            table.add_row(str(r["row"]), f"{r['score']:.3f}", escape(why))
        out.print(table)
        _save(model, out_dir, report_file)

    run_command(body)
