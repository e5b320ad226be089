"""Contract tests run over every registered model family."""

import time

import numpy as np
import pytest

from mlwright.budget import Deadline
from mlwright.data.schema import coerce, infer_schema
from mlwright.errors import ConfigError
from mlwright.features import build_preprocessor
from mlwright.models import REGISTRY, families_for, get

FAMILIES = ["lightgbm", "xgboost", "catboost", "linear", "rf", "et", "knn", "naive_bayes", "svm", "mlp"]


def test_registry_holds_every_builtin_family():
    assert [f.key for f in families_for("binary")] and set(FAMILIES) <= set(REGISTRY)
    assert "naive_bayes" not in {f.key for f in families_for("regression")}


def test_unknown_family_lists_valid_ones():
    with pytest.raises(ConfigError, match=r"did you mean 'lightgbm'.*valid:.*catboost"):
        get("lightgbn")


def test_a_family_whose_extra_is_missing_is_left_out_or_named_with_its_install_command(monkeypatch):
    import dataclasses

    ghost = dataclasses.replace(get("linear"), key="ghost", requires="no_such_module_xyz", install_hint="pip install x")
    monkeypatch.setitem(REGISTRY, "ghost", ghost)
    assert "ghost" not in {f.key for f in families_for("binary")}
    with pytest.raises(ConfigError, match=r"'ghost' needs 'no_such_module_xyz'.*pip install x"):
        families_for("binary", ["ghost"])


def _data(df, task):
    schema = infer_schema(df, "label", task=task)
    X = coerce(df, schema)
    if task == "regression":
        y = df["label"].to_numpy(float)
    else:
        y = np.searchsorted(np.array(schema.classes), df["label"].to_numpy())
    return schema, X, y


CASES = [(k, t) for k in FAMILIES for t in ("binary", "multiclass", "regression") if t in get(k).tasks]


@pytest.mark.parametrize("key,task", CASES)
def test_family_contract(key, task, binary_df, multiclass_df, regression_df, tmp_path):
    fam = get(key)
    df = {"binary": binary_df, "multiclass": multiclass_df, "regression": regression_df}[task]
    schema, X, y = _data(df, task)
    k = len(schema.classes)
    pre = build_preprocessor(schema, fam.style)
    Xtr, Xva = pre.fit_transform(X.iloc[:300], y[:300]), pre.transform(X.iloc[300:])
    params = {**fam.start, **fam.portfolio[0]}
    if key in ("rf", "et"):
        params["n_estimators"] = 40
    model = fam.make(task, params, k, 0, 2, schema.metric)
    model.fit(Xtr, y[:300], Xva, y[300:], deadline=Deadline(time.monotonic() + 30))
    p = model.predict_raw(Xva)
    if task == "regression":
        assert p.shape == (Xva.shape[0],)
        assert np.corrcoef(p, y[300:])[0, 1] > 0.5  # it learned something
    else:
        assert p.shape == (Xva.shape[0], k)
        np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
        assert (p.argmax(1) == y[300:]).mean() > 1.0 / k + 0.1
    # the small-batch path (arrays, no DataFrame plumbing) gives the same numbers
    from mlwright.data.schema import coerce_arrays

    fast = pre.transform_fast(coerce_arrays(df.iloc[300:310], schema))
    # the MLP computes in float32: 10 rows and 100 rows take different BLAS blockings (seen: 2e-6 relative)
    rtol = 1e-5 if key == "mlp" else 1e-6
    np.testing.assert_allclose(model.predict_fast(fast), p[:10], rtol=rtol, atol=1e-9)
    files = model.save(tmp_path, "m")
    assert all((tmp_path / f).exists() for f in files)
    loaded = fam.load(tmp_path, "m", model.meta(), task, k)
    np.testing.assert_allclose(loaded.predict_raw(Xva), p, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("key", ["lightgbm", "xgboost", "catboost", "rf", "mlp"])
def test_truncatable_families_stop_at_the_deadline(key, regression_df):
    fam = get(key)
    schema, X, y = _data(regression_df, "regression")
    big = X.sample(4000, replace=True, random_state=0).reset_index(drop=True)
    yb = np.resize(y, 4000)
    pre = build_preprocessor(schema, fam.style)
    Xtr = pre.fit_transform(big, yb)
    params = {"rf": {"n_estimators": 5000}, "mlp": {"max_epochs": 100_000, "patience": 100_000}}.get(
        key, {"learning_rate": 0.001, "n_estimators": 100_000}
    )
    model = fam.make("regression", params, 0, 0, 1, "rmse")
    t0 = time.monotonic()
    model.fit(Xtr, yb, Xtr, yb, deadline=Deadline(time.monotonic() + 1.0))
    assert time.monotonic() - t0 < 4.0
    assert model.predict_raw(Xtr.iloc[:5] if hasattr(Xtr, "iloc") else Xtr[:5]).shape == (5,)


@pytest.mark.parametrize("kind", ["rf_classifier", "et_regressor"])
def test_packed_forest_equals_scikit_learn_with_missing_values(kind):
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier

    from mlwright.models._packed import PackedForest

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    X[rng.random(X.shape) < 0.1] = np.nan  # trees learn where missing values go
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=600) > 0).astype(int) + (X[:, 1] > 1)
    est = RandomForestClassifier(30, random_state=0) if kind == "rf_classifier" else ExtraTreesRegressor(30)
    est.fit(X, y)
    Xt = rng.normal(size=(40, 6))
    Xt[rng.random(Xt.shape) < 0.2] = np.nan
    ref = est.predict_proba(Xt) if kind == "rf_classifier" else est.predict(Xt)
    np.testing.assert_allclose(PackedForest(est).predict(Xt), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("classifier", [True, False], ids=["classifier", "regressor"])
def test_fused_forests_score_the_weighted_sum_of_their_members(classifier):
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    from mlwright.models._packed import PackedForest

    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int) + (X[:, 2] > 0.5)
    if not classifier:
        y = np.nan_to_num(X[:, 1]) * 3 + rng.normal(size=500)
    kinds = (
        (RandomForestClassifier, ExtraTreesClassifier) if classifier else (RandomForestRegressor, ExtraTreesRegressor)
    )
    forests = [kinds[0](25, random_state=0, max_depth=12).fit(X, y), kinds[1](40, random_state=0).fit(X, y)]
    weights = [0.7, 0.3]
    Xt = rng.normal(size=(7, 5))
    Xt[0, 0] = np.nan
    ref = sum(w * (f.predict_proba(Xt) if classifier else f.predict(Xt)) for f, w in zip(forests, weights))
    fused = PackedForest.fuse([PackedForest(f) for f in forests], weights)
    np.testing.assert_allclose(fused.predict(Xt), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["rf_classifier", "et_regressor"])
