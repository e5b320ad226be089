"""The dashboard's login and CSRF protection.

Login is by the service token.  A signed, HttpOnly, ``SameSite=Strict`` cookie then carries the session:
its expiry and a random CSRF secret, signed with a key derived from the token (so every worker process
verifies it, and changing the token logs everyone out).  Every form carries the CSRF secret in a hidden
field; a POST whose field does not match the session's is refused (403) before anything is read or written.
The login form itself is protected the same way with a short-lived pre-session cookie (double submit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

__all__ = ["COOKIE", "PRE_COOKIE", "SESSION_SECONDS", "Session", "new_session", "read_session"]

COOKIE = "mlw_ui"
PRE_COOKIE = "mlw_login"
SESSION_SECONDS = 12 * 3600


def _key(token: str) -> bytes:
    return hmac.new(token.encode(), b"mlwright-dashboard-session-v1", hashlib.sha256).digest()


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Session(dict):
    """The verified content of a session cookie: ``exp`` (epoch seconds) and ``csrf``."""

    @property
    def csrf(self) -> str:
        return str(self["csrf"])


def new_session(token: str, seconds: int = SESSION_SECONDS) -> tuple[str, Session]:
    """A fresh session: the cookie value and what it holds."""
    data = Session(exp=int(time.time()) + seconds, csrf=secrets.token_urlsafe(24))
    payload = _b64(json.dumps(data, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_key(token), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}", data


def read_session(value: str | None, token: str) -> Session | None:
    """The session in a cookie value when its signature is valid and it has not expired; else None."""
    if not value or "." not in value or not token:
        return None
    payload, _, sig = value.partition(".")
    want = _b64(hmac.new(_key(token), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(sig, want):
        return None
    try:
        data: Any = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] < time.time():
        return None
    return Session(data)
