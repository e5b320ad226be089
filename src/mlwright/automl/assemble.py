"""From finished trials to the served model: the ensemble's members and weights, its honest estimate, the
leaderboard, the members refit on all rows, and the latency pruning.  Each step returns values (members,
a leaderboard, a new :class:`~mlwright.automl.fitted.FittedModel`); nothing here edits an estimator."""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlwright.automl.fitted import FittedModel, Member
from mlwright.budget import Deadline
from mlwright.ensemble import caruana, nested_scores
from mlwright.errors import MlwrightWarning
from mlwright.evaluation.metrics import Metric, get_metric
from mlwright.evaluation.tempering import fit_tempering, floor_only, tempering_gain
from mlwright.models import get as get_family
from mlwright.models._common import FOREST_MAX_BYTES, thin_fold_forest
from mlwright.search import Search, Spilled

__all__ = ["ENSEMBLE_NAME", "Choice", "build_members", "choose", "leaderboard", "meet_latency", "temper", "trial_rows"]

ENSEMBLE_NAME = "ensemble"
MAX_ENSEMBLE_CANDIDATES = 15


@dataclass
class Choice:
    """The ensemble chosen among the trials: ``(trial, weight)`` pairs, the estimate and how it was made."""

    members: list[tuple[Any, float]]
    estimate: float
    kind: str
    seconds: float


def fold_groups(splits) -> list[np.ndarray]:
    """Each fold's validation rows, as positions among the out-of-fold rows (``splits.oof_mask``)."""
    pos = np.cumsum(splits.oof_mask) - 1
    return [pos[va[splits.oof_mask[va]]] for _, va in splits.folds if splits.oof_mask[va].any()]


def choose(search: Search, ok: list, metric: Metric, splits, y_enc: np.ndarray, n_classes: int) -> Choice:
    """Caruana's greedy ensemble over the best trials (under ``memory_limit`` the members must fit together),
    or the best trial alone when the ensemble does not beat it out of fold; the estimate nested over the
    folds on small data."""
    mask = splits.oof_mask
    better = sorted(ok, key=lambda t: -t.score if metric.greater_is_better else t.score)
    cands = [t for t in better if t.models][:MAX_ENSEMBLE_CANDIDATES]
    deadline = Deadline(time.monotonic() + max(search.budget.left(), 0.5))
    room = search.model_room()
    t0 = time.monotonic()  # the whole ensemble stage: selection and its nested estimate
    cands = [t for t in cands if t.model_bytes <= room] or cands[:1]
    while True:  # under memory_limit, the members must fit together: drop the largest until they do
        preds = [t.oof[mask] for t in cands]
        weights, ens_score = caruana(preds, y_enc[mask], metric, n_classes, deadline=deadline)
        members = [(t, w) for t, w in zip(cands, weights) if w > 0]
        if len(members) == 1 or sum(t.model_bytes for t, _ in members) <= room:
            break
        cands.remove(max((t for t, _ in members), key=lambda t: t.model_bytes))
    nested = nested_scores(preds, y_enc[mask], metric, fold_groups(splits), n_classes, deadline=deadline)
    # The choice: the ensemble unless it does not beat the best model on the out-of-fold rows.  (Choosing
    # by the nested scores instead was measured on the dev suite: on small tables their noise
    # picked single models that scored worse on test data than the ensemble.)
    single = len(members) == 1 or not metric.better(ens_score, cands[0].score)
    if single:
        members, estimate = [(cands[0], 1.0)], cands[0].score
    else:
        estimate = ens_score
    kind = "oof"
    if nested is not None:  # the estimate: judged on rows that did not drive the choice
        estimate, kind = nested[1] if single else nested[0], "nested"
    return Choice(members, float(estimate), kind, round(time.monotonic() - t0, 3))


def build_members(search: Search, members: list[tuple[Any, float]], refit: bool) -> tuple[list[Member], dict]:
    """Refit each member on all rows while the budget allows (heaviest weight first); a member that cannot
    be refitted in time keeps its fold models (their average predicts).  Returns the members and the
    preprocessors they read."""
    preps: dict[str, Any] = {}
    out = []
    deadline = Deadline(search.budget.deadline) if not math.isinf(search.budget.seconds) else None
    for t, w in sorted(members, key=lambda tw: -tw[1]):
        fam = get_family(t.family)
        model = None
        if refit and fam.refit:
            model = search.refit(t, fam, deadline or Deadline(math.inf))
        if model is not None:
            key = f"{fam.style}/full"
            preps[key] = search.full_data(fam.style)[0]
            models, keys = [model], [key]
        else:
            keys = [f"{fam.style}/{k}" for k in range(len(t.models))]
            for k, key in enumerate(keys):
                preps[key] = search.fold_preprocessor(fam.style, k)
            # loaded one by one, each thinned at once: fold forests never sit in memory whole together, and
            # under a memory limit together they take no more than the room left (one forest's worth)
            k, room = len(t.models), search.model_room()
            cap = int(max(min(room, FOREST_MAX_BYTES), 0))
            models = [thin_fold_forest(m.load() if isinstance(m, Spilled) else m, k, cap) for m in t.models]
        out.append(
            Member(
                t.name,
                t.family,
                float(w),
                tuple(models),
                tuple(keys),
                model is not None,
                tuple(m.meta() for m in models),
            )
        )
    return out, preps


def trial_rows(ok: list) -> pd.DataFrame:
    """One leaderboard row per finished trial."""
    return pd.DataFrame(
        [
            {
                "model": t.name,
                "family": t.family,
                "score_val": t.score,
                "fit_seconds": t.fit_seconds,
                "predict_seconds": t.predict_seconds,
                "source": t.source,
                "truncated": t.truncated,
                "params": json.dumps(t.params, default=str),
            }
            for t in ok
        ]
    )


