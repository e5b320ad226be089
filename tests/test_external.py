"""Bring your own model: a scikit-learn pipeline or an ONNX file gets the same validation, saving,
registry, serving and logging as mlwright's own models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from typer.testing import CliRunner

import mlwright
from mlwright.cli import app
from mlwright.errors import ArtifactError, ColumnTypeError, ConfigError
from mlwright.registry import Registry
from mlwright.serving import ServeConfig, create_app, load_models

from .test_serving import AUTH, TOKEN, Server

runner = CliRunner()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "usage": rng.normal(size=n),
    })  # fmt: skip
    y = np.where(X.usage + (X.plan == "basic") + rng.normal(scale=0.5, size=n) > 0.5, "churn", "stay")
    spend = 20 + 5 * X.usage + 0.1 * X.age + rng.normal(size=n)
    return X, y, spend


def _pipe(est):
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                             ("num", StandardScaler(), ["age", "usage"])])  # fmt: skip
    return make_pipeline(pre, est)


def test_sklearn_pipeline_validates_saves_registers_and_serves(data, tmp_path):
    X, y, spend = data
    pipe = _pipe(LogisticRegression()).fit(X, y)
    m = mlwright.from_sklearn(pipe, X.head(100), target="churned")
    assert m.task_ == "binary" and list(m.classes_) == ["churn", "stay"]
    np.testing.assert_allclose(m.predict_proba(X).to_numpy(), pipe.predict_proba(X))
    assert list(m.predict(X)) == list(pipe.predict(X))
    with pytest.raises(ColumnTypeError, match="age"):
        m.predict(X.head(3).assign(age=["x", "y", "z"]))  # the same checks as mlwright's own models
    loaded = mlwright.load(m.save(tmp_path / "skl"))
    np.testing.assert_allclose(loaded.predict_proba(X).to_numpy(), pipe.predict_proba(X))
    # monitoring's reference comes from the sample (columns, and the model's outputs on it), saved with the model
    assert set(loaded.reference_["columns"]) == set(X.columns) and loaded.reference_["rows"] == 100
    assert loaded.reference_["output"]["name"] == "p_stay" and loaded.reference_ == m.reference_

    reg = Registry()
    v = reg.register_model(m, "skl_churn", alias="champion")
    assert v.kind == "sklearn" and v.version == 1
    reg.register_model(mlwright.from_sklearn(_pipe(Ridge()).fit(X, spend), X), "skl_spend")
    app_ = create_app(load_models(["skl_churn@champion", "skl_spend"]), ServeConfig(token=TOKEN))
    with Server(app_) as client:
        rows = X.head(3).to_dict(orient="records")
        r = client.post("/v1/models/skl_churn/predict", json={"records": rows}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == list(pipe.predict(X.head(3))) and r.json()["version"] == "1"
        r = client.post("/v1/models/skl_spend/predict", json={"records": rows}, headers=AUTH)
        np.testing.assert_allclose(r.json()["predictions"], _pipe(Ridge()).fit(X, spend).predict(X.head(3)))
        bad = client.post("/v1/models/skl_churn/predict", json={"records": [{"age": "old", "plan": "pro"}]},
                          headers=AUTH)  # fmt: skip
        assert bad.status_code == 422 and set(bad.json()["columns"]) >= {"usage", "age"}
        r = client.post("/v2/models/skl_churn/infer", headers=AUTH, json={"inputs": [
            {"name": "age", "shape": [1], "datatype": "INT64", "data": [40]},
            {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
            {"name": "usage", "shape": [1], "datatype": "FP64", "data": [0.3]}]})  # fmt: skip
        assert r.status_code == 200, r.text


class Doubler(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X * 2


def test_untrusted_code_is_refused_with_the_way_out(data, tmp_path):
    X, y, _ = data
    pipe = make_pipeline(Doubler(), LogisticRegression()).fit(X[["age", "usage"]], y)
    m = mlwright.from_sklearn(pipe, X[["age", "usage"]])
    with pytest.raises(ArtifactError, match="Doubler"):
        m.save(tmp_path / "custom")
    assert not (tmp_path / "custom").exists()
    with pytest.raises(ConfigError, match="lacks column"):
        mlwright.from_sklearn(_pipe(LogisticRegression()).fit(X, y), X[["age", "usage"]])
    with pytest.raises(mlwright.MlwrightError, match="not fitted"):
        mlwright.from_sklearn(_pipe(LogisticRegression()), X)


def test_onnx_files_per_column_and_matrix(data, tmp_path):
    pytest.importorskip("onnxruntime")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    X, y, spend = data
    pipe = _pipe(LogisticRegression()).fit(X, y)
    types = [("age", Int64TensorType([None, 1])), ("plan", StringTensorType([None, 1])),
             ("usage", FloatTensorType([None, 1]))]  # fmt: skip
    (tmp_path / "churn.onnx").write_bytes(convert_sklearn(pipe, initial_types=types).SerializeToString())
    m = mlwright.from_onnx(tmp_path / "churn.onnx", sample=X.head(20))
    assert m.task_ == "binary" and m.schema_.features == ["age", "plan", "usage"]
    np.testing.assert_allclose(m.predict_proba(X).to_numpy(), pipe.predict_proba(X), atol=1e-5)
    assert list(m.predict(X)) == list(pipe.predict(X))

    # one input matrix: the sample names the columns
    num = make_pipeline(StandardScaler(), Ridge()).fit(X[["age", "usage"]], spend)
    onx = convert_sklearn(num, initial_types=[("X", FloatTensorType([None, 2]))])
    (tmp_path / "spend.onnx").write_bytes(onx.SerializeToString())
    with pytest.raises(ConfigError, match="sample"):
        mlwright.from_onnx(tmp_path / "spend.onnx")
    r = mlwright.from_onnx(tmp_path / "spend.onnx", sample=X[["age", "usage"]])
    assert r.task_ == "regression"
    np.testing.assert_allclose(r.predict(X), num.predict(X[["age", "usage"]]), rtol=1e-4)

    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ArtifactError, match="not a valid ONNX model"):
        mlwright.from_onnx(tmp_path / "junk.onnx")

    # the CLI registers the file; the registry serves it like any model
    X.head(20).to_csv(tmp_path / "sample.csv", index=False)
    res = runner.invoke(app, ["models", "register", str(tmp_path / "churn.onnx"), "onnx_churn", "--sample",
                              str(tmp_path / "sample.csv"), "--alias", "champion"])  # fmt: skip
    assert res.exit_code == 0, res.output
    served = load_models(["onnx_churn@champion"])[0]
    assert served.model.kind == "onnx"
    np.testing.assert_allclose(served.model.predict_proba(X).to_numpy(), pipe.predict_proba(X), atol=1e-5)
