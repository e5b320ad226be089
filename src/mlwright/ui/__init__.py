"""The web dashboard, served by the prediction service at ``/ui`` (same app, same token).

Server-rendered pages (Jinja2) with a little vendored JavaScript (``static/app.js``: live progress of a
run, nothing else; every page works without it): new run (upload or SQL → target → profile and findings →
budget → background fit with live progress and cancel), runs (leaderboard, report, diagnosis), models
(versions, aliases, promote / roll back with a confirmation), monitoring (drift and live-metric charts,
alerts, retraining outcomes), pipelines (schedules, runs, step logs), predict (a form built from the
model's Schema) and review (mark a logged prediction wrong, give the right label and a comment: feedback).

Login is by the service token; the session is a signed cookie and every form carries a CSRF secret
(:mod:`.security`).  Without a session, pages redirect to the login page and writes are refused.

Package: may import everything below it (serving core, monitoring, loop, registry, tracking); only
``serving.app`` and the CLI import it.
"""

from __future__ import annotations

from mlwright.ui.dashboard import add_dashboard
from mlwright.ui.web import UI

__all__ = ["UI", "add_dashboard"]
