"""``mlwright predict``: batch scoring from files or SQL, streamed in chunks with a progress bar."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from mlwright.cli.console import err, run_command
from mlwright.predictor import require_rows_model
from mlwright.registry import load_model


def predict(
    model: Annotated[str, typer.Argument(help="model directory, or registered name[@alias|@version]")],
    data: Annotated[Path | None, typer.Argument(help="table to score: .csv, .tsv or .parquet")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write predictions here (.csv/.parquet)")] = None,
    input_sql: Annotated[str | None, typer.Option("--input-sql", help="score the rows of this SELECT query")] = None,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL for --input-sql / --output-table")] = None,
    output_table: Annotated[str | None, typer.Option("--output-table", help="write predictions to this table")] = None,
    out_db: Annotated[str | None, typer.Option("--out-db", help="database of --output-table (default: --db)")] = None,
    if_exists: Annotated[
        str, typer.Option("--if-exists", help="when the output table exists: fail, replace or append")
    ] = "fail",
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="input column to copy to the output (e.g. an id); repeatable")
    ] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="rows read and scored at a time")] = 100_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    store: Annotated[str | None, typer.Option("--store", help="store URL, for a registered MODEL")] = None,
) -> None:
    """Score DATA (or --input-sql) with MODEL, chunk by chunk in constant memory.

    A forecast model scores rows that name a series and one of its next time stamps (with the known
    covariates of that step): the mean and q_<level> columns.
    Writes CSV to stdout without --out or --output-table.  Outputs appear whole or not at all.
    """

    def body():
        from mlwright.serving.batch import BatchInput, score_batch

        automl = load_model(model, store)  # a table model, or a forecaster scoring (series, time stamp) rows
        src = BatchInput(data, input_sql, db, chunk_rows)
        kw = {"table": output_table, "out_db": out_db, "if_exists": if_exists, "keep": keep}
        t0 = time.perf_counter()
        if quiet or not err.is_terminal or (out_file is None and output_table is None):
            res = score_batch(automl, src, out_file, **kw)
        else:
            with Progress(TextColumn("[bold]scoring[/bold]"), BarColumn(), TextColumn("{task.fields[info]}"),
                          TimeElapsedColumn(), console=err) as bar:  # fmt: skip
                job = bar.add_task("score", total=1.0, info="")

                def progress(rows: int, frac: float | None) -> None:
                    rate = rows / max(time.perf_counter() - t0, 1e-9)
                    bar.update(job, completed=frac if frac is not None else 0.0,
                               info=f"{rows:,} rows · {rate:,.0f} rows/s")  # fmt: skip

                res = score_batch(automl, src, out_file, progress=progress, **kw)
        where = output_table or out_file
        if where is not None:
            secs = time.perf_counter() - t0
            err.print(f"wrote {res['rows']:,} predictions to {where} in {secs:.1f}s "
                      f"({res['rows'] / max(secs, 1e-9):,.0f} rows/s)", highlight=False)  # fmt: skip

    run_command(body)


def export(
    model: Annotated[str, typer.Argument(help="model directory, or registered name[@alias|@version]")],
    out_file: Annotated[Path, typer.Option("--out", help="file to write, e.g. model.onnx")],
    fmt: Annotated[str, typer.Option("--format", help="export format (onnx)")] = "onnx",
    check: Annotated[
        Path | None, typer.Option("--check", help="CSV/Parquet rows: compare ONNX Runtime with native predictions")
    ] = None,
    store: Annotated[str | None, typer.Option("--store", help="store URL, for a registered MODEL")] = None,
) -> None:
    """Export MODEL (preprocessing, ensemble, calibration) as one ONNX graph."""

    def body():
        from mlwright.artifacts.onnx import export_onnx
        from mlwright.errors import ConfigError

        if fmt.lower() != "onnx":
            raise ConfigError(f"export format {fmt!r} is not supported; use --format onnx")
        automl = require_rows_model(load_model(model, store), "`mlwright export`")
        path = export_onnx(automl, out_file)
        err.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", highlight=False)
        if check is not None:
            from mlwright.artifacts.onnx import onnx_parity
            from mlwright.data.sources import read_table

            diff = onnx_parity(automl, path, read_table(check))
            err.print(f"ONNX Runtime vs native on {diff['rows']:,} rows: max |difference| {diff['max_abs']:.2e}"
                      f"{', labels identical' if diff.get('labels_equal') else ''}", highlight=False)  # fmt: skip
            if diff["max_abs"] > 1e-5 or diff.get("labels_equal") is False:
                raise typer.Exit(1)

    run_command(body)
