"""The one rule for turning values into JSON: what mlwright writes (manifests, reports, profiles, logs, API
answers) goes through :func:`plain` (a value) or :func:`default` (``json.dumps(..., default=default)``)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

__all__ = ["default", "plain", "stored"]


def plain(o: Any) -> Any:
    """``o`` as plain JSON values: mapping keys as text, sequences and arrays as lists, numpy scalars as
    Python numbers, dates and timestamps as ISO text, NaN and ±inf as None; other objects unchanged."""
    if isinstance(o, dict):
        return {str(k): plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, np.ndarray)):
        return [plain(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float):
        return o if np.isfinite(o) else None
    if isinstance(o, (_dt.datetime, _dt.date)):
        return o.isoformat()
    return o


def default(o: Any) -> Any:
    """``json.dumps``' fallback: numpy values and dates as :func:`plain` makes them, anything else as text."""
    if isinstance(o, (np.generic, np.ndarray, _dt.datetime, _dt.date)):
        return plain(o)
    return str(o)


def stored(o: Any) -> Any:
    """``o`` exactly as it reads back from JSON (what a JSON column of the store will hold): :func:`plain`,
    then every other object as text."""
    import json

    return json.loads(json.dumps(plain(o), default=default))
