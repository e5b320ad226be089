"""Where trials run: one :class:`Executor` protocol, three backends.

- ``"inline"`` (the default): in the fitting process itself, sharing its preprocessed folds — the
  least memory (one Python with the ML libraries, not two: a worker costs ~300 MB more at peak on the
  dev suite, which would break the 1 GB target) and no transfer.
- ``"local"``: :class:`~mlwright.execution.local.LocalExecutor` — each trial in a worker process with a
  time and a memory limit; a trial that crashes, hangs or grows too large fails alone, and the run goes
  on.  For native code you do not trust, long unattended runs, or plug-in families.
- ``"tcp://host:8786"`` or a ``distributed.Client``: :class:`~mlwright.execution.dask.DaskExecutor` —
  trials on a Dask cluster (the ``dask`` extra).

The search plans trials one after the other (each result informs the next), so the leaderboard of a
run with a fixed trial count does not depend on the backend.

Package: may import data, features, models, evaluation and search; never the estimator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mlwright.errors import ConfigError
from mlwright.execution.trial import TrialData, TrialResult, TrialTask, train_folds

__all__ = ["Executor", "InlineExecutor", "TrialData", "TrialResult", "TrialTask", "make_executor"]


@runtime_checkable
class Executor(Protocol):
    """Runs trials of one search: ``start`` once with its data, ``run`` per trial, ``close`` at the end."""

    name: str

    def prepare(self) -> None:
        """Get ready early (start workers, connect) — before the data is known."""

    def start(self, data: TrialData, spill_dir: Path) -> None:
        """Receive the search's data; fold models are to be written to ``spill_dir``."""

    def run(self, task: TrialTask) -> TrialResult:
        """Run one trial and return its result; a failing trial is a result, never an exception."""

    def close(self) -> None:
        """Release workers and files."""


class InlineExecutor:
    """Trials in this process, sharing the search's preprocessed folds (fastest; no isolation)."""

    name = "inline"

    def __init__(self):
        self.data: TrialData | None = None
        self.spill: Path | None = None

    def prepare(self) -> None:
        pass

    def start(self, data: TrialData, spill_dir: Path) -> None:
        self.data, self.spill = data, spill_dir

    def run(self, task: TrialTask) -> TrialResult:
        assert self.data is not None, "start() first"
        res = train_folds(self.data, task, self.spill)
        res.worker = "inline"
        return res

    def close(self) -> None:
        self.data = None


def make_executor(spec: Any = None) -> Executor:
    """An executor from ``AutoML(cluster=…)``: None/``"inline"``, ``"local"``, ``"tcp://host:port"``, a
    ``distributed.Client``, or an executor object (returned as is)."""
    if spec is None or spec == "inline":
        return InlineExecutor()
    if spec == "local":
        from mlwright.execution.local import LocalExecutor

        return LocalExecutor()
    if isinstance(spec, str) and "://" in spec:
        from mlwright.execution.dask import DaskExecutor

        return DaskExecutor(spec)
    if type(spec).__name__ == "Client" and type(spec).__module__.startswith("distributed"):
        from mlwright.execution.dask import DaskExecutor

        return DaskExecutor(spec)
    if all(hasattr(spec, m) for m in ("prepare", "start", "run", "close")):
        return spec
    raise ConfigError(f"cluster={spec!r} is not known: use None or 'inline' (this process), 'local' (worker "
                      "processes), a Dask scheduler address 'tcp://host:8786', a distributed.Client, or an executor "
                      "object")  # fmt: skip