def leaderboard(
    trials: pd.DataFrame, members, score_val: float, estimate_kind: str | None, metric: str
) -> tuple[pd.DataFrame, str]:
    """The served model first (its honest estimate), then every trial best first; and the served model's
    name (``"ensemble"`` or the one trial)."""
    asc = not get_metric(metric).greater_is_better
    trials = trials.sort_values("score_val", ascending=asc, kind="stable")
    names = [m.name for m in members]
    parts = trials[trials["model"].isin(names)]
    served = {
        "model": ENSEMBLE_NAME if len(names) > 1 else names[0],
        "family": ENSEMBLE_NAME if len(names) > 1 else parts["family"].iloc[0],
        "score_val": score_val,
        "fit_seconds": float(parts["fit_seconds"].sum()),
        "predict_seconds": float(parts["predict_seconds"].sum()),
        "source": "caruana" if len(names) > 1 else parts["source"].iloc[0],
        "truncated": bool(parts["truncated"].any()),
        "params": json.dumps({m.name: round(m.weight, 4) for m in members})
        if len(names) > 1
        else parts["params"].iloc[0],
        "estimate": estimate_kind,
        "served": True,
    }
    if len(names) == 1:
        trials = trials[trials["model"] != names[0]]
    trials = trials.assign(estimate="oof", served=False)
    return pd.concat([pd.DataFrame([served]), trials], ignore_index=True), served["model"]


def temper(fitted: FittedModel, mask: np.ndarray, y_enc: np.ndarray) -> FittedModel:
    """Learn the tempering of a multiclass blend on its out-of-fold probabilities (see
    :mod:`mlwright.evaluation.tempering`); kept when, cross-fitted over the folds, it lowers the log loss, which
    then moves the log-loss estimate by the same amount.  Binary models keep the floor only (``calibrate``
    maps their probabilities)."""
    if fitted.task == "regression":
        return fitted
    if fitted.task != "multiclass" or fitted.oof is None or not fitted.fold_groups:
        return fitted.replace(tempering=floor_only())
    p, y = fitted.oof_blend(mask), y_enc[mask]
    raw, crossfit = tempering_gain(p, y, list(fitted.fold_groups))
    if not crossfit < raw:
        return fitted.replace(tempering=floor_only())
    t = fit_tempering(p, y) | {"oof_log_loss": round(raw, 6), "oof_log_loss_tempered": round(crossfit, 6)}
    fitted = fitted.replace(tempering=t)
    if fitted.metric == "log_loss":
        fitted = relabel(fitted.with_estimate(score_val=fitted.estimate.score_val + crossfit - raw))
    return fitted


def relabel(fitted: FittedModel) -> FittedModel:
    """``fitted`` with its leaderboard and best model named again from its members and estimate."""
    lb, best = leaderboard(
        fitted.trial_rows, fitted.members, fitted.estimate.score_val, fitted.estimate.kind, fitted.metric
    )
    return fitted.replace(leaderboard=lb, best_model=best)


def latency_ms(fitted: FittedModel, row: pd.DataFrame, reps: int = 7) -> float:
    """Median wall time of one single-row prediction, in milliseconds."""
    fitted.scores(row)  # warm caches
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fitted.scores(row)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def meet_latency(
    fitted: FittedModel, row: pd.DataFrame, limit: float | None, metric: Metric, mask: np.ndarray, y_enc: np.ndarray
) -> FittedModel:
    """Measure single-row latency; under ``limit`` (ms) drop the slowest members until it fits, weights
    chosen again with an honest estimate.  Returns the fitted model with ``estimate.predict_ms`` set."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ms = latency_ms(fitted, row, 3 if limit is None else 7)
        if limit is None or ms <= limit:
            return fitted.with_estimate(predict_ms=ms)
        alone = {m.name: latency_ms(fitted.replace(members=(m,)), row, 3) for m in fitted.members}
        kept = sorted(fitted.members, key=lambda m: alone[m.name])
        while len(kept) > 1 and sum(alone[m.name] for m in kept) > limit:
            kept = kept[:-1]
        fitted = _reweight(fitted, kept, metric, mask, y_enc)
        ms = latency_ms(fitted, row)
        fitted = relabel(fitted.with_estimate(predict_ms=ms))
    if ms > limit:
        warnings.warn(
            f"max_predict_ms={limit} cannot be met: the fastest model alone takes {ms:.1f} ms per row; keeping it",
            MlwrightWarning,
            stacklevel=4,
        )
    return fitted


def _reweight(
    fitted: FittedModel, kept: list[Member], metric: Metric, mask: np.ndarray, y_enc: np.ndarray
) -> FittedModel:
    """Choose weights again among the remaining members, with an honest (nested) estimate."""
    n_classes = fitted.n_classes
    preds = [fitted.oof[m.name][mask] for m in kept]
    weights, score = caruana(preds, y_enc[mask], metric, n_classes)
    nested = nested_scores(preds, y_enc[mask], metric, fitted.fold_groups, n_classes)
    members = tuple(dataclasses.replace(m, weight=float(w)) for m, w in zip(kept, weights) if w > 0)
    preps = {k: v for k, v in fitted.preprocessors.items() if any(k in m.preps for m in members)}
    fitted = fitted.replace(members=members, preprocessors=preps)
    return temper(fitted.with_estimate(score_val=float(score if nested is None else nested[0])), mask, y_enc)
