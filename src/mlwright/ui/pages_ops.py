"""Dashboard pages: models (promote / roll back), monitoring, pipelines, predict, review."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote, quote_plus

from fastapi import FastAPI, Request
from fastapi.responses import Response

from mlwright.errors import ConfigError, MlwrightError, ModelNotFoundError
from mlwright.ui.pages_monitor import add_monitor_pages, add_pick_page
from mlwright.ui.web import UI, redirect

__all__ = ["add_ops_pages"]

REVIEW_BATCHES = 40  # newest logged request batches shown on the review page
REVIEW_ROWS = 200


# ---------------------------------------------------------------------------- models to predict with
def _predictable(ui: UI) -> list[dict[str, Any]]:
    """Served models, then registered models not served (their champion, else the newest ready version)."""
    out = [{"name": m.name, "version": m.version, "served": True, "task": m.model.schema_.task}
           for m in ui.core.models.values()]  # fmt: skip
    try:
        for m in ui.registry().models():
            if m["name"] not in ui.core.models:
                v = m["aliases"].get("champion", m["latest"])
                out.append({"name": m["name"], "version": str(v), "served": False, "task": None})
    except MlwrightError:
        pass
    return out


def served_model(ui: UI, name: str):
    """The served model ``name``, or the registered one (champion, else newest ready), loaded and verified."""
    from mlwright.serving.core import ServedModel

    if name in ui.core.models:
        return ui.core.models[name]
    reg = ui.registry()
    v = reg.get(name)  # raises with the registered names when unknown
    key = (v.name, str(v.version))
    with ui.models_lock:  # two pages asking at once load it once
        if key not in ui.models_cache:
            ui.models_cache.clear()  # one at a time: the dashboard is not the place to keep many models in memory
            ui.models_cache[key] = ServedModel(v.name, reg.load(v.ref), str(v.version), v.ref)
        return ui.models_cache[key]


def _inputs(schema) -> list[dict[str, Any]]:
    """The form's fields: one per used column, typed by its kind (choices for categorical ones)."""
    fields = []
    for c in schema.columns:
        if not c.used:
            continue
        f: dict[str, Any] = {"name": c.name, "kind": c.kind, "missing": c.missing}
        if c.kind in ("numeric", "integer"):
            f["type"] = "number"
        elif c.kind == "boolean":
            f["type"] = "select"
            f["choices"] = ["true", "false"]
        elif c.kind == "datetime":
            f["type"] = "datetime-local"
        elif c.kind in ("categorical", "ordinal") and c.top:
            f["type"] = "select"
            f["choices"] = [str(v) for v in c.top]
        else:
            f["type"] = "text"
        fields.append(f)
    return fields


