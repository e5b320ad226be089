"""Small server-rendered SVG charts (no JavaScript, no CDN): lines over windows with an optional threshold."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["line_chart"]

_COLORS = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed")


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.3g}" if 1e-3 <= a < 1e5 else f"{v:.2e}"


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    title: str,
    threshold: float | None = None,
    width: int = 420,
    height: int = 220,
) -> str:
    """An SVG line chart: x = ``labels`` (window starts), one line per entry of ``series`` (None = a gap).

    Scales to its container's width (``viewBox``); each point has a ``<title>`` tooltip.
    """
    left, right, top, bottom = 56, 12, 30, 36
    pw, ph = width - left - right, height - top - bottom
    values = [v for ys in series.values() for v in ys if v is not None and math.isfinite(v)]
    if threshold is not None:
        values.append(threshold)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<text x="4" y="18" class="chart-title">{escape(title)}</text>']  # fmt: skip
    n = len(labels)
    if not values or n == 0:
        parts.append(f'<text x="{left}" y="{top + ph / 2}" class="chart-empty">no values yet</text></svg>')
        return "".join(parts)
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1), hi + (abs(hi) * 0.1 or 1)
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    if min(values) >= 0:  # shares, PSI, latencies, counts: the axis starts at zero, never below it
        lo = 0.0

    def x(i: int) -> float:
        return left + (pw * i / (n - 1) if n > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    for k in range(5):  # horizontal grid with values
        v = lo + (hi - lo) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" class="axis" text-anchor="end">{_fmt(v)}</text>'
        )
    step = max(1, math.ceil(n / 6))
    for i in range(0, n, step):
        parts.append(f'<text x="{x(i):.1f}" y="{height - 12}" class="axis" text-anchor="middle">'
                     f"{escape(labels[i])}</text>")  # fmt: skip
    if threshold is not None:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
                     f'class="threshold"><title>threshold {_fmt(threshold)}</title></line>')  # fmt: skip
    legend_x = left + pw
    for si, (name, ys) in enumerate(series.items()):
        color = _COLORS[si % len(_COLORS)]
        runs: list[list[str]] = [[]]
        for i, v in enumerate(ys):
            if v is None or not math.isfinite(v):
                runs.append([])
                continue
            runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
                         f"<title>{escape(name)} {escape(labels[i])}: {_fmt(v)}</title></circle>")  # fmt: skip
        for pts in runs:
            if len(pts) > 1:
                parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{color}" stroke-width="2"/>')
        if len(series) > 1:
            parts.append(f'<text x="{legend_x}" y="{top - 4}" class="legend" text-anchor="end" fill="{color}">'
                         f"{escape(name)}</text>")  # fmt: skip
            legend_x -= 8 * len(name) + 14
    parts.append("</svg>")
    return "".join(parts)
