"""The model report page: figures from the report data (:mod:`mlwright.report.build`), one HTML file."""

from __future__ import annotations

from typing import Any

from mlwright.report import figures as fg
from mlwright.report.html import page

__all__ = ["render_model_report"]


def _evaluation_figures(ev: dict[str, Any] | None, prefix: str) -> dict[str, str | None]:
    if not ev:
        return {}
    figs: dict[str, str | None] = {}
    if ev.get("confusion_matrix"):
        figs[prefix + "confusion"] = fg.confusion(ev["labels"], ev["confusion_matrix"])
    if ev.get("roc"):
        auc = ev["scores"].get("roc_auc")
        figs[prefix + "roc"] = fg.curve(ev["roc"]["fpr"], ev["roc"]["tpr"], "", "false positive rate",
                                        "true positive rate", diagonal=True,
                                        label=f"AUC {auc:.3f}" if auc is not None else None)  # fmt: skip
    elif ev.get("roc_per_class"):
        figs[prefix + "roc"] = fg.lines(
            [(f"{r['label']} (AUC {r['auc']:.3f})", r["fpr"], r["tpr"]) for r in ev["roc_per_class"]],
            "one class vs the rest", "false positive rate", "true positive rate", diagonal=True,
        )  # fmt: skip
    if ev.get("pr"):
        figs[prefix + "pr"] = fg.curve(ev["pr"]["recall"], ev["pr"]["precision"], "", "recall", "precision",
                                       label=f"base rate {ev['pr']['base_rate']:.3f}")  # fmt: skip
    cal = ev.get("calibration")
    if cal and cal.get("predicted"):
        figs[prefix + "calibration"] = fg.curve(cal["predicted"], cal["observed"], "", "predicted probability",
                                                "observed frequency", diagonal=True)  # fmt: skip
    th = ev.get("thresholds")
    if th and th.get("threshold"):
        figs[prefix + "thresholds"] = fg.lines(
            [("F1", th["threshold"], th["f1"]), ("precision", th["threshold"], th["precision"]),
             ("recall", th["threshold"], th["recall"])], "", "threshold on P(positive)", "",
        )  # fmt: skip
    pts = ev.get("points")
    if pts:
        figs[prefix + "pred_actual"] = fg.scatter(pts["predicted"], pts["actual"], "", "predicted", "actual",
                                                  diagonal=True)  # fmt: skip
        figs[prefix + "residuals"] = fg.scatter(pts["predicted"], pts["residual"], "", "predicted",
                                                "actual − predicted", hline=0.0)  # fmt: skip
        counts, edges = _hist(pts["residual"])
        figs[prefix + "residual_hist"] = fg.histogram(edges, counts, xlabel="actual − predicted")
    return figs


FAIRNESS_SERIES = {
    "binary": (("selection_rate", "selection rate"), ("tpr", "true positive rate"), ("fpr", "false positive rate")),
    "regression": (("mean_target", "mean target"), ("mean_prediction", "mean prediction")),
    "multiclass": (("accuracy", "accuracy"),),
}


def _fairness_figures(fa: dict[str, Any] | None) -> list[str | None]:
    """One grouped-bar chart per sensitive column (and their intersection) of a group-metrics result."""
    if not fa:
        return []
    series = FAIRNESS_SERIES.get(fa["task"], ())
    charts = []
    for e in fa["by"]:
        values = {label: [g.get(k) for g in e["groups"]] for k, label in series}
        charts.append(fg.grouped_bars([g["group"] for g in e["groups"]], values))
    return charts


def _hist(values: list[float], bins: int = 30) -> tuple[list[int], list[float]]:
    import numpy as np

    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
    return counts.tolist(), edges.tolist()


def render_model_report(data: dict[str, Any]) -> str:
    """HTML of the model report data."""
    m = data["model"]
    figs: dict[str, Any] = {}
    figs.update(_evaluation_figures(data.get("cv"), "cv_"))
    figs.update(_evaluation_figures(data.get("test"), "test_"))
    lc = data.get("learning_curve")
    if lc:
        p = lc["points"]
        rows = [x["rows"] for x in p]
        figs["learning_curve"] = fg.lines(
            [("train", rows, [x["train"] for x in p]), ("validation", rows, [x["validation"] for x in p])],
            "", "training rows", lc["metric"], markers=True,
        )  # fmt: skip
    imp = data.get("importance")
    if imp and imp.get("importance"):
        r = imp["importance"]
        figs["importance"] = fg.error_bars([x["column"] for x in r], [x["mean"] for x in r], [x["std"] for x in r],
                                           "", f"{imp['metric']} lost")  # fmt: skip
    shap = data.get("shap")
    if shap:
        figs["shap_bars"] = fg.bars(shap["columns"], shap["mean_abs"], xlabel=f"mean |SHAP| ({shap['scale']})")
        figs["shap_swarm"] = fg.beeswarm(shap["values"], shap.get("feature_values", {}), "", f"SHAP ({shap['scale']})")
    figs["pdp"] = []
    for p in data.get("pdp") or []:
        if p["kind"] in ("categorical", "high_cardinality"):
            first = next(iter(p["curves"].values()))
            img = fg.bars(p["grid"], first, xlabel=next(iter(p["curves"])), limit=15)
        else:
            img = fg.lines([(k, p["grid"], v) for k, v in p["curves"].items()], "", p["column"], "average prediction")
        if img:
            figs["pdp"].append({"column": p["column"], "img": img})
    figs["fairness"] = _fairness_figures(data.get("fairness"))
    figs["fairness_test"] = _fairness_figures(data.get("fairness_test"))
    nav = [("summary", "Summary"), ("card", "Model card"), ("diagnosis", "Diagnosis"), ("leaderboard", "Leaderboard")]
    if data.get("cv"):
        nav.append(("evaluation", "Evaluation"))
    if data.get("test"):
        nav.append(("test", "Test"))
    if data.get("fairness") or data.get("fairness_test"):
        nav.append(("fairness", "Fairness"))
    nav += [("explanations", "Explanations"), ("findings", "Findings"), ("limits", "Method")]
    return page(
        "model.html.j2",
        title=f"Model report: {m['target']}",
        subtitle=f"{m['task']} · {m['metric']} {m['score_val']:.4g} · best {m['best_model']}",
        nav=nav,
        m=m,
        card=data["model_card"],
        advice=data.get("advice") or [],
        gaps=data.get("gaps") or [],
        baseline=data.get("baseline"),
        lc=lc,
        leaderboard=data.get("leaderboard") or [],
        cv=data.get("cv"),
        test=data.get("test"),
        fairness=data.get("fairness"),
        fairness_test=data.get("fairness_test"),
        importance=imp,
        shap=shap,
        pdp=data.get("pdp"),
        pdp_on=data.get("pdp_on"),
        findings=data.get("findings") or [],
        selection=data.get("feature_selection"),
        limits=data.get("limits") or {},
        figs=figs,
    )
