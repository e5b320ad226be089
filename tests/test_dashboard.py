"""The dashboard over a real service on loopback (httpx): login, CSRF, writes refused without auth, bad input
answered with a clear page, cancel, SQL sources, review → feedback → live metric, retraining outcomes, pipelines.
The whole path in a real browser is in test_dashboard_browser.py."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlwright.cli import demo_data_path

from .conftest import quick_fit
from .dashboard import TOKEN, csrf, login, running


def _until(fn, what: str, timeout: float = 30.0):
    """Poll ``fn`` until it returns something true (the service writes its log in the background)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if v := fn():
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _registered(tmp_path: Path, url: str, df: pd.DataFrame, name: str = "churn", versions: int = 1, **kw) -> None:
    from mlwright.registry import Registry

    reg = Registry(url)
    for i in range(versions):
        reg.register(quick_fit(df, seed=i, **kw).save(tmp_path / f"m{i}"), name)


@pytest.mark.slow
def test_nothing_without_login_and_every_form_needs_its_csrf_secret(tmp_path, binary_df):
    with running(tmp_path) as (base, url):
        _registered(tmp_path, url, binary_df, versions=2)
        anon = httpx.Client(base_url=base, timeout=30)
        for path in ("/ui", "/ui/runs", "/ui/models/churn", "/ui/predict/churn", "/ui/review", "/ui/jobs/x/progress"):
            r = anon.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/ui/login?next="), path
        r = anon.post("/ui/models/churn/promote", data={"version": "1", "confirm": "yes", "csrf": "x"})
        assert r.status_code == 401 and "log in" in r.text.lower()
        # login: the pre-session cookie must match the form (login CSRF); a wrong token is refused
        page = anon.get("/ui/login")
        pre = re.search(r'name="pre" value="([^"]+)"', page.text).group(1)
        assert anon.post("/ui/login", data={"token": TOKEN, "pre": "forged"}).status_code == 403
        assert anon.post("/ui/login", data={"token": "nope", "pre": pre}).status_code == 401
        assert "mlw_ui" not in anon.cookies
        # a session cookie signed with another key is not a session
        forged = httpx.Client(base_url=base, cookies={"mlw_ui": "eyJleHAiOjk5OTk5OTk5OTksImNzcmYiOiJ4In0.AAAA"})
        assert forged.get("/ui/models").status_code == 303

        c = login(base)
        assert c.get("/ui/models/churn").status_code == 200
        cookie = next(x for x in c.cookies.jar if x.name == "mlw_ui")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/"
        r = c.get("/ui/models")
        assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
        # a logged-in POST without the session's CSRF secret changes nothing
        for data in ({"version": "1", "confirm": "yes"}, {"version": "1", "confirm": "yes", "csrf": "stale"}):
            r = c.post("/ui/models/churn/promote", data=data)
            assert r.status_code == 403 and "CSRF" in r.text
        from mlwright.registry import Registry

        assert all(not v.aliases for v in Registry(url).versions("churn"))
        # with it, but unconfirmed: refused with a clear message; confirmed: done
        tok = csrf(c, "/ui/models/churn/promote?version=2")
        r = c.post("/ui/models/churn/promote", data={"version": "2", "csrf": tok})
        assert r.status_code == 400 and "not confirmed" in r.text
        r = c.post("/ui/models/churn/promote", data={"version": "2", "confirm": "yes", "csrf": tok})
        assert r.status_code == 303
        assert Registry(url).get("churn", "champion").version == 2
        r = c.post("/ui/models/churn/promote", data={"version": "1", "confirm": "yes", "csrf": tok})
        assert Registry(url).get("churn", "champion").version == 1
        # roll back: asks first, then points champion at the version it held before
        assert "Roll" in c.get("/ui/models/churn/rollback?alias=champion").text
        r = c.post("/ui/models/churn/rollback", data={"alias": "champion", "confirm": "yes", "csrf": tok})
        assert r.status_code == 303 and "rolled+back+to+version+2" in r.headers["location"]
        assert Registry(url).get("churn", "champion").version == 2
        # any alias, through the same confirmation: the challenger
        assert 'id="alias-form"' in c.get("/ui/models/churn").text
        assert "challenger" in c.get("/ui/models/churn/promote?version=1&alias=challenger").text
        ok = {"version": "1", "confirm": "yes", "csrf": tok}
        r = c.post("/ui/models/churn/promote", data={**ok, "alias": "challenger"})
        assert r.status_code == 303 and Registry(url).get("churn", "challenger").version == 1
        r = c.post("/ui/models/churn/promote", data={**ok, "alias": "9lives"})
        assert r.status_code == 409 and "not allowed" in r.text  # RegistryError
        # a version that does not exist: a page that says which exist, no traceback
        r = c.get("/ui/models/churn/promote?version=9")
        assert r.status_code == 404 and "versions: 2, 1" in r.text and "Traceback" not in r.text
        # logging out ends the session
        c.post("/ui/logout", data={"csrf": tok})
        assert c.get("/ui/models").status_code == 303


