"""The dashboard's plumbing: templates, login, CSRF-checked forms, error pages, static files."""

from __future__ import annotations

import asyncio
import functools
import math
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import MlwrightError
from ..serving.auth import check_token
from .security import COOKIE, PRE_COOKIE, SESSION_SECONDS, new_session, read_session

__all__ = ["UI", "add_dashboard"]

_HERE = Path(__file__).resolve().parent
_STATIC = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
NAV = [("new", "New run", "/ui/new"), ("runs", "Runs", "/ui/runs"), ("models", "Models", "/ui/models"),
       ("monitoring", "Monitoring", "/ui/monitoring"), ("pipelines", "Pipelines", "/ui/pipelines"),
       ("predict", "Predict", "/ui/predict"), ("review", "Review", "/ui/review")]  # fmt: skip
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CsrfError(MlwrightError):
    """A form posted without this session's CSRF secret."""

    code = "csrf_failed"
    http_status = 403


def _num(v: Any, digits: int = 5) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        return f"{v:.{digits}g}"
    return str(v)


def _when(v: Any) -> Any:
    """A timestamp (ISO text, datetime or epoch seconds) as ``<time>YYYY-MM-DD HH:MM:SS</time>`` (UTC)."""
    import datetime as _dt

    from markupsafe import Markup, escape

    if v is None or v == "":
        return "—"
    if isinstance(v, (int, float)):
        v = _dt.datetime.fromtimestamp(v, _dt.UTC)
    if isinstance(v, str):
        try:
            v = _dt.datetime.fromisoformat(v)
        except ValueError:
            return v
    if v.tzinfo is not None:
        v = v.astimezone(_dt.UTC)
    return Markup(f'<time datetime="{escape(v.isoformat())}">{v.strftime("%Y-%m-%d %H:%M:%S")}</time>')


