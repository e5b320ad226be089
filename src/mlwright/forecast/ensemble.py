"""Choosing the forecast: a weighted ensemble picked greedily on the backtest windows (Caruana's selection
with replacement), and quantiles calibrated on the same windows.

Quantiles: two ways are scored on the backtests by the quantile loss and the better one is kept —
``scaled`` (the members' own intervals, weighted like their point forecasts, widened by one factor ≥ 1
fitted on the backtests) and ``conformal`` (the ensemble's own backtest errors, scaled per series,
pooled over series, windows and neighbouring steps, times the factor ≥ 1 that the hardest window asked
for).  Both are judged *forward*, as
the future will judge them: each window from the second on is scored with a spread built from the windows
before it only (errors that grow over time show up as a factor above 1, where leave-one-out calibration
would have used later, larger errors to cover earlier windows and come out too narrow for the future).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mlwright.forecast.members import Run
from mlwright.forecast.metrics import per_series_mase

__all__ = ["Blend", "blend_runs", "calibrate", "select"]

MAX_STEPS = 30
FACTORS = np.round(np.exp(np.linspace(0.0, np.log(5.0), 25)), 4)  # 1 … 5


def score_points(bt: np.ndarray, y: np.ndarray, scale: np.ndarray) -> float:
    """Mean MASE over (window, series) of backtest forecasts ``bt`` (W, S, h) against actuals ``y``, each
    window's errors scaled by the series' scale before it (``scale``: W, S)."""
    per = np.stack([per_series_mase(y[w], bt[w], scale[w]) for w in range(bt.shape[0])])
    return float(np.nanmean(per)) if np.isfinite(per).any() else float("inf")


def select(runs: list[Run], y: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """Ensemble weights by greedy forward selection with replacement on the backtest MASE."""
    scores = [score_points(r.backtest, y, scale) for r in runs]
    best = int(np.argmin(scores))
    counts = np.zeros(len(runs))
    counts[best] = 1
    current = runs[best].backtest.copy()
    cur_score = scores[best]
    for _ in range(MAX_STEPS):
        n = counts.sum()
        trial = [score_points((current * n + r.backtest) / (n + 1), y, scale) for r in runs]
        j = int(np.argmin(trial))
        if trial[j] >= cur_score - 1e-6 * abs(cur_score):
            break
        counts[j] += 1
        current = (current * n + runs[j].backtest) / (n + 1)
        cur_score = trial[j]
    return {runs[i].name: float(counts[i] / counts.sum()) for i in range(len(runs)) if counts[i] > 0}


def top_mean(k: int) -> Callable[[list[Run], np.ndarray, np.ndarray], dict[str, float]]:
    """A chooser: the equal-weight mean of the ``k`` models with the best backtest MASE."""

    def choose(runs: list[Run], y: np.ndarray, scale: np.ndarray) -> dict[str, float]:
        scores = np.array([score_points(r.backtest, y, scale) for r in runs])
        best = np.argsort(scores, kind="stable")[: min(k, len(runs))]
        return {runs[i].name: 1.0 / len(best) for i in best}

    return choose


def classic_mean(runs: list[Run], y: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """The equal-weight mean of ETS, ARIMA and Theta (the combination forecasting competitions keep finding
    hard to beat); the top-3 mean when fewer than two of them ran."""
    names = [r.name for r in runs if r.name in CLASSIC]
    if len(names) < 2:
        return top_mean(3)(runs, y, scale)
    return {n: 1.0 / len(names) for n in names}


CLASSIC = ("AutoETS", "AutoARIMA", "AutoTheta")
# ways to combine, chosen by their nested backtest score (ties go to the earlier: combinations first)
STRATEGIES: dict[str, Callable[[list[Run], np.ndarray, np.ndarray], dict[str, float]]] = {
    "classic-mean": classic_mean,
    "top3-mean": top_mean(3),
    "best": top_mean(1),
    "top5-mean": top_mean(5),
    "greedy": select,
}
MARGIN = 0.0


def nested(runs: list[Run], y: np.ndarray, scale: np.ndarray, chooser=None) -> list[dict[str, float]]:
    """Per window, the weights ``chooser`` (default :func:`select`) picks on the other windows: the ensemble
    as the procedure would have built it without seeing that window (its errors are honest; with one window,
    in-sample)."""
    chooser = chooser or select
    W = y.shape[0]
    if W < 2:
        return [chooser(runs, y, scale)]
    out = []
    for w in range(W):
        keep = [k for k in range(W) if k != w]
        sub = [Run(r.name, r.kind, r.backtest[keep], None, None, None, 0.0) for r in runs]
        out.append(chooser(sub, y[keep], scale[keep]))
    return out


def choose_strategy(
    runs: list[Run], y: np.ndarray, scale: np.ndarray
) -> tuple[str, dict[str, float], list[dict[str, float]], dict[str, float]]:
    """The combination with the best nested backtest MASE: its name, its weights on all windows, its
    per-window weights, and every strategy's nested score."""
    by_name = {r.name: r for r in runs}
    scores, nests = {}, {}
    for name, chooser in STRATEGIES.items():
        nests[name] = nested(runs, y, scale, chooser)
        scores[name] = score_points(window_blend(by_name, nests[name]), y, scale)
    default = next(iter(STRATEGIES))
    best = min(scores, key=lambda n: (scores[n], list(STRATEGIES).index(n)))
    if not scores[best] < scores[default] * (1 - MARGIN):
        best = default
    return best, STRATEGIES[best](runs, y, scale), nests[best], scores


