"""The dashboard rows of the hostile corpus, against the ``/ui`` of the real ``mlwright serve``."""

from __future__ import annotations

import re

import httpx
import pytest

from .conftest import AUTH, TOKEN
from .corpus_dashboard import CASES
from .corpus_http import OK


@pytest.fixture(scope="module")
def session(world):
    c = httpx.Client(base_url=world.url, timeout=60)
    pre = re.search(r'name="pre" value="([^"]+)"', c.get("/ui/login").text).group(1)
    assert c.post("/ui/login", data={"token": TOKEN, "pre": pre, "next": "/ui"}).status_code == 303
    secret = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/new").text).group(1)
    r = world.client.post("/v1/models/churn/predict", json={"records": [OK]}, headers=AUTH)
    pid = r.json()["prediction_ids"][0]
    world.client.post(
        "/v1/models/churn/feedback", json={"feedback": [{"prediction_id": pid, "actual": "no"}]}, headers=AUTH
    )  # fmt: skip  (waits until the log holds pid)
    yield c, secret, pid
    c.close()


@pytest.mark.parametrize(("case", "method", "path", "spec", "status", "text"), CASES, ids=[c[0] for c in CASES])
def test_dashboard_case(session, case, method, path, spec, status, text):
    c, secret, pid = session
    path = path.replace("PID", pid)
    if method == "GET":
        r = c.get(path)
    else:
        data = dict(spec.get("data", {}))
        token = spec.get("csrf", secret)
        if token is not None:
            data["csrf"] = token
        r = c.post(path, data=data, files=spec.get("files"))
    assert r.status_code < 500, f"{case}: {r.status_code} {r.text[-1500:]}"
    assert r.status_code == status, f"{case}: expected {status}, got {r.status_code}: {r.text[-1500:]}"
    assert "Traceback" not in r.text, case
    assert text in r.text, f"{case}: {text!r} not on the page: {r.text[-1500:]}"


def test_corpus_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
