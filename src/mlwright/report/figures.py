"""Figures for the HTML reports: matplotlib (Agg, no display) drawn to PNG data URIs.

Every function takes plain values (the dicts of :mod:`mlwright.data.profile`, arrays of
:mod:`mlwright.evaluation.explain` / :mod:`mlwright.evaluation.diagnose`) and returns a ``data:image/png;base64,…``
string, so a report is one self-contained file.  Long labels are shortened, huge category counts
are cut to the top levels, and nothing here can fail on odd names or empty data: a figure that has
nothing to show is not drawn (None).
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "bars",
    "beeswarm",
    "confusion",
    "curve",
    "error_bars",
    "forecast_chart",
    "grouped_bars",
    "heatmap",
    "histogram",
    "lines",
    "missing_matrix",
    "scatter",
    "to_data_uri",
]

ACCENT = "#3b6ea8"
SECOND = "#d1495b"
PALETTE = ["#3b6ea8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d96a3", "#7b4b94", "#2e4057"]
_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "font.family": "DejaVu Sans",
}


def short(label: Any, n: int = 28) -> str:
    """A label fit for an axis: text, control characters removed, cut to ``n`` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(label))
    return text if len(text) <= n else text[: n - 1] + "…"


def to_data_uri(fig) -> str:
    """PNG data URI of a figure (the figure is closed)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # glyphs the font lacks (CJK …) are drawn as boxes: not worth a warning
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fig(w: float = 4.2, h: float = 2.6):
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(w, h))
    return fig, ax


def histogram(edges: Sequence[float], counts: Sequence[int], title: str = "", xlabel: str = "", dates: bool = False):
    """Bar histogram from precomputed edges and counts."""
    if not len(counts) or sum(counts) == 0:
        return None
    with plt.rc_context(_STYLE):
        fig, ax = _fig()
        e = np.asarray(edges, dtype=float)
        if dates:
            e = e / 86_400e9  # ns → days since the epoch
            ax.xaxis_date()
        ax.bar(e[:-1], counts, width=np.diff(e), align="edge", color=ACCENT, edgecolor="white", linewidth=0.3)
        ax.set_title(short(title, 60))
        ax.set_xlabel(short(xlabel, 60))
        ax.set_ylabel("rows")
        if dates:
            fig.autofmt_xdate()
        return to_data_uri(fig)


def bars(
    labels: Sequence[Any], values: Sequence[float], title: str = "", xlabel: str = "", limit: int = 20, color=None
):
    """Horizontal bars (largest first as given), at most ``limit``."""
    if not len(values):
        return None
    labels, values = [short(v) for v in labels[:limit]], list(values[:limit])
    with plt.rc_context(_STYLE):
        fig, ax = _fig(4.6, max(1.4, 0.24 * len(labels) + 0.8))
        y = np.arange(len(labels))[::-1]
        ax.barh(y, values, color=color or ACCENT)
        ax.set_yticks(y, labels)
        ax.set_title(short(title, 60))
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        return to_data_uri(fig)


def heatmap(columns: Sequence[str], matrix: Sequence[Sequence[float | None]], title: str = "", vmin: float = -1.0):
    """Square matrix of correlations/associations with column labels (None drawn blank)."""
    k = len(columns)
    if k < 2:
        return None
    m = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    size = min(9.0, 2.0 + 0.28 * k)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(size + 1.0, size))
        im = ax.imshow(m, cmap="RdBu_r" if vmin < 0 else "Blues", vmin=vmin, vmax=1.0)
        labels = [short(c, 22) for c in columns]
        ax.set_xticks(range(k), labels, rotation=90, fontsize=7 if k > 20 else 8)
        ax.set_yticks(range(k), labels, fontsize=7 if k > 20 else 8)
        ax.grid(False)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        if k <= 12:
            for i in range(k):
                for j in range(k):
                    if np.isfinite(m[i, j]):
                        ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7)
        return to_data_uri(fig)


def missing_matrix(
    columns: Sequence[str], rows: Sequence[Sequence[int]], title: str = "Missing values (sample of rows)"
):
    """Rows × columns, dark where a value is missing."""
    if not columns or not rows:
        return None
    m = np.asarray(rows, dtype=float)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(min(9.0, 2.0 + 0.3 * len(columns)), 3.0))
        ax.imshow(m, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks(range(len(columns)), [short(c, 22) for c in columns], rotation=90, fontsize=7)
        ax.set_ylabel("rows (sample)")
        ax.grid(False)
        ax.set_title(title)
        return to_data_uri(fig)


def curve(x: Sequence[float], y: Sequence[float], title: str, xlabel: str, ylabel: str, diagonal: bool = False,
          label: str | None = None):  # fmt: skip
    """One line (ROC, precision-recall, calibration), optionally with the diagonal for reference."""
    return lines([(label or "", x, y)], title, xlabel, ylabel, diagonal=diagonal)


def lines(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    diagonal: bool = False,
    bands: Sequence[tuple[Sequence[float], Sequence[float]] | None] | None = None,
    markers: bool = False,
):
    """Several named lines on one axis (learning curves, partial dependence), optional ± bands."""
    if not series or all(len(s[1]) == 0 for s in series):
        return None
    with plt.rc_context(_STYLE):
        fig, ax = _fig(4.2, 3.0)
        for i, (name, x, y) in enumerate(series):
            color = PALETTE[i % len(PALETTE)]
            ax.plot(x, y, color=color, label=short(name, 30) or None, marker="o" if markers else None, ms=3)
            if bands is not None and i < len(bands) and bands[i] is not None:
                lo, hi = bands[i]
                ax.fill_between(x, lo, hi, color=color, alpha=0.15)
        if diagonal:
            lo = min(min(s[1]) for s in series if len(s[1]))
            hi = max(max(s[1]) for s in series if len(s[1]))
            ax.plot([lo, hi], [lo, hi], color="#999", linestyle="--", linewidth=1)
        ax.set_title(short(title, 60))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if any(s[0] for s in series):
            ax.legend(fontsize=7, frameon=False)
        return to_data_uri(fig)


def scatter(x: Sequence[float], y: Sequence[float], title: str, xlabel: str, ylabel: str, diagonal: bool = False,
            hline: float | None = None):  # fmt: skip
    """Points (predicted vs actual, residuals); at most a few thousand are given."""
    if not len(x):
        return None
    with plt.rc_context(_STYLE):
        fig, ax = _fig(4.2, 3.0)
        ax.scatter(x, y, s=6, alpha=0.4, color=ACCENT, linewidths=0)
        if diagonal:
            lo, hi = float(np.nanmin([np.nanmin(x), np.nanmin(y)])), float(np.nanmax([np.nanmax(x), np.nanmax(y)]))
            ax.plot([lo, hi], [lo, hi], color=SECOND, linestyle="--", linewidth=1)
        if hline is not None:
            ax.axhline(hline, color=SECOND, linestyle="--", linewidth=1)
        ax.set_title(short(title, 60))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        return to_data_uri(fig)


def beeswarm(values: dict[str, Sequence[float]], colors: dict[str, Sequence[float]], title: str, xlabel: str):
    """SHAP summary: one row of points per column (top first), coloured by the column's value (low → high)."""
    names = list(values)[:15]
    if not names:
        return None
    rng = np.random.default_rng(0)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5.2, max(1.6, 0.32 * len(names) + 0.9)))
        sc = None
        for row, name in enumerate(names):
            v = np.asarray(values[name], dtype=float)
            y = len(names) - 1 - row + rng.uniform(-0.28, 0.28, len(v))
            c = colors.get(name)
            if c is not None and len(c) == len(v):
                sc = ax.scatter(v, y, c=c, cmap="coolwarm", vmin=0, vmax=1, s=7, alpha=0.7, linewidths=0)
            else:
                ax.scatter(v, y, color="#8d96a3", s=7, alpha=0.6, linewidths=0)
        ax.axvline(0, color="#999", linewidth=0.8)
        ax.set_yticks(range(len(names)), [short(n) for n in names[::-1]])
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        if sc is not None:
            cb = fig.colorbar(sc, ax=ax, fraction=0.04, pad=0.02, ticks=[0, 1])
            cb.ax.set_yticklabels(["low", "high"])
            cb.set_label("column value", fontsize=8)
        return to_data_uri(fig)


