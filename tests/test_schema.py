import numpy as np
import pandas as pd
import pytest

from mlwright.data.schema import Schema, infer_schema, infer_task
from mlwright.errors import ColumnsMismatchError, ColumnTypeError, ConfigError


def test_kinds_inferred(binary_df):
    s = infer_schema(binary_df, "label")
    kinds = {c.name: c.kind for c in s.columns}
    assert kinds == {
        "x1": "numeric",
        "x2": "numeric",
        "color": "categorical",
        "city": "high_cardinality",
        "flag": "boolean",
        "when": "datetime",
        "review": "text",
        "row_id": "id",
        "const": "constant",
    }
    assert s.task == "binary" and s.metric == "roc_auc" and s.classes == ["no", "yes"]
    assert "row_id" not in s.features and "const" not in s.features


def test_numbers_and_blanks_in_text_columns_are_numeric():
    df = pd.DataFrame({"v": ["1.5", " ", "2", "3.25"] * 20, "y": [0, 1] * 40})
    s = infer_schema(df, "y")
    assert s["v"].kind == "numeric" and s["v"].from_text


def test_one_value_with_gaps_is_a_feature():
    df = pd.DataFrame({"pool": ["Y", "", None, "Y"] * 10, "n": [2.0, np.nan] * 20, "c": ["k"] * 40, "y": [0, 1] * 20})
    s = infer_schema(df, "y")
    assert (s["pool"].kind, s["n"].kind, s["c"].kind) == ("categorical", "numeric", "constant")


def test_empty_column_kind():
    df = pd.DataFrame({"a": [np.nan] * 10, "b": range(10), "y": [0, 1] * 5})
    assert infer_schema(df, "y")["a"].kind == "empty"


@pytest.mark.parametrize(
    "values,task",
    [
        ([True, False] * 20, "binary"),
        (["a", "b"] * 20, "binary"),
        (["a", "b", "c"] * 20, "multiclass"),
        ([1, 2, 3] * 40, "multiclass"),
        (list(np.linspace(0, 1, 60)), "regression"),
        (list(range(100)), "regression"),
    ],
)
def test_task_inference(values, task):
    assert infer_task(pd.Series(values)) == task


def test_str_dtype_of_pandas3_and_object_agree():
    obj = pd.DataFrame({"c": pd.Series(["a", "b", "c"] * 30, dtype=object), "y": [0, 1, 0] * 30})
    st = obj.astype({"c": "string"})
    assert infer_schema(obj, "y")["c"].kind == infer_schema(st, "y")["c"].kind == "categorical"


def test_json_round_trip(binary_df):
    s = infer_schema(binary_df, "label")
    s2 = Schema.from_json(s.to_json())
    assert s2 == s


def test_unknown_task_and_metric():
    df = pd.DataFrame({"a": range(10), "y": [0, 1] * 5})
    with pytest.raises(ConfigError, match=r"unknown task 'binery'.*did you mean 'binary'"):
        infer_schema(df, "y", task="binery")
    with pytest.raises(ConfigError, match="unknown metric"):
        infer_schema(df, "y", metric="nope")


def test_validate_missing_extra_and_wrong_types(binary_df):
    s = infer_schema(binary_df, "label")
    X = binary_df.drop(columns=["label"])
    with pytest.raises(ColumnsMismatchError, match=r"'x1'.*did you mean 'X1'") as exc:
        s.validate(X.rename(columns={"x1": "X1"}))
    assert "trained on" in str(exc.value)
    with pytest.warns(UserWarning, match=r"ignoring 1 column.*'extra'"):
        out = s.validate(X.assign(extra=1))
    assert list(out.columns) == s.features
    bad = X.copy()
    bad["x1"] = bad["x1"].astype(object)
    bad.loc[3, "x1"] = "lots"
    with pytest.raises(ColumnTypeError, match=r"column 'x1' must hold numeric values.*rows \[3\].*'lots'"):
        s.validate(bad)
    bad2 = X.copy()
    bad2.loc[5, "when"] = "not a date"
    with pytest.raises(ColumnTypeError, match="'when' must hold date/time"):
        s.validate(bad2)


def test_coerce_levels_match_value_by_value_for_every_input_dtype():
    from mlwright.data.schema import _blank_level, map_distinct

    values = ["a", "b", " ", None, "a", np.nan, "3"]
    for s in (
        pd.Series(values, dtype=object),
        pd.Series(values, dtype="category"),
        pd.Series([v if v is not None else pd.NA for v in values], dtype="string"),
        pd.Series([3.0, 3, "3", np.nan, 4.5], dtype=object),
        pd.Series([True, 1, 0, False, None], dtype=object),  # True == 1: must stay two levels
    ):
        expected = [_blank_level(v if v is not pd.NA else np.nan) for v in s.to_numpy(dtype=object)]
        got = map_distinct(s, _blank_level).tolist()
        assert [str(v) for v in got] == [str(v) for v in expected], s.dtype


def test_one_label_rule_for_numbers_booleans_and_text():
    """Labels → class positions by one rule (fit, evaluate, retrain's gate, monitoring's live metric): 1 and
    1.0 are one class, True is not 1, and labels that come back as text ('1', 'True') find their class."""
    import numpy as np
    import pandas as pd

    from mlwright.data.schema import class_codes

    floats = [0.0, 1.0]  # a numeric target read as floats; feedback sends 1, '1' or 1.0
    assert class_codes(floats, [1, "1", 1.0, "0", 0, True, "yes", None]).tolist() == [1, 1, 1, 0, 0, -1, -1, -1]
    bools = [False, True]
    mixed = pd.Series([True, 1, "True", "false", np.nan, False], dtype=object)
    assert class_codes(bools, mixed).tolist() == [1, -1, 1, -1, -1, 0]
    both = [1, "1"]  # an exact match wins over the text form
    assert class_codes(both, ["1", 1, 1.0]).tolist() == [1, 0, 0]
    text = pd.Series(["yes", "no", None, "maybe"], dtype="str")
    assert class_codes(["no", "yes"], text).tolist() == [1, 0, -1, -1]
    assert class_codes([0, 1, 2], pd.Series([2.0, np.nan, 5.0])).tolist() == [2, -1, -1]
