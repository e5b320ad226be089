"""A retraining's verdict, kept: the gate's reasons, the challenger registered (and promoted when it passed),
the outcome recorded in the store with its numbers — shared by table models (:mod:`.retrain`) and
forecasters (:mod:`.forecast_retrain`)."""

from __future__ import annotations

import datetime as _dt
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["RetrainOutcome", "gate_reasons", "outcomes", "record_outcome", "register_challenger"]


@dataclass
class RetrainOutcome:
    """What :func:`retrain` decided, with its numbers."""

    outcome: str  # promoted | recommended | rejected
    model: str
    champion_version: int | None
    challenger_version: int | None
    metric: str
    comparison: dict[str, Any]
    guards: dict[str, Any]
    reasons: list[str]
    holdout_rows: int
    train_rows: int = 0
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_reasons(comp: dict[str, Any], metric: str, config: Any) -> list[str]:
    """Why a paired comparison does not pass the gate: too small an improvement, or not significant."""
    reasons = []
    if not comp["delta"] >= config.min_delta:
        reasons.append(f"{metric} improves by {comp['delta']:+.4g}, less than min_delta {config.min_delta:g}")
    if not comp["pvalue"] < config.alpha:
        reasons.append(f"not significant: {comp['test']} p = {comp['pvalue']:.3g} ≥ alpha {config.alpha:g}")
    return reasons


def register_challenger(reg: Any, name: str, challenger: Any, outcome: str, how: str) -> Any:
    """Register ``challenger`` as the next version of ``name`` (alias ``challenger``) and make it the champion
    when ``outcome`` is ``promoted``; ``how`` goes into the version's description."""
    with tempfile.TemporaryDirectory(prefix="mlwright-challenger-") as tmp:
        path = challenger.save(Path(tmp) / "challenger")
        version = reg.register(path, name, alias="challenger", description=f"{how}; gate: {outcome}")
    if outcome == "promoted":
        reg.promote(name, version.version)
    return version


def record_outcome(store, result: RetrainOutcome) -> str:
    """Store a retraining outcome with its numbers; returns its id."""
    from mlwright.jsonsafe import plain
    from mlwright.store.predictions import add_retrain_outcome

    rid = uuid.uuid4().hex
    row = {"id": rid, "at": _dt.datetime.now(_dt.UTC), "model": result.model, "champion": result.champion_version,
           "challenger": result.challenger_version, "outcome": result.outcome, "metric": result.metric,
           "delta": float(result.comparison["delta"]), "pvalue": float(result.comparison["pvalue"]),
           "details": plain({"comparison": result.comparison, "guards": result.guards, "reasons": result.reasons,
                              "holdout_rows": result.holdout_rows, "train_rows": result.train_rows})}  # fmt: skip
    add_retrain_outcome(store, row)
    return rid


def outcomes(name: str, store: str | None = None) -> list[dict[str, Any]]:
    """Every recorded retraining outcome of ``name``, newest first."""
    from mlwright.store import Store
    from mlwright.store.predictions import retrain_outcomes_of

    return retrain_outcomes_of(Store(store), name)
