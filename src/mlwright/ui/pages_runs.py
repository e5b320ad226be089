"""Dashboard pages: new run (upload / SQL → target → profile → start), live progress and cancel, runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from mlwright.errors import ConfigError, MlwrightError, ModelNotFoundError, UploadError
from mlwright.ui.jobs import SUFFIXES, read_upload
from mlwright.ui.web import HEADERS, UI, redirect

__all__ = ["add_run_pages"]

MAX_UPLOAD_BYTES = 2 * 1024**3
PREVIEW_ROWS = 8


def _profile_file(ui: UI, uid: str, target: str, suffix: str) -> Path:
    """Where the profile of upload ``uid`` for ``target`` is cached (``.json`` or ``.html``)."""
    key = "".join(ch if ch.isalnum() else "_" for ch in target)[:60]
    return ui.jobs.upload_path(uid).parent / f"profile-{key}{suffix}"


def _profile(ui: UI, uid: str, target: str) -> dict[str, Any]:
    """The profile of an upload for ``target`` (cached next to it as JSON + HTML)."""
    from mlwright.data.profile import profile

    cached = _profile_file(ui, uid, target, ".json")
    if cached.exists():
        return json.loads(cached.read_text(encoding="utf-8"))
    p = profile(read_upload(ui.jobs.upload_path(uid)), target)
    p.to_html(_profile_file(ui, uid, target, ".html"))
    out = p.to_dict()
    cached.write_text(json.dumps(out, default=str), encoding="utf-8")
    return out


def _leaderboard(detail: dict[str, Any], report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The saved model's leaderboard (ensemble included, the served row marked) when its report is there, else
    the store's trials best first (by the metric's direction); failed and skipped trials last, with why."""
    from mlwright.evaluation.metrics import get_metric

    trials = detail.get("trial_records") or []
    failed = [{"model": t["model"], "family": t["family"], "status": t["status"], "score": None,
               "fit_seconds": t.get("fit_seconds"), "error": t.get("error")}
              for t in trials if t.get("score") is None]  # fmt: skip
    if report and report.get("leaderboard"):
        return [{"model": r["model"], "family": r["family"], "status": "served" if r.get("served") else "ok",
                 "score": r.get("score_val"), "fit_seconds": r.get("fit_seconds"),
                 "predict_seconds": r.get("predict_seconds"), "served": bool(r.get("served"))}
                for r in report["leaderboard"]] + failed  # fmt: skip
    try:
        better = get_metric(detail["metric"], detail.get("task")).greater_is_better if detail.get("metric") else True
    except MlwrightError:
        better = True
    ok = [{"model": t["model"], "family": t["family"], "status": t["status"], "score": t["score"],
           "fit_seconds": t.get("fit_seconds")} for t in trials if t.get("score") is not None]  # fmt: skip
    return sorted(ok, key=lambda t: t["score"], reverse=better) + failed


def _model_dir(detail: dict[str, Any]) -> Path | None:
    p = detail.get("model_path")
    if p and (Path(p) / "manifest.json").is_file():
        return Path(p)
    return None


def add_run_pages(app: FastAPI, ui: UI) -> None:
    """New run, progress, runs list and detail, report, registering a run's model."""
    _add_new_run_pages(app, ui)
    _add_job_pages(app, ui)
    _add_runs_pages(app, ui)


def _add_new_run_pages(app: FastAPI, ui: UI) -> None:
    """New run: upload or SQL, choose the target, profile, start a background fit."""
    _add_upload_pages(app, ui)
    _add_start_pages(app, ui)


