import numpy as np

from mlwright.ensemble import caruana
from mlwright.metrics import get_metric


def test_caruana_beats_or_matches_every_member_and_ignores_noise():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    a = y + rng.normal(scale=0.5, size=500)
    b = y + rng.normal(scale=0.5, size=500)  # independent errors: averaging a and b helps
    noise = rng.normal(size=500) * 3
    rmse = get_metric("rmse")
    w, score = caruana([a, b, noise], y, rmse)
    assert np.isclose(w.sum(), 1.0) and (w >= 0).all()
    assert w[2] == 0
    assert score < min(rmse(y, a), rmse(y, b))
    assert np.isclose(score, rmse(y, w[0] * a + w[1] * b))


def test_caruana_for_probabilities_with_a_greater_is_better_metric():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    good = np.clip(y * 0.5 + rng.random(400) * 0.6, 0, 1)
    bad = rng.random(400)
    auc = get_metric("roc_auc")
    w, score = caruana([np.column_stack([1 - bad, bad]), np.column_stack([1 - good, good])], y, auc, 2)
    assert w[1] > w[0]
    assert score >= auc(y, np.column_stack([1 - good, good])) - 1e-12
