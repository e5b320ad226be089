"""Data checks: each check finds a problem planted in otherwise clean data, and stays quiet on clean data."""

import numpy as np
import pandas as pd
import pytest

from mlwright.data.checks import CHECKS, run_checks, skew_check
from mlwright.errors import ConfigError, TargetNotFoundError

N = 1200


def _clean(seed: int = 0, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.lognormal(10, 0.4, n).round(2),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "score": rng.normal(size=n),
        }
    )
    logit = 0.04 * (df.age - 50) + 1.2 * df.score
    df["bought"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


def _of(findings, check, column=None, severity=None):
    return [
        f
        for f in findings
        if f.check == check and (column is None or f.column == column) and (severity is None or f.severity == severity)
    ]


def test_clean_data_has_no_warnings():
    findings = run_checks(_clean(), "bought")
    assert [f for f in findings if f.severity != "info"] == []
    assert not _of(findings, "leakage")


def test_constant_and_near_constant_columns():
    df = _clean().assign(const=7, rare=0)
    df.loc[:4, "rare"] = 1  # 5 of 1200 rows differ: 99.6 % one value
    f = run_checks(df, "bought")
    assert "single value" in _of(f, "constant", "const")[0].message
    assert "nearly constant" in _of(f, "constant", "rare")[0].message
    assert not _of(f, "constant", "age")


def test_id_like_column():
    df = _clean().assign(customer_ref=np.arange(100_000, 100_000 + N))
    f = run_checks(df, "bought")
    assert _of(f, "id_like", "customer_ref")
    assert not _of(f, "leakage", "customer_ref")


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).permutation(N) + 1,  # record numbers, shuffled
        np.sort(np.random.default_rng(2).choice(np.arange(1, 1.3 * N + 1, dtype=int), N, replace=False))[::-1],
        np.random.default_rng(3).permutation(np.arange(N) * 10 + 5000),  # evenly spaced codes, any order
    ],
    ids=["permutation", "a-sample-of-row-numbers", "evenly-spaced"],
)
def test_unique_integers_counting_rows_are_id_like_in_any_order(values):
    df = _clean().assign(record=values)  # no ID-like name: the values alone give it away
    f = run_checks(df, "bought")
    assert _of(f, "id_like", "record")
    from mlwright.data.schema import infer_schema

    assert infer_schema(df, "bought")["record"].kind == "id"  # and fit leaves it out


def test_unique_integer_measurements_are_not_id_like():
    rng = np.random.default_rng(8)
    prices = rng.choice(np.arange(50_000, 900_000), N, replace=False)  # unique, but spread like a measurement
    f = run_checks(_clean().assign(price=prices), "bought")
    assert not _of(f, "id_like", "price")


def test_missing_shares():
    df = _clean()
    df["mostly_gone"] = np.where(np.arange(N) < 30, np.arange(N) * 1.5, np.nan)  # 97.5 % missing
    df["half_gone"] = np.where(np.arange(N) % 2 == 0, df.score, np.nan)
    df["nothing"] = np.nan
    f = run_checks(df, "bought")
    assert _of(f, "missing", "mostly_gone", "warning")[0].data["share"] == pytest.approx(0.975)
    assert _of(f, "missing", "half_gone", "info")
    assert "entirely missing" in _of(f, "missing", "nothing")[0].message


def test_duplicates_within_and_across_tables():
    df = _clean()
    dup = pd.concat([df, df.iloc[:50]], ignore_index=True)
    conflict = df.iloc[:3].assign(bought=lambda d: np.where(d.bought == "yes", "no", "yes"))
    dup = pd.concat([dup, conflict], ignore_index=True)
    f = run_checks(dup, "bought")
    assert _of(f, "duplicates")[0].data["rows"] == 50
    assert any(x.data.get("groups") == 3 for x in _of(f, "duplicates"))
    test = pd.concat([df.iloc[:10].drop(columns="bought"), _clean(seed=5).iloc[:20].drop(columns="bought")])
    f2 = run_checks(df, "bought", test=test)
    cross = [x for x in _of(f2, "duplicates") if "second table" in x.message]
    assert cross and cross[0].data["rows"] == 10