def test_bad_uploads_and_inputs_get_clear_pages_and_store_nothing(tmp_path):
    with running(tmp_path) as (base, _url):
        c = login(base)
        tok = csrf(c)
        r = c.post("/ui/new/upload", data={"csrf": tok}, files={"file": ("notes.txt", b"hello", "text/plain")})
        assert r.status_code == 422 and "notes.txt" in r.text and ".csv" in r.text
        r = c.post("/ui/new/upload", data={"csrf": tok}, files={"file": ("empty.csv", b"", "text/csv")})
        assert r.status_code == 422 and "empty" in r.text
        r = c.post("/ui/new/upload", data={"csrf": tok}, files={"file": ("bad.parquet", b"not parquet", "x")})
        assert r.status_code == 422 and "cannot be read" in r.text
        uploads = Path(tmp_path / "home" / "ui" / "uploads")
        assert not any(uploads.iterdir())  # failed uploads leave nothing behind
        r = c.post("/ui/new/upload", data={"csrf": tok},
                   files={"file": ("demo.csv", demo_data_path().read_bytes(), "text/csv")})  # fmt: skip
        loc = r.headers["location"]
        r = c.get(f"{loc}?target=crad")
        assert r.status_code == 400 and "did you mean &#39;card&#39;" in r.text.lower()
        for bad, says in (({"target": "card", "time_budget": "soon"}, "number of seconds"),
                          ({"target": "card", "time_budget": "-5"}, "between 1 second"),
                          ({"target": "nope", "time_budget": "5"}, "choose the target"),
                          ({"target": "card", "time_budget": "5", "metric": "acuracy"}, "acuracy")):  # fmt: skip
            r = c.post(f"{loc}/start", data={"csrf": tok, **bad})
            assert r.status_code in (400, 404, 422) and says in r.text, (bad, r.text[:500])
        assert not any(Path(tmp_path / "home" / "ui" / "jobs").iterdir())
        assert c.get("/ui/runs/no-such-run").status_code == 404
        assert c.get("/ui/jobs/../../etc/passwd").status_code == 404


def test_a_run_from_a_sql_source_can_be_cancelled(tmp_path):
    db = tmp_path / "source.db"
    df = pd.read_csv(demo_data_path())
    with sqlite3.connect(db) as con:
        df.to_sql("applicants", con, index=False)
    with running(tmp_path) as (base, url):
        c = login(base)
        tok = csrf(c)
        for query in ("DROP TABLE applicants", "SELECT 1; DROP TABLE applicants"):  # a source only reads
            r = c.post("/ui/new/sql", data={"csrf": tok, "db": f"sqlite:///{db}", "query": query})
            assert r.status_code == 400 and ("one SELECT" in r.text or "must be a SELECT" in r.text)
        r = c.post("/ui/new/sql", data={"csrf": tok, "db": f"sqlite:///{db}", "query": "SELECT * FROM applicants"})
        assert r.status_code == 303, re.findall(r'class="error"[^>]*>([^<]*)', r.text)
        page = c.get(r.headers["location"] + "?target=card")
        assert "1,319 rows" in page.text and "SQL: SELECT * FROM applicants" in page.text
        r = c.post(r.headers["location"] + "/start", data={"csrf": tok, "target": "card", "time_budget": "600"})
        jid = r.headers["location"].rsplit("/", 1)[1]
        cancelled = False
        try:
            end = time.monotonic() + 240  # the first trial, however busy the machine
            while (p := c.get(f"/ui/jobs/{jid}/progress").json())["trials"] in (None, 0) and time.monotonic() < end:
                time.sleep(0.3)
            assert p["state"] == "running" and p["trials"] >= 1 and p["time_left"] > 300
            pid = json.loads((tmp_path / "home" / "ui" / "jobs" / jid / "status.json").read_text())["pid"]
            r = c.post(f"/ui/jobs/{jid}/cancel", data={"csrf": tok})
            assert r.status_code == 303
            cancelled = True
        finally:  # a failed assertion must not leave a 600-second fit running behind the other tests
            if not cancelled:
                c.post(f"/ui/jobs/{jid}/cancel", data={"csrf": tok})
        p = c.get(f"/ui/jobs/{jid}/progress").json()
        assert p["state"] == "cancelled"
        assert not Path(f"/proc/{pid}").exists()  # the training process is gone
        from mlwright.tracking import run_detail

        run = run_detail(p["run_id"], url)
        assert run["status"] == "failed" and "cancelled" in run["error"]
        assert "cancelled" in c.get(f"/ui/jobs/{jid}").text


