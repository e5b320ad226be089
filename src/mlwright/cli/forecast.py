"""``mlwright forecast profile``, ``fit``, ``predict`` and ``report``: forecasting from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mlwright.cli.console import err, names, out, run_command

forecast_app = typer.Typer(no_args_is_help=True, help="Forecast time series: fit under a budget, then predict.")

DataArg = Annotated[Path, typer.Argument(help="a long table: one row per series and time step (.csv/.parquet)")]
TargetOpt = Annotated[str, typer.Option("--target", "-t", help="the column to forecast")]
TimeOpt = Annotated[str, typer.Option("--time-column", help="the time stamps")]
IdsOpt = Annotated[list[str] | None, typer.Option("--id", help="column(s) naming the series; repeatable")]
KnownOpt = Annotated[
    list[str] | None, typer.Option("--known", help="covariates known in advance (prices, holidays); repeatable")
]
StaticOpt = Annotated[list[str] | None, typer.Option("--static", help="one value per series; repeatable")]


def _board(model) -> Table:
    board = model.leaderboard()
    table = Table(title=f"Backtest ({model.metric.upper()}, lower is better)")
    for col in ("model", "score_val", "weight", "fit s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for row in board.itertuples():
        table.add_row(str(row.model), f"{row.score_val:.4f}", f"{row.weight:.2f}", f"{row.fit_seconds:.1f}")
    return table


@forecast_app.command("fit")
def fit(
    data: DataArg,
    target: TargetOpt,
    time_column: TimeOpt,
    horizon: Annotated[int, typer.Option("--horizon", help="how many steps ahead to forecast")],
    ids: IdsOpt = None,
    known: KnownOpt = None,
    static: StaticOpt = None,
    past: Annotated[list[str] | None, typer.Option("--past", help="covariates known only up to now")] = None,
    time_budget: Annotated[float, typer.Option("--time-budget", help="seconds for the whole fit")] = 60.0,
    metric: Annotated[str, typer.Option("--metric", help="mase, rmsse, smape or wql")] = "mase",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="model directory to write")] = Path("forecast-model"),
    report_file: Annotated[
        Path | None, typer.Option("--report", help="also write the forecast report (HTML) here")
    ] = None,
) -> None:
    """Fit a forecaster on DATA and save it to --out."""

    def body():
        from mlwright.artifacts import check_save_target
        from mlwright.forecast import Forecaster

        check_save_target(out_dir)
        f = Forecaster(horizon=horizon, time_budget=time_budget, seed=seed, metric=metric)
        with err.status(f"fitting forecasters for up to {time_budget:g}s …"):
            f.fit(
                data,
                target=target,
                time_column=time_column,
                id_columns=names(ids),
                known_covariates=names(known),
                static_columns=names(static),
                past_covariates=names(past),
            )
        fr = f.frame_
        out.print(
            f"{len(fr.ids)} series, frequency {fr.freq}, season {fr.m}, horizon {horizon}; "
            f"backtest on {f.windows_.n} rolling windows",
            highlight=False,
        )
        for finding in f.findings_:
            out.print(f"[yellow]{finding.check}[/yellow]: {escape(finding.message)} — {escape(finding.action)}")
        out.print(_board(f))
        weights = ", ".join(f"{n} {w:.2f}" for n, w in f.blend_.weights.items())
        out.print(f"forecast = {weights}; quantiles: {f.blend_.method}", highlight=False)
        path = f.save(out_dir)
        out.print(f"saved to [bold]{path}[/bold] — next: mlwright forecast predict {path}")
        if report_file is not None:
            if f.frame_.known:
                out.print("the report charts history and backtest; `mlwright forecast report --future` adds forecasts")
            f.report(report_file)
            out.print(f"forecast report: [bold]{report_file}[/bold]")

    run_command(body)


@forecast_app.command("predict")
def predict(
    model: Annotated[Path, typer.Argument(help="a forecast model directory")],
    future: Annotated[
        Path | None, typer.Option("--future", help="ids, time and known covariates of the future steps")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the forecast here (.csv/.parquet)")] = None,
) -> None:
    """Forecast the steps after each series' end; CSV to stdout without --out."""

    def body():
        from mlwright.data.sources import read_table

        f = _forecaster(model)
        pred = f.predict(known_future=read_table(future) if future is not None else None)
        if out_file is None:
            pred.to_csv(sys.stdout, index=False)
        elif out_file.suffix.lower() in (".parquet", ".pq"):
            pred.to_parquet(out_file, index=False)
        else:
            pred.to_csv(out_file, index=False)
        if out_file is not None:
            err.print(f"wrote {len(pred):,} forecast rows to {out_file}", highlight=False)

    run_command(body)


@forecast_app.command("report")
def report(
    model: Annotated[Path, typer.Argument(help="a forecast model directory")],
    future: Annotated[
        Path | None, typer.Option("--future", help="ids, time and known covariates of the future steps")
    ] = None,
    out_file: Annotated[Path, typer.Option("--out", help="the HTML report to write")] = Path("forecast.html"),
) -> None:
    """Write MODEL's report: each series' history, forecast and interval (worst and best first), the backtest
    per series and per step ahead, the models and the ensemble, the findings."""

    def body():
        from mlwright.data.sources import read_table

        f = _forecaster(model)
        f.report(out_file, known_future=read_table(future) if future is not None else None)
        out.print(f"forecast report written to [bold]{out_file}[/bold]")

    run_command(body)


def _forecaster(model: Path):
    from mlwright import load
    from mlwright.errors import ConfigError

    f = load(model)
    if getattr(f, "kind", None) != "forecast":
        raise ConfigError(f"{str(model)!r} is not a forecast model; use `mlwright predict` for tabular models")
    return f


@forecast_app.command("profile")
def profile(
    data: DataArg,
    target: TargetOpt,
    time_column: TimeOpt,
    ids: IdsOpt = None,
    known: KnownOpt = None,
    static: StaticOpt = None,
    out_file: Annotated[Path, typer.Option("--out", help="the HTML profile to write")] = Path("series-profile.html"),
) -> None:
    """Check and profile DATA as series before fitting: frequency, seasons, gaps and other findings, and per
    series its trend and seasonal strength and demand pattern (smooth, erratic, intermittent, lumpy)."""

    def body():
        from mlwright.data.sources import read_table
        from mlwright.forecast.frame import frame_series
        from mlwright.forecast.summary import profile_data
        from mlwright.report.forecast import render_forecast

        fr = frame_series(read_table(data), target=target, time_column=time_column, id_columns=names(ids) or None,
                          known_covariates=names(known) or None, static_columns=names(static) or None)  # fmt: skip
        d = profile_data(fr)
        out.print(f"{len(fr.ids)} series, frequency {fr.freq}, seasons {', '.join(map(str, fr.seasons))}; demand: "
                  + ", ".join(f"{v} {k}" for k, v in d["demand"].items()), highlight=False)  # fmt: skip
        for finding in fr.findings:
            out.print(f"[yellow]{finding.check}[/yellow]: {escape(finding.message)} — {escape(finding.action)}")
        out_file.write_text(render_forecast(d), encoding="utf-8")
        out.print(f"series profile written to [bold]{out_file}[/bold]")

    run_command(body)
