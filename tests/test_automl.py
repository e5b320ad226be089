import dataclasses
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import mlwright
from mlwright import models
from mlwright.errors import (
    ColumnsMismatchError,
    ColumnTypeError,
    ConfigError,
    EmptyDataError,
    NotFittedError,
    TargetError,
    TargetNotFoundError,
)

from .conftest import FAST, make_table, quick_fit


def test_binary_end_to_end(binary_model, binary_df):
    a = binary_model
    assert a.task_ == "binary" and a.metric_ == "roc_auc"
    X = binary_df.drop(columns=["label"])
    proba = a.predict_proba(X)
    assert list(proba.columns) == ["no", "yes"] and proba.index.equals(X.index)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = a.predict(X)
    assert set(pred) <= {"no", "yes"} and (pred == proba.idxmax(axis=1).to_numpy()).all()
    lb = a.leaderboard()
    assert {"model", "score_val", "fit_seconds", "predict_seconds"} <= set(lb.columns)
    # first the served model with its nested estimate, then every trial best first
    assert lb["served"].tolist() == [True] + [False] * (len(lb) - 1) and lb["model"].iloc[0] == a.best_model_
    assert lb["score_val"].iloc[1:].is_monotonic_decreasing  # AUC: best first
    assert lb["score_val"].iloc[0] == pytest.approx(a.score_val_) and lb["estimate"].iloc[0] == "nested"
    assert a.score_val_ > 0.75  # the signal is learnable; CV estimate is honest, not train fit
    ev = a.evaluate(binary_df)
    assert ev["roc_auc"] > 0.8 and ev["n_rows"] == len(binary_df)
    assert np.array(ev["confusion_matrix"]).sum() == len(binary_df)


def test_multiclass_and_regression(multiclass_model, regression_model, multiclass_df, regression_df):
    assert multiclass_model.task_ == "multiclass" and multiclass_model.metric_ == "log_loss"
    proba = multiclass_model.predict_proba(multiclass_df.drop(columns=["label"]))
    assert list(proba.columns) == ["high", "low", "mid"]
    assert multiclass_model.leaderboard()["score_val"].iloc[1:].is_monotonic_increasing  # log loss: lower first
    assert regression_model.task_ == "regression" and regression_model.metric_ == "rmse"
    pred = regression_model.predict(regression_df.drop(columns=["label"]))
    assert pred.shape == (len(regression_df),) and pred.dtype == float
    ev = regression_model.evaluate(regression_df)
    assert ev["r2"] > 0.7 and {"rmse", "mae", "mape"} <= set(ev)
    assert not hasattr(regression_model, "predict_proba")  # regression: predict only


@pytest.mark.parametrize("labels", [[True, False], [0, 1], [3, 7, 9]], ids=["bool", "int01", "int3"])
def test_labels_keep_their_type(labels):
    rng = np.random.default_rng(0)
    n = 240
    x = rng.normal(size=n)
    y = np.array(labels)[np.digitize(x, np.quantile(x, np.linspace(0, 1, len(labels) + 1)[1:-1]))]
    df = pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": y})
    a = quick_fit(df, "y", task="binary" if len(labels) == 2 else "multiclass", max_trials=1, families=["lightgbm"])
    proba = a.predict_proba(df.drop(columns=["y"]))
    assert list(proba.columns) == sorted(labels)
    assert all(type(c) is type(labels[0]) for c in proba.columns)
    pred = a.predict(df.drop(columns=["y"]))
    assert set(pred.tolist()) <= set(labels) and type(pred.tolist()[0]) is type(labels[0])


def test_fit_X_y_with_arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] * 3 + X[:, 1] + rng.normal(scale=0.3, size=200)  # no column alone gives y away (no leak)
    a = mlwright.AutoML(time_budget=60, families=FAST, max_trials=2).fit(X, y)
    assert a.task_ == "regression" and a.n_features_in_ == 4
    assert np.corrcoef(a.predict(X), y)[0, 1] > 0.9
    with pytest.raises(ColumnsMismatchError, match="X has 3 features, but AutoML is expecting 4"):
        a.predict(X[:, :3])


