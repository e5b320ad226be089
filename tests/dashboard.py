"""A real dashboard on loopback for the dashboard tests: the service app (uvicorn in a thread) over a
SQLite store in the test's MLWRIGHT_HOME, with the prediction log on, and a logged-in httpx client."""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

TOKEN = "dashboard-test-token-0123456789"


@contextmanager
def running(tmp_path: Path, models: list | None = None):
    """Serve the app; yields (base URL, store URL)."""
    import uvicorn

    from mlwright.serving import ServeConfig, create_app
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    log = PredictionLog(Store(url))
    app = create_app(models or [], ServeConfig(token=TOKEN, reload_seconds=0), log, url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", url
    finally:
        server.should_exit = True
        thread.join(10)


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


def wait_job(c: httpx.Client, jid: str, timeout: float = 120) -> dict:
    """Poll a dashboard run's progress until it ends."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p = c.get(f"/ui/jobs/{jid}/progress").json()
        if p["state"] not in ("running", "starting"):
            return p
        time.sleep(0.5)
    raise AssertionError(f"run {jid} still running after {timeout} s")
