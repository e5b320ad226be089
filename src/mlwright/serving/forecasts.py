"""A forecast request (``POST /v1/models/{name}/forecast``) → the ``(series, time stamp)`` rows it stands for,
and the scored rows → the answer's records.  The rows are scored, capped and logged like any prediction
request (:meth:`~mlwright.serving.core.Core.predict`), so feedback and monitoring see them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlwright.errors import BadRequest
from mlwright.jsonsafe import plain
from mlwright.serving.core import ServedModel
from mlwright.serving.payloads import records_frame

__all__ = ["forecast_records", "forecast_rows"]

_KEYS = {"series", "horizon", "future"}


def forecast_rows(served: ServedModel, body: Any) -> pd.DataFrame:
    """The rows of a forecast request's JSON ``body`` (see the endpoint); 400 for a body of another shape,
    422 for unknown series, a horizon out of range or missing covariates."""
    from mlwright.forecast.scoring import request_rows

    model = served.model
    if model.schema_.task != "forecast":
        raise BadRequest(f"model {served.name!r} is a {model.schema_.task} model, not a forecaster; POST its rows "
                         f"to /v1/models/{served.name}/predict")  # fmt: skip
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object: {"series": [...], "horizon": k, "future": [{...}, ...]} (all optional)')
    extra = sorted(set(body) - _KEYS)
    if extra:
        raise BadRequest(f"unknown field(s) {extra} in the forecast request; it takes {sorted(_KEYS)}")
    future = body.get("future")
    frame = records_frame(future) if future is not None else None
    return request_rows(model, body.get("series"), body.get("horizon"), frame)


def forecast_records(served: ServedModel, rows: pd.DataFrame, res: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per forecast step: the id columns, the time stamp (ISO 8601), ``mean``, the quantiles and
    the ``prediction_id`` to send the actual value back with."""
    model = served.model
    fr = model.frame_
    out = pd.DataFrame({c: rows[c].to_numpy() for c in fr.id_columns})
    out[fr.time_column] = pd.to_datetime(rows[fr.time_column]).dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy()
    out["mean"] = res["predictions"]
    for lv, vals in res["quantiles"].items():
        out[lv] = vals
    out["prediction_id"] = res["ids"]
    return [{k: plain(v) for k, v in r.items()} for r in out.to_dict(orient="records")]
