"""Drift, data quality, service health and live metrics per time window of the prediction log.

:func:`monitor` reads a model's logged requests (inputs and outputs, stored as Arrow batches per write)
in one query, decodes them with pyarrow into one table, coerces the inputs with the model's Schema and
cuts the rows into windows by their time.  Per window and feature it compares the values with the
version's reference (:mod:`mlwright.monitoring.stats`: vectorised — one sort or one value count per
column), then the outputs, the missing-value and unseen-level shares, latency, error answers and, where
ground truth has arrived (``feedback``), the model's metrics on the labelled rows.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import Schema, class_codes, coerce
from mlwright.errors import ConfigError, MonitoringError
from mlwright.monitoring.reference import LEVEL_OUTPUTS, LEVELS, NUMBERS, column_values
from mlwright.monitoring.stats import level_drift, numeric_drift
from mlwright.store import Store

__all__ = ["MonitorConfig", "MonitorResult", "log_tables", "monitor", "parse_window"]


@dataclass
class MonitorConfig:
    """What counts as drift, and the alert rules (see :func:`mlwright.monitoring.alerts.check_alerts`).

    A feature drifts when its PSI reaches ``psi`` and the change is significant (KS or chi² p-value
    below ``alpha``: on small windows PSI alone reads noise over many sparse bins as drift); the data
    drifts when at least ``drift_share`` of the features do.  Windows with fewer than ``min_rows`` rows
    are reported but not judged.

    ``reference`` is what traffic is compared with: ``"training"`` (default) — the statistics saved
    with the version at fit time (training columns; the outputs the model gave rows it did not learn
    from, out of fold); ``"first"`` — each version's first window of traffic (NannyML's "reference
    period": what this version saw and answered when it went live); or a period ``"START/END"`` of
    the log (ISO dates or times, e.g. ``"2026-11-01/2026-11-08"``), one reference for every version.
    A model trained on few rows (hundreds) can answer new rows more confidently than its fold models
    did, so its outputs' PSI against ``"training"`` reads high on unchanged traffic; a period of live
    traffic as the reference avoids that.  Windows inside the reference period are reported, not judged.
    """

    window: str = "1d"
    psi: float = 0.2
    alpha: float = 0.01
    drift_share: float = 0.5
    min_rows: int = 100
    alerts: dict[str, float] = field(default_factory=dict)  # rule → threshold (see alerts.RULES)
    webhook: str | None = None
    reference: str = "training"
    sensitive: list[str] = field(default_factory=list)  # watched per group (default: the model's, named at fit)

    def __post_init__(self):
        parse_window(self.window)
        for name, low, high in (("psi", 0.0, math.inf), ("alpha", 0.0, 1.0), ("drift_share", 0.0, 1.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not low < v <= high or math.isnan(v):
                raise ConfigError(f"{name} must be a number in ({low:g}, {high:g}], got {v!r}")
        if isinstance(self.min_rows, bool) or not isinstance(self.min_rows, int) or self.min_rows < 1:
            raise ConfigError(f"min_rows must be a whole number ≥ 1, got {self.min_rows!r}")
        reference_period(self.reference)
        if self.webhook is not None and not str(self.webhook).startswith(("http://", "https://")):
            raise ConfigError(f"webhook {self.webhook!r} must be an http:// or https:// URL")

    @classmethod
    def from_file(cls, path: str | Path) -> MonitorConfig:
        """Read ``[monitor]`` (and ``[monitor.alerts]``) from a TOML file."""
        import tomllib

        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the monitoring config {str(path)!r}: {exc}") from None
        section = data.get("monitor", data)
        known = set(cls.__dataclass_fields__)
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"unknown monitoring setting(s) {sorted(unknown)} in {path}; known: {sorted(known)}")
        return cls(**section)


def parse_window(text: str) -> pd.Timedelta:
    """``"1d"``, ``"6h"``, ``"15min"``, ``"1w"`` → a duration (a clear error for anything else)."""
    import re

    unit = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dw])\s*", str(text))  # pandas 3 wants D and W
    try:
        w = pd.Timedelta(f"{unit[1]}{unit[2].upper()}" if unit else text)
    except (ValueError, TypeError):
        raise ConfigError(f"window {text!r} is not a duration; use e.g. 1d, 6h, 15min or 1w") from None
    if w <= pd.Timedelta(0):
        raise ConfigError(f"window {text!r} must be longer than zero")
    return w


def reference_period(text: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``"training"``/``"first"`` → None; ``"START/END"`` → two UTC timestamps (a clear error otherwise)."""
    if text in ("training", "first"):
        return None
    try:
        a, b = (pd.Timestamp(x) for x in str(text).split("/"))
    except (ValueError, TypeError):
        raise ConfigError(f"reference {text!r} is not 'training', 'first' or a period START/END of ISO dates "
                          "(e.g. 2026-11-01/2026-11-08)") from None  # fmt: skip
    a, b = (t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC") for t in (a, b))
    if b <= a:
        raise ConfigError(f"reference period {text!r} ends before it starts")
    return a, b


@dataclass
class MonitorResult:
    """Per-window results (oldest first) of one model: see :func:`monitor`."""

    model: str
    window: str
    windows: list[dict[str, Any]]
    config: dict[str, Any]
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        from mlwright.jsonsafe import plain

        return json.dumps(plain(self.to_dict()), default=str, allow_nan=False)


def log_tables(
    store: Store, model: str, since: _dt.datetime | None = None, until: _dt.datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The logged inputs and outputs of ``model`` (one row per scored row, aligned), with ``at`` and
    ``version`` on the outputs; decoded with pyarrow (Arrow IPC batches) into one table each."""
    from mlwright.serving.predlog import concat_tables, decode_table
    from mlwright.store.predictions import logged_batches

    rows = logged_batches(store, model, since, until)
    if not rows:
        return pd.DataFrame(), pd.DataFrame()
    ins = concat_tables([decode_table(r.inputs) for r in rows])
    outs = concat_tables([decode_table(r.outputs) for r in rows])
    o = outs.to_pandas()
    o["version"] = np.repeat([str(r.version) for r in rows], [int(r.rows) for r in rows])
    return ins.to_pandas(), o


def feedback_table(store: Store, model: str) -> pd.DataFrame:
    """The ground truth received for ``model``: ``prediction_id`` → ``actual`` (decoded JSON)."""
    from mlwright.store.predictions import feedback_labels

    base = model.removesuffix(":shadow")  # a shadow answered the same prediction ids: the same labels
    rows = feedback_labels(store, base)
    return pd.DataFrame({"prediction_id": [r[0] for r in rows], "actual": [json.loads(r[1]) for r in rows]})


def error_table(store: Store, model: str, since: _dt.datetime | None = None) -> pd.DataFrame:
    """Error answers counted by the service: ``at``, ``status``, ``code``, ``count``."""
    from mlwright.store.predictions import error_counts

    return pd.DataFrame(error_counts(store, model, since), columns=["at", "status", "code", "count"])


def monitor(
    model: str,
    references: dict[str, dict[str, Any]],
    schema: Schema,
    store: Store | None = None,
    config: MonitorConfig | None = None,
    since: _dt.datetime | None = None,
) -> MonitorResult:
    """Every window of ``model``'s prediction log, judged against the reference of the version that served it.

    A window in which several versions served (a promotion, a rollback) has one entry per version, in the
    order they started serving, each judged against its own reference.

    Parameters
    ----------
    model : str
        The served name (as logged).
    references : dict
        Version (as logged: ``"3"``, ``"local"``) → its reference statistics (``reference.json``).
    schema : Schema
        The model's input schema (to coerce the logged inputs as the model read them).
    """
    from mlwright.evaluation.metrics import default_metric, get_metric, score_all

    cfg = config or MonitorConfig()
    width = parse_window(cfg.window)
    store = store or Store()
    period = reference_period(cfg.reference)
    read_from = since if period is None or since is None else min(since, period[0].to_pydatetime())
    inputs, outputs = log_tables(store, model, read_from)
    if outputs.empty:
        raise MonitoringError(f"no predictions of {model!r} are logged yet; serve it and send requests first")
    X = coerce(inputs.reindex(columns=[c.name for c in schema.columns if c.used]), schema)
    at = pd.to_datetime(outputs["at"])
    start = at.dt.floor(width)
    if cfg.reference != "training":
        references, in_ref = _live_references(cfg.reference, period, schema, X, outputs, at, start)
        if since is not None:  # the period was read to build the reference; report from ``since`` on
            keep = (at >= _naive_utc(pd.Timestamp(since))).to_numpy()
            X, inputs, outputs, at, start, in_ref = (
                v[keep].reset_index(drop=True) for v in (X, inputs, outputs, at, start, in_ref)
            )
    else:
        in_ref = pd.Series(False, index=outputs.index)
    labels = feedback_table(store, model)
    actual = outputs["prediction_id"].map(dict(zip(labels["prediction_id"], labels["actual"])))
    errors = error_table(store, model, since)
    if not errors.empty:
        errors["start"] = pd.to_datetime(errors["at"]).dt.tz_localize(None).dt.floor(width)
    task, classes = schema.task, [str(c) for c in schema.classes]
    named = [r["sensitive"] for r in references.values() if (r or {}).get("sensitive")]  # at fit
    sensitive = list(cfg.sensitive) or (named[0] if named else [])
    # clusterers and detectors have no live metric from actuals (yet): their outputs' shares are watched
    metric = schema.metric or (default_metric(task) if task in ("binary", "multiclass", "regression") else None)
    windows = []
    version = outputs["version"]
    first_seen = {v: i for i, v in enumerate(pd.unique(version))}  # versions in the order they started serving
    for (t0, v), idx in sorted(outputs.groupby([start, version]).groups.items(),
                               key=lambda kv: (kv[0][0], first_seen[kv[0][1]])):  # fmt: skip
        rows = outputs.index.get_indexer(idx)
        ref = references.get(v)
        w: dict[str, Any] = {"start": t0.isoformat(), "end": (t0 + width).isoformat(), "version": v, "rows": len(rows)}
        lat = outputs["latency_ms"].iloc[rows].groupby(outputs["request_id"].iloc[rows]).first()
        w["requests"] = len(lat)
        w["latency_p50_ms"], w["latency_p99_ms"] = (float(np.percentile(lat, q)) for q in (50, 99))
        note = _not_judged(bool(in_ref.iloc[rows].any()), ref, v, cfg.reference)
        if note:
            w["note"] = note
        elif task != "forecast":
            w |= _drift(ref, schema, X.iloc[rows], outputs.iloc[rows], cfg, task, classes)
        else:  # a forecaster's inputs are series and stamps: its accuracy is what to watch, not their drift
            w |= {"features": {}, "drifted": [], "drift_share": None, "dataset_drift": False, "judged": False,
                  "output": None, "output_drift": False, "missing": None, "missing_ref": None,
                  "unseen": None}  # fmt: skip
        y = actual.iloc[rows]
        has = y.notna().to_numpy()
        w["labels"] = int(has.sum())
        if has.sum() >= 1 and task == "forecast":
            from mlwright.monitoring.forecasting import forecast_live

            w["live"] = forecast_live(ref, schema, X.iloc[rows][has], outputs.iloc[rows][has], y[has])
        elif has.sum() >= 1 and metric:
            codes = class_codes(schema.classes, y[has]) if task != "regression" else None
            w["live"] = _live(task, classes, y[has].tolist(), codes, outputs.iloc[rows][has], score_all,
                              get_metric(metric))  # fmt: skip
        if sensitive and task in ("binary", "multiclass", "regression"):
            from mlwright.monitoring.fairness import window_fairness

            w["fairness"] = window_fairness(inputs.iloc[rows], outputs.iloc[rows], y, sensitive, task,
                                            list(schema.classes), cfg.min_rows)  # fmt: skip
        windows.append(w)
    _error_rates(windows, errors)
    from mlwright.monitoring.alerts import check_alerts

    result = MonitorResult(model, cfg.window, windows, asdict(cfg))
    result.alerts = check_alerts(result, _with_constraint(cfg, references))
    return result


def _with_constraint(cfg: MonitorConfig, references: dict[str, dict[str, Any]]) -> MonitorConfig:
    """``cfg`` with an alert on the fairness constraint the model was fitted under (its disparity above the
    bound it was asked to keep), unless a rule for it is set already."""
    from dataclasses import replace

    bounds = [r["fairness_constraint"] for r in references.values() if (r or {}).get("fairness_constraint")]
    if not bounds or bounds[-1]["metric"] not in ("demographic_parity", "equalized_odds"):
        return cfg
    rule = bounds[-1]["metric"] + "_difference"
    return cfg if rule in cfg.alerts else replace(cfg, alerts=cfg.alerts | {rule: bounds[-1]["max_difference"]})


def _not_judged(in_reference: bool, ref: dict[str, Any] | None, version: str, reference: str) -> str | None:
    """Why a window is reported but not judged against a reference (None: it is judged)."""
    if in_reference:
        return "reference period (the traffic judged against)"
    if ref is None:
        if reference == "training":
            return f"no reference statistics for version {version} (saved before monitoring existed)"
        return f"version {version} served no rows in the reference period"
    return None


def _error_rates(windows: list[dict[str, Any]], errors: pd.DataFrame) -> None:
    """Each window's error answers and their share of its requests (error answers carry no version: they are
    counted with each window's newest one)."""
    for i, w in enumerate(windows):
        if i + 1 < len(windows) and windows[i + 1]["start"] == w["start"]:
            w["errors"], w["error_rate"] = 0, 0.0
            continue
        t0 = pd.Timestamp(w["start"])
        n_err = int(errors.loc[errors["start"] == t0, "count"].sum()) if not errors.empty else 0
        w["errors"] = n_err
        w["error_rate"] = n_err / (n_err + sum(x["requests"] for x in windows if x["start"] == w["start"]))


def _naive_utc(t: pd.Timestamp) -> pd.Timestamp:
    return t if t.tzinfo is None else t.tz_convert("UTC").tz_localize(None)


def _live_references(reference: str, period, schema: Schema, X: pd.DataFrame, outputs: pd.DataFrame,
                     at: pd.Series, start: pd.Series) -> tuple[dict[str, dict], pd.Series]:  # fmt: skip
    """References built from logged traffic (``reference="first"`` or a period) and which rows built them."""
    from mlwright.monitoring.reference import build_reference

    task, classes = schema.task, [str(c) for c in schema.classes]

    def summary(mask: pd.Series) -> dict[str, Any]:
        out = outputs[mask.to_numpy()]
        if task == "binary":
            given: dict[str, Any] = {"proba": out[[f"p_{c}" for c in classes]].to_numpy(float)}
        elif task == "multiclass":
            given = {"labels": out["prediction"].astype(str).to_numpy()}
        else:
            given = {"values": out["value"].to_numpy(float)}
        return build_reference(X[mask.to_numpy()], schema, given)

    if period is None:  # each version's first window
        first = start.groupby(outputs["version"]).transform("min")
        in_ref = start == first
        refs = {v: summary(in_ref & (outputs["version"] == v)) for v in outputs["version"].unique()}
        return refs, in_ref
    a, b = (_naive_utc(t) for t in period)  # the log's times are naive UTC
    in_ref = (at >= a) & (at < b)
    if not in_ref.any():
        raise MonitoringError(f"no predictions were logged in the reference period {reference!r}")
    ref = summary(in_ref)
    return {v: ref for v in outputs["version"].unique()}, in_ref


def _drift(ref: dict, schema: Schema, X: pd.DataFrame, out: pd.DataFrame, cfg: MonitorConfig, task: str,
           classes: list[str]) -> dict[str, Any]:  # fmt: skip
    feats: dict[str, Any] = {}
    for c in schema.columns:
        r = ref["columns"].get(c.name)
        if r is None or c.name not in X.columns:
            continue
        if c.kind in NUMBERS and r["type"] == "numeric":
            feats[c.name] = numeric_drift(r, column_values(X[c.name], c.kind))
        elif c.kind in LEVELS and r["type"] == "levels":
            feats[c.name] = level_drift(r, X[c.name])
        else:
            feats[c.name] = {"rows": len(X), "missing": float(X[c.name].isna().mean()), "missing_ref": r["missing"]}
    judged = len(X) >= cfg.min_rows
    drifted = [k for k, v in feats.items() if judged and _drifts(v, cfg)]
    scored = [k for k, v in feats.items() if v.get("psi") is not None]
    share = len(drifted) / len(scored) if scored else 0.0
    o = ref.get("output")
    output = None
    if o is not None:
        if task == "binary":
            output = numeric_drift(o, out[f"p_{classes[1]}"].to_numpy(float))
        elif task in LEVEL_OUTPUTS:  # a class, a segment, an anomaly flag: its shares against training's
            output = level_drift(o, out["prediction"].astype(str))
            seen = out["prediction"].astype(str).value_counts(normalize=True)
            total = float(sum(o["counts"])) or 1.0
            output["shares"] = {str(k): float(seen.get(str(k), 0.0)) for k in o["levels"]}
            output["shares_ref"] = {str(k): float(c) / total for k, c in zip(o["levels"], o["counts"])}
        else:
            output = numeric_drift(o, out["value"].to_numpy(float))
    unseen = [v["unseen"] for v in feats.values() if v.get("unseen") is not None]
    return {
        "features": feats,
        "drifted": sorted(drifted, key=lambda k: -feats[k]["psi"]),
        "drift_share": share,
        "dataset_drift": bool(judged and scored and share >= cfg.drift_share),
        "judged": judged,
        "output": output,
        "output_drift": bool(judged and output is not None and _drifts(output, cfg)),
        "missing": float(np.mean([v["missing"] for v in feats.values()])) if feats else 0.0,
        "missing_ref": float(np.mean([v["missing_ref"] for v in feats.values()])) if feats else 0.0,
        "unseen": float(max(unseen)) if unseen else 0.0,
    }


def _drifts(v: dict[str, Any], cfg: MonitorConfig) -> bool:
    p = v.get("ks_pvalue", v.get("chi2_pvalue"))
    return (v.get("psi") or 0) >= cfg.psi and (p is None or p < cfg.alpha)


def _live(task: str, classes: list[str], y: list, codes: np.ndarray | None, out: pd.DataFrame, score_all,
          metric) -> dict[str, Any]:  # fmt: skip
    """The model's metrics on the window's labelled rows (labels as sent back through feedback)."""
    import warnings

    with warnings.catch_warnings():  # a window with one class only has no AUC: None, not a warning
        warnings.simplefilter("ignore")
        if task == "regression":
            scores = score_all(task, np.asarray(y, float), out["value"].to_numpy(float))
        else:
            keep = codes >= 0
            if not keep.any():
                return {"rows": 0}
            p = out[[f"p_{c}" for c in classes]].to_numpy(float)[keep]
            scores = score_all(task, codes[keep], p, len(classes))
    scores = {k: (float(v) if v is not None and np.isfinite(v) else None) for k, v in scores.items()}
    return {"rows": len(y), "metric": metric.name, "value": scores.get(metric.name), "scores": scores}