def confusion(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str = "Confusion matrix"):
    """Counts with row-normalised shading (rows: true class, columns: predicted)."""
    k = len(labels)
    if k < 2 or k > 30:
        return None
    m = np.asarray(matrix, dtype=float)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    with plt.rc_context(_STYLE):
        size = min(7.0, 2.2 + 0.45 * k)
        fig, ax = plt.subplots(figsize=(size + 0.6, size))
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        names = [short(x, 18) for x in labels]
        ax.set_xticks(range(k), names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
        ax.set_yticks(range(k), names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.grid(False)
        ax.set_title(title)
        if k <= 12:
            for i in range(k):
                for j in range(k):
                    ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=8,
                            color="white" if share[i, j] > 0.6 else "black")  # fmt: skip
        return to_data_uri(fig)


def error_bars(labels: Sequence[str], means: Sequence[float], stds: Sequence[float], title: str, xlabel: str,
               limit: int = 20):  # fmt: skip
    """Horizontal bars with ± one standard deviation (permutation importance)."""
    if not len(means):
        return None
    labels, means, stds = [short(v) for v in labels[:limit]], list(means[:limit]), list(stds[:limit])
    with plt.rc_context(_STYLE):
        fig, ax = _fig(4.6, max(1.4, 0.26 * len(labels) + 0.8))
        y = np.arange(len(labels))[::-1]
        ax.barh(y, means, xerr=stds, color=ACCENT, ecolor="#555", capsize=2)
        ax.axvline(0, color="#999", linewidth=0.8)
        ax.set_yticks(y, labels)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        return to_data_uri(fig)


def grouped_bars(groups: Sequence[str], series: dict[str, Sequence[float | None]], xlabel: str = "",
                 limit: int = 12):  # fmt: skip
    """Horizontal bars per group, one colour per series (e.g. selection rate, TPR, FPR per group); None is
    drawn as no bar."""
    groups = [short(g) for g in groups[:limit]]
    series = {k: [np.nan if v is None else v for v in vals[:limit]] for k, vals in series.items()}
    if not groups or not series:
        return None
    k = len(series)
    height = 0.8 / k
    with plt.rc_context(_STYLE):
        fig, ax = _fig(4.6, max(1.6, 0.22 * len(groups) * k + 1.0))
        y = np.arange(len(groups))[::-1].astype(float)
        for j, (name, vals) in enumerate(series.items()):
            ax.barh(y + (k - 1 - 2 * j) * height / 2, vals, height=height, color=PALETTE[j % len(PALETTE)],
                    label=name)  # fmt: skip
        ax.set_yticks(y, groups)
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return to_data_uri(fig)


def forecast_chart(
    history: tuple[Sequence[Any], Sequence[float]],
    future: tuple[Sequence[Any], Sequence[float]] | None,
    band: tuple[Sequence[float], Sequence[float]] | None = None,
    title: str = "",
    ylabel: str = "",
    band_label: str = "80% interval",
):
    """A series' recent history, its forecast and the forecast's interval band, over dates."""
    hx, hy = history
    if not len(hx):
        return None
    with plt.rc_context(_STYLE):
        fig, ax = _fig(5.6, 2.6)
        ax.plot(hx, hy, color="#2e4057", linewidth=1.1, label="history")
        if future is not None and len(future[0]):
            fx, fy = future
            ax.plot([hx[-1], *fx], [hy[-1], *fy], color=ACCENT, linewidth=1.4, label="forecast")
            if band is not None:
                ax.fill_between(fx, band[0], band[1], color=ACCENT, alpha=0.18, linewidth=0, label=band_label)
        ax.set_title(short(title, 70))
        ax.set_ylabel(short(ylabel, 30))
        fig.autofmt_xdate(rotation=20)
        ax.legend(fontsize=7, frameon=False, loc="upper left")
        return to_data_uri(fig)


def groups_map(x: Sequence[float], y: Sequence[float], groups: Sequence[int], names: Sequence[str], title: str,
               xlabel: str, ylabel: str):  # fmt: skip
    """A 2-D map of rows coloured by group (clusters; normal and flagged rows), with a legend."""
    if not len(x):
        return None
    g = np.asarray(groups)
    with plt.rc_context(_STYLE):
        fig, ax = _fig(4.8, 3.4)
        for i, name in enumerate(names):
            sel = g == i
            if sel.any():
                ax.scatter(np.asarray(x)[sel], np.asarray(y)[sel], s=8, alpha=0.6, linewidths=0,
                           color=PALETTE[i % len(PALETTE)], label=short(name, 24))  # fmt: skip
        ax.set_title(short(title, 60))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7, markerscale=1.5, frameon=False, loc="best")
        return to_data_uri(fig)
