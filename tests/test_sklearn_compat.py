"""scikit-learn's own estimator checks on AutoML (small budget; the transformers are checked in test_features)."""

import warnings

from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

import mlwright


def test_automl_passes_check_estimator():
    est = mlwright.AutoML(time_budget=2, families=["lightgbm", "linear"], max_trials=2, n_folds=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:200] for r in results if r["status"] == "failed"}
    assert failed == {}
    assert len(results) >= 35


def test_params_round_trip_and_clone():
    est = mlwright.AutoML(task="binary", metric="f1", time_budget=9, families=["linear"], seed=3)
    c = clone(est)
    assert c.get_params() == est.get_params()
    c.set_params(time_budget=4)
    assert c.time_budget == 4 and est.time_budget == 9
