"""Ground truth that arrives late: ``prediction id → actual`` pairs, checked and stored.

Sent by ``POST /v1/models/{name}/feedback`` or ``mlwright feedback MODEL LABELS.csv``; the monitor joins
them to the logged predictions to compute live metrics per window.  Sending a label again for the same
prediction replaces it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from pathlib import Path
from typing import Any

from mlwright.data.schema import Schema
from mlwright.errors import FeedbackError
from mlwright.predictor import returns_values
from mlwright.store import Store

__all__ = ["FeedbackError", "model_info", "read_feedback_file", "record_feedback", "unknown_ids"]

_ID = re.compile(r"^[0-9a-f]{32}-\d{1,9}$")


def _actual(value: Any, schema: Schema) -> tuple[Any, str | None]:
    """The label as stored, or the reason it cannot be."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, "missing actual value"
    if returns_values(schema.task):
        if isinstance(value, bool):
            return None, f"{value!r} is not a number"
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None, f"{value!r} is not a number"
        return (v, None) if math.isfinite(v) else (None, f"{value!r} is not a finite number")
    classes = {str(c): c for c in schema.classes}
    key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if key not in classes:
        shown = ", ".join(map(repr, list(classes)[:10]))
        return None, f"{value!r} is not one of the model's classes ({shown})"
    return classes[key], None


def unknown_ids(store: Store, model: str, ids: list[str]) -> list[str]:
    """The ids in ``ids`` that ``model``'s prediction log does not hold (newest batches read first; reading
    stops once every id is found)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from mlwright.serving.predlog import decode_table
    from mlwright.store.predictions import scan_outputs

    left = set(ids)
    if not left:
        return []

    def visit(blob: bytes) -> bool:
        got = decode_table(blob).column("prediction_id")
        if pa.types.is_dictionary(got.type):  # text is logged dictionary-encoded
            got = got.cast(got.type.value_type)
        hit = pc.filter(got, pc.is_in(got, value_set=pa.array(sorted(left), type=got.type)))
        left.difference_update(hit.to_pylist())
        return not left

    scan_outputs(store, model, visit)
    return [i for i in ids if i in left]


def record_feedback(
    store: Store,
    model: str,
    schema: Schema,
    items: list[dict[str, Any]],
    source: str = "api",
    wait: Any = None,
) -> int:
    """Check and store ``[{"prediction_id": …, "actual": …, "comment": …}, …]`` (``comment`` and ``reviewer``
    optional); returns how many were stored.

    Every id must be one of ``model``'s logged predictions (a label for another model's prediction, or a
    made-up id, is refused).  ``wait``: called once before the unknown ids are looked up again (the service
    passes its prediction log's flush: a prediction answered a moment ago may still be on its way to the
    store).  Nothing is stored when any item is wrong: :class:`FeedbackError` lists each problem by id.
    """
    from mlwright.store.predictions import replace_feedback

    if not items:
        raise FeedbackError('no feedback given; send {"feedback": [{"prediction_id": "…", "actual": …}]}')
    if schema.task == "forecast" and any(isinstance(it, dict) and "prediction_id" not in it for it in items):
        items = by_series(store, model, schema, items, wait)
    problems: dict[str, str] = {}
    rows = []
    now = _dt.datetime.now(_dt.UTC)
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "prediction_id" not in item or "actual" not in item:
            problems[f"item {i}"] = "each item needs 'prediction_id' and 'actual'"
            continue
        pid = str(item["prediction_id"])
        if not _ID.match(pid):
            problems[pid[:80] or f"item {i}"] = "not a prediction id (they look like '<32 hex digits>-<row>')"
            continue
        value, why = _actual(item["actual"], schema)
        if why:
            problems[pid] = why
            continue
        comment = item.get("comment")
        if comment is not None and not isinstance(comment, str):
            problems[pid] = f"comment must be text, got {type(comment).__name__}"
            continue
        if comment is not None and len(comment) > 4000:
            problems[pid] = f"comment is {len(comment):,} characters; at most 4,000"
            continue
        reviewer = item.get("reviewer")
        rows.append({"prediction_id": pid, "model": model, "actual": json.dumps(value), "at": now, "source": source,
                     "comment": (comment or "").strip() or None,
                     "reviewer": str(reviewer)[:128] if reviewer else None})  # fmt: skip
    latest = {r["prediction_id"]: r for r in rows}  # the last label sent for a prediction wins
    if not problems:
        unknown = unknown_ids(store, model, list(latest))
        if unknown and wait is not None:
            wait()
            unknown = unknown_ids(store, model, unknown)
        for pid in unknown:
            problems[pid] = f"no prediction of model {model!r} has this id (see its prediction log)"
    if problems:
        first = "; ".join(f"{k}: {v}" for k, v in list(problems.items())[:3])
        raise FeedbackError(f"{len(problems)} feedback item(s) cannot be stored: {first}", problems)

    replace_feedback(store, model, list(latest.values()))
    return len(latest)


def _series_keys(schema: Schema) -> tuple[list[str], str]:
    """A forecaster's id columns and time column, as its schema lists them."""
    ids = [c.name for c in schema.columns if c.kind == "categorical"]
    time = next(c.name for c in schema.columns if c.kind == "datetime")
    return ids, time