def test_missing_target_rows_dropped_with_count(binary_df):
    df = binary_df.copy()
    df.loc[:6, "label"] = np.nan
    with pytest.warns(UserWarning, match="dropped 7 row"):
        a = mlwright.AutoML(time_budget=60, families=["linear"], max_trials=1).fit(df, target="label")
    assert a.leaderboard().shape[0] >= 1


def test_entirely_missing_feature_dropped_with_warning(binary_df):
    df = binary_df.assign(blank=np.nan)
    with pytest.warns(UserWarning, match="entirely missing: 'blank'"):
        a = mlwright.AutoML(time_budget=60, families=["linear"], max_trials=1).fit(df, target="label")
    assert "blank" not in a.schema_.features
    a.predict(binary_df.drop(columns=["label"]).assign(blank=np.nan))  # still accepted at predict time


def test_bad_targets(binary_df):
    def fit(df, target="label", **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = {"time_budget": 5, "families": ["linear"], "max_trials": 1, **kw}
            return mlwright.AutoML(**params).fit(df, target=target)

    with pytest.raises(TargetNotFoundError, match=r"'Label' is not in the data.*did you mean 'label'"):
        fit(binary_df, "Label")
    with pytest.raises(TargetError, match="single class"):
        fit(binary_df.assign(label="yes"))
    with pytest.raises(TargetError, match="no values"):
        fit(binary_df.assign(label=np.nan))
    with pytest.raises(TargetError, match=r"task='binary' but .* 3 classes"):
        fit(make_table(100, "multiclass"), task="binary")
    with pytest.raises(TargetError, match="non-numeric"):
        fit(binary_df, task="regression")
    with pytest.raises(EmptyDataError, match="no rows"):
        fit(binary_df.iloc[:0])
    with pytest.raises(EmptyDataError, match="no usable feature"):
        fit(binary_df[["row_id", "const", "label"]])
    with pytest.raises(ConfigError, match="time_budget must be a positive"):
        fit(binary_df, time_budget=0)


def test_predict_input_problems(binary_model, binary_df):
    X = binary_df.drop(columns=["label"])
    with pytest.raises(ColumnsMismatchError, match="'x2'"):
        binary_model.predict(X.drop(columns=["x2"]))
    with pytest.warns(UserWarning, match="ignoring 1 column"):
        binary_model.predict(X.assign(surprise=1))
    bad = X.head(5).astype({"x1": object})
    bad.loc[bad.index[2], "x1"] = "abc"
    with pytest.raises(ColumnTypeError, match="'x1'"):
        binary_model.predict(bad)
    odd = X.head(3).copy()
    odd["color"] = ["never-seen", None, "blue"]
    odd["x1"] = np.nan
    assert binary_model.predict_proba(odd).notna().all().all()
    with pytest.raises(NotFittedError, match="not fitted"):
        mlwright.AutoML().predict(X)


def test_groups_and_time_column(binary_df):
    df = binary_df.assign(store=np.repeat(np.arange(20), 20))
    a = quick_fit(df, groups="store", max_trials=1, families=["lightgbm"])
    assert a.split_kind_ == "group_kfold" and "store" not in a.schema_.features
    b = quick_fit(binary_df, time_column="when", max_trials=1, families=["lightgbm"])
    assert b.split_kind_ == "time"
    with pytest.raises(TargetNotFoundError, match="groups column 'shop'"):
        quick_fit(binary_df, groups="shop")


@pytest.mark.slow
def test_same_seed_and_trial_count_gives_same_model(binary_df):
    a = quick_fit(binary_df, max_trials=3, time_budget=60)
    b = quick_fit(binary_df, max_trials=3, time_budget=60)
    X = binary_df.drop(columns=["label"])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X))
    assert a.leaderboard()["model"].tolist() == b.leaderboard()["model"].tolist()