class UI:
    """What the pages share: the service core, the jobs, the templates and the token."""

    def __init__(self, core: Any, root: Path | None = None):
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        from .jobs import Jobs

        self.core = core
        self.jobs = Jobs(root, core.store_url)
        self.env = Environment(
            loader=FileSystemLoader(str(_HERE / "templates")), autoescape=select_autoescape(["j2", "html"]),
            trim_blocks=True, lstrip_blocks=True,
        )  # fmt: skip
        self.env.filters["num"] = _num
        self.env.filters["when"] = _when
        self.env.filters["q"] = lambda s: quote(str(s), safe="")
        self.models_cache: dict[tuple[str, str], Any] = {}  # registered models loaded for Predict (one at a time)
        self.models_lock = threading.Lock()

    @property
    def token(self) -> str:
        return self.core.cfg.token

    def store(self):
        return self.core.store()

    def registry(self):
        from ..registry import Registry

        return Registry(self.store())

    # ------------------------------------------------------------------ rendering
    def render(self, request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        sess = getattr(request.state, "session", None)
        html = self.env.get_template(template).render(
            nav=NAV, csrf=sess.csrf if sess else "", logged_in=sess is not None,
            msg=request.query_params.get("msg"), path=request.url.path, **ctx,
        )  # fmt: skip
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def error(self, request: Request, exc: MlwrightError) -> HTMLResponse:
        columns = getattr(exc, "columns", None) or {}
        return self.render(request, "error.j2", status=exc.http_status, title="Cannot do that", error=str(exc),
                           code=exc.code, columns=columns)  # fmt: skip

    def crash(self, request: Request, exc: Exception) -> HTMLResponse:
        import logging

        logging.getLogger("mlwright.ui").exception("dashboard page %s failed", request.url.path, exc_info=exc)
        return self.render(request, "error.j2", status=500, title="Something went wrong", code="internal_error",
                           error=f"the page failed ({type(exc).__name__}); the service log has the details", columns={})

    # ------------------------------------------------------------------ access
    def session(self, request: Request):
        return read_session(request.cookies.get(COOKIE), self.token)

    def _login_redirect(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)

    def page(self, fn):
        """A GET page: login required; ``fn(request, **path)`` runs in a worker thread; typed errors → error page."""

        @functools.wraps(fn)
        async def wrapper(request: Request, **kw: Any) -> Response:
            sess = self.session(request)
            if sess is None:
                return self._login_redirect(request)
            request.state.session = sess
            return await self._handle(request, fn, kw)

        return wrapper

    def action(self, fn):
        """A POST: login and this session's CSRF secret required (else 401/403, nothing done); the parsed form
        is ``request.state.form``; ``fn(request, **path)`` runs in a worker thread."""

        @functools.wraps(fn)
        async def wrapper(request: Request, **kw: Any) -> Response:
            import hmac

            sess = self.session(request)
            if sess is None:
                return self.render(request, "error.j2", status=401, title="Log in first", code="unauthorized",
                                   error="your session has ended or you are not logged in: log in with the service "
                                   "token and send the form again", columns={})  # fmt: skip
            request.state.session = sess
            try:
                form = await request.form(max_files=1, max_fields=200)
            except Exception as exc:  # a malformed body: say so, never a traceback
                return self.error(request, CsrfError(f"the form could not be read ({type(exc).__name__})"))
            given = str(form.get("csrf") or "")
            if not given or not hmac.compare_digest(given, sess.csrf):
                return self.error(request, CsrfError(
                    "the form's security token is missing or stale (CSRF protection): reload the page and send it again"
                ))  # fmt: skip
            request.state.form = form
            try:
                return await self._handle(request, fn, kw)
            finally:
                await form.close()

        return wrapper

    async def _handle(self, request: Request, fn, kw: dict[str, Any]) -> Response:
        """``fn(request, **kw)`` in a worker thread; a typed error → its page, anything else → logged + a page."""
        try:
            return await run_in_threadpool(fn, request, **kw)
        except MlwrightError as exc:
            return self.error(request, exc)
        except Exception as exc:  # a bug: logged with its traceback, the user gets a page saying so
            return self.crash(request, exc)

    def call(self, coro_fn, *args: Any) -> Any:
        """Run an async service call (scoring, reloading) from a page's worker thread."""
        import anyio.from_thread

        return anyio.from_thread.run(coro_fn, *args)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def add_dashboard(app: FastAPI, core: Any, root: Path | None = None) -> UI:
    """Add the dashboard's routes (``/ui/…``) to the service ``app``; returns its :class:`UI`."""
    import secrets

    ui = UI(core, root)
    app.state.ui = ui

    @app.get("/ui/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in _STATIC:
            return Response("not found", status_code=404)
        return Response((_HERE / "static" / name).read_bytes(), media_type=_STATIC[name],
                        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})  # fmt: skip

    @app.get("/ui/login", include_in_schema=False)
    async def login_page(request: Request) -> Response:
        pre = secrets.token_urlsafe(16)
        r = ui.render(request, "login.j2", title="Log in", pre=pre, next=_safe_next(request.query_params.get("next")),
                      error=None)  # fmt: skip
        r.set_cookie(PRE_COOKIE, pre, max_age=1800, httponly=True, samesite="strict", path="/ui",
                     secure=request.url.scheme == "https")  # fmt: skip
        return r

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        import hmac

        try:
            form = await request.form(max_files=0, max_fields=10)
        except Exception:  # not a login form at all
            return ui.render(request, "login.j2", status=400, title="Log in", pre="", next="/ui",
                             error="the login form could not be read: reload this page and log in again")
        nxt = _safe_next(str(form.get("next") or ""))
        pre, cookie = str(form.get("pre") or ""), request.cookies.get(PRE_COOKIE) or ""
        if not pre or not cookie or not hmac.compare_digest(pre, cookie):
            return ui.render(request, "login.j2", status=403, title="Log in", pre="", next=nxt,
                             error="the login form expired or came from elsewhere (CSRF protection): reload this page")
        if not check_token(str(form.get("token") or "").strip(), ui.token):
            await asyncio.sleep(0.5)  # slows guessing (without holding up other requests)
            new_pre = secrets.token_urlsafe(16)
            r = ui.render(request, "login.j2", status=401, title="Log in", pre=new_pre, next=nxt,
                          error="that is not this service's token (it is in MLWRIGHT_HOME/token, or MLWRIGHT_TOKEN)")
            r.set_cookie(PRE_COOKIE, new_pre, max_age=1800, httponly=True, samesite="strict", path="/ui")
            return r
        value, _ = new_session(ui.token)
        r = _redirect(nxt)
        r.set_cookie(COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="strict", path="/",
                     secure=request.url.scheme == "https")  # fmt: skip
        r.delete_cookie(PRE_COOKIE, path="/ui")
        return r

    @app.post("/ui/logout", include_in_schema=False)
    @ui.action
    def logout(request: Request) -> Response:
        r = _redirect("/ui/login?msg=logged+out")
        r.delete_cookie(COOKIE, path="/")
        return r

    @app.get("/ui", include_in_schema=False)
    @ui.page
    def home(request: Request) -> Response:
        from ..tracking import runs

        recent = runs(ui.core.store_url, limit=8)
        try:
            models = ui.registry().models()
        except MlwrightError:
            models = []
        served = [m.describe() for m in ui.core.models.values()]
        return ui.render(request, "home.j2", title="Overview", runs=recent, models=models, served=served,
                         jobs=ui.jobs.list(limit=5))  # fmt: skip

    from .pages_ops import add_ops_pages
    from .pages_runs import add_run_pages

    add_run_pages(app, ui)
    add_ops_pages(app, ui)
    return ui


def _safe_next(value: str | None) -> str:
    """Only a path inside the dashboard (no open redirect)."""
    if value and value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui"