def window_blend(runs: dict[str, Run], per_window: list[dict[str, float]], attr: str = "backtest") -> np.ndarray:
    """Backtest forecasts (W, S, h) with each window's own weights."""
    if len(per_window) == 1:
        return blend_runs(runs, per_window[0], attr)
    return np.stack([sum(wt * getattr(runs[n], attr)[w] for n, wt in ws.items()) for w, ws in enumerate(per_window)])


def _pinball(y: np.ndarray, q: np.ndarray, level: float) -> float:
    ok = np.isfinite(y) & np.isfinite(q)
    e = y[ok] - q[ok]
    return float(np.sum(np.maximum(level * e, (level - 1) * e)))


def empirical_spread(
    err: np.ndarray, scale: np.ndarray, quantiles: list[float], target: np.ndarray, exclude: int | None = None
) -> np.ndarray:
    """Per series and step ``(S, h, Q)``: quantiles of the backtest errors ``err`` (W, S, h) divided by the
    series' scale before each window (``scale``: W, S), pooled over windows (but ``exclude``), series and
    neighbouring steps, times the ``target`` scale (S,)."""
    W, _, h = err.shape
    keep = [w for w in range(W) if w != exclude] or list(range(W))
    norm = err[keep] / scale[keep][:, :, None]
    radius = max(1, h // 8)
    out = np.zeros((h, len(quantiles)))
    for k in range(h):
        pool = norm[:, :, max(0, k - radius) : k + radius + 1].ravel()
        pool = pool[np.isfinite(pool)]
        if len(pool):
            out[k] = np.quantile(pool, quantiles)
    return target[:, None, None] * out[None, :, :]


@dataclass
class Blend:
    """The chosen ensemble and how its quantiles are made."""

    weights: dict[str, float]
    method: str  # "scaled" | "conformal"
    factors: list[float] = field(default_factory=list)  # per level, for "scaled"
    spread: np.ndarray | None = None  # (S, h, Q) the future's spread around the point forecast
    loss: dict[str, float] = field(default_factory=dict)  # backtest quantile loss of each method


def blend_runs(runs: dict[str, Run], weights: dict[str, float], attr: str) -> np.ndarray:
    """The weighted mean of the runs' ``backtest`` or ``future`` forecasts."""
    return sum(w * getattr(runs[name], attr) for name, w in weights.items())


def member_spreads(
    run: Run, y: np.ndarray, scale: np.ndarray, future_scale: np.ndarray, quantiles: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """A run's quantile spreads around its point forecast on the backtest (W, S, h, Q) and the future
    (S, h, Q): its own intervals, or (global models) its errors on the other windows."""
    if run.backtest_q is not None and run.future_q is not None:
        return run.backtest_q - run.backtest[..., None], run.future_q - run.future[..., None]
    err = y - run.backtest
    bt = np.stack([empirical_spread(err, scale, quantiles, scale[w], exclude=w) for w in range(err.shape[0])])
    return bt, empirical_spread(err, scale, quantiles, future_scale)


def calibrate(
    runs: dict[str, Run],
    weights: dict[str, float],
    y: np.ndarray,
    scale: np.ndarray,
    future_scale: np.ndarray,
    quantiles: list[float],
    per_window: list[dict[str, float]],
) -> Blend:
    """Pick and fit the quantile method on the backtest windows (see the module docstring); the blend holds
    the future's spread around the ensemble's point forecast (S, h, Q).  Backtest errors are those of the
    nested ensemble (``per_window``: each window's weights chosen without it), not of the final weights,
    whose errors on the windows they were chosen on are optimistic."""
    per_window = per_window if len(per_window) == y.shape[0] else [weights] * y.shape[0]
    mean_bt = np.stack([sum(wt * runs[n].backtest[w] for n, wt in ws.items()) for w, ws in enumerate(per_window)])
    used = {n for ws in [weights, *per_window] for n in ws}
    spreads = {n: member_spreads(runs[n], y, scale, future_scale, quantiles) for n in used}
    bt_spread = np.stack([sum(wt * spreads[n][0][w] for n, wt in ws.items()) for w, ws in enumerate(per_window)])

    # one factor for every level, never below the members' own width: per-level factors fitted on a few
    # windows shrank intervals that the (harder) future then broke; and, as for the conformal spread below,
    # the factor the hardest window asked for
    def scaled_loss_at(f: float, w: slice) -> float:
        return sum(_pinball(y[w], mean_bt[w] + f * bt_spread[w][..., j], lv) for j, lv in enumerate(quantiles))

    W = y.shape[0]
    hardest = max(
        float(FACTORS[int(np.argmin([scaled_loss_at(f, slice(w, w + 1)) for f in FACTORS]))]) for w in range(W)
    )
    factors, scaled_loss = [hardest] * len(quantiles), scaled_loss_at(hardest, slice(0, W))
    err = y - mean_bt
    conf_loss, conf_factor = float("inf"), 1.0
    if W > 1:  # forward: each window's spread from the windows before it only, as the future's from the past
        fwd = [(w, empirical_spread(err[:w], scale[:w], quantiles, scale[w])) for w in range(1, W)]

        def fwd_loss(f: float, windows: list) -> float:
            return sum(_pinball(y[w], mean_bt[w] + f * sp[..., j], lv) for w, sp in windows
                       for j, lv in enumerate(quantiles))  # fmt: skip

        # the factor the hardest forward window wanted: the future may be as hard as the hardest window seen,
        # which a factor fitted to all windows at once averages away
        conf_factor = max(float(FACTORS[int(np.argmin([fwd_loss(f, [ws]) for f in FACTORS]))]) for ws in fwd)
        conf_loss = fwd_loss(conf_factor, fwd)
        scaled_loss = sum(_pinball(y[1:], mean_bt[1:] + factors[0] * bt_spread[1:][..., j], lv)
                          for j, lv in enumerate(quantiles))  # fmt: skip
    loss = {"scaled": scaled_loss, "conformal": conf_loss}
    if conf_loss < scaled_loss:
        spread = conf_factor * empirical_spread(err, scale, quantiles, future_scale)
        return Blend(weights, "conformal", factors=[conf_factor] * len(quantiles), spread=spread, loss=loss)
    spread = sum(w * spreads[n][1] for n, w in weights.items()) * np.asarray(factors)[None, None, :]
    return Blend(weights, "scaled", factors=factors, spread=spread, loss=loss)
