"""Dashboard pages for segments and anomalies: start a clusterer or a detector from "New run" (no target
needed) and the report of a registered one."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from mlwright.errors import ConfigError
from mlwright.ui.pages_forecast import form_names, form_number
from mlwright.ui.web import HEADERS, UI, redirect

__all__ = ["add_unsupervised_pages", "unsupervised_spec"]

KINDS = ("cluster", "anomaly")


def unsupervised_spec(form: Any, columns: list[str]) -> tuple[str, float, dict[str, Any]]:
    """The kind, budget and settings of the "Segments / anomalies" form (typed errors for what does not fit)."""
    kind = str(form.get("kind") or "")
    if kind not in KINDS:
        raise ConfigError(f"choose what to find: segments (cluster) or anomalies (anomaly), got {kind!r}")
    exclude = form_names(form.get("exclude"), columns, "columns to leave out")
    labels = str(form.get("labels") or "").strip() or None
    if labels is not None and labels not in columns:
        raise ConfigError(f"the labels column {labels!r} is not a column of this table")
    k = str(form.get("k") or "").strip()
    contamination = str(form.get("contamination") or "").strip()
    share = form_number(contamination, "the anomaly share", "0.05", 0.0001, 0.4999) if contamination else None
    spec: dict[str, Any] = {
        "exclude": exclude,
        "k": int(form_number(k, "the number of clusters", "2", 2, 100, whole=True)) if k else None,
        "contamination": share,
        "labels": labels if kind == "anomaly" else None,
    }
    if len(set(exclude) | ({labels} if labels else set())) >= len(columns):
        raise ConfigError("every column is left out; keep at least one to learn from")
    return kind, form_number(form.get("time_budget"), "the time budget", "60", 1, 24 * 3600), spec


def add_unsupervised_pages(app: FastAPI, ui: UI) -> None:
    """Start a clusterer or a detector, and a registered one's report."""

    @app.post("/ui/new/{uid}/unsupervised", include_in_schema=False)
    @ui.action
    def start_unsupervised(request: Request, uid: str) -> Response:
        columns = ui.jobs.meta(uid).get("columns") or []
        kind, budget, spec = unsupervised_spec(request.state.form, columns)
        jid = ui.jobs.start(uid, spec["labels"] or "", budget, None, unsupervised={"kind": kind, **spec})
        return redirect(f"/ui/jobs/{jid}")

    @app.get("/ui/models/{name}/report", include_in_schema=False)
    @ui.page
    def model_report(request: Request, name: str) -> Response:
        version = request.query_params.get("version")
        ref = f"{name}@{int(version)}" if version and version.isdigit() else name
        v = ui.registry().resolve(ref)
        model = ui.registry().load(v.ref)
        if getattr(model, "kind", None) not in KINDS:
            raise ConfigError(f"{name} version {v.version} is not a cluster or anomaly model; see its run's report")
        return HTMLResponse(model.report(), headers=HEADERS)
