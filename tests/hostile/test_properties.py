"""Property tests (hypothesis): on generated rows — extreme floats, empty strings, unicode, missing values —
the service's paths (JSON → columns, CSV body → frame) and the array fast path give what the DataFrame path
gives, and the two schema coercions agree value for value."""

from __future__ import annotations

import warnings

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlwright
import mlwright.automl.fitted as fitted_module
from mlwright.data.schema import Columns, coerce, coerce_columns
from mlwright.errors import MlwrightError
from mlwright.serving.payloads import csv_frame, parse_json, records_columns

EXTREME = st.sampled_from([0.0, -0.0, 1e308, -1e308, 3.5e38, -3.5e38, 3.4e38, 5e-324, 1e-300, 2.0**53, -(2.0**63)])
NUMBER = st.one_of(st.none(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False), EXTREME)
TEXT = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["alice", "bob", "carol", "zed"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
)
DATE = st.one_of(st.none(), st.dates(min_value=pd.Timestamp("1990-01-01").date(),
                                     max_value=pd.Timestamp("2040-12-31").date()).map(str))  # fmt: skip
ROW = st.fixed_dictionaries({"age": NUMBER, "owner": TEXT, "usage": NUMBER, "joined": DATE})
ROWS = st.lists(ROW, min_size=1, max_size=12)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip


@pytest.fixture(scope="module")
def model(hostile_model):
    return mlwright.load(hostile_model)


def outcome(fn):
    """Probabilities, or the typed error's class (never anything else)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return np.asarray(fn(), dtype=float)
        except MlwrightError as exc:
            return type(exc)


def same(a, b) -> bool:
    if isinstance(a, type) or isinstance(b, type):
        return a is b
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-9)


def frame_path(model, df: pd.DataFrame, monkeypatch):
    """The DataFrame path (pandas per stage), as batches over 2,000 rows take it."""
    with monkeypatch.context() as m:
        m.setattr(fitted_module, "FAST_PATH_ROWS", -1)
        return outcome(lambda: model.predict_proba(df))


@SETTINGS
@given(rows=ROWS)
def test_json_columns_csv_and_frame_paths_agree(model, rows, monkeypatch):
    df = pd.DataFrame(rows, columns=["age", "owner", "usage", "joined"])
    want = frame_path(model, df, monkeypatch)
    cols = records_columns(parse_json(orjson.dumps({"records": rows})))  # what the service reads from JSON
    assert same(outcome(lambda: model.predict_proba(cols)), want)
    assert same(outcome(lambda: model.predict_proba(df)), want)  # the array fast path
    body = df.to_csv(index=False).encode()
    csv = csv_frame(body)  # a CSV body: blank cells are missing, as "" and None are for these columns
    assert same(outcome(lambda: model.predict_proba(csv)), frame_path(model, df.replace({"": None}), monkeypatch))


@SETTINGS
@given(rows=ROWS)
def test_the_two_schema_coercions_agree(model, rows):
    schema = model.schema_
    df = pd.DataFrame(rows, columns=["age", "owner", "usage", "joined"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            slow = coerce(df, schema, strict=True)
        except MlwrightError as exc:
            with pytest.raises(type(exc)):
                coerce_columns(Columns({k: [r[k] for r in rows] for k in df.columns}, len(rows)).data, schema)
            return
        fast = coerce_columns({k: [r[k] for r in rows] for k in df.columns}, schema)
    for c in slow.columns:
        a, b = slow[c].to_numpy(), np.asarray(fast[c])
        if a.dtype.kind in "fM":
            assert np.array_equal(pd.isna(a), pd.isna(b)), c
            ok = ~pd.isna(a)
            assert np.array_equal(a[ok], b[ok].astype(a.dtype)), c
            if a.dtype.kind == "f":
                assert (np.abs(a[ok]) <= 3.4028234663852886e38).all(), c  # ±inf / past float32 → missing
        else:
            assert [None if pd.isna(x) else x for x in a] == [None if pd.isna(x) else x for x in b], c
