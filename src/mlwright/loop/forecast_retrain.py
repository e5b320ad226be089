"""Retraining a forecaster with the gate: refit on the longer history, promote only when the newest window
says the new model is better.

The new rows (the actuals that arrived since the champion was fitted, or the whole history again) are added
to the history the champion saved (a row for a series and time stamp already there replaces it) and a
challenger is fitted on all of it with the champion's settings.  Its rolling-origin backtest ends with the
newest window — the last ``horizon`` steps of every series; from that same origin, on the same points, the
gate scores the challenger's forecast (its ensemble with weights chosen on the other windows) against the
champion's *recipe*: the champion's members with the champion's weights, refit on the same history.  The
paired test is a bootstrap over those points of the MASE (each error over its series' in-sample seasonal
naive error); ``min_delta``, ``alpha``, ``approval`` and the outcome records are the table models' gate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import RetrainError

__all__ = ["longer_history", "retrain_forecaster"]


def longer_history(champion: Any, data: pd.DataFrame) -> pd.DataFrame:
    """The champion's saved history with the new rows added (new rows win on the same series and time)."""
    from mlwright.forecast.frame import to_long

    fr = champion.frame_
    need = [*fr.id_columns, fr.time_column, fr.target]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise RetrainError(f"the new data lacks the column(s) {missing}; it needs the series ids, the time and the "
                           f"target ({need})")  # fmt: skip
    old = to_long(fr)
    new = data[[c for c in old.columns if c in data.columns]].copy()
    for c in fr.id_columns:
        new[c] = new[c].astype(str)
    new[fr.time_column] = pd.to_datetime(new[fr.time_column], errors="coerce", format="mixed")
    if new[fr.time_column].isna().any():
        raise RetrainError(f"the new data has {int(new[fr.time_column].isna().sum())} row(s) whose "
                           f"{fr.time_column!r} is not a time stamp")  # fmt: skip
    both = pd.concat([old, new], ignore_index=True)
    return both.drop_duplicates([*fr.id_columns, fr.time_column], keep="last").reset_index(drop=True)


def _recipe(champion: Any, window: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The champion's members and weights over the challenger's forecasts of the newest window (members the
    challenger could not run are left out, the others' weights renormalised — and said)."""
    weights = champion.blend_.weights
    have = {n: w for n, w in weights.items() if n in window["members"]}
    notes = [f"{n} did not finish in the challenger's budget: the champion's recipe is scored without it"
             for n in weights if n not in have]  # fmt: skip
    if not have:
        raise RetrainError(f"none of the champion's members ({', '.join(weights)}) ran in the challenger's fit; "
                           "raise --time-budget")  # fmt: skip
    total = sum(have.values())
    return sum(w / total * window["members"][n] for n, w in have.items()), notes


def retrain_forecaster(name: str, champ_v: Any, champion: Any, data: Any, config: Any, time_budget: float | None,
                       reg: Any) -> Any:  # fmt: skip
    """Refit, gate and register (see the module docstring); returns the :class:`RetrainOutcome`."""
    from mlwright.data.sources import read_table
    from mlwright.evaluation.compare import paired_bootstrap
    from mlwright.forecast import Forecaster
    from mlwright.loop.outcomes import RetrainOutcome, gate_reasons, record_outcome, register_challenger

    fr = champion.frame_
    history = longer_history(champion, read_table(data) if not isinstance(data, pd.DataFrame) else data)
    params = {k: v for k, v in champion.get_params().items() if k in Forecaster.__init__.__code__.co_varnames}
    if time_budget is not None:
        params["time_budget"] = time_budget
    challenger = Forecaster(**params).fit(
        history, target=fr.target, time_column=fr.time_column, id_columns=fr.id_columns or None,
        known_covariates=fr.known or None, past_covariates=fr.past or None,
        static_columns=None if fr.statics is None else list(fr.statics.columns[1:]),
    )  # fmt: skip
    window = challenger.newest_window_
    if window is None:
        raise RetrainError("the history is too short to hold out a window of the horizon; send more data")
    ours, notes = _recipe(champion, window)
    ok = np.isfinite(window["actual"]) & np.isfinite(window["scale"])[:, None] & np.isfinite(ours)
    ok &= np.isfinite(window["ensemble"])
    if ok.sum() < 2:
        raise RetrainError("the newest window has fewer than 2 points with a MASE scale; send more data")
    scale = np.broadcast_to(window["scale"][:, None], ok.shape)[ok]
    y, a, b = window["actual"][ok] / scale, ours[ok] / scale, window["ensemble"][ok] / scale
    comp = paired_bootstrap(y, a, b, lambda t, p: float(np.mean(np.abs(t - p))), False, config.n_boot, config.seed)
    comp["window"] = {"points": int(ok.sum()), "series": len(fr.ids), "steps": int(challenger.horizon_)}
    reasons = gate_reasons(comp, "MASE", config)
    comp["notes"] = notes
    outcome = "rejected" if reasons else ("promoted" if config.approval == "auto" else "recommended")
    chall_v = register_challenger(reg, name, challenger, outcome, f"refit on {len(history):,} rows")
    result = RetrainOutcome(outcome, name, champ_v.version, chall_v.version, "mase", comp, {}, reasons,
                            int(ok.sum()), len(history))  # fmt: skip
    result.id = record_outcome(reg.store, result)
    return result
