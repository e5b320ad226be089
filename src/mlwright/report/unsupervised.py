"""The reports of a clusterer and an anomaly detector: one self-contained HTML page each, from the fitted
model's plain values."""

from __future__ import annotations

from typing import Any

from mlwright.report import figures as fg
from mlwright.report.html import page

__all__ = ["render_anomaly", "render_cluster"]


def _map_figure(m: dict[str, Any], names: list[str], title: str) -> str | None:
    ev = m.get("explained") or []
    ax = [f"component {i + 1}" + (f" ({ev[i]:.0%} of the variance)" if i < len(ev) else "") for i in range(2)]
    return fg.groups_map(m["x"], m["y"], m["groups"], names, title, ax[0], ax[1])


def render_cluster(model: Any, title: str | None = None) -> str:
    """HTML of a fitted :class:`~mlwright.unsupervised.Cluster`: the segments in words, their sizes, the map,
    how k and the algorithm were chosen, the findings."""
    clusters = model.describe()
    names = [f"cluster {c['cluster']} ({c['share']:.0%})" for c in clusters]
    figs = {
        "map": _map_figure(model.map_, names, "Rows on the first two components"),
        "sizes": fg.bars(names, [c["size"] for c in clusters], "Cluster sizes", "rows"),
    }
    board = model.leaderboard().head(40).to_dict(orient="records")
    return page(
        "cluster.html.j2",
        title=title or f"Segments: {model.n_clusters_} clusters",
        subtitle=f"{model.n_rows_:,} rows, {len(model.schema_.features)} columns, {model.partition_.algorithm}",
        nav=[
            ("overview", "Overview"),
            ("clusters", "Clusters"),
            ("choice", "How k was chosen"),
            ("findings", "Findings"),
        ],
        m=model,
        clusters=clusters,
        board=board,
        figs=figs,
        findings=[f.to_dict() for f in model.findings_],
    )


def render_anomaly(model: Any, title: str | None = None) -> str:
    """HTML of a fitted :class:`~mlwright.unsupervised.Anomaly`: the threshold and the flagged share, the
    score's distribution, the most unusual rows and why, the detectors, precision and recall when labelled."""
    import numpy as np

    scores = np.asarray(model.train_scores_)
    counts, edges = np.histogram(scores, bins=40, range=(0.0, 1.0))
    figs = {
        "scores": fg.histogram(edges.tolist(), counts.tolist(), "Anomaly score of the training rows", "score"),
        "map": _map_figure(model.map_, ["normal", "flagged"], "Rows on the first two components")
        if getattr(model, "map_", None)
        else None,
    }
    return page(
        "anomaly.html.j2",
        title=title or "Anomalies",
        subtitle=f"{model.n_rows_:,} rows, {len(model.schema_.features)} columns, {'+'.join(model.detectors_)}",
        nav=[
            ("overview", "Overview"),
            ("rows", "Most unusual rows"),
            ("detectors", "Detectors"),
            ("findings", "Findings"),
        ],
        m=model,
        figs=figs,
        findings=[f.to_dict() for f in model.findings_],
    )
