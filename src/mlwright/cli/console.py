"""Console output shared by the command-line modules: the two rich consoles and the error wrapper."""

from __future__ import annotations

import warnings

import typer
from rich.console import Console
from rich.markup import escape

from mlwright.errors import MlwrightError

__all__ = ["err", "out", "run_command"]

out = Console()
err = Console(stderr=True)


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, UserWarning) and not issubclass(category, (DeprecationWarning, FutureWarning)):
        err.print(f"[yellow]warning:[/yellow] {escape(str(message))}", highlight=False)


def run_command(fn):
    """Run a command body: typed errors become one line on stderr and exit code 2."""
    warnings.showwarning = _warn
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return fn()
    except MlwrightError as exc:
        err.print(f"[red]error[/red] {escape(f'[{exc.code}]: {exc}')}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
