import numpy as np

from mlwright.ensemble import caruana
from mlwright.evaluation.metrics import get_metric


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


def test_nested_scores_do_not_reward_fitting_noise():
    # 15 candidates that know nothing: weights fitted on the same rows look good, nested ones do not
    from mlwright.ensemble import nested_scores

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 1000)
    preds = [np.column_stack([1 - p, p]) for p in rng.random((15, 1000))]
    auc = get_metric("roc_auc")
    groups = np.array_split(rng.permutation(1000), 5)
    _, in_sample = caruana(preds, y, auc, 2)
    ens, single = nested_scores(preds, y, auc, groups, 2)
    best_single = max(auc(y, p) for p in preds)
    assert in_sample > 0.56 and best_single > 0.535  # the optimism the nested estimate removes
    assert abs(ens - 0.5) < 0.04 and abs(single - 0.5) < 0.04
    # with real signal the nested ensemble keeps it
    good = [np.column_stack([1 - q, q]) for q in np.clip(y * 0.3 + rng.random((3, 1000)) * 0.7, 0, 1)]
    ens, single = nested_scores(good + preds, y, auc, groups, 2)
    assert ens > 0.75 and single > 0.7
