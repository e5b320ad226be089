"""A forecaster's model directory: the manifest, the history (parquet), the members' future forecasts and the
quantile spread (parquet), and the global models' boosters in LightGBM's own text format.

Layout::

    model/
      manifest.json                 kind "forecast": schema, frame, weights, leaderboard, backtest, files' SHA-256
      reference.json                monitoring's baseline: each series' MASE scale, the estimate, the levels
      forecast/history.parquet      unique_id, ds, y and the covariates the models were fitted on
      forecast/statics.parquet      one row per series (when there are static columns)
      forecast/future.parquet       unique_id, step, and each local member's point forecast
      forecast/spread.parquet       unique_id, step, the spread of each quantile around the point forecast
      models/<member>.lgb.txt       a global member's booster

Nothing is unpickled: parquet and LightGBM's text format only, each file checked against the manifest first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright import artifacts
from mlwright.forecast.frame import ID, SeriesFrame

__all__ = ["BoosterModel", "manifest_entries", "read_forecaster", "write_forecaster"]


class BoosterModel:
    """A LightGBM booster read from its text file, with the ``predict`` mlforecast calls."""

    def __init__(self, text: str) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_str=text)

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(X), dtype=float)


def _long(arr: np.ndarray, ids: list[str], cols: list[str]) -> pd.DataFrame:
    S, h = arr.shape[:2]
    out = pd.DataFrame({ID: np.repeat(np.asarray(ids, dtype=object), h), "step": np.tile(np.arange(1, h + 1), S)})
    flat = arr.reshape(S * h, -1)
    for j, c in enumerate(cols):
        out[c] = flat[:, j]
    return out


def write_forecaster(model: Any, tmp: Path) -> dict[str, Any]:
    """Write a fitted :class:`~mlwright.forecast.Forecaster` into ``tmp``; returns its manifest entries."""
    frame: SeriesFrame = model.frame_
    ids = frame.ids
    (tmp / "forecast").mkdir()
    (tmp / "models").mkdir()
    frame.df.to_parquet(tmp / "forecast" / "history.parquet", index=False)
    if frame.statics is not None:
        frame.statics.astype({c: str for c in frame.statics.columns}).to_parquet(
            tmp / "forecast" / "statics.parquet", index=False
        )
    members: dict[str, Any] = {}
    fixed = {}
    for name, run in model.runs_.items():
        entry: dict[str, Any] = {"kind": run.kind, "params": run.params}
        if run.state is not None:
            text = run.state.models_["lgb"].booster_.model_to_string()
            (tmp / "models" / f"{name}.lgb.txt").write_text(text, encoding="utf-8")
            entry["booster"] = f"models/{name}.lgb.txt"
        else:
            fixed[name] = run.future
        members[name] = entry
    if fixed:
        names = list(fixed)
        _long(np.stack([fixed[n] for n in names], axis=-1), ids, names).to_parquet(
            tmp / "forecast" / "future.parquet", index=False
        )
    qcols = [f"{q:g}" for q in model.quantiles_]
    _long(model.blend_.spread, ids, qcols).to_parquet(tmp / "forecast" / "spread.parquet", index=False)
    import json

    from mlwright.jsonsafe import default

    (tmp / "reference.json").write_text(json.dumps(model.reference_, default=default), encoding="utf-8")
    return manifest_entries(model, members)


def _members(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, run in model.runs_.items():
        entry: dict[str, Any] = {"kind": run.kind, "params": run.params}
        if run.state is not None:
            entry["booster"] = f"models/{name}.lgb.txt"
        out[name] = entry
    return out


def manifest_entries(model: Any, members: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fitted forecaster's manifest entries: kind, task, schema (what a request row holds), the frame, the
    members and their weights, the quantiles' calibration, the leaderboard and the backtest estimate."""
    from mlwright._version import __version__

    frame: SeriesFrame = model.frame_
    return {
        "kind": "forecast",
        "task": "forecast",
        "mlwright_version": __version__,
        "schema": model.schema_.to_dict(),
        "forecast": {
            "params": model.get_params(),
            "frame": {
                "freq": frame.freq,
                "seasons": list(frame.seasons),
                "m": frame.m,
                "id_columns": frame.id_columns,
                "time_column": frame.time_column,
                "target": frame.target,
                "known": frame.known,
                "past": frame.past,
                "static": [] if frame.statics is None else list(frame.statics.columns[1:]),
            },
            "horizon": model.horizon_,
            "quantiles": model.quantiles_,
            "weights": model.blend_.weights,
            "quantile_method": model.blend_.method,
            "quantile_factors": model.blend_.factors,
            "members": members if members is not None else _members(model),
            "windows": int(model.n_windows_),
            "fit_log": model.fit_log_,
            "findings": [f.to_dict() for f in model.findings_],
            "backtest": model.backtest_,
            "fit_seconds": getattr(model, "fit_seconds_", None),
        },
        "leaderboard": model.leaderboard_.to_dict(orient="records"),
        "metric": model.metric,
        "estimate": {"score_val": float(model.leaderboard_["score_val"].iloc[0]), "kind": "backtest"},
    }


def read_forecaster(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The pieces a Forecaster is rebuilt from (every file verified first)."""
    artifacts.verify(path, manifest)
    spec = manifest["forecast"]
    fr = spec["frame"]
    history = pd.read_parquet(path / "forecast" / "history.parquet")
    history[ID] = history[ID].astype(object)
    statics = None
    if (path / "forecast" / "statics.parquet").exists():
        statics = pd.read_parquet(path / "forecast" / "statics.parquet")
    frame = SeriesFrame(
        df=history,
        freq=fr["freq"],
        seasons=tuple(fr["seasons"]),
        m=int(fr["m"]),
        id_columns=list(fr["id_columns"]),
        time_column=fr["time_column"],
        target=fr["target"],
        known=list(fr["known"]),
        past=list(fr["past"]),
        statics=statics,
    )
    ids = frame.ids
    index = {u: i for i, u in enumerate(ids)}
    h = int(spec["horizon"])
    fixed: dict[str, np.ndarray] = {}
    if (path / "forecast" / "future.parquet").exists():
        fut = pd.read_parquet(path / "forecast" / "future.parquet")
        for name in fut.columns[2:]:
            fixed[name] = _wide(fut, name, index, h)
    sp = pd.read_parquet(path / "forecast" / "spread.parquet")
    spread = np.stack([_wide(sp, c, index, h) for c in sp.columns[2:]], axis=-1)
    boosters = {
        name: BoosterModel((path / m["booster"]).read_text(encoding="utf-8"))
        for name, m in spec["members"].items()
        if m.get("booster")
    }
    return {"frame": frame, "fixed": fixed, "spread": spread, "boosters": boosters}


def _wide(long: pd.DataFrame, col: str, index: dict[str, int], h: int) -> np.ndarray:
    out = np.full((len(index), h), np.nan)
    rows = long[ID].astype(str).map(index).to_numpy()
    out[rows, long["step"].to_numpy() - 1] = long[col].to_numpy(dtype=float)
    return out
