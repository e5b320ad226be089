"""The HTTP rows of the hostile corpus, sent to a real ``mlwright serve`` on loopback."""

from __future__ import annotations

import pytest

from .conftest import AUTH
from .corpus_http import CASES, S


def send(world, method: str, path: str, spec: dict):
    client = world.solo if path.startswith(S) else world.client
    path = path.removeprefix(S)
    headers = dict(AUTH) if spec.get("auth", True) else {}
    headers.update(spec.get("headers", {}))
    kw = {k: spec[k] for k in ("json", "content") if k in spec}
    return client.request(method, path, headers=headers, **kw)


@pytest.mark.parametrize(("case", "method", "path", "spec", "status", "code"), CASES, ids=[c[0] for c in CASES])
def test_http_case(world, case, method, path, spec, status, code):
    r = send(world, method, path, spec)
    assert r.status_code < 500, f"{case}: server error {r.status_code}: {r.text[:500]}"
    assert r.status_code == status, f"{case}: expected {status}, got {r.status_code}: {r.text[:500]}"
    if status >= 400 and r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        message = str(body.get("message") or body.get("detail") or "")
        assert "Traceback" not in r.text and "\n" not in message, f"{case}: {message[:500]}"
        if code is not None:
            assert body.get("error") == code, f"{case}: expected code {code}, got {body}"
    if status == 200 and method == "POST" and "feedback" not in path and "reload" not in path:
        body = r.json()  # a prediction answer: one prediction per row sent
        preds = body.get("predictions", body.get("outputs"))
        assert preds, f"{case}: {body}"
    if status == 405:
        assert "allow" in {k.lower() for k in r.headers}, f"{case}: a 405 must say which methods are allowed"


def test_corpus_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
