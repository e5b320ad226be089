"""A real dashboard on loopback for the dashboard tests: the service app (uvicorn in a thread, as in
test_serving) over a SQLite store in the test's temporary directory, with the prediction log on; and clients
logged in through the login form."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import httpx

TOKEN = "dashboard-test-token-0123456789"


@contextmanager
def running(tmp_path: Path, models: list | None = None):
    """Serve the app; yields (base URL, store URL)."""
    from mlwright.serving import ServeConfig, create_app
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    from .test_serving import Server

    url = f"sqlite:///{tmp_path / 'store.db'}"
    app = create_app(models or [], ServeConfig(token=TOKEN, reload_seconds=0), PredictionLog(Store(url)), url)
    server = Server(app)
    with server:
        yield f"http://127.0.0.1:{server.port}", url


def login(base: str) -> httpx.Client:
    """A client holding a dashboard session (logged in through the login form, as a browser would)."""
    c = httpx.Client(base_url=base, timeout=60)
    page = c.get("/ui/login")
    pre = re.search(r'name="pre" value="([^"]+)"', page.text).group(1)
    r = c.post("/ui/login", data={"token": TOKEN, "pre": pre, "next": "/ui"})
    assert r.status_code == 303, r.text
    return c


def csrf(c: httpx.Client, path: str = "/ui/new") -> str:
    """The session's CSRF secret, as a form on ``path`` carries it."""
    return re.search(r'name="csrf" value="([^"]+)"', c.get(path).text).group(1)
