"""Console output shared by the command-line modules: the two rich consoles and the error wrapper.

The console shows mlwright's own warnings and errors.  Other libraries' warnings, log records and progress
bars (MLflow's store migrations, its "Downloading artifacts" bars, scikit-learn's convergence notes …) go to
the ``mlwright.thirdparty`` logger at DEBUG, so they reach the console only with ``mlwright --verbose``.
"""

from __future__ import annotations

import logging
import os
import warnings

import typer
from rich.console import Console
from rich.markup import escape

from mlwright.errors import MlwrightError, MlwrightWarning

__all__ = ["err", "names", "out", "quiet_third_parties", "run_command"]

out = Console()
err = Console(stderr=True)
THIRD_PARTY_LOGGERS = ("mlflow", "alembic", "optuna", "lightgbm", "urllib3", "distributed", "httpx")
third_party = logging.getLogger("mlwright.thirdparty")
_verbose = False


def names(values: str | list[str] | None) -> list[str]:
    """Column names from an option given as ``a,b``, or repeated (``--id a --id b``), or both."""
    items = [values] if isinstance(values, str) else values or []
    return [v.strip() for item in items for v in item.split(",") if v.strip()]


def quiet_third_parties(verbose: bool = False) -> None:
    """Keep other libraries' chatter off the console unless ``verbose`` (``mlwright --verbose``)."""
    global _verbose
    _verbose = verbose
    if verbose:
        logging.getLogger("mlwright").setLevel(logging.INFO)
        third_party.setLevel(logging.DEBUG)
        return
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # its tqdm bars
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")  # MLflow sets its loggers' level when imported
    os.environ.setdefault("TQDM_DISABLE", "1")
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if name == "distributed" else logging.ERROR)


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, (DeprecationWarning, FutureWarning)) or not issubclass(category, UserWarning):
        return
    if issubclass(category, MlwrightWarning) or _verbose:
        err.print(f"[yellow]warning:[/yellow] {escape(str(message))}", highlight=False)
    else:
        third_party.debug("%s:%s: %s: %s", filename, lineno, category.__name__, message)


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