def test_review_feedback_becomes_live_metrics_and_retrain_outcomes_show(tmp_path, binary_df):
    from mlwright.loop.retrain import record_outcome

    with running(tmp_path) as (base, url):
        _registered(tmp_path, url, binary_df, name="churn", families=["lightgbm"])  # a tree model: explained
        c = login(base)
        tok = csrf(c, "/ui/predict/churn")
        form = c.get("/ui/predict/churn").text
        assert '<select name="f_color"' in form and ">red</option>" in form  # categories as choices
        assert 'type="number" step="any" name="f_x1"' in form
        r = c.post("/ui/predict/churn", data={"csrf": tok, "f_x1": "abc"})
        assert r.status_code == 422 and "&#39;abc&#39; is not a number" in r.text
        ids = []
        for _, row in binary_df.head(12).iterrows():
            data = {"csrf": tok, **{f"f_{k}": "" if pd.isna(v) else str(v) for k, v in row.items() if k != "label"}}
            r = c.post("/ui/predict/churn", data=data)
            assert r.status_code == 200, re.findall(r"class=\"error\"[^>]*>([^<]*)", r.text)
            ids.append(re.search(r"<code>([0-9a-f]{32}-0)</code>", r.text).group(1))
            assert re.search(r'id="prediction">(yes|no)<', r.text)
        assert 'id="why"' in r.text and "log-odds" in r.text  # what moved the last one most (TreeSHAP)
        # a file of rows: the same rows back as CSV with ids, predictions and probabilities
        import io

        labelled = binary_df.head(30).to_csv(index=False).encode()
        r = c.post("/ui/predict/churn/file", data={"csrf": tok}, files={"file": ("batch.csv", labelled, "text/csv")})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "batch-churn-predictions.csv" in r.headers["content-disposition"]
        scored = pd.read_csv(io.BytesIO(r.content))
        assert len(scored) == 30 and {"prediction_id", "prediction", "p_yes", "p_no"} <= set(scored.columns)
        assert set(scored["prediction"]) <= {"yes", "no"}
        assert (scored[["p_yes", "p_no"]].sum(axis=1) - 1).abs().max() < 1e-6
        broken = binary_df.head(5).drop(columns=["x1"]).to_csv(index=False).encode()
        r = c.post("/ui/predict/churn/file", data={"csrf": tok}, files={"file": ("b.csv", broken, "text/csv")})
        assert r.status_code == 422 and "x1" in r.text  # the per-column report

        def logged():
            text = c.get("/ui/review/churn").text
            return all(i in text for i in ids)

        _until(logged, "the prediction log to hold every prediction")  # it writes in the background
        truth = binary_df["label"].head(12).tolist()
        for pid, actual in zip(ids, truth):
            r = c.post(f"/ui/review/churn/{pid}", data={"csrf": tok, "actual": actual, "comment": f"checked {pid[:4]}"})
            assert r.status_code == 303
        r = c.post(f"/ui/review/churn/{ids[0]}", data={"csrf": tok, "actual": "maybe"})
        assert r.status_code == 422 and "not one of the model" in r.text
        from sqlalchemy import select

        from mlwright.store import Store
        from mlwright.store.tables import feedback

        rows = Store(url).read(lambda conn: conn.execute(select(feedback)).all())
        assert len(rows) == 12 and {r.source for r in rows} == {"review"}
        assert all(r.comment.startswith("checked") for r in rows)
        mon = c.get("/ui/monitoring/churn?window=1h").text
        assert re.search(r'id="live">roc_auc [0-9.]+ on 12 labelled rows', mon)
        assert mon.count("<svg") == 5
        record_outcome(Store(url), _outcome())
        mon = c.get("/ui/monitoring/churn?window=1h").text
        assert "recommended" in mon and "0.812" in mon and "0.845" in mon