def test_mixed_types_and_disguised_missing_text():
    df = _clean()
    weight = df.score.mul(10).add(70).round(1).astype(str).to_numpy(dtype=object)
    weight[:40] = "?"
    weight[40:45] = "heavy"
    df["weight"] = weight
    colour = np.where(np.arange(N) % 3 == 0, "N/A", "red").astype(object)
    colour[1::3] = "blue"
    df["colour"] = colour
    mixed = df.region.to_numpy(dtype=object).copy()
    mixed[:10] = 3
    df["mixed"] = mixed
    f = run_checks(df, "bought")
    d = _of(f, "disguised_missing", "weight", "warning")[0]
    assert d.data["values"] == ["?"] and d.data["rows"] == 40
    assert "heavy" in _of(f, "mixed_types", "weight")[0].message
    assert _of(f, "disguised_missing", "colour", "warning")[0].data["values"] == ["N/A"]
    assert "int" in _of(f, "mixed_types", "mixed")[0].message


def test_numeric_placeholder_values():
    df = _clean()
    df.loc[:29, "income"] = -999
    df["pct"] = np.random.default_rng(1).uniform(0, 100, N).round()  # 99 is an ordinary value here
    f = run_checks(df, "bought")
    d = _of(f, "disguised_missing", "income")[0]
    assert d.data["values"] == [-999] and d.data["rows"] == 30
    assert not _of(f, "disguised_missing", "pct")
    assert all("-999" not in o.message for o in _of(f, "outliers", "income")), "placeholders are not outliers"


def test_soft_missing_levels_are_info_only():
    df = _clean()
    df.loc[:99, "region"] = "unknown"
    f = run_checks(df, "bought")
    assert _of(f, "disguised_missing", "region", "info")
    assert not _of(f, "disguised_missing", "region", "warning")


def test_outliers():
    df = _clean()
    df.loc[:4, "score"] = [25.0, -30.0, 40.0, 22.0, -28.0]
    f = run_checks(df, "bought")
    o = _of(f, "outliers", "score")[0]
    assert o.data["rows"] == 5 and "40" in o.message


def test_high_cardinality():
    rng = np.random.default_rng(2)
    df = _clean().assign(postcode=rng.choice([f"P{i:04d}" for i in range(300)], N))
    df["session"] = [f"S{i}" for i in rng.integers(0, 5000, N)]  # ~1,070 levels: above the warning line
    f = run_checks(df, "bought")
    assert _of(f, "high_cardinality", "postcode", "info")[0].data["n_unique"] == df.postcode.nunique()
    assert _of(f, "high_cardinality", "session", "warning")


def test_class_imbalance_and_rare_classes():
    df = _clean()
    df["bought"] = "no"
    df.loc[:19, "bought"] = "yes"  # 1.7 %
    df.loc[20:22, "bought"] = "maybe"
    f = run_checks(df, "bought")
    msgs = " ".join(x.message for x in _of(f, "class_imbalance"))
    assert "class 'maybe' is 0.2% of rows (3 of 1200)" in msgs
    assert "fewer than 5 rows: maybe" in msgs


# ---------------------------------------------------------------------------------------------- leakage
def test_leak_relabelled_category():
    df = _clean()
    status = np.where(df.bought == "yes", "closed_won", "open").astype(object)
    status[:4] = "open"  # a little noise: not an exact copy
    df["pipeline_stage"] = status
    f = run_checks(df, "bought")
    leak = _of(f, "leakage", "pipeline_stage", "critical")
    assert leak and leak[0].data["score"] > 0.99
    assert not _of(f, "leakage", "score"), "a genuinely strong feature is not a leak"


def test_suspicious_but_not_conclusive_column_is_a_leakage_warning():
    """A code that agrees with the label on 97 % of rows: AUC ≈ 0.97 alone — a warning, kept by fit."""
    df = _clean()
    rng = np.random.default_rng(11)
    agree = rng.random(N) < 0.97
    df["review_code"] = np.where((df.bought == "yes") == agree, "R1", "R0")
    f = run_checks(df, "bought")
    warn = _of(f, "leakage", "review_code", "warning")
    assert warn and 0.95 <= warn[0].data["score"] < 0.99 and "suspiciously well" in warn[0].message
    assert not _of(f, "leakage", "review_code", "critical")
    assert not _of(f, "leakage", "score"), "a genuinely strong feature is not flagged"


