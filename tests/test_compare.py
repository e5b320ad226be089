"""Paired tests of the promotion gate against their textbook definitions and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from mlwright.evaluation.compare import delong, mcnemar, paired_bootstrap
from mlwright.loop.retrain import GateConfig, gate


def _delong_brute_force(y, s1, s2):
    """DeLong et al. (1988) from the definition: structural components over every (positive, negative) pair."""
    pos, neg = y == 1, y == 0

    def components(s):
        x, z = s[pos][:, None], s[neg][None, :]
        psi = (x > z) + 0.5 * (x == z)
        return psi.mean(axis=1), psi.mean(axis=0)

    v10a, v01a = components(s1)
    v10b, v01b = components(s2)
    m, n = pos.sum(), neg.sum()
    s10, s01 = np.cov(np.vstack([v10a, v10b])), np.cov(np.vstack([v01a, v01b]))
    cov = s10 / m + s01 / n
    diff = v10b.mean() - v10a.mean()
    return diff, diff / np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])


def test_delong_equals_the_definition_and_the_aucs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    a = y + rng.normal(0, 2.0, 600)
    b = np.round(y + rng.normal(0, 0.7, 600), 1)  # ties
    res = delong(y, a, b)
    diff, z = _delong_brute_force(y, a, b)
    assert res["champion"] == pytest.approx(roc_auc_score(y, a))
    assert res["challenger"] == pytest.approx(roc_auc_score(y, b))
    assert res["delta"] == pytest.approx(diff) and res["z"] == pytest.approx(z)
    assert res["pvalue"] == pytest.approx(stats.norm.sf(z)) and res["pvalue"] < 0.05
    assert delong(y, b, a)["pvalue"] > 0.95  # the other way round: not better
    with pytest.raises(ValueError, match="both classes"):
        delong(np.zeros(5), a[:5], b[:5])


def test_mcnemar_and_bootstrap():
    y = np.array([1] * 60 + [0] * 40)
    champion = y.copy()
    challenger = y.copy()
    champion[:20] = 1 - champion[:20]  # 20 rows only the challenger gets right
    challenger[90:93] = 1 - challenger[90:93]  # 3 rows only the champion gets right
    res = mcnemar(y, champion, challenger)
    assert (res["only_challenger_right"], res["only_champion_right"]) == (20, 3)
    assert res["pvalue"] == pytest.approx(stats.binomtest(20, 23, 0.5, alternative="greater").pvalue)
    assert res["delta"] == pytest.approx(0.17)
    rng = np.random.default_rng(1)
    t = rng.normal(size=400)
    good, bad = t + rng.normal(0, 0.3, 400), t + rng.normal(0, 0.6, 400)

    def rmse(a, b):
        return float(np.sqrt(np.mean((a - b) ** 2)))

    better = paired_bootstrap(t, bad, good, rmse, greater_is_better=False, n_boot=300)
    assert better["delta"] > 0 and better["pvalue"] < 0.01 and better["interval"][0] > 0
    worse = paired_bootstrap(t, good, bad, rmse, greater_is_better=False, n_boot=300)
    assert worse["delta"] < 0 and worse["pvalue"] > 0.99


def test_gate_outcomes():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 800)
    weak = np.clip(0.5 + (y - 0.5) * 0.2 + rng.normal(0, 0.2, 800), 0.01, 0.99)
    strong = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.2, 800), 0.01, 0.99)

    def out(p):
        return {"proba": np.column_stack([1 - p, p]), "labels": (p > 0.5).astype(int)}

    outcome, comp, _, reasons = gate("binary", "roc_auc", y, out(weak), out(strong), GateConfig())
    assert outcome == "promoted" and comp["test"] == "delong" and not reasons
    outcome, *_ = gate("binary", "roc_auc", y, out(weak), out(strong), GateConfig(approval="human"))
    assert outcome == "recommended"
    outcome, comp, _, reasons = gate("binary", "roc_auc", y, out(strong), out(weak), GateConfig())
    assert outcome == "rejected" and comp["delta"] < 0 and any("not significant" in r for r in reasons)
    outcome, _, _, reasons = gate("binary", "roc_auc", y, out(weak), out(strong), GateConfig(min_delta=0.9))
    assert outcome == "rejected" and "min_delta" in reasons[0]
    outcome, _, guards, reasons = gate("binary", "roc_auc", y, out(weak), out(strong * 0 + 0.99),
                                       GateConfig(min_delta=-1, alpha=1.0, guards={"log_loss": 0.01}))  # fmt: skip
    assert outcome == "rejected" and not guards["log_loss"]["ok"] and any("guard log_loss" in r for r in reasons)
    outcome, comp, *_ = gate("binary", "accuracy", y, out(weak), out(strong), GateConfig())
    assert comp["test"] == "mcnemar" and outcome == "promoted"
    outcome, comp, *_ = gate("binary", "log_loss", y, out(weak), out(strong), GateConfig(n_boot=200))
    assert comp["test"] == "bootstrap" and outcome == "promoted"
