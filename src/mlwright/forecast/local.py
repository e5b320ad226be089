"""Running a local (per-series) statsforecast model over the backtest windows and the full history, on up to
two cores: this process takes one share of the series and, when the work is worth it, one forked child
process takes the other (one child, not a pool, so the memory stays within budget: a forked process shows
the parent's pages as its own).  Past the deadline the run is dropped whole; a child that does not answer
by then is killed.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import time
import warnings
from typing import Any

import numpy as np

from mlwright.errors import TrialOutOfTimeError

__all__ = ["fallback_forecast", "quantiles_from", "run_local_chunks"]

GRACE = 2.0  # seconds a child may overrun the deadline (its last fit) before it is killed
MIN_PARALLEL_SERIES = 4


def quantiles_from(res: dict[str, Any], quantiles: list[float]) -> np.ndarray:
    """statsforecast's ``mean``/``lo-L``/``hi-L`` → an ``(h, Q)`` array of quantiles."""
    out = []
    for q in quantiles:
        lv = round(abs(2 * q - 1) * 100)
        key = "mean" if lv == 0 else (f"lo-{lv}" if q < 0.5 else f"hi-{lv}")
        out.append(np.asarray(res[key], dtype=float))
    return np.stack(out, axis=-1)


def fallback_forecast(y: np.ndarray, h: int, m: int, levels: list[int]) -> dict[str, np.ndarray]:
    """The seasonal naive (the naive when the series is shorter than a season): the stand-in of a model
    that cannot fit a series."""
    from statsforecast.models import Naive, SeasonalNaive

    model = SeasonalNaive(season_length=m) if m > 1 and len(y) > m else Naive()
    return model.forecast(y, h, level=levels)


def _chunk(job: dict[str, Any], ys: list[np.ndarray], ends: np.ndarray) -> tuple[np.ndarray, ...]:
    """Forecasts of ``ys`` (one chunk of series) on every window and the future."""
    make, h, m, quantiles, levels, deadline, log = (
        job["make"],
        job["h"],
        job["m"],
        job["quantiles"],
        job["levels"],
        job["deadline"],
        job["log"],
    )
    W, S, Q = ends.shape[0], len(ys), len(quantiles)
    bt, btq = np.full((W, S, h), np.nan), np.full((W, S, h, Q), np.nan)
    fut, futq = np.full((S, h), np.nan), np.full((S, h, Q), np.nan)
    fallbacks = 0
    slowest = 0.0  # the longest single fit so far: a fit that would end past the deadline is not started
    for i, y in enumerate(ys):
        for w in range(W + 1):
            end = len(y) if w == W else int(ends[w, i])
            if end < 0:
                continue
            started = time.monotonic()
            if started + slowest > deadline:
                raise TrialOutOfTimeError(f"{job['name']} did not finish its backtest within the time budget")
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    res = make().forecast(np.log(y[:end]) if log else y[:end], h, level=levels)
                q = quantiles_from(res, quantiles)
                mean = np.asarray(res["mean"], dtype=float)
                if log:  # the median on the original scale; quantiles map through exp
                    mean, q = np.exp(mean), np.exp(q)
                if not (np.isfinite(mean).all() and np.isfinite(q).all()):
                    raise FloatingPointError("non-finite forecast")
            except Exception:  # a model that cannot fit this series: the seasonal naive stands in
                fallbacks += 1
                res = fallback_forecast(y[:end], h, m, levels)
                mean, q = np.asarray(res["mean"], dtype=float), quantiles_from(res, quantiles)
            slowest = max(slowest, time.monotonic() - started)
            if w == W:
                fut[i], futq[i] = mean, q
            else:
                bt[w, i], btq[w, i] = mean, q
    return bt, btq, fut, futq, np.array([fallbacks])


def _child(conn: Any, job: dict[str, Any], ys: list[np.ndarray], ends: np.ndarray) -> None:
    try:
        conn.send(("ok", _chunk(job, ys, ends)))
    except TrialOutOfTimeError:
        conn.send(("timeout", None))
    except BaseException as exc:
        conn.send(("error", repr(exc)))
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers of the parent's libraries in a forked child


def run_local_chunks(
    job: dict[str, Any], ys: list[np.ndarray], ends: np.ndarray, n_jobs: int, expected_seconds: float
) -> tuple[np.ndarray, ...]:
    """``(backtest, backtest quantiles, future, future quantiles, fallbacks)`` of one local model over all
    series; split with one forked child when ``n_jobs > 1`` and the work is expected to take over a second."""
    S = len(ys)
    if n_jobs < 2 or S < MIN_PARALLEL_SERIES or expected_seconds < 1.0 or "fork" not in mp.get_all_start_methods():
        return _chunk(job, ys, ends)
    # interleave long and short series so both halves take about as long
    order = np.argsort([-len(y) for y in ys], kind="stable")
    mine, theirs = order[0::2], order[1::2]
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, job, [ys[i] for i in theirs], ends[:, theirs]), daemon=True)
    proc.start()
    send.close()
    try:
        own = _chunk(job, [ys[i] for i in mine], ends[:, mine])
        wait = max(job["deadline"] - time.monotonic(), 0.0) + GRACE
        if not recv.poll(wait):
            raise TrialOutOfTimeError(f"{job['name']} did not finish its backtest within the time budget")
        status, other = recv.recv()
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
        with contextlib.suppress(OSError):
            recv.close()
    if status == "timeout":
        raise TrialOutOfTimeError(f"{job['name']} did not finish its backtest within the time budget")
    if status != "ok":
        other = _chunk(job, [ys[i] for i in theirs], ends[:, theirs])
    out = []
    for k, (a, b) in enumerate(zip(own[:4], other[:4])):
        axis = 1 if k < 2 else 0  # backtests are (W, S, …), futures (S, …)
        merged = np.empty((*a.shape[:axis], S, *a.shape[axis + 1 :]))
        merged[(slice(None),) * axis + (mine,)] = a
        merged[(slice(None),) * axis + (theirs,)] = b
        out.append(merged)
    return (*out, own[4] + other[4])