def test_suspicious_regression_column_is_a_leakage_warning():
    rng = np.random.default_rng(12)
    n = 900
    x = rng.normal(size=(n, 2))
    y = 50 + 10 * x[:, 0] + 4 * x[:, 1] + rng.normal(scale=2, size=n)
    df = pd.DataFrame({"f1": x[:, 0], "f2": x[:, 1], "price": y})
    df["appraisal"] = y + rng.normal(scale=2.5, size=n)  # R² ≈ 0.93 alone: strong, not a copy
    f = run_checks(df, "price")
    warn = _of(f, "leakage", "appraisal", "warning")
    assert warn and 0.9 <= warn[0].data["score"] < 0.98
    assert not _of(f, "leakage", "f2")


def test_leak_field_filled_only_after_the_outcome():
    df = _clean()
    rng = np.random.default_rng(3)
    df["amount_refunded"] = np.where(df.bought == "yes", rng.gamma(2, 30, N), np.nan)
    f = run_checks(df, "bought")
    leak = _of(f, "leakage", "amount_refunded", "critical")
    assert leak and "filled in only for some outcomes" in leak[0].message


def test_leak_timestamp_recorded_after_the_outcome():
    df = _clean()
    rng = np.random.default_rng(4)
    days = np.where(df.bought == "yes", rng.integers(400, 700, N), rng.integers(0, 380, N))
    df["processed_at"] = (pd.Timestamp("2022-01-01") + pd.to_timedelta(days, "D")).strftime("%Y-%m-%d")
    f = run_checks(df, "bought")
    leak = _of(f, "leakage", "processed_at", "critical")
    assert leak and "timestamp" in leak[0].message


def test_leak_near_copy_of_a_regression_target():
    rng = np.random.default_rng(5)
    n = 900
    x = rng.normal(size=(n, 3))
    y = 50 + 10 * x[:, 0] + 5 * x[:, 1] + rng.normal(scale=3, size=n)
    df = pd.DataFrame({"f1": x[:, 0], "f2": x[:, 1], "f3": x[:, 2], "price": y})
    df["valuation_k"] = np.exp(y / 40) + rng.normal(scale=0.001, size=n)  # monotone function of the target
    f = run_checks(df, "price")
    leak = _of(f, "leakage", "valuation_k", "critical")
    assert leak and leak[0].data["spearman"] > 0.99
    assert not _of(f, "leakage", "f1")


def test_leak_many_to_one_codes_in_multiclass():
    rng = np.random.default_rng(6)
    n = 1500
    cls = rng.choice(["a", "b", "c"], n)
    code = {"a": ["K1", "K7"], "b": ["K2", "K9"], "c": ["K3", "K4"]}
    df = pd.DataFrame(
        {"x": rng.normal(size=n) + (cls == "a"), "z": rng.normal(size=n), "ward": [rng.choice(code[c]) for c in cls]}
    )
    df["species"] = cls
    f = run_checks(df, "species")
    assert _of(f, "leakage", "ward", "critical")
    assert not _of(f, "leakage", "x")


def test_dates_after_the_prediction_time():
    df = _clean()
    rng = np.random.default_rng(7)
    ordered = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, N), "D")
    df["ordered"] = ordered
    df["shipped"] = ordered + pd.to_timedelta(rng.integers(1, 10, N), "D")
    f = run_checks(df, "bought", time_column="ordered")
    w = _of(f, "leakage", "shipped", "warning")
    assert w and w[0].data["share_after"] == 1.0


# ---------------------------------------------------------------------------------------------- skew
def test_adversarial_validation_finds_the_shifted_column():
    train = _clean(seed=0).drop(columns="bought")
    same = _clean(seed=1).drop(columns="bought")
    shifted = same.assign(income=same.income * 1.8)
    alike = skew_check(train, same)
    assert alike[0].severity == "info" and alike[0].data["auc"] < 0.65
    differ = skew_check(train, shifted)
    assert differ[0].severity in ("warning", "critical") and differ[0].column == "income"
    assert differ[0].data["auc"] > 0.75 and differ[0].data["top_columns"][0] == "income"


def test_run_checks_errors_are_clear():
    with pytest.raises(TargetNotFoundError, match="did you mean 'bought'"):
        run_checks(_clean(), "Bought")
    with pytest.raises(ConfigError, match=r"unknown check 'leak'.*did you mean 'leakage'"):
        run_checks(_clean(), "bought", only=["leak"])
    assert set(CHECKS) >= {"leakage", "duplicates", "outliers", "missing", "class_imbalance"}
