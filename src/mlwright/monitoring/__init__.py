"""Monitoring: reference statistics of the training data, drift and live metrics over the prediction log.

:func:`monitor_model` is the one call: a model directory or registered name → per-window results
(:class:`~mlwright.monitoring.drift.MonitorResult`) with the alerts its rules raise.

Package: :mod:`.stats` sits low (the data checks use it), :mod:`.reference` beside the report, :mod:`.feedback`
beside serving; drift and alerts above serving and the registry (see ``tests/test_layers.py``).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlwright.monitoring.drift import MonitorConfig, MonitorResult

__all__ = ["MonitorConfig", "MonitorResult", "monitor", "monitor_model", "parse_window", "record_feedback"]


def monitor_model(
    model: str,
    config: MonitorConfig | None = None,
    since: _dt.datetime | str | None = None,
    store: str | None = None,
) -> MonitorResult:
    """Monitor ``model`` (a model directory, or a registered ``name`` / ``name@alias``; ``name:shadow`` for its
    shadow's scores of the same requests) over its prediction log.

    ``since``: a datetime, an ISO date, or a duration back from now (``"7d"``); None: the whole log.
    """
    from mlwright.monitoring.drift import monitor
    from mlwright.monitoring.feedback import model_info
    from mlwright.store import Store

    st = Store(store)
    shadow = model.endswith(":shadow")  # the challenger scored alongside (``serve --shadow``)
    name, schema, references = model_info(model.removesuffix(":shadow"), st)
    if shadow:
        name += ":shadow"
    return monitor(name, references, schema, st, config, _since(since))


def __getattr__(name: str) -> Any:  # lazily: mlwright.data imports the statistics module of this package
    if name in ("MonitorConfig", "MonitorResult", "monitor", "parse_window"):
        from mlwright.monitoring import drift

        return getattr(drift, name)
    if name == "record_feedback":
        from mlwright.monitoring.feedback import record_feedback

        return record_feedback
    raise AttributeError(name)


def _since(since: _dt.datetime | str | None) -> _dt.datetime | None:
    if since is None or isinstance(since, _dt.datetime):
        return since
    try:
        from mlwright.monitoring.drift import parse_window

        return _dt.datetime.now(_dt.UTC) - parse_window(since).to_pytimedelta()
    except Exception:
        pass
    try:
        t = _dt.datetime.fromisoformat(since)
    except ValueError:
        from mlwright.errors import ConfigError

        raise ConfigError(f"--since {since!r} is neither a duration (7d, 12h) nor a date (2026-11-01)") from None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)
