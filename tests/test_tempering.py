"""Honest probabilities: the temperature and floor learned out of fold, and what the served model does with them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlwright
from mlwright.evaluation.tempering import MIN_PROB, apply_tempering, fit_tempering, floor_only, tempering_gain


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _draw(n: int = 3000, k: int = 4, sharpen: float = 3.0, seed: int = 0):
    """Labels drawn from softmax(z); the 'model' says softmax(sharpen · z): right in order, over-confident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=1.5, size=(n, k))
    truth = _softmax(z)
    y = np.array([rng.choice(k, p=row) for row in truth])
    return _softmax(sharpen * z), y, truth


def _nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def test_an_over_confident_model_is_softened_and_its_log_loss_falls():
    p, y, truth = _draw()
    t = fit_tempering(p, y)
    assert 2.0 < t["temperature"] < 4.0  # undoes the sharpening (3)
    q = apply_tempering(t, p)
    assert _nll(q, y) < 0.9 * _nll(apply_tempering(floor_only(), p), y)
    assert _nll(q, y) == pytest.approx(_nll(truth, y), rel=0.03)  # about as good as the true probabilities
    groups = np.array_split(np.arange(len(y)), 5)
    raw, crossfit = tempering_gain(p, y, groups)
    assert crossfit < raw  # the gain holds on rows the map did not learn from


def test_calibrated_probabilities_are_left_nearly_alone():
    _, y, truth = _draw(sharpen=1.0)
    t = fit_tempering(truth, y)
    assert t["temperature"] == pytest.approx(1.0, abs=0.1)
    assert _nll(apply_tempering(t, truth), y) == pytest.approx(_nll(truth, y), rel=0.01)


def test_tempered_rows_are_probabilities_with_a_floor_and_the_same_order():
    p, _, _ = _draw(n=500)
    p[0] = [1.0, 0.0, 0.0, 0.0]  # certainty
    for t in (floor_only(), {"temperature": 2.5, "floor": 0.0, "prior": [0.25] * 4, "min_prob": MIN_PROB}):
        q = apply_tempering(t, p)
        assert np.allclose(q.sum(axis=1), 1.0) and q.min() >= MIN_PROB
        assert (q.argmax(axis=1) == p.argmax(axis=1)).all()
    assert -np.log(apply_tempering(floor_only(), p)[0, 1]) <= -np.log(MIN_PROB) + 1e-9  # no row costs more
    assert (apply_tempering(None, p) == p).all()  # models saved before tempering existed: as they were


def test_a_mistake_made_with_certainty_costs_at_most_the_floor(tmp_path):
    """The served multiclass model never rules a class out: the cost of one row is bounded (−log 1e-4)."""
    rng = np.random.default_rng(3)
    n = 240
    X = rng.normal(size=(n, 3))
    y = np.where(X[:, 0] > 0.6, "high", np.where(X[:, 0] < -0.6, "low", "mid"))
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(level=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = mlwright.AutoML(time_budget=60, families=["lightgbm", "linear"], max_trials=3, report_seconds=0).fit(
            df, target="level"
        )
    odd = pd.DataFrame({"a": [9.0], "b": [0.0], "c": [0.0]})  # far outside: certain "high" — say it was "low"
    p = m.predict_proba(odd)
    assert float(p["low"].iloc[0]) >= MIN_PROB
    t = m.fitted_.tempering
    assert t is not None and t["min_prob"] == MIN_PROB
    if "temperature" in t:  # kept only when it lowered the cross-fitted out-of-fold log loss
        assert t["oof_log_loss_tempered"] < t["oof_log_loss"]
    m.save(tmp_path / "model")
    back = mlwright.load(tmp_path / "model")
    assert back.fitted_.tempering == t
    pd.testing.assert_frame_equal(
        back.predict_proba(df.drop(columns="level")), m.predict_proba(df.drop(columns="level"))
    )
