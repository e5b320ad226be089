"""The hostile dashboard corpus: one row per case — id, method, path, form fields (and files), the expected
status and a text the page must show.  Sent with a logged-in session; forms carry the session's CSRF secret
unless the row says ``"csrf": None``.  Typed errors answer with their status (a setting: 400; data: 422).
``PID`` in a path is replaced by a real prediction id of ``churn``."""

from __future__ import annotations

FORM = {"f_age": "30", "f_owner": "bob", "f_usage": "0.5", "f_joined": "2021-05-01T00:00"}
ROWS = b"age,owner,usage,joined\n30,bob,0.5,2021-05-01\n"
FAKE = "0" * 32 + "-0"


def form(**change) -> dict:
    return {"data": FORM | change}


def upload(content: bytes, name: str = "rows.csv", ctype: str = "text/csv") -> dict:
    return {"data": {}, "files": {"file": (name, content, ctype)}}


# fmt: off
CASES: list[tuple] = [
    # ---- predict form: the same rule for huge values as the API; bad values at the field
    ("predict-form-ok", "POST", "/ui/predict/churn", form(), 200, 'id="prediction"'),
    ("predict-form-1e308", "POST", "/ui/predict/churn", form(f_usage="1e308"), 200, 'id="prediction"'),
    ("predict-form-minus-1e308", "POST", "/ui/predict/churn", form(f_usage="-1e308"), 200, 'id="prediction"'),
    ("predict-form-3.5e38", "POST", "/ui/predict/churn", form(f_usage="3.5e38"), 200, 'id="prediction"'),
    ("predict-form-inf", "POST", "/ui/predict/churn", form(f_usage="inf"), 422, "not a finite number"),
    ("predict-form-1e400", "POST", "/ui/predict/churn", form(f_age="1e400"), 422, "not a finite number"),
    ("predict-form-all-empty", "POST", "/ui/predict/churn", {"data": {}}, 200, 'id="prediction"'),
    ("predict-form-unicode", "POST", "/ui/predict/churn", form(f_owner="Zoë 🚀"), 200, 'id="prediction"'),
    ("predict-form-text-in-number", "POST", "/ui/predict/churn", form(f_usage="abc"), 422, "not a number"),
    ("predict-form-bad-date", "POST", "/ui/predict/churn", form(f_joined="yesterday"), 422, "joined"),
    ("predict-form-no-csrf", "POST", "/ui/predict/churn", {"data": FORM, "csrf": None}, 403, ""),
    ("predict-form-wrong-csrf", "POST", "/ui/predict/churn", {"data": FORM, "csrf": "x"}, 403, ""),
    ("predict-form-unknown-model", "POST", "/ui/predict/nope", form(), 404, "nope"),
    # ---- score a file
    ("predict-file-ok", "POST", "/ui/predict/churn/file", upload(ROWS), 200, "prediction_id"),
    ("predict-file-huge-values", "POST", "/ui/predict/churn/file",
     upload(b"age,owner,usage,joined\n1e308,bob,inf,2021-05-01\n-1e308,bob,3.5e38,2021-05-01\n"), 200, "prediction_id"),
    ("predict-file-empty", "POST", "/ui/predict/churn/file", upload(b""), 422, "empty"),
    ("predict-file-header-only", "POST", "/ui/predict/churn/file", upload(b"age,owner,usage,joined\n"), 422, "no data"),
    ("predict-file-not-utf8", "POST", "/ui/predict/churn/file", upload(b"age,owner\n1,\xff\n"), 422, "UTF-8"),
    ("predict-file-missing-column", "POST", "/ui/predict/churn/file", upload(b"age,owner\n1,bob\n"), 422, "usage"),
    ("predict-file-bad-parquet", "POST", "/ui/predict/churn/file", upload(b"PAR1 no", "r.parquet"), 422, "r.parquet"),
    ("predict-file-wrong-type", "POST", "/ui/predict/churn/file", upload(b"{}", "r.json"), 422, "r.json"),
    ("predict-file-dup-header", "POST", "/ui/predict/churn/file", upload(b"age,age,usage,joined\n1,2,3,4\n"), 422,
     "more than once"),
    # ---- review: feedback only for the model's own logged predictions
    ("review-made-up-id", "POST", f"/ui/review/churn/{FAKE}", {"data": {"actual": "yes"}}, 422, "no prediction"),
    ("review-bad-id", "POST", "/ui/review/churn/not-an-id", {"data": {"actual": "yes"}}, 422, "not a prediction id"),
    ("review-other-models-id", "POST", "/ui/review/other/PID", {"data": {"actual": "yes"}}, 422, "no prediction"),
    ("review-not-a-class", "POST", "/ui/review/churn/PID", {"data": {"actual": "maybe"}}, 422, "not one of"),
    ("review-no-actual", "POST", "/ui/review/churn/PID", {"data": {}}, 422, "missing"),
    ("review-long-comment", "POST", "/ui/review/churn/PID", {"data": {"actual": "yes", "comment": "x" * 5000}}, 422,
     "4,000"),
    ("review-ok", "POST", "/ui/review/churn/PID", {"data": {"actual": "yes", "comment": "Zoë 🚀"}}, 303, ""),
    ("review-page-unknown-id", "GET", f"/ui/review/churn/{FAKE}", {}, 404, "not among"),
    # ---- monitoring and pages after hostile traffic
    ("monitoring-page", "GET", "/ui/monitoring/churn", {}, 200, "<svg"),
    ("monitoring-5min", "GET", "/ui/monitoring/churn?window=5min", {}, 200, "<svg"),
    ("monitoring-bad-window", "GET", "/ui/monitoring/churn?window=soon", {}, 400, "not a duration"),
    ("monitoring-bad-threshold", "GET", "/ui/monitoring/churn?drift_share=lots", {}, 400, "must be a number"),
    ("monitoring-unknown-model", "GET", "/ui/monitoring/nope", {}, 404, "nope"),
    ("review-page", "GET", "/ui/review/churn", {}, 200, "churn"),
    ("runs-unknown", "GET", "/ui/runs/nope", {}, 404, "nope"),
    ("jobs-unknown", "GET", "/ui/jobs/nope", {}, 404, ""),
    ("models-page", "GET", "/ui/models/churn", {}, 200, "champion"),
    ("promote-bad-version", "POST", "/ui/models/churn/promote", {"data": {"confirm": "yes", "version": "abc"}}, 400,
     "whole number"),
    ("promote-unknown-version", "POST", "/ui/models/churn/promote", {"data": {"confirm": "yes", "version": "99"}}, 404,
     "99"),
    ("promote-unconfirmed", "POST", "/ui/models/churn/promote", {"data": {"version": "1"}}, 400, "not confirmed"),
    ("models-bad-action", "POST", "/ui/models/churn/delete", {"data": {"confirm": "yes"}}, 404, "no action"),
    # ---- new run: uploads and settings refused before any job starts
    ("new-upload-empty", "POST", "/ui/new/upload", upload(b"", "t.csv"), 422, "t.csv"),
    ("new-upload-not-utf8", "POST", "/ui/new/upload", upload(b"a,b\n\xff,1\n", "t.csv"), 422, "t.csv"),
    ("new-upload-dup-header", "POST", "/ui/new/upload", upload(b"a,a,b\n1,2,3\n", "t.csv"), 422, "more than once"),
    ("new-sql-drop", "POST", "/ui/new/sql", {"data": {"db": "sqlite://", "query": "DROP TABLE x"}}, 400, "SELECT"),
    ("pipelines-run-unknown-file", "POST", "/ui/pipelines/run", {"data": {"file": "/etc/passwd"}}, 400, "run before"),
]
# fmt: on
