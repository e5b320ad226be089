"""Jinja2 environment and the profile page (the model report lives in :mod:`mlwright.report.model`)."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from jinja2 import Environment, PackageLoader

from mlwright._version import __version__
from mlwright.report import figures as fg

__all__ = ["env", "page", "render_profile"]

_ENV: Environment | None = None


def env() -> Environment:
    """The shared Jinja2 environment (autoescaping on: names and values from data are escaped)."""
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("mlwright", "report/templates"), autoescape=True)
        _ENV.globals.update(pct=pct, num=num, mb=mb)
    return _ENV


def pct(x: float | None) -> str:
    """A share as a percentage."""
    if x is None:
        return "—"
    return f"{100 * x:.1f}%" if x == 0 or x >= 0.001 else f"{100 * x:.2g}%"


def num(v: Any) -> str:
    """A number for a table cell (4 significant digits, thousands separated)."""
    if isinstance(v, bool) or v is None:
        return "—" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        return f"{v:,.0f}" if abs(v) >= 1e5 else f"{v:.4g}"
    return str(v)


def mb(n: int | None) -> str:
    """Bytes in human units."""
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def page(template: str, **context: Any) -> str:
    """Render one page of the reports with the common header fields."""
    context.setdefault("version", __version__)
    context.setdefault("generated", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
    return env().get_template(template).render(**context)


def _column_figure(c: dict[str, Any]) -> str | None:
    if c.get("histogram"):
        h = c["histogram"]
        return fg.histogram(h["edges"], h["counts"], xlabel=h.get("of", ""), dates=bool(h.get("dates")))
    if c.get("levels"):
        lv = c["levels"]
        labels, counts = list(lv["values"]), list(lv["counts"])
        if lv.get("other"):
            labels.append("(other levels)")
            counts.append(lv["other"])
        return fg.bars(labels, counts, xlabel="rows", limit=21)
    return None


def _top_pairs(assoc: dict[str, Any] | None, limit: int = 12) -> list[tuple[str, str, str, float]]:
    if not assoc:
        return []
    cols, m, how = assoc["columns"], assoc["matrix"], assoc["method"]
    pairs = [
        (cols[i], cols[j], how[i][j], m[i][j])
        for i in range(len(cols))
        for j in range(i + 1, len(cols))
        if m[i][j] is not None
    ]
    return sorted(pairs, key=lambda p: -p[3])[:limit]


def render_profile(profile) -> str:
    """HTML of a :class:`~mlwright.data.profile.Profile`."""
    d = profile.data
    findings = [f.to_dict() for f in profile.findings]
    figs: dict[str, Any] = {"columns": {c["name"]: _column_figure(c) for c in d["columns"]}}
    share = {k: v for k, v in d["missing"]["share"].items() if v and v > 0}
    if share:
        ranked = sorted(share.items(), key=lambda kv: -kv[1])
        figs["missing_bars"] = fg.bars(
            [k for k, _ in ranked], [100 * v for _, v in ranked], xlabel="% missing", limit=30
        )
        mm = d["missing"].get("matrix")
        figs["missing_matrix"] = fg.missing_matrix(mm["columns"], mm["rows"]) if mm else None
    corr = d.get("correlations") or {}
    for key, vmin in (("association", 0.0), ("pearson", -1.0), ("spearman", -1.0)):
        if corr.get(key):
            figs[key] = fg.heatmap(corr[key]["columns"], corr[key]["matrix"], vmin=vmin)
    target = d.get("target")
    if target:
        if target.get("histogram"):
            figs["target"] = fg.histogram(target["histogram"]["edges"], target["histogram"]["counts"])
        elif target.get("classes"):
            figs["target"] = fg.bars(target["classes"]["values"], target["classes"]["counts"], xlabel="rows")
        rel = target.get("relation") or []
        if rel:
            figs["relation"] = fg.bars([r["column"] for r in rel], [r["score"] for r in rel], xlabel=rel[0]["measure"])
    comp = d.get("components")
    if comp:
        ev = comp["explained"]
        figs["explained"] = fg.bars([f"component {i + 1}" for i in range(len(ev))], [100 * v for v in ev],
                                    xlabel="% of the variance explained", limit=10)  # fmt: skip
        names = comp.get("names") or ["rows"]
        groups = comp["groups"] if comp.get("groups") is not None else [0] * len(comp["x"])
        figs["pca_map"] = fg.groups_map(comp["x"], comp["y"], groups, names, "Rows on the first two components",
                                        f"component 1 ({ev[0]:.0%})", f"component 2 ({ev[1]:.0%})")  # fmt: skip
    groups = d.get("groups") or []
    figs["groups"] = [
        fg.grouped_bars([g["group"] for g in e["groups"]],
                        {"share of rows": [g["share"] for g in e["groups"]]}
                        | ({e["target"]: [g["target"] for g in e["groups"]]} if e["target"] else {}))
        for e in groups
    ]  # fmt: skip
    counts = {s: sum(f["severity"] == s for f in findings) for s in ("critical", "warning", "info")}
    t = d["table"]
    return page(
        "profile.html.j2",
        title=f"Data profile{': ' + str(t['target']) if t.get('target') else ''}",
        subtitle=f"{t['rows']:,} rows × {t['columns']} columns",
        nav=[
            ("overview", "Overview"),
            ("findings", "Findings"),
            *([("target", "Target")] if target else []),
            *([("groups", "Groups")] if groups else []),
            ("columns", "Columns"),
            ("missing", "Missing values"),
            ("correlations", "Correlations"),
            *([("components", "Components")] if comp else []),
        ],
        t=t,
        counts=counts,
        sampling=d["sampling"],
        seconds=d.get("seconds", 0.0),
        findings=findings,
        show_action=any(f.get("action") for f in findings),
        target=target,
        columns=d["columns"],
        missing=d["missing"],
        figs=figs,
        components=comp,
        groups=groups,
        top_pairs=_top_pairs(corr.get("association")),
        wide_corr=len((corr.get("association") or {}).get("columns", [])) > 12,
    )