def test_progress_callback_and_trial_log(binary_df, tmp_path):
    snaps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlwright.AutoML(time_budget=60, families=FAST, max_trials=3, workdir=str(tmp_path)).fit(
            binary_df, target="label", callbacks=[snaps.append]
        )
    assert [s.trials_done for s in snaps] == [1, 2, 3]
    assert snaps[-1].best_score == pytest.approx(max(s.last_score for s in snaps))
    assert all(s.time_left <= 60 for s in snaps)
    assert len((tmp_path / "trials.jsonl").read_text().splitlines()) == 3
    assert a.leaderboard().shape[0] >= 3


def test_fit_respects_the_budget(binary_df):
    import time

    t0 = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlwright.AutoML(time_budget=6, seed=1).fit(binary_df, target="label")
    took = time.monotonic() - t0
    assert took <= 6 * 1.05 + 3
    assert len(a.trials_) >= 3  # several families got a turn


def test_unknown_family():
    with pytest.raises(ConfigError, match="unknown model family"):
        quick_fit(make_table(100), families=["gbm"])


def test_runs_are_recorded_under_mlwright_home(binary_df, tmp_path):
    import json
    import os

    a = quick_fit(binary_df, max_trials=1, families=["linear"])
    home = tmp_path / "home"
    assert os.environ["MLWRIGHT_HOME"] == str(home)
    run = json.loads((home / "runs" / os.path.basename(a.run_dir_) / "run.json").read_text())
    assert run["task"] == "binary" and run["score_val"] == a.score_val_ and run["leaderboard"]


@pytest.mark.slow
def test_members_are_refit_on_all_rows_unless_disabled(binary_df, tmp_path):
    a = quick_fit(binary_df, max_trials=2, time_budget=30, n_folds=3, refit=True)
    assert all(m["refit"] and len(m["models"]) == 1 and m["preps"][0].endswith("/full") for m in a.members_)
    b = quick_fit(binary_df, max_trials=2, time_budget=30, n_folds=3, refit=False)
    assert all(not m["refit"] and len(m["models"]) == 3 for m in b.members_)
    X = binary_df.drop(columns=["label"])
    for model, name in ((a, "refit"), (b, "bagged")):
        loaded = mlwright.load(model.save(tmp_path / name))
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    # both serve a model as good as its estimate says, on rows it has seen
    assert a.evaluate(binary_df)["roc_auc"] > 0.85 and b.evaluate(binary_df)["roc_auc"] > 0.85


def test_refit_auto_bags_fold_models_on_small_classification_tables(binary_model, regression_model, binary_df):
    """The default: a classifier on at most 1,000 rows serves its fold models' average (more honest
    probabilities there); larger tables and regression refit on all rows."""
    from mlwright.automl.estimator import FOLD_MODELS_ROWS, serve_refits

    assert len(binary_df) <= FOLD_MODELS_ROWS
    assert all(not m["refit"] and len(m["models"]) == 3 for m in binary_model.members_)
    assert any(m["refit"] and len(m["models"]) == 1 for m in regression_model.members_)
    assert serve_refits("multiclass", FOLD_MODELS_ROWS + 1) and not serve_refits("multiclass", FOLD_MODELS_ROWS)
    with pytest.raises(ConfigError, match="refit must be True, False or 'auto'"):
        mlwright.AutoML(refit="yes").fit(binary_df, target="label")


def _interactions(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=list("abcde"))
    df["y"] = np.sin(2 * df.a) * 3 + df.b * df.c + df.d * 2 + rng.normal(scale=0.5, size=n)
    return df


