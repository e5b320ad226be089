"""The hostile Python-API corpus: one row per case — id, what is done (a function of the context), and the
expected outcome: the typed error it must raise, or a check of the result it must give.

``ctx``: ``model`` (a fitted, loaded model), ``df`` (its training table), ``X`` (features), ``tmp`` (a fresh
folder), ``fit(data, **kw)`` (a short fit), ``csv(text)`` (a file holding ``text``), ``damaged(fn)`` (a copy
of the model directory changed by ``fn(path)``, loaded).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import scipy.sparse as sp

import mlwright
from mlwright.errors import (
    ArtifactError,
    ArtifactIntegrityError,
    ColumnsMismatchError,
    ColumnTypeError,
    ConfigError,
    DataReadError,
    EmptyDataError,
    StorageError,
    TargetError,
    TargetNotFoundError,
    UnsupportedFormatError,
)


def rows(n: int):
    """The result holds ``n`` predictions, each a class of the model."""
    return lambda out: len(out) == n and set(map(str, out)) <= {"yes", "no"}


def X3(ctx, **change):
    return ctx.X.head(3).assign(**change)


def relabel(df: pd.DataFrame, labels) -> pd.DataFrame:
    out = df.copy()
    out.columns = labels
    return out


def text_table(task: str, target_first: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    words = np.array(["great", "bad", "slow", "fast", "fine", "price", "value", "ok", "service", "broken"])
    text = [" ".join(rng.choice(words, 5)) for _ in range(240)]
    score = np.array([t.count("great") + t.count("fast") - t.count("bad") - t.count("broken") for t in text])
    if task == "binary":
        y = np.where(score > 0, "pos", "neg")
    elif task == "multiclass":
        y = np.select([score < 0, score == 0], ["neg", "mid"], "pos")
    else:
        y = score + rng.normal(scale=0.1, size=240)
    df = pd.DataFrame({"review": text, "label": y})
    return df[["label", "review"]] if target_first else df


def dated(fmt: str, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    d = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    x = rng.normal(size=n)
    return pd.DataFrame({"d": d.strftime(fmt), "x": x, "y": np.where(x + (d.month > 6) > 0.5, "a", "b")})


def with_cell(df: pd.DataFrame, col: str, value) -> pd.DataFrame:
    out = df.copy()
    out[col] = out[col].astype(object) if isinstance(value, str) else out[col].astype(float)
    out.loc[3, col] = value
    return out


def manifest_edit(fn):
    def edit(path):
        m = json.loads((path / "manifest.json").read_text())
        m = fn(m)
        (path / "manifest.json").write_text(json.dumps(m))

    return edit


def corrupt(pattern: str, rehash: bool):
    """Overwrite the first file matching ``pattern`` with garbage (and write its new hash into the manifest)."""

    def edit(path):
        from mlwright.artifacts import file_sha256

        f = sorted(path.glob(pattern))[0]
        f.write_bytes(b"PK\x03\x04 not a model file" * 10)
        if rehash:
            m = json.loads((path / "manifest.json").read_text())
            m["files"][f.relative_to(path).as_posix()] = file_sha256(f)
            (path / "manifest.json").write_text(json.dumps(m))

    return edit


def finding(check: str):
    return lambda m: any(f.check == check for f in m.findings_)


def fitted_and_predicts(data_cols):
    return lambda m: len(m.predict(data_cols(m))) > 0


TEXT = "review"
EVERY = ["lightgbm", "catboost", "xgboost", "linear", "et", "rf", "knn", "naive_bayes", "svm"]

# fmt: off
CASES: list[tuple] = [
    # ---- predict: values the model must answer (±inf and past float32 are read as missing)
    ("predict-inf", lambda c: c.model.predict(X3(c, usage=np.inf)), rows(3)),
    ("predict-minus-inf", lambda c: c.model.predict(X3(c, usage=-np.inf)), rows(3)),
    ("predict-1e308", lambda c: c.model.predict(X3(c, usage=1e308)), rows(3)),
    ("predict-minus-1e308", lambda c: c.model.predict(X3(c, usage=-1e308)), rows(3)),
    ("predict-3.5e38", lambda c: c.model.predict(X3(c, usage=3.5e38)), rows(3)),
    ("predict-inf-in-int-column", lambda c: c.model.predict(X3(c, age=np.inf)), rows(3)),
    ("predict-inf-as-text", lambda c: c.model.predict(X3(c, usage="inf")), rows(3)),
    ("predict-all-missing-column", lambda c: c.model.predict(X3(c, usage=np.nan)), rows(3)),
    ("predict-all-none", lambda c: c.model.predict(X3(c, age=None, owner=None, usage=None, joined=None)), rows(3)),
    ("predict-unseen-level", lambda c: c.model.predict(X3(c, owner="zed")), rows(3)),
    ("predict-number-in-category", lambda c: c.model.predict(X3(c, owner=7)), rows(3)),
    ("predict-unicode", lambda c: c.model.predict(X3(c, owner="Zoë 🚀 \u202e")), rows(3)),
    ("predict-bool-in-number", lambda c: c.model.predict(X3(c, age=True)), rows(3)),
    ("predict-number-as-text", lambda c: c.model.predict(X3(c, age="30.5")), rows(3)),
    ("predict-date-offsets-mixed", lambda c: c.model.predict(X3(c).assign(
        joined=["2021-01-01T00:00:00+01:00", "2021-01-01T00:00:00-05:00", None])), rows(3)),
    ("predict-many-rows-inf", lambda c: c.model.predict(c.X.assign(usage=np.inf)), rows(300)),
    ("predict-extra-column", lambda c: c.model.predict(X3(c, extra=1)), rows(3)),
    ("predict-int-labels-of-data", lambda c: c.model.predict(c.X.head(3).rename(columns=str)), rows(3)),
    # ---- predict: zero rows give zero answers
    ("predict-empty-frame", lambda c: c.model.predict(c.X.head(0)), lambda out: len(out) == 0),
    ("predict-proba-empty-frame", lambda c: c.model.predict_proba(c.X.head(0)),
     lambda out: out.shape == (0, 2) and list(out.columns) == ["no", "yes"]),
    ("predict-empty-array", lambda c: c.model.predict(np.empty((0, 4))), lambda out: len(out) == 0),
    # ---- predict: input it cannot use
    ("predict-empty-no-columns", lambda c: c.model.predict(pd.DataFrame()), ColumnsMismatchError),
    ("predict-missing-column", lambda c: c.model.predict(c.X.drop(columns="usage").head(3)), ColumnsMismatchError),
    ("predict-int-labels", lambda c: c.model.predict(relabel(c.X.head(3), range(4))), ColumnsMismatchError),
    ("predict-multiindex",
     lambda c: c.model.predict(relabel(c.X.head(3), pd.MultiIndex.from_product([list(c.X), ["a"]]))), ConfigError),
    ("predict-duplicate-labels", lambda c: c.model.predict(relabel(c.X.head(3), ["age", "age", "usage", "joined"])),
     ConfigError),
    ("predict-text-in-number", lambda c: c.model.predict(X3(c, age="thirty")), ColumnTypeError),
    ("predict-bad-date", lambda c: c.model.predict(X3(c, joined="not a date")), ColumnTypeError),
    ("predict-array-wrong-width", lambda c: c.model.predict(np.zeros((2, 9))), ColumnsMismatchError),
    ("predict-array-1d", lambda c: c.model.predict(np.zeros(4)), ColumnsMismatchError),
    ("predict-array-3d", lambda c: c.model.predict(np.zeros((2, 2, 2))), ColumnsMismatchError),
    ("predict-sparse", lambda c: c.model.predict(sp.csr_matrix(np.zeros((2, 4)))), ColumnTypeError),
    ("predict-complex", lambda c: c.model.predict(np.zeros((2, 4), dtype=complex)), ColumnTypeError),
    ("predict-dict-cells", lambda c: c.model.predict(np.array([[{}, 1, 2, 3]], dtype=object)), ColumnTypeError),
    ("predict-header-only-csv", lambda c: c.model.predict(c.csv("age,owner,usage,joined\n")), EmptyDataError),
    ("predict-empty-file", lambda c: c.model.predict(c.csv("")), EmptyDataError),
    ("predict-missing-file", lambda c: c.model.predict(c.tmp / "nope.csv"), DataReadError),
    ("predict-directory", lambda c: c.model.predict(c.tmp), UnsupportedFormatError),
    ("predict-unsupported-extension", lambda c: c.model.predict(c.tmp / "x.xlsx"), UnsupportedFormatError),
    ("predict-not-utf8", lambda c: c.model.predict(c.csv(b"age,owner\n1,\xff\n")), DataReadError),
    ("predict-dup-header-csv", lambda c: c.model.predict(c.csv("age,age,usage,joined\n1,2,3,2020-01-01\n")),
     DataReadError),
    ("predict-ragged-csv",
     lambda c: c.model.predict(c.csv("age,owner,usage,joined\n1,a,2,2020-01-01\n1,2\n1,2,3,4,5,6\n")), DataReadError),
    # ---- evaluate
    ("evaluate-one-row", lambda c: c.model.evaluate(c.df.head(1)), lambda out: out["n_rows"] == 1),
    ("evaluate-empty", lambda c: c.model.evaluate(c.df.head(0)), EmptyDataError),
    ("evaluate-no-target", lambda c: c.model.evaluate(c.X.head(5)), TargetNotFoundError),
    ("evaluate-unknown-class", lambda c: c.model.evaluate(c.df.head(5).assign(churn="maybe")), TargetError),
    ("evaluate-inf", lambda c: c.model.evaluate(c.df.head(50).assign(usage=np.inf)), lambda out: out["n_rows"] == 50),
    # ---- fit: settings refused before any work
    ("fit-time-budget-inf", lambda c: c.fit(c.df, time_budget=float("inf")), ConfigError),
    ("fit-time-budget-zero", lambda c: c.fit(c.df, time_budget=0), ConfigError),
    ("fit-time-budget-negative", lambda c: c.fit(c.df, time_budget=-5), ConfigError),
    ("fit-time-budget-nan", lambda c: c.fit(c.df, time_budget=float("nan")), ConfigError),
    ("fit-time-budget-text", lambda c: c.fit(c.df, time_budget="10"), ConfigError),
    ("fit-time-budget-bool", lambda c: c.fit(c.df, time_budget=True), ConfigError),
    ("fit-max-trials-zero", lambda c: c.fit(c.df, max_trials=0), ConfigError),
    ("fit-max-trials-negative", lambda c: c.fit(c.df, max_trials=-1), ConfigError),
    ("fit-max-trials-float", lambda c: c.fit(c.df, max_trials=2.5), ConfigError),
    ("fit-n-folds-one", lambda c: c.fit(c.df, n_folds=1), ConfigError),
    ("fit-n-folds-5000", lambda c: c.fit(c.df, n_folds=5000), ConfigError),
    ("fit-n-folds-text", lambda c: c.fit(c.df, n_folds="5"), ConfigError),
    ("fit-column-types-missing-column", lambda c: c.fit(c.df, column_types={"agee": "categorical"}), ConfigError),
    ("fit-column-types-bad-kind", lambda c: c.fit(c.df, column_types={"age": "colour"}), ConfigError),
    ("fit-workdir-is-a-file", lambda c: c.fit(c.df, workdir=str(c.csv("x"))), StorageError),
    ("fit-home-is-a-file", lambda c: c.fit_with_home(c.df, c.csv("x")), StorageError),
    ("fit-unknown-metric", lambda c: c.fit(c.df, metric="accuracyy"), ConfigError),
    ("fit-metric-wrong-task", lambda c: c.fit(c.df, metric="rmse"), ConfigError),
    ("fit-unknown-family", lambda c: c.fit(c.df, families=["lightgbmm"]), ConfigError),
    ("fit-unknown-task", lambda c: c.fit(c.df, task="ranking"), ConfigError),
    ("fit-memory-limit-garbage", lambda c: c.fit(c.df, limits={"memory": "lots"}), ConfigError),
    ("fit-cleaning-unknown-key", lambda c: c.fit(c.df, cleaning={"dropp": ["age"]}), ConfigError),
    # ---- fit: tables it cannot learn from
    ("fit-multiindex-columns", lambda c: c.fit(relabel(c.df, pd.MultiIndex.from_product([list(c.df), ["a"]])),
                                               target=("churn", "a")), ConfigError),
    ("fit-duplicate-labels", lambda c: c.fit(relabel(c.df, ["age", "age", "usage", "joined", "churn"])), ConfigError),
    ("fit-target-not-a-name", lambda c: c.fit(c.df, target=["churn"]), ConfigError),
    ("fit-unknown-target", lambda c: c.fit(c.df, target="chrun"), TargetNotFoundError),
    ("fit-int-target-not-there", lambda c: c.fit(relabel(c.df, range(5)), target=9), TargetNotFoundError),
    ("fit-X-y-lengths", lambda c: c.fit_xy(c.X, c.df.churn.head(10)), EmptyDataError),
    ("fit-y-two-columns", lambda c: c.fit_xy(c.X, np.zeros((300, 2))), ConfigError),
    ("fit-empty-frame", lambda c: c.fit(c.df.head(0)), EmptyDataError),
    ("fit-one-row", lambda c: c.fit(c.df.head(1)), EmptyDataError),
    ("fit-only-target", lambda c: c.fit(c.df[["churn"]]), EmptyDataError),
    ("fit-target-all-missing", lambda c: c.fit(c.df.assign(churn=None)), TargetError),
    ("fit-single-class", lambda c: c.fit(c.df.assign(churn="yes")), TargetError),
    ("fit-text-target-as-regression", lambda c: c.fit(c.df, task="regression"), TargetError),
    ("fit-id-like-target", lambda c: c.fit(c.df.assign(churn=[f"c{i}" for i in range(300)])), TargetError),
    ("fit-groups-missing", lambda c: c.fit(c.df, groups="shop"), TargetNotFoundError),
    ("fit-time-column-missing", lambda c: c.fit(c.df, time_column="when"), TargetNotFoundError),
    ("fit-sparse-X", lambda c: c.fit_xy(sp.csr_matrix(np.zeros((10, 2))), np.arange(10) % 2), ColumnTypeError),
    ("fit-dup-header-csv", lambda c: c.fit(c.csv("a,b,a,churn\n1,2,3,x\n4,5,6,y\n")), DataReadError),
    ("fit-not-utf8-csv", lambda c: c.fit(c.csv(b"a,churn\n\xff,x\n")), DataReadError),
    ("fit-empty-csv", lambda c: c.fit(c.csv("")), EmptyDataError),
    ("fit-header-only-csv", lambda c: c.fit(c.csv("a,churn\n")), EmptyDataError),
    # ---- fit: odd tables it must learn from
    ("fit-inf-cell", lambda c: c.fit(with_cell(c.df, "usage", np.inf)), finding("non_finite")),
    ("fit-1e308-cells", lambda c: c.fit(with_cell(with_cell(c.df, "usage", 1e308), "age", -1e308)),
     finding("non_finite")),
    ("fit-1e308-every-family",
     lambda c: c.fit(with_cell(with_cell(c.df, "usage", 1e308), "age", -1e308), families=EVERY, max_trials=len(EVERY),
                     time_budget=120, n_folds=2),
     lambda m: {t["family"] for t in m.trials_ if t["status"] == "ok"} == set(EVERY)),
    ("fit-inf-as-text", lambda c: c.fit(with_cell(c.df, "usage", "inf")),
     lambda m: m.schema_["usage"].kind == "numeric"),
    ("fit-text-only-binary", lambda c: c.fit(text_table("binary"), target="label"),
     fitted_and_predicts(lambda m: text_table("binary").head(4))),
    ("fit-text-only-multiclass", lambda c: c.fit(text_table("multiclass"), target="label"),
     fitted_and_predicts(lambda m: text_table("multiclass").head(4))),
    ("fit-text-only-regression", lambda c: c.fit(text_table("regression"), target="label"),
     fitted_and_predicts(lambda m: text_table("regression").head(4))),
    ("fit-text-only-target-first", lambda c: c.fit(text_table("binary", target_first=True), target="label"),
     fitted_and_predicts(lambda m: text_table("binary").head(1))),
    ("fit-day-first-dates", lambda c: c.fit(dated("%d/%m/%Y"), target="y"),
     lambda m: m.schema_["d"].date_order == "dmy"),
    ("fit-month-first-dates", lambda c: c.fit(dated("%m/%d/%Y"), target="y"),
     lambda m: m.schema_["d"].date_order == "mdy"),
    ("fit-ambiguous-dates", lambda c: c.fit(dated("%d/%m/%Y").assign(d=["02/01/2020", "03/04/2021"] * 100), target="y"),
     finding("date_order")),
    ("fit-ambiguous-dates-told", lambda c: c.fit(dated("%d/%m/%Y").assign(d=["02/01/2020", "03/04/2021"] * 100),
                                                  target="y", column_types={"d": "datetime_dayfirst"}),
     lambda m: m.schema_["d"].date_order == "dmy" and not finding("date_order")(m)),
    ("fit-mixed-offsets",
     lambda c: c.fit(c.df.assign(joined=["2021-01-01T00:00:00+01:00", "2021-02-01T00:00:00-05:00"] * 150)),
     lambda m: m.schema_["joined"].kind == "datetime"),
    ("fit-int-labels", lambda c: c.fit(relabel(c.df, range(5)), target=4),
     lambda m: m.schema_.target == "4" and len(m.predict(relabel(c_X(m), range(4)))) == 3),
    ("fit-does-not-change-callers-frame", lambda c: c.fit_and_look(relabel(c.df, range(5)), target=4),
     lambda labels: labels == list(range(5))),
]
# fmt: on


def c_X(m):  # three rows in the shape the int-labelled model was trained on
    from .conftest import hostile_table

    return hostile_table().drop(columns="churn").head(3)


def drop_key(key: str):
    return manifest_edit(lambda m: {k: v for k, v in m.items() if k != key})


def set_key(key: str, value):
    return manifest_edit(lambda m: m | {key: value})


def write(rel: str, content: bytes):
    def edit(path):
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(content)

    return edit


def valid_json(p) -> bool:
    text = p.to_json() if hasattr(p, "to_json") else json.dumps(p)
    json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))  # NaN/Infinity refused
    return True


# fmt: off
CASES += [
    # ---- loading damaged model directories: refused by name, never half-loaded
    ("load-manifest-is-a-list", lambda c: c.damaged(write("manifest.json", b"[]")), ArtifactIntegrityError),
    ("load-manifest-not-json", lambda c: c.damaged(write("manifest.json", b"{")), ArtifactIntegrityError),
    ("load-manifest-missing", lambda c: c.damaged(lambda p: (p / "manifest.json").unlink()), ArtifactError),
    ("load-files-map-deleted", lambda c: c.damaged(drop_key("files")), ArtifactIntegrityError),
    ("load-files-map-empty", lambda c: c.damaged(set_key("files", {})), ArtifactIntegrityError),
    ("load-files-map-list", lambda c: c.damaged(set_key("files", [])), ArtifactIntegrityError),
    ("load-bad-task", lambda c: c.damaged(set_key("task", "ranking")), ArtifactError),
    ("load-members-missing", lambda c: c.damaged(drop_key("members")), ArtifactError),
    ("load-schema-garbage", lambda c: c.damaged(set_key("schema", 3)), ArtifactError),
    ("load-format-newer", lambda c: c.damaged(set_key("format_version", 99)), ArtifactError),
    ("load-not-mlwright-format", lambda c: c.damaged(set_key("format", "other")), ArtifactError),
    ("load-tampered-booster", lambda c: c.damaged(corrupt("models/*", rehash=False)), ArtifactIntegrityError),
    ("load-corrupt-booster-rehashed", lambda c: c.damaged(corrupt("models/*", rehash=True)), ArtifactError),
    ("load-corrupt-skops-rehashed", lambda c: c.damaged(corrupt("prep/*.skops", rehash=True)), ArtifactError),
    ("load-unlisted-model-file", lambda c: c.damaged(write("models/extra.skops", b"x")), ArtifactIntegrityError),
    ("load-unlisted-prep-file", lambda c: c.damaged(write("prep/native_full2.skops", b"x")), ArtifactIntegrityError),
    ("load-listed-file-missing", lambda c: c.damaged(lambda p: (p / "reference.json").unlink()),
     ArtifactIntegrityError),
    ("load-missing-directory", lambda c: mlwright.load(c.tmp / "nope"), ArtifactError),
    ("load-a-file", lambda c: mlwright.load(c.csv("x")), ArtifactError),
    # ---- profile: the same rule for huge values, and JSON that is JSON
    ("profile-1e308", lambda c: mlwright.profile(with_cell(with_cell(c.df, "usage", 1e308), "age", -1e308),
                                                 target="churn"), valid_json),
    ("profile-inf", lambda c: mlwright.profile(with_cell(c.df, "usage", np.inf), target="churn"), valid_json),
    ("profile-all-inf-column", lambda c: mlwright.profile(c.df.assign(usage=np.inf), target="churn"), valid_json),
    ("profile-text-only", lambda c: mlwright.profile(text_table("binary"), target="label"), valid_json),
    ("profile-unknown-target", lambda c: mlwright.profile(c.df, target="chrun"), TargetNotFoundError),
    ("profile-day-first", lambda c: mlwright.profile(dated("%d/%m/%Y"), target="y"), valid_json),
    ("check-inf-finding", lambda c: mlwright.profile(with_cell(c.df, "usage", -np.inf), target="churn"),
     lambda p: any(f.check == "non_finite" and f.column == "usage" for f in p.findings)),
]
# fmt: on
