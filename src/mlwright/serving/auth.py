"""The service's token: from ``MLWRIGHT_TOKEN``, or generated once into ``MLWRIGHT_HOME/token`` (mode 0600)."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from mlwright.config import home

__all__ = ["check_token", "service_token", "token_path"]


def token_path() -> Path:
    """Where the generated token is kept."""
    return home() / "token"


def service_token(explicit: str | None = None) -> str:
    """The token the service requires: ``explicit``, else ``MLWRIGHT_TOKEN``, else the stored one
    (generated on first use)."""
    if explicit:
        return explicit
    env = os.environ.get("MLWRIGHT_TOKEN")
    if env:
        return env
    path = token_path()
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600) if not path.exists() else None
    if fd is None:  # raced with another process, or an empty file: rewrite it privately
        path.write_text(token, encoding="utf-8")
        path.chmod(0o600)
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token)
    return token


def check_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())