class _Sleepy:
    """A linear model that takes 20 ms longer per call: a member slow by construction, not by timing luck."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def predict_raw(self, X):
        time.sleep(0.02)
        return self.inner.predict_raw(X)

    def predict_fast(self, X):
        time.sleep(0.02)
        return self.inner.predict_fast(X)


@pytest.fixture
def sleepy_family(monkeypatch):
    lin = models.get("linear")
    fam = dataclasses.replace(
        lin,
        key="sleepy",
        make=lambda *a, **k: _Sleepy(lin.make(*a, **k)),
        load=lambda *a, **k: _Sleepy(lin.load(*a, **k)),
    )
    monkeypatch.setitem(models.REGISTRY, "sleepy", fam)
    return "sleepy"


@pytest.mark.slow
def test_max_predict_ms_drops_slow_members(sleepy_family):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(600, 5)), columns=list("abcde"))
    df["y"] = df.a + df.b + df.c + df.d + np.sin(3 * df.e) * 2 + rng.normal(scale=0.5, size=600)
    kw = {"families": ["rf", sleepy_family], "max_trials": 4, "time_budget": 40}
    free = quick_fit(df, "y", **kw)
    # the linear member helps the forest on the additive part of the signal, but costs 20 ms a row
    assert len(free.members_) == 2 and free.predict_ms_ > 20
    limit = 10.0
    fast = quick_fit(df, "y", limits={"predict_ms": limit}, **kw)
    assert [m["family"] for m in fast.members_] == ["rf"] and fast.predict_ms_ <= limit
    assert fast.members_[0]["weight"] == pytest.approx(1.0)
    assert fast.leaderboard()["score_val"].iloc[0] == pytest.approx(fast.score_val_)
    assert fast.leaderboard()["model"].iloc[0] == fast.members_[0]["name"]
    assert np.isfinite(fast.predict(df.drop(columns=["y"]))).all()


def test_unreachable_latency_warns_and_keeps_one_model(binary_df):
    with pytest.warns(UserWarning, match="cannot be met"):
        a = mlwright.AutoML(time_budget=20, families=["rf", "linear"], max_trials=2, limits={"predict_ms": 1e-6}).fit(
            binary_df, target="label"
        )
    assert len(a.members_) == 1


_CAPPED_FIT = """
import json, sys, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
import mlwright
from mlwright.budget import release_memory, rss_bytes
from tests.test_automl import _interactions

