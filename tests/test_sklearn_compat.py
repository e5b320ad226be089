"""scikit-learn's own estimator checks on AutoML (small budget; the transformers are checked in test_features)."""

import warnings

from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

import mlwright


def test_automl_passes_check_estimator():
    est = mlwright.AutoML(time_budget=60, families=["lightgbm", "linear"], max_trials=2, n_folds=2)
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


def test_cross_val_score_with_default_scoring(binary_df, regression_df):
    """No scoring= given: scikit-learn calls AutoML.score (accuracy / R²) on each fold."""
    from sklearn.base import is_classifier, is_regressor
    from sklearn.model_selection import cross_val_score

    X, y = binary_df.drop(columns=["label"]), binary_df["label"]
    est = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=1, n_folds=2, tracking=None)
    scores = cross_val_score(est, X, y, cv=2)
    assert len(scores) == 2 and all(0.6 < s <= 1.0 for s in scores)  # accuracy, well above chance
    assert is_classifier(mlwright.AutoML(task="binary")) and is_regressor(mlwright.AutoML(task="regression"))
    Xr, yr = regression_df.drop(columns=["label"]), regression_df["label"]
    r2 = cross_val_score(
        mlwright.AutoML(time_budget=60, families=["linear"], max_trials=1, tracking=None), Xr, yr, cv=2
    )
    assert all(0.3 < s <= 1.0 for s in r2)  # R²: the linear signal is found