def _outcome():
    from mlwright.loop.retrain import RetrainOutcome

    comparison = {"delta": 0.033, "pvalue": 0.02, "test": "delong",
                  "scores": {"champion": {"roc_auc": 0.812}, "challenger": {"roc_auc": 0.845}}}  # fmt: skip
    return RetrainOutcome("recommended", "churn", 1, 2, "roc_auc", comparison, {}, ["better by 0.033 (p = 0.02)"], 120)


def test_pipelines_page_shows_schedules_history_and_step_logs(tmp_path):
    from mlwright.loop.pipelines import run_pipeline

    data = tmp_path / "applicants.csv"
    pd.read_csv(demo_data_path()).to_csv(data, index=False)
    spec = tmp_path / "nightly.toml"
    spec.write_text(
        f'[pipeline]\nname = "nightly"\nschedule = "30 2 * * *"\n[source]\npath = "{data}"\n'
        'target = "card"\n[model]\nname = "card"\n[[steps]]\nkind = "check"\n',
        encoding="utf-8",
    )
    with running(tmp_path) as (base, url):
        run_pipeline(spec, store=url)
        c = login(base)
        page = c.get("/ui/pipelines").text
        assert "nightly" in page and "30 2 * * *" in page and "succeeded" in page
        nxt = re.search(r'<time datetime="([^"]+)">', page.split("30 2 * * *")[1]).group(1)
        assert nxt[11:16] == "02:30"  # the next run time from the cron schedule (UTC)
        rid = re.search(r'href="/ui/pipelines/runs/([0-9a-f]+)"', page).group(1)
        detail = c.get(f"/ui/pipelines/runs/{rid}").text
        assert "check" in detail and "succeeded" in detail and 'class="log"' in detail
        # run it again from the page: a background `mlwright pipeline run`, recorded like any other run
        tok = csrf(c, "/ui/pipelines")
        r = c.post("/ui/pipelines/run", data={"csrf": tok, "file": "/etc/passwd"})
        assert r.status_code == 400 and "only a pipeline this store has run" in r.text
        r = c.post("/ui/pipelines/run", data={"csrf": tok, "file": str(spec.resolve())})
        assert r.status_code == 303 and "started+nightly" in r.headers["location"]
        from mlwright.loop.pipelines import pipeline_runs

        end = time.monotonic() + 60
        while time.monotonic() < end and not (len(runs := pipeline_runs(url)) == 2 and runs[0]["status"] != "running"):
            time.sleep(0.3)
        assert [r["status"] for r in runs] == ["succeeded", "succeeded"]


def test_a_run_that_cannot_train_says_why(tmp_path):
    df = pd.DataFrame({"x": range(60), "y": ["same"] * 60})
    with running(tmp_path) as (base, _url):
        c = login(base)
        tok = csrf(c)
        flat = {"file": ("flat.csv", df.to_csv(index=False), "text/csv")}
        r = c.post("/ui/new/upload", data={"csrf": tok}, files=flat)
        r = c.post(r.headers["location"] + "/start", data={"csrf": tok, "target": "y", "time_budget": "5"})
        jid = r.headers["location"].rsplit("/", 1)[1]
        end = time.monotonic() + 60
        while (p := c.get(f"/ui/jobs/{jid}/progress").json())["state"] in ("running", "starting"):
            assert time.monotonic() < end
            time.sleep(0.3)
        assert p["state"] == "failed" and "single class" in p["error"]
        page = c.get(f"/ui/jobs/{jid}").text
        assert "The end of its log" in page and "Traceback" in page  # the log, for whoever debugs it
        assert "flat.csv" in c.get("/ui/runs").text