def _record(fields: list[dict[str, Any]], form) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values as one input row (numbers parsed, blanks missing) and any per-field problems."""
    row: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for f in fields:
        raw = str(form.get(f"f_{f['name']}") or "").strip()
        if raw == "":
            row[f["name"]] = None
        elif f["type"] == "number":
            try:
                v = float(raw)
            except ValueError:
                problems[f["name"]] = f"{raw!r} is not a number"
                continue
            if not math.isfinite(v):
                problems[f["name"]] = f"{raw!r} is not a finite number"
                continue
            row[f["name"]] = v
        elif f["kind"] == "boolean":
            if raw.lower() not in ("true", "false"):
                problems[f["name"]] = f"{raw!r} is not true or false"
                continue
            row[f["name"]] = raw.lower() == "true"
        else:
            row[f["name"]] = raw
    return row, problems


def add_ops_pages(app: FastAPI, ui: UI) -> None:
    """Models, monitoring, pipelines, predict and review."""

    add_monitor_pages(app, ui)
    _add_model_pages(app, ui)
    _add_pipeline_pages(app, ui)
    _add_predict_pages(app, ui)
    _add_review_pages(app, ui)


def _add_model_pages(app: FastAPI, ui: UI) -> None:
    """The models pages."""

    @app.get("/ui/models", include_in_schema=False)
    @ui.page
    def models_page(request: Request) -> Response:
        return ui.render(request, "models.j2", title="Models", models=ui.registry().models(),
                         served=[m.describe() for m in ui.core.models.values()])  # fmt: skip

    @app.get("/ui/models/{name}", include_in_schema=False)
    @ui.page
    def model_page(request: Request, name: str) -> Response:
        from mlwright.store.registry import alias_changes

        reg = ui.registry()
        versions = reg.versions(name)
        history = alias_changes(ui.store(), name, limit=30)
        served = ui.core.models.get(name)
        return ui.render(request, "model.j2", title=f"Model {name}", name=name, versions=versions,
                         history=history,
                         served=served.describe() if served else None)  # fmt: skip

    @app.get("/ui/models/{name}/promote", include_in_schema=False)
    @ui.page
    def promote_confirm(request: Request, name: str) -> Response:
        reg = ui.registry()
        alias = request.query_params.get("alias") or "champion"
        v = reg.get(name, _int(request.query_params.get("version"), "version"))
        try:
            current = reg.get(name, alias)
        except ModelNotFoundError:
            current = None
        return ui.render(request, "confirm.j2", title="Confirm promotion", name=name, action="promote",
                         alias=alias, target=v, current=current)  # fmt: skip

    @app.post("/ui/models/{name}/{what}", include_in_schema=False)
    @ui.action
    def move_alias(request: Request, name: str, what: str) -> Response:
        """Promote a version to an alias, or roll the alias back: only once the confirmation box is ticked."""
        form = request.state.form
        if what not in ("promote", "rollback"):
            raise ModelNotFoundError(f"no action {what!r} on models; use promote or rollback")
        if form.get("confirm") != "yes":
            raise ConfigError(f"{'promotion' if what == 'promote' else 'rollback'} not confirmed: tick the "
                              "confirmation box")  # fmt: skip
        alias = str(form.get("alias") or "champion")
        reg = ui.registry()
        if what == "promote":
            v = reg.promote(name, _int(form.get("version"), "version"), alias)
            said = f"version {v.version} is now {alias}"
        else:
            v = reg.rollback(name, alias)
            said = f"{alias} rolled back to version {v.version}"
        _follow(ui, name)
        return redirect(f"/ui/models/{quote(name)}?msg={quote_plus(said)}")

    @app.get("/ui/models/{name}/rollback", include_in_schema=False)
    @ui.page
    def rollback_confirm(request: Request, name: str) -> Response:
        reg = ui.registry()
        alias = request.query_params.get("alias") or "champion"
        current = reg.get(name, alias)
        return ui.render(request, "confirm.j2", title="Confirm rollback", name=name, action="rollback", alias=alias,
                         target=None, current=current)  # fmt: skip


def _add_pipeline_pages(app: FastAPI, ui: UI) -> None:
    """The pipelines pages."""

    @app.get("/ui/pipelines", include_in_schema=False)
    @ui.page
    def pipelines_page(request: Request) -> Response:
        from mlwright.loop.pipelines import pipeline_runs

        runs = pipeline_runs(ui.core.store_url, limit=50)
        return ui.render(request, "pipelines.j2", title="Pipelines", runs=runs, pipelines=_schedules(runs))

    @app.post("/ui/pipelines/run", include_in_schema=False)
    @ui.action
    def pipeline_run_now(request: Request) -> Response:
        from mlwright.loop.pipelines import pipeline_runs

        file = str(request.state.form.get("file") or "")
        known = {p["file"]: p["name"] for p in _schedules(pipeline_runs(ui.core.store_url, limit=200)) if p["file"]}
        if file not in known:
            raise ConfigError("only a pipeline this store has run before can be started here; run a new one once "
                              "with `mlwright pipeline run FILE`")  # fmt: skip
        ui.jobs.run_pipeline(file)
        said = f"started {known[file]} (it appears below once it has begun)"
        return redirect(f"/ui/pipelines?msg={quote_plus(said)}")

    @app.get("/ui/pipelines/runs/{rid}", include_in_schema=False)
    @ui.page
    def pipeline_run_page(request: Request, rid: str) -> Response:
        from mlwright.loop.pipelines import pipeline_runs

        found = [r for r in pipeline_runs(ui.core.store_url, limit=500) if r["id"] == rid]
        if not found:
            raise ModelNotFoundError(f"no pipeline run {rid!r}")
        run = found[0]
        for s in run["steps"]:
            s["result_json"] = json.dumps(s.get("result"), indent=1, default=str) if s.get("result") else ""
        return ui.render(request, "pipeline_run.j2", title=f"Pipeline run {rid[:8]}", run=run)


def _add_predict_pages(app: FastAPI, ui: UI) -> None:
    """The predict pages."""

    @app.get("/ui/predict", include_in_schema=False)
    @ui.page
    def predict_list(request: Request) -> Response:
        return ui.render(request, "pick.j2", title="Predict", models=_predictable(ui), base="/ui/predict",
                         intro="Choose a model to fill in a row and get its prediction.")  # fmt: skip

    @app.api_route("/ui/predict/{name}", methods=["GET"], include_in_schema=False)
    @ui.page
    def predict_form(request: Request, name: str) -> Response:
        served = served_model(ui, name)
        if getattr(served.model, "kind", None) == "forecast":  # a forecaster's page: series, horizon, chart
            return redirect(f"/ui/forecast/{quote(name)}")
        return ui.render(request, "predict.j2", title=f"Predict with {name}", served=served,
                         fields=_inputs(served.model.schema_), values={}, result=None, problems={})  # fmt: skip

    @app.post("/ui/predict/{name}", include_in_schema=False)
    @ui.action
    def predict(request: Request, name: str) -> Response:
        served = served_model(ui, name)
        fields = _inputs(served.model.schema_)
        form = request.state.form
        values = {f["name"]: str(form.get(f"f_{f['name']}") or "") for f in fields}
        row, problems = _record(fields, form)
        result = None
        status = 200
        if problems:
            status = 422
        else:
            import pandas as pd

            try:
                res = ui.call(ui.core.predict, served, pd.DataFrame([row]))
            except MlwrightError as exc:
                problems = dict(getattr(exc, "columns", None) or {}) or {"": str(exc)}
                status = exc.http_status
            else:
                probs = None
                if res["probabilities"] is not None:
                    probs = sorted(zip(map(str, res["labels"]), map(float, res["probabilities"][0])),
                                   key=lambda kv: -kv[1])  # fmt: skip
                from mlwright.ui.scoring import explain_row

                result = {"prediction": res["predictions"][0], "probabilities": probs, "id": res["ids"][0],
                          "why": explain_row(served.model, pd.DataFrame([row]))}  # fmt: skip
                if res.get("scores") is not None:  # an anomaly detector: the verdict, its score and threshold
                    verdict = "anomaly" if res["predictions"][0] else "normal"
                    result |= {"prediction": verdict, "score": float(res["scores"][0]),
                               "threshold": float(served.model.threshold_)}  # fmt: skip
        return ui.render(request, "predict.j2", status=status, title=f"Predict with {name}", served=served,
                         fields=fields, values=values, result=result, problems=problems)  # fmt: skip

    @app.post("/ui/predict/{name}/file", include_in_schema=False)
    @ui.action
    def predict_file(request: Request, name: str) -> Response:
        """Score an uploaded CSV/Parquet of rows: the same rows back as CSV with ids, predictions, probabilities."""
        import tempfile
        from pathlib import Path

        from mlwright.errors import UploadError
        from mlwright.ui.jobs import SUFFIXES, read_upload
        from mlwright.ui.scoring import scored_csv

        served = served_model(ui, name)
        f = request.state.form.get("file")
        if f is None or isinstance(f, str) or not f.filename:
            raise UploadError("choose a CSV or Parquet file of rows to score")
        suffix = Path(f.filename).suffix.lower()
        if suffix not in SUFFIXES:
            raise UploadError(f"{f.filename!r} is not a table mlwright reads: upload a {', '.join(SUFFIXES)} file")
        with tempfile.TemporaryDirectory(prefix="mlwright-score-") as tmp:
            path = Path(tmp) / f"rows{suffix}"
            with open(path, "wb") as out:
                while chunk := f.file.read(1 << 20):
                    out.write(chunk)
            df = read_upload(path, name=f.filename)
        schema = served.model.schema_
        df = df.drop(columns=[schema.target], errors="ignore")  # a labelled file scores too
        res = ui.call(ui.core.predict, served, df)
        stem = Path(f.filename).stem[:80] or "rows"
        return Response(scored_csv(df, res), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{quote(stem)}-{quote(name)}-predictions.csv"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})  # fmt: skip


def _add_review_pages(app: FastAPI, ui: UI) -> None:
    """The review pages."""

    add_pick_page(app, ui, "/ui/review", "Review",
                  "Choose a model to browse its recent predictions and correct the wrong ones.")  # fmt: skip

    @app.get("/ui/review/{name}", include_in_schema=False)
    @ui.page
    def review_page(request: Request, name: str) -> Response:
        rows, columns = _recent(ui, name)
        return ui.render(request, "review.j2", title=f"Review {name}", name=name, rows=rows, columns=columns)

    @app.get("/ui/review/{name}/{pid}", include_in_schema=False)
    @ui.page
    def review_item(request: Request, name: str, pid: str) -> Response:
        rows, columns = _recent(ui, name, pid)
        if not rows:
            raise ModelNotFoundError(f"prediction {pid!r} of {name!r} is not among the recent logged predictions")
        schema = _schema(ui, name)
        return ui.render(request, "review_item.j2", title="Correct a prediction", name=name, row=rows[0],
                         columns=columns, classes=[str(c) for c in schema.classes], task=schema.task)  # fmt: skip

    @app.post("/ui/review/{name}/{pid}", include_in_schema=False)
    @ui.action
    def review_save(request: Request, name: str, pid: str) -> Response:
        from mlwright.monitoring.feedback import record_feedback

        form = request.state.form
        item = {
            "prediction_id": pid,
            "actual": str(form.get("actual") or "").strip() or None,
            "comment": str(form.get("comment") or ""),
            "reviewer": str(form.get("reviewer") or "") or None,
        }
        record_feedback(ui.store(), name, _schema(ui, name), [item], source="review")
        return redirect(f"/ui/review/{quote(name)}?msg={quote_plus(f'feedback saved for {pid}')}")


def _int(value: Any, what: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a whole number, got {value!r}") from None


def _follow(ui: UI, name: str) -> None:
    """A served model that follows an alias picks up the change now (not at its next periodic check)."""
    served = ui.core.models.get(name)
    if served is not None and served.ref:
        ui.call(ui.core.reloader.check, name)
    with ui.models_lock:
        ui.models_cache.clear()


def _schedules(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each pipeline seen in the run history, its file's schedule and next run time (when the file is readable)."""
    import datetime as _dt

    from mlwright.loop.pipelines import cron_trigger, load_pipeline

    seen: dict[str, dict[str, Any]] = {}
    for r in runs:
        p = seen.setdefault(
            r["pipeline"],
            {
                "name": r["pipeline"],
                "file": r.get("file"),
                "last": r,
                "runs": 0,
                "failed": 0,
                "schedule": None,
                "next": None,
                "problem": None,
            },
        )
        p["runs"] += 1
        p["failed"] += r["status"] == "failed"
    for p in seen.values():
        if not p["file"]:
            continue
        try:
            pipe = load_pipeline(p["file"])
            p["schedule"] = pipe.schedule
            if pipe.schedule:
                now = _dt.datetime.now(_dt.UTC)
                p["next"] = cron_trigger(pipe.schedule).get_next_fire_time(None, now)
        except MlwrightError as exc:
            p["problem"] = str(exc)
    return list(seen.values())


