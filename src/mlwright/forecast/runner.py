"""Running one candidate: a local model (:func:`~mlwright.forecast.members.run_local`) or a global one
(:func:`~mlwright.forecast.gbm.run_global`), timed, with its settings recorded."""

from __future__ import annotations

import time

from mlwright.forecast.frame import SeriesFrame
from mlwright.forecast.gbm import run_global
from mlwright.forecast.members import Candidate, Run, Windows, run_local

__all__ = ["run_candidate"]


def run_candidate(
    cand: Candidate,
    frame: SeriesFrame,
    windows: Windows,
    quantiles: list[float],
    deadline: float,
    n_jobs: int = 1,
    seed: int = 0,
) -> Run:
    """Backtest ``cand`` on every window and forecast the future; :class:`TrialOutOfTimeError` past ``deadline``."""
    t0 = time.monotonic()
    if cand.kind == "local":
        run = run_local(cand, frame, windows, quantiles, deadline, n_jobs)
    else:
        run = run_global(cand, frame, windows, deadline, n_jobs=n_jobs, seed=seed)
    run.seconds = time.monotonic() - t0
    run.params = {**cand.params, **run.params}
    return run