@pytest.mark.parametrize("path", ["/ui/static/app.css", "/ui/static/app.js"])
def test_static_files_are_vendored(tmp_path, path):
    with running(tmp_path) as (base, _url):
        r = httpx.get(base + path)
        assert r.status_code == 200 and len(r.text) > 500
        assert re.search(r"https?://", r.text) is None  # nothing fetched from elsewhere
        assert httpx.get(base + "/ui/static/../web.py").status_code == 404


def test_regression_models_and_parquet_uploads(tmp_path, regression_df):
    """A number to predict: the answer is a number, the review asks for the right value, feedback is a float."""
    with running(tmp_path) as (base, url):
        _registered(tmp_path, url, regression_df, name="price")
        c = login(base)
        tok = csrf(c)
        buf = tmp_path / "houses.parquet"
        regression_df.to_parquet(buf)
        r = c.post("/ui/new/upload", data={"csrf": tok}, files={"file": ("houses.parquet", buf.read_bytes(), "x")})
        page = c.get(r.headers["location"] + "?target=label").text
        assert "400 rows" in page and "regression" in page and ">x2<" in page
        row = regression_df.drop(columns="label").iloc[0]
        data = {"csrf": tok, **{f"f_{k}": "" if pd.isna(v) else str(v) for k, v in row.items()}}
        r = c.post("/ui/predict/price", data=data)
        assert r.status_code == 200
        value = float(re.search(r'id="prediction">([^<]+)<', r.text).group(1))
        assert abs(value - regression_df["label"].iloc[0]) < 3 * regression_df["label"].std()
        assert 'id="probabilities"' not in r.text
        pid = re.search(r"<code>([0-9a-f]{32}-0)</code>", r.text).group(1)
        form = _until(
            lambda: (r := c.get(f"/ui/review/price/{pid}")).status_code == 200 and r.text, "the prediction to be logged"
        )
        assert 'type="number" step="any" name="actual"' in form
        r = c.post(f"/ui/review/price/{pid}", data={"csrf": tok, "actual": "12.5", "comment": "appraised"})
        assert r.status_code == 303
        r = c.post(f"/ui/review/price/{pid}", data={"csrf": tok, "actual": "lots"})
        assert r.status_code == 422 and "is not a number" in r.text
        from sqlalchemy import select

        from mlwright.store import Store
        from mlwright.store.tables import feedback

        (fb,) = Store(url).read(lambda conn: conn.execute(select(feedback)).all())
        assert json.loads(fb.actual) == 12.5 and fb.comment == "appraised"


def test_mlwright_serve_without_a_model_serves_the_dashboard(tmp_path):
    """`mlwright serve` (no model): the dashboard answers on loopback behind the token; /ready says no model."""
    import os
    import subprocess
    import sys

    from .test_serving import _free_port

    port = _free_port()
    env = os.environ | {"MLWRIGHT_TOKEN": TOKEN, "MLWRIGHT_STORE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "mlwright", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"{base}/ui/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < end, proc.stdout.read().decode()[-2000:]
                time.sleep(0.2)
        assert r.status_code == 200 and 'name="token"' in r.text
        assert httpx.get(f"{base}/ready").status_code == 503  # no model loaded: not ready for predictions
        assert httpx.get(f"{base}/ui/models", follow_redirects=False).status_code == 303
        c = login(base)
        assert "No model is served by this process" in c.get("/ui").text
    finally:
        proc.terminate()
        out = " ".join(proc.communicate(timeout=20)[0].decode().split())  # (rich wraps lines)
    assert "dashboard at /ui" in out and "no model (the dashboard only)" in out


def test_charts_never_draw_an_axis_below_zero_for_values_that_cannot_be_negative():
    import re

    from mlwright.ui.charts import line_chart

    def axis(svg: str) -> list[float]:
        return [float(v) for v in re.findall(r'class="axis" text-anchor="end">([^<]+)<', svg)]

    assert min(axis(line_chart(["12-06"], {"drifted share": [0.0]}, "Share of features drifting"))) == 0
    assert min(axis(line_chart(["a", "b"], {"psi": [0.01, 0.4]}, "PSI", threshold=0.2))) == 0
    assert min(axis(line_chart(["a"], {"p50": [11.6]}, "Latency (ms)"))) == 0  # from zero: sizes compare by eye
    assert min(axis(line_chart(["a", "b"], {"r2": [-0.3, 0.5]}, "Live R²"))) < -0.3  # a metric that can be negative
