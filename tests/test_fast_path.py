"""The array paths (a few rows; up to FAST_PATH_ROWS; the service's Columns) must give exactly what the
DataFrame path gives."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import mlwright.automl.fitted as fitted_module
from mlwright.data.schema import Columns

from .conftest import quick_fit


def _frame_path(a, X: pd.DataFrame) -> np.ndarray:
    """Scores through DataFrames at every stage (the path of large batches)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fitted_module, "FAST_PATH_ROWS", 0)
        assert not a.fitted_.uses_fast_path(X)
        return a.predict_scores(X)


def _as_columns(X: pd.DataFrame) -> Columns:
    """The rows as the service reads a JSON body: plain Python values, null for missing, per column."""
    records = json.loads(X.to_json(orient="records", date_format="iso"))
    return Columns({c: [r.get(c) for r in records] for c in X.columns}, len(records))


BOOSTERS = ["lightgbm", "xgboost", "catboost"]


def _odd_rows(X: pd.DataFrame) -> pd.DataFrame:
    rows = X.head(12).copy()
    rows.loc[rows.index[0], "color"] = "never-seen"
    rows.loc[rows.index[1], ["x1", "x2", "color", "city", "when", "review"]] = np.nan
    rows.loc[rows.index[2], "city"] = "  "
    rows.loc[rows.index[3], "review"] = "great great great"
    return rows


OTHERS = ["linear", "knn", "rf", "svm", "naive_bayes"]


@pytest.mark.parametrize("families", [BOOSTERS, OTHERS], ids=["boosters", "sklearn"])
@pytest.mark.parametrize("task_df", ["binary_df", "multiclass_df", "regression_df"])
def test_fast_path_matches_dataframe_path(task_df, families, request):
    df = request.getfixturevalue(task_df)
    fams = [f for f in families if not (f == "naive_bayes" and task_df == "regression_df")]
    a = quick_fit(df, families=fams, max_trials=len(fams), time_budget=40, n_folds=3, refit=False)
    assert {m["family"] for m in a.members_} <= set(fams)
    X = df.drop(columns=["label"])
    rows = _odd_rows(X)
    many = pd.concat([rows, X.iloc[12:80]])
    slow = _frame_path(a, many)
    assert a.fitted_.uses_fast_path(rows) and a.fitted_.uses_fast_path(many)
    np.testing.assert_allclose(a.predict_scores(rows), slow[: len(rows)], rtol=1e-6, atol=1e-9)  # a few rows
    as_categories = rows.astype({"color": "category", "city": "category"})  # read by their codes
    np.testing.assert_allclose(a.predict_scores(as_categories), slow[: len(rows)], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(a.predict_scores(many), slow, rtol=1e-6, atol=1e-9)  # more: arrays, forests one by one
    np.testing.assert_allclose(a.predict_scores(_as_columns(many)), slow, rtol=1e-6, atol=1e-9)  # as the service reads


def test_fast_path_checks_like_the_slow_one(binary_df):
    a = quick_fit(binary_df, families=["lightgbm"], max_trials=1)
    X = binary_df.drop(columns=["label"]).head(2)
    from mlwright.errors import ColumnsMismatchError, ColumnTypeError

    with pytest.raises(ColumnsMismatchError):
        a.predict(X.drop(columns=["x1"]))
    bad = X.astype({"x1": object})
    bad.loc[bad.index[0], "x1"] = "oops"
    with pytest.raises(ColumnTypeError, match="'x1'"):
        a.predict(bad)
    with pytest.warns(UserWarning, match="ignoring 1 column"):
        a.predict(X.assign(extra=1))
    ones = _frame_path(a, X.assign(x1=1.0))  # true/false are 1/0, on either path
    np.testing.assert_allclose(a.predict_scores(X.assign(x1=True)), ones)
    np.testing.assert_allclose(_frame_path(a, X.assign(x1=True)), ones)


def test_forest_members_fused_on_the_fast_path_give_the_same_numbers(multiclass_df):
    rf = quick_fit(multiclass_df, families=["rf"], max_trials=1, time_budget=30, n_folds=3, refit=True)
    et = quick_fit(multiclass_df, families=["et"], max_trials=1, time_budget=30, n_folds=3, refit=True)
    (m_rf,), (m_et,) = rf.fitted_.members, et.fitted_.members
    assert m_rf.preps == m_et.preps == ("ordinal/full",)  # same data and seed: the same preprocessing
    two = (dataclasses.replace(m_rf, weight=0.6), dataclasses.replace(m_et, weight=0.4))
    rf.fitted_ = rf.fitted_.replace(members=two, tempering=None)  # a two-forest ensemble, its blend as it is
    rest, fused = rf.fitted_.fused_forests()
    assert rest == [] and len(fused) == 1
    X = multiclass_df.drop(columns=["label"])
    rows = _odd_rows(X)
    fast = rf.predict_scores(rows)  # the fused forest
    slow = _frame_path(rf, pd.concat([rows, X.iloc[12:40]]))[: len(rows)]  # each forest through scikit-learn
    expected = 0.6 * rf_only(m_rf, rf, rows) + 0.4 * rf_only(m_et, et, rows)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fast, expected, rtol=1e-6, atol=1e-9)
    assert rf.fitted_.fused_forests()[1] is fused  # reused while the members and weights stay
    halves = tuple(dataclasses.replace(m, weight=0.5) for m in two)
    assert rf.fitted_.replace(members=halves).fused_forests()[1] is not fused  # a new fitted model: rebuilt
    with pytest.raises(AttributeError):
        rf.members_ = []  # the fitted attributes are read-only views


def rf_only(member, owner, rows):
    pre = owner.preprocessors_[member.preps[0]]
    return member.models[0].predict_raw(pre.transform(owner.validate(rows)))