def by_series(store: Store, model: str, schema: Schema, items: list[Any], wait: Any = None) -> list[dict[str, Any]]:
    """A forecaster's actuals by series and time stamp → one item per logged forecast of that step.

    An item names its series by ``"series"`` (the ids joined by ``|``) or by the id columns, and its step by
    ``"timestamp"`` or the time column; every forecast the log holds for that series and step gets the actual
    (forecasts made from different origins are each scored).  Items with a ``prediction_id`` pass unchanged.
    """
    import pandas as pd

    from mlwright.serving.predlog import read_log

    ids, time = _series_keys(schema)
    want: list[tuple[int, str, Any]] = []
    out: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for i, it in enumerate(items):
        if not isinstance(it, dict) or "prediction_id" in it:
            out.append(it)
            continue
        series = it.get("series", "|".join(str(it[c]) for c in ids) if all(c in it for c in ids) else None)
        when = it.get("timestamp", it.get(time))
        stamp = pd.to_datetime(when, errors="coerce") if when is not None else pd.NaT
        if (series is None and ids) or pd.isna(stamp):
            problems[f"item {i}"] = f"name the series ({ids or 'series'}) and the time stamp ('timestamp')"
            continue
        want.append((i, str(series) if ids else "series", pd.Timestamp(stamp).tz_localize(None)))
    if want and wait is not None:
        wait()
    inputs, outputs = read_log(store, model) if want else (pd.DataFrame(), pd.DataFrame())
    found: dict[tuple[str, Any], list[str]] = {}
    if not inputs.empty:
        keys = inputs[ids].astype(str).agg("|".join, axis=1) if ids else pd.Series("series", index=inputs.index)
        at = pd.to_datetime(inputs[time], errors="coerce")
        for k, t, pid in zip(keys, at, outputs["prediction_id"].astype(str)):
            found.setdefault((k, t), []).append(pid)
    for i, series, stamp in want:
        pids = found.get((series, stamp))
        if not pids:
            problems[f"item {i}"] = f"no logged forecast of series {series!r} at {stamp} (forecast it first)"
            continue
        extra = {k: v for k, v in items[i].items() if k in ("actual", "comment", "reviewer")}
        out.extend({"prediction_id": pid, **extra} for pid in pids)
    if problems:
        first = "; ".join(f"{k}: {v}" for k, v in list(problems.items())[:3])
        raise FeedbackError(f"{len(problems)} feedback item(s) cannot be stored: {first}", problems)
    return out


def read_feedback_file(
    path: str | Path, target: str | None = None, schema: Schema | None = None
) -> list[dict[str, Any]]:
    """A CSV/Parquet of ``prediction_id`` and ``actual`` (or the model's target name) → feedback items; for a
    forecaster (``schema``), the series' id columns and the time column may stand for the prediction id."""
    from mlwright.data.sources import read_table

    df = read_table(path)
    col = "actual" if "actual" in df.columns else target if target in df.columns else None
    if schema is not None and schema.task == "forecast" and "prediction_id" not in df.columns and col is not None:
        ids, time = _series_keys(schema)
        if time in df.columns and all(c in df.columns for c in ids):
            values = df[col].astype(object).where(df[col].notna(), None)
            keyed = df[[*ids, time]].astype(object).to_dict(orient="records")
            return [{**k, "actual": v} for k, v in zip(keyed, values)]
    if "prediction_id" not in df.columns or col is None:
        raise FeedbackError(
            f"{path} needs a 'prediction_id' column and an 'actual' column (or {target!r}); it has "
            f"{', '.join(map(str, df.columns[:10]))}"
        )
    values = df[col].astype(object).where(df[col].notna(), None)
    return [{"prediction_id": p, "actual": v} for p, v in zip(df["prediction_id"].astype(str), values)]


def model_info(ref: str, store: Store | None = None) -> tuple[str, Schema, dict[str, dict | None]]:
    """A model directory or registered name → (served name, schema, {logged version: reference or None}).

    Reads manifests and ``reference.json`` only (each checked against its recorded SHA-256), not models.
    """
    from mlwright import artifacts
    from mlwright.monitoring.reference import REFERENCE_FILE

    def reference(path: Path, manifest: dict) -> dict | None:
        digest = manifest.get("files", {}).get(REFERENCE_FILE)
        if digest is None:
            return None
        if artifacts.file_sha256(path / REFERENCE_FILE) != digest:
            from mlwright.errors import ArtifactIntegrityError

            raise ArtifactIntegrityError(f"{path / REFERENCE_FILE} does not match its manifest; refusing to use it")
        return json.loads((path / REFERENCE_FILE).read_text(encoding="utf-8"))

    path = Path(ref)
    if path.is_dir() and (path / "manifest.json").exists():
        manifest = artifacts.read_manifest(path)
        return path.name, Schema.from_dict(manifest["schema"]), {"local": reference(path, manifest)}
    from mlwright.registry import Registry, parse_ref

    reg = Registry(store)
    name, _ = parse_ref(ref)
    current = reg.resolve(ref)
    refs: dict[str, dict | None] = {}
    schema = None
    for v in reg.versions(name):
        p = reg.verified_path(v)
        manifest = artifacts.read_manifest(p)
        refs[str(v.version)] = reference(p, manifest)
        if v.version == current.version:
            schema = Schema.from_dict(manifest["schema"])
    return name, schema, refs
