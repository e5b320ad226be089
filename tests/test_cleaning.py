"""fit acts on the checks' findings (with a logged reason the user can override) and cleans in the pipeline."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mlwright
from mlwright.data.cleaning import Cleaning
from mlwright.errors import ConfigError
from mlwright.features import TabularPreprocessor

FAST = ["lightgbm", "linear"]


def _data(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n)})
    df["label"] = np.where(df.a + 0.5 * df.b + rng.normal(scale=0.7, size=n) > 0, "pos", "neg")
    return df


def _fit(df, **kw):
    return mlwright.AutoML(time_budget=60, families=FAST, max_trials=2, **kw).fit(df, target="label")


def test_leaking_column_is_dropped_with_a_warning_and_can_be_kept():
    df = _data()
    df["case_outcome_code"] = np.where(df.label == "pos", "C9", "C1")
    with pytest.warns(UserWarning, match="dropped column 'case_outcome_code'.*suspected target leakage"):
        a = _fit(df)
    assert a.schema_["case_outcome_code"].kind == "excluded"
    leak = next(f for f in a.findings_ if f.check == "leakage")
    assert leak.action.startswith("dropped") and leak.severity == "critical"
    assert a.score_val_ < 0.99, "the leak did not reach the models"
    a.predict(df.drop(columns=["label", "case_outcome_code"]).head(3))  # not needed to predict any more

    kept = _fit(df, cleaning={"keep": ["case_outcome_code"]})
    assert kept.schema_["case_outcome_code"].kind == "categorical"
    assert next(f for f in kept.findings_ if f.check == "leakage").action == "kept: listed in cleaning keep"
    assert kept.score_val_ > 0.99


def test_easy_problem_is_not_mistaken_for_leakage():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    df = pd.DataFrame({"u": y * 10 + rng.normal(size=400), "v": y * 8 + rng.normal(size=400), "label": y})
    a = _fit(df)
    assert a.schema_.features == ["u", "v"]
    assert all(f.action.startswith("kept: every feature") for f in a.findings_ if f.check == "leakage")


def test_disguised_missing_values_are_read_as_missing_when_fitting_and_predicting():
    df = _data()
    w = (df.a * 10 + 70).round(1).astype(str).to_numpy(dtype=object)
    w[::8] = "?"  # 12.5 %: without cleaning this column would look categorical
    df["weight"] = w
    a = _fit(df)
    spec = a.schema_["weight"]
    assert spec.kind == "numeric" and spec.na_values == ["?"]
    rows = df.drop(columns="label").head(4).copy()
    rows["weight"] = ["?", "70.5", "?", "71"]
    as_nan = rows.assign(weight=[np.nan, 70.5, np.nan, 71.0])
    np.testing.assert_allclose(a.predict_proba(rows).to_numpy(), a.predict_proba(as_nan).to_numpy())

    off = _fit(df, cleaning={"disguised_missing": False})
    assert off.schema_["weight"].kind != "numeric"


def test_numeric_placeholder_is_masked_at_predict_time():
    df = _data()
    df["tenure"] = np.random.default_rng(2).integers(0, 60, len(df)).astype(float)
    df.loc[::20, "tenure"] = -999
    a = _fit(df)
    assert a.schema_["tenure"].na_values == [-999]
    row = df.drop(columns="label").head(1)
    np.testing.assert_allclose(
        a.predict_proba(row.assign(tenure=-999.0)).to_numpy(), a.predict_proba(row.assign(tenure=np.nan)).to_numpy()
    )


def test_duplicates_removed_on_request():
    df = _data()
    dup = pd.concat([df, df.iloc[:60]], ignore_index=True)
    kept = _fit(dup)
    assert kept.training_fingerprint_["rows"] == len(dup)
    with pytest.warns(UserWarning, match="removed 60 duplicate rows"):
        removed = _fit(dup, cleaning={"drop_duplicates": True})
    assert removed.training_fingerprint_["rows"] == len(df)


def test_user_drop_and_bad_options():
    a = _fit(_data(), cleaning={"drop": ["c"]})
    assert "c" not in a.schema_.features
    with pytest.raises(ConfigError, match=r"unknown cleaning option 'drop_duplicate'.*did you mean 'drop_duplicates'"):
        _fit(_data(), cleaning={"drop_duplicate": True})
    with pytest.raises(ConfigError, match="impute='avg' is not a strategy"):
        Cleaning.from_value({"impute": "avg"})
    with pytest.raises(ConfigError, match="names column 'zz', which is not a feature"):
        _fit(_data(), cleaning={"keep": ["zz"]})
    with pytest.raises(ConfigError, match="clip_outliers"):
        Cleaning.from_value({"clip_outliers": 0.7})


def test_findings_survive_save_and_load(tmp_path):
    df = _data()
    df.loc[:9, "b"] = -999.0
    df.loc[10:19, "b"] = -999.0
    df.loc[20:29, "b"] = -999.0
    a = _fit(df)
    path = a.save(tmp_path / "m")
    b = mlwright.load(path)
    assert [f.to_dict() for f in b.findings_] == [f.to_dict() for f in a.findings_]
    assert b.schema_["b"].na_values == [-999]


def test_imputation_and_clipping_are_fitted_on_the_rows_given():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=500), "z": rng.normal(size=500)})
    X.loc[:4, "x"] = 100.0
    X.loc[5:50, "z"] = np.nan
    pre = TabularPreprocessor(numeric=["x", "z"], style="ordinal", impute="mean", clip=0.01).fit(X)
    lo, hi = np.nanquantile(X.to_numpy(), [0.01, 0.99], axis=0)
    np.testing.assert_allclose(pre.clip_[0], lo)
    np.testing.assert_allclose(pre.clip_[1], hi)
    out = pre.transform(pd.DataFrame({"x": [1e6, np.nan], "z": [np.nan, 0.0]}))
    assert out[0, 0] == pytest.approx(hi[0])  # clipped
    clipped_mean = np.clip(X.z.dropna(), lo[1], hi[1]).mean()
    assert out[0, 1] == pytest.approx(clipped_mean)  # mean of the fitted (clipped) rows
    fast = pre.transform_fast({"x": np.array([1e6, np.nan]), "z": np.array([np.nan, 0.0])})
    np.testing.assert_allclose(fast, out)  # the small-batch path applies the same cleaning
    zero = TabularPreprocessor(numeric=["x", "z"], style="ordinal", impute="zero").fit(X)
    assert zero.transform(pd.DataFrame({"x": [0.0], "z": [np.nan]}))[0, 1] == 0.0


def test_cleaning_options_reach_the_search():
    df = _data()
    df.loc[:3, "a"] = 500.0
    a = mlwright.AutoML(
        time_budget=60, families=["linear"], max_trials=1, cleaning={"clip_outliers": True, "impute": "mean"}
    ).fit(df, target="label")
    pre = next(iter(a.preprocessors_.values()))
    assert pre.impute == "mean" and pre.clip == 0.001 and pre.clip_ is not None


def test_feature_selection_is_kept_only_when_it_helps():
    rng = np.random.default_rng(4)
    n = 800
    df = pd.DataFrame(rng.normal(size=(n, 25)), columns=[f"n{i}" for i in range(25)])
    df["s1"], df["s2"] = rng.normal(size=n), rng.normal(size=n)
    df["label"] = np.where(df.s1 + df.s2 + rng.normal(scale=0.5, size=n) > 0, 1, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlwright.AutoML(
            time_budget=120, families=["lightgbm"], max_trials=2, cleaning={"select_features": True}
        ).fit(df, target="label")
    info = a.feature_selection_
    assert "timed_out" not in info, info  # a fifth of 120 s is ample: the comparison below must have run
    assert info["candidates"] and "s1" not in info["candidates"] and "s2" not in info["candidates"]
    dropped = [c.name for c in a.schema_.columns if c.kind == "excluded"]
    if info["kept"]:
        assert info["score_selected"] > info["score_all"]
        assert sorted(dropped) == sorted(info["candidates"])
    else:
        assert info["score_selected"] <= info["score_all"] and dropped == []
