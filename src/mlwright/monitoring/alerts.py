"""Alert rules over monitoring windows: a log line each, and an optional webhook call.

Rules (``MonitorConfig.alerts``: rule → threshold; a rule without a threshold is off):

======================  ==========================================================================
``drift_share``         share of features drifting (PSI ≥ ``MonitorConfig.psi``) reaches the value
``output_psi``          PSI of the model's outputs reaches the value
``feature_psi``         any one feature's PSI reaches the value
``missing_increase``    mean missing-value share rose by at least the value over training
``unseen``              share of values never seen in training (any categorical column) reaches it
``latency_p99_ms``      99th percentile latency (per request) reaches the value
``error_rate``          share of error answers reaches the value
``metric_min``          the live metric (higher is better) falls below the value
``metric_max``          the live metric (lower is better: log loss, RMSE, MASE …) rises above the value
``coverage_min``        a forecaster's central interval (0.1 – 0.9) holds fewer of the actuals than the value
``coverage_max``        … or more than the value (intervals too wide to be useful)
*a disparity*           per sensitive group (``equalized_odds_difference``, ``demographic_parity_ratio`` …,
                        :data:`~mlwright.fairness.groups.FAIRER`): a difference reaches the value, or a ratio
                        falls to it (demographic parity from every row; the others from labelled rows)
======================  ==========================================================================
"""

from __future__ import annotations

import logging
from typing import Any

from mlwright.fairness.groups import FAIRER
from mlwright.monitoring.fairness import breached

__all__ = ["RULES", "check_alerts", "fire_alerts"]

log = logging.getLogger("mlwright.monitoring")


def _live(w: dict[str, Any]) -> float | None:
    return (w.get("live") or {}).get("value")


RULES: dict[str, Any] = {
    "drift_share": lambda w, x: w.get("judged") and (w.get("drift_share") or 0) >= x,
    "output_psi": lambda w, x: w.get("judged") and ((w.get("output") or {}).get("psi") or 0) >= x,
    "feature_psi": lambda w, x: (
        w.get("judged") and any((f.get("psi") or 0) >= x for f in (w.get("features") or {}).values())
    ),
    "missing_increase": lambda w, x: (w.get("missing") or 0) - (w.get("missing_ref") or 0) >= x,
    "unseen": lambda w, x: (w.get("unseen") or 0) >= x,
    "latency_p99_ms": lambda w, x: w.get("latency_p99_ms", 0) >= x,
    "error_rate": lambda w, x: w.get("error_rate", 0) >= x,
    "metric_min": lambda w, x: _live(w) is not None and _live(w) < x,
    "metric_max": lambda w, x: _live(w) is not None and _live(w) > x,
    "coverage_min": lambda w, x: _coverage(w) is not None and _coverage(w) < x,
    "coverage_max": lambda w, x: _coverage(w) is not None and _coverage(w) > x,
}


RULES |= {name: (lambda w, x, name=name: breached(w, name, x)) for name in FAIRER}


def _coverage(w: dict[str, Any]) -> float | None:
    return ((w.get("live") or {}).get("scores") or {}).get("coverage")


def check_alerts(result, config) -> list[dict[str, Any]]:
    """The alerts every window raises under ``config.alerts`` (unknown rules: a clear error)."""
    from mlwright.errors import ConfigError

    unknown = set(config.alerts) - set(RULES)
    if unknown:
        raise ConfigError(f"unknown alert rule(s) {sorted(unknown)}; known: {', '.join(RULES)}")
    out = []
    for w in result.windows:
        for rule, threshold in config.alerts.items():
            if threshold is not None and RULES[rule](w, float(threshold)):
                out.append({"window": w["start"], "version": w.get("version"), "rule": rule,
                            "threshold": float(threshold), "value": _value(rule, w)})  # fmt: skip
    return out


def _value(rule: str, w: dict[str, Any]) -> Any:
    if rule in FAIRER:
        return ((w.get("fairness") or {}).get("disparities") or {}).get(rule)
    if rule == "feature_psi":
        feats = w.get("features") or {}
        name = max(feats, key=lambda k: feats[k].get("psi") or 0)
        return {name: feats[name].get("psi")}
    return {
        "drift_share": w.get("drift_share"),
        "output_psi": (w.get("output") or {}).get("psi"),
        "missing_increase": (w.get("missing") or 0) - (w.get("missing_ref") or 0),
        "unseen": w.get("unseen"),
        "latency_p99_ms": w.get("latency_p99_ms"),
        "error_rate": w.get("error_rate"),
        "metric_min": _live(w),
        "metric_max": _live(w),
        "coverage_min": _coverage(w),
        "coverage_max": _coverage(w),
    }[rule]


def fire_alerts(result, webhook: str | None = None, latest_only: bool = True) -> list[dict[str, Any]]:
    """Log each alert (of the latest window only, by default: earlier ones were reported when they were
    the latest) and POST them as JSON to ``webhook``; a webhook that fails is logged, never raised."""
    alerts = result.alerts
    if latest_only and result.windows:
        alerts = [a for a in alerts if a["window"] == result.windows[-1]["start"]]
    for a in alerts:
        log.warning("ALERT %s: %s = %s (threshold %s) in the window from %s", result.model, a["rule"], a["value"],
                    a["threshold"], a["window"])  # fmt: skip
    if alerts and webhook:
        import json
        import urllib.error
        import urllib.request

        body = json.dumps({"model": result.model, "alerts": alerts}, default=str).encode()
        req = urllib.request.Request(webhook, data=body, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5.0):  # http(s) only: MonitorConfig checks the scheme
                pass
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.error("alert webhook %s failed: %s", webhook, exc)
    return alerts