kw = dict(families=["rf", "linear"], max_trials=3, n_folds=3, seed=0, time_budget=60, cluster="inline",
          tracking=None, report_seconds=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    mlwright.AutoML(**kw).fit(_interactions(200), target="y")  # every library the fit needs, imported first
    df = _interactions(3000)
    release_memory()
    room = int(sys.argv[2])
    m = mlwright.AutoML(limits={"memory": rss_bytes() + room}, **kw).fit(df, target="y")
print(json.dumps({"trials": [{k: t[k] for k in ("family", "status", "model_bytes")} for t in m.trials_],
                  "model_bytes": m.model_bytes_, "finite": bool(np.isfinite(m.predict(df.drop(columns="y"))).all())}))
"""


@pytest.mark.slow
def test_memory_limit_caps_the_models_kept():
    """The room is what the fitting process does not hold yet, so the capped fit runs in a fresh process: in a
    test worker, garbage of earlier tests returned to the system during the fit would widen the room."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    df = _interactions(3000)  # deep regression trees: a 300-tree forest would take ~100 MB
    kw = {"families": ["rf", "linear"], "max_trials": 3, "time_budget": 60, "cluster": "inline"}
    free = quick_fit(df, "y", **kw)
    free_forest = max(t["model_bytes"] for t in free.trials_ if t["family"] == "rf")
    room = 40_000_000
    root = str(Path(__file__).resolve().parents[1])
    run = subprocess.run([sys.executable, "-c", _CAPPED_FIT, root, str(room)], capture_output=True, text=True,
                         timeout=300, cwd=root)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    capped = json.loads(run.stdout.strip().splitlines()[-1])
    forests = [t for t in capped["trials"] if t["family"] == "rf" and t["status"] == "ok"]
    assert forests and all(t["model_bytes"] <= room for t in forests)
    if free_forest > room:  # (a free forest cut short by its time share may already be under the cap)
        assert max(t["model_bytes"] for t in forests) < free_forest  # it stopped growing trees
    assert 0 < capped["model_bytes"] <= room, capped  # fold forests served together are thinned to fit
    if free_forest > room:  # the cap had something to cut (else both runs may keep the very same forest)
        assert capped["model_bytes"] < 0.8 * free.model_bytes_ or free.model_bytes_ <= room
    assert capped["finite"]


def test_memory_limit_errors(binary_df):
    with pytest.raises(ConfigError, match=r"not a size.*'2GB'"):
        quick_fit(binary_df, limits={"memory": "lots"})
    with pytest.raises(ConfigError, match="leaves no room for models: this process already holds"):
        quick_fit(binary_df, limits={"memory": "1MB"})


def test_limits_take_the_old_parameter_names_with_a_warning_and_refuse_unknown_ones():
    from sklearn.base import clone

    with pytest.warns(FutureWarning, match=r"max_predict_ms=, memory_limit=.*limits="):
        a = mlwright.AutoML(max_predict_ms=2, memory_limit="2GB", verbose=1)
    assert a.get_params()["limits"] == {"predict_ms": 2, "memory": "2GB"}
    assert clone(a).get_params()["limits"] == {"predict_ms": 2, "memory": "2GB"}  # survives clone (no warning)
    with pytest.warns(FutureWarning):  # an explicit limits wins over an old name
        assert mlwright.AutoML(limits={"memory": "1GB"}, memory_limit="2GB").limits == {"memory": "1GB"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'time_budgte'"):  # a typo still fails at once
        mlwright.AutoML(time_budgte=5)
    for bad, match in (
        ({"predict": 2}, "unknown key"),
        ({"predict_ms": -1}, "positive number"),
        (5, "dict or a Limits"),
    ):
        with pytest.raises(ConfigError, match=match):
            mlwright.AutoML(limits=bad).fit(pd.DataFrame({"x": [1, 2], "y": [0, 1]}), target="y")


def test_mlp_family_serves_its_fold_models_and_round_trips(binary_df, tmp_path):
    pytest.importorskip("torch", reason="the nn extra (torch==2.13.0) is not installed")
    a = quick_fit(binary_df, families=["mlp"], max_trials=1, time_budget=30, n_folds=3)
    (m,) = a.members_
    assert m["family"] == "mlp" and not m["refit"] and len(m["models"]) == 3  # bagged fold nets, no refit
    assert a.score_val_ > 0.7
    X = binary_df.drop(columns=["label"])
    loaded = mlwright.load(a.save(tmp_path / "mlp"))
    np.testing.assert_allclose(loaded.predict_proba(X), a.predict_proba(X), rtol=1e-6)
    assert all(f.suffix == ".npz" for f in (tmp_path / "mlp").rglob("*.npz"))  # weights as plain arrays


def test_a_text_only_table_is_read_by_the_linear_model_on_word_and_character_ngrams():
    """One free-text column and a label: the linear model on TF-IDF n-grams runs first and carries the model."""
    rng = np.random.default_rng(0)
    good = ["refunded", "helpful", "quick", "friendly", "resolved", "thanks", "great"]
    bad = ["refused", "rude", "slow", "broken", "waiting", "ignored", "awful"]
    filler = ["the", "order", "agent", "call", "today", "again", "my", "was", "and", "ticket"]
    rows = []
    for i in range(400):
        label = i % 2
        words = list(rng.choice(filler, 6)) + list(rng.choice(good if label else bad, 1))
        if rng.random() < 0.1:  # some noise
            words += list(rng.choice(bad if label else good, 1))
        rng.shuffle(words)
        rows.append({"review": " ".join(words), "happy": label})
    df = pd.DataFrame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = mlwright.AutoML(time_budget=120, max_trials=3, n_jobs=1, report_seconds=0).fit(df, target="happy")
    assert m.schema_["review"].kind == "text"
    assert m.trials_[0]["family"] == "linear" and m.trials_[0]["status"] == "ok"
    linear = m.leaderboard().query("model == 'linear_1'")["score_val"].iloc[0]
    assert linear > 0.9  # cross-validated AUC from the text alone
    assert "linear_1" in [mem["name"] for mem in m.members_]
    assert m.predict_proba(pd.DataFrame({"review": ["agent was rude and slow"]}))[1].iloc[0] < 0.5