def _schema(ui: UI, name: str):
    if name in ui.core.models:
        return ui.core.models[name].model.schema_
    from mlwright.monitoring.feedback import model_info

    return model_info(name, ui.store())[1]


def _recent(ui: UI, name: str, pid: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The newest logged predictions of ``name`` (one row each, newest first) with any feedback given."""
    from mlwright.serving.predlog import decode_table
    from mlwright.store.predictions import feedback_for, logged_batches

    # a stored batch holds several requests
    batches = logged_batches(ui.store(), name, newest_first=True, limit=REVIEW_BATCHES)
    rows: list[dict[str, Any]] = []
    columns: list[str] = []
    for b in batches:
        ins = decode_table(b.inputs).to_pandas()
        outs = decode_table(b.outputs).to_pandas()
        columns = columns or [c for c in ins.columns if c not in ("request_id", "at")]
        probs = [c for c in outs.columns if c.startswith("p_")]
        for i in range(len(outs) - 1, -1, -1):
            o = outs.iloc[i]
            if pid is not None and o["prediction_id"] != pid:
                continue
            pred = o["prediction"] if "prediction" in outs.columns else o["value"]
            conf = max(float(o[c]) for c in probs) if probs else None
            rows.append({"id": o["prediction_id"], "at": b.at, "version": b.version, "prediction": pred,
                         "confidence": conf, "inputs": {c: ins.iloc[i].get(c) for c in columns}})  # fmt: skip
            if len(rows) >= REVIEW_ROWS:
                break
        if len(rows) >= REVIEW_ROWS:
            break
    ids = [r["id"] for r in rows]
    given = {f.prediction_id: f for f in feedback_for(ui.store(), ids)}
    for r in rows:
        f = given.get(r["id"])
        r["feedback"] = ({"actual": json.loads(f.actual), "comment": f.comment, "source": f.source, "at": f.at}
                         if f else None)  # fmt: skip
        r["inputs"] = {k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                       for k, v in r["inputs"].items()}  # fmt: skip
        r["wrong"] = f is not None and str(json.loads(f.actual)) != str(r["prediction"])
    return rows, columns
