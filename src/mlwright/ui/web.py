"""The dashboard's plumbing: templates, login, CSRF-checked forms, error pages, static files."""

from __future__ import annotations

import functools
import math
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mlwright.errors import CsrfError, MlwrightError
from mlwright.ui.security import COOKIE, read_session

__all__ = ["HEADERS", "UI", "redirect"]

UI_DIR = Path(__file__).resolve().parent
STATIC = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
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

        from mlwright.ui.jobs import Jobs

        self.core = core
        self.jobs = Jobs(root, core.store_url)
        self.env = Environment(
            loader=FileSystemLoader(str(UI_DIR / "templates")), autoescape=select_autoescape(["j2", "html"]),
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
        from mlwright.registry import Registry

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
        return self.render(
            request,
            "error.j2",
            status=500,
            title="Something went wrong",
            code="internal_error",
            error=f"the page failed ({type(exc).__name__}); the service log has the details",
            columns={},
        )

    # ------------------------------------------------------------------ access
    def session(self, request: Request):
        return read_session(request.cookies.get(COOKIE), self.token)

    def _loginredirect(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)

    def page(self, fn):
        """A GET page: login required; ``fn(request, **path)`` runs in a worker thread; typed errors → error page."""

        @functools.wraps(fn)
        async def wrapper(request: Request, **kw: Any) -> Response:
            sess = self.session(request)
            if sess is None:
                return self._loginredirect(request)
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


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