def _add_upload_pages(app: FastAPI, ui: UI) -> None:
    """New run: the page, and a table uploaded or read by SQL."""

    @app.get("/ui/new", include_in_schema=False)
    @ui.page
    def new_page(request: Request) -> Response:
        return ui.render(request, "new.j2", title="New run", suffixes=", ".join(SUFFIXES))

    @app.post("/ui/new/upload", include_in_schema=False)
    @ui.action
    def upload(request: Request) -> Response:
        f = request.state.form.get("file")
        if f is None or isinstance(f, str) or not f.filename:
            raise UploadError("choose a CSV or Parquet file to upload")
        uid, dest = ui.jobs.new_upload(f.filename)
        size = 0
        try:
            with open(dest, "wb") as out:
                while chunk := f.file.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise UploadError(
                            f"the file is larger than {MAX_UPLOAD_BYTES >> 30} GiB; use `mlwright fit "
                            "--memory-limit` from the command line for tables this large"
                        )
                    out.write(chunk)
            if size == 0:
                raise UploadError(f"{f.filename!r} is empty")
            cols = read_upload(dest, rows=50, name=f.filename).columns
        except MlwrightError:
            shutil.rmtree(dest.parent, ignore_errors=True)
            raise
        ui.jobs.set_meta(uid, name=Path(f.filename).name[:200], bytes=size, source={"upload": Path(f.filename).name},
                         columns=[str(c) for c in cols])  # fmt: skip
        return redirect(f"/ui/new/{uid}")

    @app.post("/ui/new/sql", include_in_schema=False)
    @ui.action
    def from_sql(request: Request) -> Response:
        from mlwright.data.sql import SqlSource

        form = request.state.form
        db, query = str(form.get("db") or "").strip(), str(form.get("query") or "").strip()
        if not db or not query:
            raise ConfigError("give both the database URL (SQLAlchemy, e.g. postgresql+psycopg://user@host/db) "
                              "and a SELECT query")  # fmt: skip
        src = SqlSource(query, db)
        df = src.read()
        if df.empty:
            raise UploadError("the query returned no rows")
        uid, dest = ui.jobs.new_upload("query.parquet")
        df.to_parquet(dest)
        ui.jobs.set_meta(uid, name=f"SQL: {query[:80]}", source=src.describe(), columns=[str(c) for c in df.columns])
        return redirect(f"/ui/new/{uid}")


