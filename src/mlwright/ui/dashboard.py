"""The dashboard's routes put together: login, logout, overview, static files, and every page family."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from mlwright.errors import MlwrightError
from mlwright.serving.auth import check_token
from mlwright.ui.pages_forecast import add_forecast_pages
from mlwright.ui.pages_ops import add_ops_pages
from mlwright.ui.pages_runs import add_run_pages
from mlwright.ui.pages_unsupervised import add_unsupervised_pages
from mlwright.ui.security import COOKIE, PRE_COOKIE, SESSION_SECONDS, new_session
from mlwright.ui.web import STATIC, UI, UI_DIR, redirect

__all__ = ["add_dashboard"]


def add_dashboard(app: FastAPI, core: Any, root: Path | None = None) -> UI:
    """Add the dashboard's routes (``/ui/…``) to the service ``app``; returns its :class:`UI`."""
    import secrets

    ui = UI(core, root)
    app.state.ui = ui

    @app.get("/ui/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            return Response("not found", status_code=404)
        return Response((UI_DIR / "static" / name).read_bytes(), media_type=STATIC[name],
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
            return ui.render(
                request,
                "login.j2",
                status=400,
                title="Log in",
                pre="",
                next="/ui",
                error="the login form could not be read: reload this page and log in again",
            )
        nxt = _safe_next(str(form.get("next") or ""))
        pre, cookie = str(form.get("pre") or ""), request.cookies.get(PRE_COOKIE) or ""
        if not pre or not cookie or not hmac.compare_digest(pre, cookie):
            return ui.render(
                request,
                "login.j2",
                status=403,
                title="Log in",
                pre="",
                next=nxt,
                error="the login form expired or came from elsewhere (CSRF protection): reload this page",
            )
        if not check_token(str(form.get("token") or "").strip(), ui.token):
            await asyncio.sleep(0.5)  # slows guessing (without holding up other requests)
            new_pre = secrets.token_urlsafe(16)
            r = ui.render(
                request,
                "login.j2",
                status=401,
                title="Log in",
                pre=new_pre,
                next=nxt,
                error="that is not this service's token (it is in MLWRIGHT_HOME/token, or MLWRIGHT_TOKEN)",
            )
            r.set_cookie(PRE_COOKIE, new_pre, max_age=1800, httponly=True, samesite="strict", path="/ui")
            return r
        value, _ = new_session(ui.token)
        r = redirect(nxt)
        r.set_cookie(COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="strict", path="/",
                     secure=request.url.scheme == "https")  # fmt: skip
        r.delete_cookie(PRE_COOKIE, path="/ui")
        return r

    @app.post("/ui/logout", include_in_schema=False)
    @ui.action
    def logout(request: Request) -> Response:
        r = redirect("/ui/login?msg=logged+out")
        r.delete_cookie(COOKIE, path="/")
        return r

    @app.get("/ui", include_in_schema=False)
    @ui.page
    def home(request: Request) -> Response:
        from mlwright.tracking import runs

        recent = runs(ui.core.store_url, limit=8)
        try:
            models = ui.registry().models()
        except MlwrightError:
            models = []
        served = [m.describe() for m in ui.core.models.values()]
        return ui.render(request, "home.j2", title="Overview", runs=recent, models=models, served=served,
                         jobs=ui.jobs.list(limit=5))  # fmt: skip

    add_run_pages(app, ui)
    add_forecast_pages(app, ui)
    add_unsupervised_pages(app, ui)
    add_ops_pages(app, ui)
    return ui


def _safe_next(value: str | None) -> str:
    """Only a path inside the dashboard (no open redirect)."""
    if value and value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui"
