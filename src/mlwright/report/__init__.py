"""Render profiles and model reports to self-contained HTML (Jinja2 templates, matplotlib figures).

The reports take plain dicts (from :mod:`mlwright.data.profile`, :mod:`mlwright.evaluation.explain`,
:mod:`mlwright.evaluation.diagnose`) and return HTML text; figures are embedded as PNG data URIs and the CSS is
inline, so a report opens offline from a single file.

Package: may import evaluation, models, artifacts and the base modules; draws plain dicts, never fits.
"""

from __future__ import annotations

from mlwright.report.html import render_profile
from mlwright.report.model import render_model_report

__all__ = ["render_model_report", "render_profile"]