def test_forest_batches_scored_tree_by_tree_equal_scikit_learn(kind):
    from mlwright.models._common import _forest_predict

    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int) + (X[:, 1] > 1) if kind == "rf_classifier" else X[:, 2] * 2
    y = np.nan_to_num(y)
    task = "multiclass" if kind == "rf_classifier" else "regression"
    model = get(kind[:2]).make(task, {"n_estimators": 20}, 3, 0, 1, "").fit(X, y)
    Xt = rng.normal(size=(300, 5))
    Xt[rng.random(Xt.shape) < 0.1] = np.nan
    est = model.estimator
    ref = est.predict_proba(Xt) if task == "multiclass" else est.predict(Xt)
    np.testing.assert_allclose(_forest_predict(est, Xt), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.predict_raw(Xt), ref, rtol=1e-12, atol=1e-12)


def test_mlp_stops_on_its_own_rows_not_on_the_out_of_fold_rows():
    pytest.importorskip("torch", reason="the nn extra (torch==2.13.0) is not installed")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    fam = get("mlp")
    preds = []
    for X_val, y_val in ((X[:100], y[:100]), (-X[:100], 1 - y[:100])):  # opposite validation rows
        m = fam.make("binary", {"max_epochs": 30}, 2, 0, 1, "roc_auc").fit(X[100:], y[100:], X_val, y_val)
        preds.append(m.predict_raw(X[:100]))
        assert m.best_epoch >= 1
    # the epoch is chosen on rows held out of the training rows: the out-of-fold rows do not steer it
    np.testing.assert_array_equal(preds[0], preds[1])


def test_fold_forests_served_together_are_thinned_past_the_size_cap():
    from mlwright.models._common import thin_fold_forest

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] * 2 + rng.normal(size=300)
    fam = get("et")
    folds = [fam.make("regression", {"n_estimators": 30}, 0, k, 1, "rmse").fit(X, y) for k in range(3)]
    full = np.mean([m.predict_raw(X) for m in folds], axis=0)
    size = folds[0].nbytes()
    assert thin_fold_forest(folds[0], 3, max_bytes=3 * size) is folds[0]  # under the cap: untouched
    assert len(folds[0].estimator.estimators_) == 30
    thin = [thin_fold_forest(m, 3, max_bytes=size) for m in folds]
    assert [len(m.estimator.estimators_) for m in thin] == [10, 10, 10]  # as many trees as one forest
    assert sum(m.nbytes() for m in thin) < 1.2 * size
    avg = np.mean([m.predict_raw(X) for m in thin], axis=0)
    assert np.corrcoef(avg, full)[0, 1] > 0.98  # about the same average


@pytest.mark.parametrize("task", ["binary", "regression"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_svm_numpy_kernel_equals_libsvm(task, sparse):
    import scipy.sparse as sp

    from mlwright.models.svm import _make

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 12))
    X[:, 8:] = X[:, 8:] > 0.3
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) if task == "binary" else 3 * X[:, 0] + X[:, 1] ** 2
    fit_X = sp.csr_matrix(X.astype(np.float32)) if sparse else X
    model = _make(task, {"C": 1.0}, 2, 0, 1, None).fit(fit_X, y)
    Xt = rng.normal(size=(300, 12))
    Xt = sp.csr_matrix(Xt.astype(np.float32)) if sparse else Xt
    want = model.estimator.predict(Xt) if task == "regression" else model.estimator.predict_proba(Xt)
    np.testing.assert_allclose(model.predict_raw(Xt), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.predict_fast(Xt[:1]), want[:1], rtol=1e-9, atol=1e-12)