def _add_start_pages(app: FastAPI, ui: UI) -> None:
    """New run: choose the target, see the profile, start the fit."""

    @app.get("/ui/new/{uid}", include_in_schema=False)
    @ui.page
    def choose(request: Request, uid: str) -> Response:
        path = ui.jobs.upload_path(uid)
        meta = ui.jobs.meta(uid)
        head = read_upload(path, rows=PREVIEW_ROWS)
        columns = [str(c) for c in head.columns]
        target = request.query_params.get("target") or ""
        prof = None
        if target:
            if target not in columns:
                from mlwright.errors import did_you_mean

                raise ConfigError(f"{target!r} is not a column of this table{did_you_mean(target, columns)}")
            prof = _profile(ui, uid, target)
        preview = [[("" if v is None else str(v))[:40] for v in row] for row in head.astype(object).itertuples(False)]
        order = {"critical": 0, "warning": 1, "info": 2}
        findings = sorted((prof or {}).get("findings", []), key=lambda f: order.get(f["severity"], 3))
        return ui.render(request, "choose.j2", title="New run", uid=uid, meta=meta, columns=columns, preview=preview,
                         target=target, profile=prof, findings=findings,
                         guess_time=_time_column(prof))  # fmt: skip

    @app.get("/ui/new/{uid}/profile", include_in_schema=False)
    @ui.page
    def profile_html(request: Request, uid: str) -> Response:
        target = request.query_params.get("target") or ""
        _profile(ui, uid, target)
        html = _profile_file(ui, uid, target, ".html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers=HEADERS)

    @app.post("/ui/new/{uid}/start", include_in_schema=False)
    @ui.action
    def start(request: Request, uid: str) -> Response:
        form = request.state.form
        target = str(form.get("target") or "")
        columns = ui.jobs.meta(uid).get("columns") or []
        if target not in columns:
            raise ConfigError(f"choose the target among the table's columns ({', '.join(columns[:20])})")
        try:
            budget = float(str(form.get("time_budget") or "60"))
        except ValueError:
            raise ConfigError(f"the time budget must be a number of seconds, got {form.get('time_budget')!r}") from None
        metric = str(form.get("metric") or "").strip() or None
        if metric is not None:
            from mlwright.evaluation.metrics import get_metric

            get_metric(metric)  # an unknown metric fails here, listing the valid ones
        jid = ui.jobs.start(uid, target, budget, metric, fairness=_fairness_form(form, columns, target))
        return redirect(f"/ui/jobs/{jid}")


def _fairness_form(form: Any, columns: list[str], target: str) -> dict[str, Any] | None:
    """The sensitive columns and the optional constraint of the "Train" form (checked), or None."""
    from mlwright.fairness.thresholds import constraint_from
    from mlwright.ui.pages_forecast import form_names, form_number

    sensitive = form_names(form.get("sensitive"), columns, "sensitive columns")
    if target in sensitive:
        raise ConfigError(f"{target!r} is the target; it cannot also be a sensitive column")
    metric = str(form.get("fairness") or "").strip()
    if metric and not sensitive:
        raise ConfigError("a fairness constraint needs the sensitive columns: name them (e.g. sex, race)")
    if not sensitive:
        return None
    constraint = None
    if metric:
        d = form_number(form.get("max_difference"), "the largest difference", "0.05", 0.001, 0.999)
        constraint = constraint_from({"metric": metric, "max_difference": d})
    return {"sensitive": sensitive, "constraint": constraint}


def _add_job_pages(app: FastAPI, ui: UI) -> None:
    """A background fit: its page, live progress and cancel."""

    @app.get("/ui/jobs/{jid}", include_in_schema=False)
    @ui.page
    def job_page(request: Request, jid: str) -> Response:
        st = ui.jobs.status(jid)
        log_tail = ""
        if st["state"] == "failed":
            text = (ui.jobs.folder(jid) / "log.txt").read_text(encoding="utf-8", errors="replace")
            log_tail = "\n".join(text.splitlines()[-25:])
        return ui.render(request, "job.j2", title="Run in progress" if st["state"] == "running" else "Run", job=st,
                         log_tail=log_tail)  # fmt: skip

    @app.get("/ui/jobs/{jid}/progress", include_in_schema=False)
    @ui.page
    def job_progress(request: Request, jid: str) -> Response:
        st = ui.jobs.status(jid)
        keep = ("state", "trials", "best_model", "best_score", "metric", "elapsed", "time_left", "budget", "run_id",
                "error", "last_model")  # fmt: skip
        return JSONResponse({k: st.get(k) for k in keep}, headers={"Cache-Control": "no-store"})

    @app.post("/ui/jobs/{jid}/cancel", include_in_schema=False)
    @ui.action
    def job_cancel(request: Request, jid: str) -> Response:
        st = ui.jobs.cancel(jid)
        return redirect(f"/ui/jobs/{jid}?msg=" + ("cancelled" if st["state"] == "cancelled" else st["state"]))


def _add_runs_pages(app: FastAPI, ui: UI) -> None:
    """Runs: the list, one run, its report, and registering its model."""

    @app.get("/ui/runs", include_in_schema=False)
    @ui.page
    def runs_page(request: Request) -> Response:
        from mlwright.tracking import runs

        jobs = ui.jobs.list(limit=30)
        return ui.render(request, "runs.j2", title="Runs", runs=runs(ui.core.store_url, limit=100),
                         jobs=[j for j in jobs if j.get("state") in ("running", "starting")],
                         unstarted=[j for j in jobs if j.get("state") not in ("running", "starting")
                                    and not j.get("run_id")])  # fmt: skip

    @app.get("/ui/runs/{rid}", include_in_schema=False)
    @ui.page
    def run_page(request: Request, rid: str) -> Response:
        from mlwright.tracking import run_detail

        detail = run_detail(rid, ui.core.store_url)
        model_dir = _model_dir(detail)
        report = None
        if model_dir is not None and (model_dir / "report.json").is_file():
            report = json.loads((model_dir / "report.json").read_text(encoding="utf-8"))
        registered = _registered_as(ui, detail["id"])
        return ui.render(request, "run.j2", title=f"Run {detail['id']}", run=detail, board=_leaderboard(detail, report),
                         model_dir=model_dir, report=report, registered=registered,
                         default_name=_default_name(detail))  # fmt: skip

    @app.get("/ui/runs/{rid}/report", include_in_schema=False)
    @ui.page
    def run_report(request: Request, rid: str) -> Response:
        from mlwright.tracking import run_detail

        model_dir = _model_dir(run_detail(rid, ui.core.store_url))
        if model_dir is None or not (model_dir / "report.html").is_file():
            raise ModelNotFoundError("this run has no saved model report (the run failed, or its model was moved)")
        return HTMLResponse((model_dir / "report.html").read_text(encoding="utf-8"), headers=HEADERS)

    @app.post("/ui/runs/{rid}/register", include_in_schema=False)
    @ui.action
    def register(request: Request, rid: str) -> Response:
        from mlwright.tracking import run_detail

        detail = run_detail(rid, ui.core.store_url)
        model_dir = _model_dir(detail)
        if model_dir is None:
            raise ModelNotFoundError("this run has no saved model to register (it failed, or its model was moved)")
        name = str(request.state.form.get("name") or "").strip()
        v = ui.registry().register(model_dir, name, description=f"from run {detail['id']} (dashboard)")
        return redirect(f"/ui/models/{v.name}?msg=registered+as+version+{v.version}")


def _time_column(profile: dict[str, Any] | None) -> str | None:
    """The first date column of a profiled table (the "Forecast" form's guess for the time column)."""
    for c in (profile or {}).get("columns", []):
        if c.get("kind") == "datetime":
            return str(c["name"])
    return None


def _registered_as(ui: UI, run_id: str) -> list[dict[str, Any]]:
    """Registry versions made from this run."""
    from mlwright.store.registry import versions_of_run

    return versions_of_run(ui.store(), run_id)


def _default_name(detail: dict[str, Any]) -> str:
    import re

    base = re.sub(r"[^A-Za-z0-9_-]+", "-", str(detail.get("target") or "model")).strip("-").lower()
    return base or "model"
