"""Bring your own model: a fitted scikit-learn pipeline or an ONNX file, served like mlwright's own.

:func:`from_sklearn` wraps a fitted estimator or pipeline with a sample of its input (the Schema is
derived from it); :func:`from_onnx` wraps an ONNX file (its inputs name the columns; a sample helps
when it takes one matrix).  The result validates rows against its Schema exactly as an
:class:`~mlwright.AutoML` does, predicts, and saves to a model directory (``kind`` ``sklearn`` or
``onnx`` in the manifest) that the registry, ``mlwright serve``, the prediction log and
``mlwright predict`` treat like any other model.

Safety: a scikit-learn model is stored with skops and may hold only the types mlwright trusts
(scikit-learn, NumPy, SciPy, builtins); a pipeline with custom classes is refused at save time with
the types named — export it to ONNX and register the ``.onnx`` file instead.  ONNX files are data, not
code: loading one runs nothing but ONNX Runtime.

Package: may import data, artifacts, evaluation.metrics, monitoring.reference and ``predictor``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright import artifacts
from mlwright._version import __version__
from mlwright.data.schema import Columns, Schema, infer_column
from mlwright.errors import ArtifactError, ColumnTypeError, ConfigError, NotFittedError, did_you_mean
from mlwright.evaluation.metrics import default_metric
from mlwright.jsonsafe import plain
from mlwright.predictor import Predicts, decide

__all__ = ["ExternalModel", "from_onnx", "from_sklearn"]

_ONNX_HINT = "install the ONNX support with: pip install 'mlwright[onnx]'"


def _kind_of(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "categorical"


def _schema(sample: pd.DataFrame, task: str, classes: list, target: str, kinds: dict[str, str] | None = None) -> Schema:
    cols = []
    for name in sample.columns:
        spec = infer_column(str(name), sample[name], len(sample))  # missing share, levels: for monitoring
        spec.kind = (kinds or {}).get(str(name)) or _kind_of(sample[name])
        cols.append(spec)
    return Schema(columns=cols, target=target, task=task, metric=default_metric(task), classes=classes)


class ExternalModel(Predicts):
    """A model mlwright did not train, with the same validation, prediction and saving as its own.

    Build one with :func:`from_sklearn` or :func:`from_onnx`, or load a saved one with
    :func:`mlwright.load`.
    """

    def __init__(self, kind: str, schema: Schema, dtypes: dict[str, str], estimator: Any = None,
                 onnx_bytes: bytes | None = None, onnx_spec: dict | None = None):  # fmt: skip
        self.kind = kind
        self.schema_ = schema
        self.task_ = schema.task
        self.metric_ = schema.metric
        self.dtypes_ = dtypes
        self.estimator_ = estimator
        self.threshold_ = None
        self.calibration_ = None
        self.reference_: dict | None = None  # monitoring's baseline, from the sample (see sample_reference)
        self.best_model_ = kind
        self._onnx_bytes = onnx_bytes
        self._onnx_spec = onnx_spec or {}
        self._session = None
        if schema.task != "regression":
            self.classes_ = np.asarray(schema.classes)

    def _check_fitted(self) -> None:
        if self.estimator_ is None and self._onnx_bytes is None:
            raise NotFittedError("this external model holds no estimator")

    def validate(self, X: Any) -> pd.DataFrame:
        """Rows checked and coerced by the Schema (see :class:`~mlwright.predictor.Predictor`)."""
        if isinstance(X, Columns):
            X = X.frame()
        if not isinstance(X, pd.DataFrame):
            raise ColumnTypeError(f"expected a pandas DataFrame to score, got {type(X).__name__}")
        return self.schema_.validate(X)

    # ------------------------------------------------------------------ inputs
    def typed_frame(self, X: Any) -> pd.DataFrame:
        """Validate ``X`` against the Schema, then give it the dtypes the wrapped model was built for."""
        if not isinstance(X, pd.DataFrame):
            raise ColumnTypeError(f"expected a pandas DataFrame to score, got {type(X).__name__}")
        valid = self.schema_.validate(X)
        out = {}
        for c in self.schema_.columns:
            v = valid[c.name]
            want = self.dtypes_.get(c.name, "")
            if c.kind == "boolean":
                v = v.astype(bool) if not v.isna().any() else v.map({1.0: True, 0.0: False}).astype(object)
            elif c.kind == "numeric" and want.startswith(("int", "uint")) and not v.isna().any():
                if not np.all(np.mod(v.to_numpy(), 1) == 0):
                    raise ColumnTypeError(f"column {c.name!r} must hold whole numbers (the model was built on {want})")
                v = v.astype(want)
            out[c.name] = v
        return pd.DataFrame(out, index=X.index)

    # ------------------------------------------------------------------ scoring
    def predict_scores(self, X: Any) -> np.ndarray:
        """Class probabilities or values for rows ``X`` (see :class:`~mlwright.predictor.Predictor`)."""
        self._check_fitted()
        df = self.typed_frame(X.frame() if isinstance(X, Columns) else X)
        if self.kind == "sklearn":
            if self.task_ == "regression":
                return np.asarray(self.estimator_.predict(df), dtype=float).reshape(-1)
            return np.asarray(self.estimator_.predict_proba(df), dtype=float)
        return self._onnx_raw(df)

    def onnx_session(self):
        if self._session is None:
            try:
                import onnxruntime as ort
            except ImportError:
                raise ConfigError(f"serving an ONNX model needs onnxruntime; {_ONNX_HINT}") from None
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(self._onnx_bytes, opts, providers=["CPUExecutionProvider"])
        return self._session

    def _onnx_raw(self, df: pd.DataFrame) -> np.ndarray:
        spec = self._onnx_spec
        sess = self.onnx_session()
        feeds = _onnx_feeds(spec, df)
        outs = sess.run(None, feeds)
        if self.task_ == "regression":
            return np.asarray(outs[spec.get("value_output", 0)], dtype=float).reshape(-1)
        prob = outs[spec["proba_output"]]
        if isinstance(prob, list):  # ZipMap: one {label: p} per row
            keys = list(prob[0].keys()) if prob else []
            order = [keys.index(k) for k in _match_labels(keys, self.schema_.classes)]
            return np.array([[row[keys[j]] for j in order] for row in prob], dtype=float)
        return np.asarray(prob, dtype=float)

    # ------------------------------------------------------------------ saving
    def manifest(self) -> dict[str, Any]:
        """What ``manifest.json`` says about this model, less the file hashes."""
        out: dict[str, Any] = {
            "kind": self.kind, "mlwright_version": __version__, "task": self.task_, "metric": self.metric_,
            "classes": self.schema_.to_dict()["classes"], "schema": self.schema_.to_dict(),
            "dtypes": self.dtypes_, "estimate": {"metric": self.metric_, "score_val": None},
            "best_model": self.kind,
        }  # fmt: skip
        if self.kind == "onnx":
            out["onnx"] = self._onnx_spec
        return out

    def save(self, path: str | Path) -> Path:
        """Write the model directory (manifest + the estimator as skops, or the ONNX file)."""

        def build(tmp: Path) -> dict:
            manifest = self.manifest()
            reference = getattr(self, "reference_", None)
            if reference is not None:
                (tmp / "reference.json").write_text(json.dumps(reference, allow_nan=False), encoding="utf-8")
            if self.kind == "sklearn":
                types = artifacts.skops_dump(self.estimator_, tmp / "estimator.skops")
                manifest["skops_types"] = {"estimator.skops": types}
            else:
                (tmp / "model.onnx").write_bytes(self._onnx_bytes)
            return manifest

        return artifacts.write_dir(path, build)

    @classmethod
    def load(cls, path: str | Path, manifest: dict | None = None) -> ExternalModel:
        """Load a verified model directory of kind ``sklearn`` or ``onnx``."""
        path = Path(path)
        if manifest is None:
            manifest = artifacts.read_manifest(path)
            artifacts.verify(path, manifest)
        schema = Schema.from_dict(manifest["schema"])
        if manifest["kind"] == "sklearn":
            est = artifacts.skops_load(path / "estimator.skops")
            model = cls("sklearn", schema, manifest.get("dtypes", {}), estimator=est)
        elif manifest["kind"] == "onnx":
            model = cls("onnx", schema, manifest.get("dtypes", {}), onnx_bytes=(path / "model.onnx").read_bytes(),
                        onnx_spec=manifest.get("onnx", {}))  # fmt: skip
        else:
            raise ArtifactError(f"unknown model kind {manifest['kind']!r} in {str(path)!r}")
        if "reference.json" in manifest.get("files", {}):
            model.reference_ = json.loads((path / "reference.json").read_text(encoding="utf-8"))
        return model

    def __repr__(self) -> str:
        return f"ExternalModel(kind={self.kind!r}, task={self.task_!r}, inputs={len(self.schema_.features)})"


# ---------------------------------------------------------------------- scikit-learn
def from_sklearn(estimator: Any, sample: pd.DataFrame, target: str = "target") -> ExternalModel:
    """Wrap a fitted scikit-learn estimator or pipeline that takes a DataFrame.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A classifier (with ``predict_proba``) or a regressor.
    sample : DataFrame
        Rows like those it will score (the training features, or some of them): their columns and
        dtypes become the Schema every request is validated against.
    target : str
        Name of what it predicts (shown in the service's metadata).
    """
    from sklearn.base import is_classifier, is_regressor
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(sample, pd.DataFrame) or sample.empty:
        raise ConfigError("from_sklearn needs a non-empty sample DataFrame of the model's input columns")
    try:
        check_is_fitted(estimator)
    except SkNotFitted:
        raise NotFittedError(f"{type(estimator).__name__} is not fitted; fit it before wrapping it") from None
    except TypeError:
        raise ConfigError(f"{type(estimator).__name__} is not a scikit-learn estimator") from None
    if is_classifier(estimator):
        if not hasattr(estimator, "predict_proba"):
            raise ConfigError(f"{type(estimator).__name__} has no predict_proba; mlwright serves probabilities")
        classes = [plain(c) for c in estimator.classes_]
        task = "binary" if len(classes) == 2 else "multiclass"
    elif is_regressor(estimator):
        task, classes = "regression", []
    else:
        raise ConfigError(f"{type(estimator).__name__} is neither a classifier nor a regressor")
    _check_feature_names(estimator, sample)
    model = ExternalModel("sklearn", _schema(sample, task, classes, target), _dtypes(sample), estimator=estimator)
    model.predict_scores(sample.head(5))  # fails now, clearly, if the sample does not fit the model
    model.reference_ = sample_reference(model, sample)
    return model


def sample_reference(model: ExternalModel, sample: pd.DataFrame) -> dict[str, Any]:
    """Monitoring's reference statistics from the sample given at wrapping time (the model's own outputs on
    it included): as good as the sample is large and like the training data."""
    from mlwright.data.schema import coerce
    from mlwright.monitoring.reference import build_reference

    raw = model.predict_scores(sample)
    if model.task_ == "regression":
        outputs = {"values": raw}
    else:
        p, pick = decide(raw, model.task_, model.threshold_)
        outputs = {"proba": p, "labels": [model.schema_.classes[i] for i in pick]}
    return build_reference(coerce(sample, model.schema_), model.schema_, outputs) | {"from": "sample"}


def _dtypes(sample: pd.DataFrame) -> dict[str, str]:
    return {str(c): str(t) for c, t in sample.dtypes.items()}


def _check_feature_names(estimator: Any, sample: pd.DataFrame) -> None:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return
    have = [str(c) for c in sample.columns]
    missing = [str(n) for n in names if str(n) not in have]
    if missing:
        raise ConfigError(
            f"the sample lacks column(s) the model was fitted on: {missing[:10]}"
            f"{did_you_mean(missing[0], have)}; pass rows with the model's input columns"
        )


# ---------------------------------------------------------------------- ONNX
def _onnx_type(t: str) -> str:
    return {"tensor(string)": "categorical", "tensor(bool)": "boolean"}.get(t, "numeric")


_NP = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
       "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(string)": object}  # fmt: skip


def _onnx_feeds(spec: dict, df: pd.DataFrame) -> dict[str, np.ndarray]:
    if spec["layout"] == "matrix":
        inp = spec["inputs"][0]
        arr = df[spec["columns"]].to_numpy(dtype=np.float64).astype(_NP.get(inp["type"], np.float32))
        return {inp["name"]: arr}
    feeds = {}
    for inp in spec["inputs"]:
        col = df[inp["name"]]
        typ = _NP.get(inp["type"], np.float32)
        if typ is object:
            vals = np.array([("" if pd.isna(v) else str(v)) for v in col], dtype=object)
        else:
            if typ in (np.int64, np.int32) and col.isna().any():
                raise ColumnTypeError(f"column {inp['name']!r} has missing values; this ONNX model needs integers")
            vals = col.to_numpy().astype(typ)
        feeds[inp["name"]] = vals.reshape(-1, 1) if inp["rank"] == 2 else vals
    return feeds


def _match_labels(keys: list, classes: list) -> list:
    by_text = {str(k): k for k in keys}
    return [by_text[str(c)] for c in classes]


def from_onnx(
    path: str | Path, sample: pd.DataFrame | None = None, task: str | None = None,
    classes: list | None = None, target: str = "target",
) -> ExternalModel:  # fmt: skip
    """Wrap an ONNX model file (e.g. from skl2onnx, onnxmltools, or ``mlwright export``).

    Parameters
    ----------
    path : path to a ``.onnx`` file
    sample : DataFrame, optional
        Input rows.  Needed when the model takes one matrix (it names the columns, in order); otherwise
        the Schema comes from the model's named inputs, and a sample only refines it.
    task : str, optional
        ``binary``, ``multiclass`` or ``regression``; inferred from the outputs when omitted (a
        label and a probability output make a classifier).
    classes : list, optional
        Class labels in probability order, when they cannot be read from the model's outputs.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError(f"registering an ONNX model needs onnxruntime; {_ONNX_HINT}") from None
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"ONNX file {str(path)!r} does not exist; check the path")
    data = path.read_bytes()
    try:
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
        raise ArtifactError(f"{str(path)!r} is not a valid ONNX model: {str(exc).splitlines()[0][:300]}") from None
    inputs = [{"name": i.name, "type": i.type, "rank": len(i.shape or [])} for i in sess.get_inputs()]
    outputs = sess.get_outputs()
    meta = sess.get_modelmeta().custom_metadata_map  # an `mlwright export` file says what it predicts
    if "mlwright.task" in meta:
        task = task or meta["mlwright.task"]
        if task != "regression" and classes is None:
            classes = json.loads(meta.get("mlwright.classes", "null"))
        target = meta.get("mlwright.target", target)
    if len(inputs) == 1 and inputs[0]["rank"] == 2 and (sess.get_inputs()[0].shape[1] not in (1, None)):
        if sample is None:
            raise ConfigError(f"{path.name} takes one input matrix; pass sample= (a DataFrame) to name its columns")
        width = sess.get_inputs()[0].shape[1]
        if isinstance(width, int) and width != sample.shape[1]:
            raise ConfigError(f"{path.name} takes {width} columns; the sample has {sample.shape[1]}")
        spec = {"layout": "matrix", "inputs": inputs, "columns": [str(c) for c in sample.columns]}
        kinds = dict.fromkeys(spec["columns"], "numeric")
        frame = sample
    else:
        spec = {"layout": "columns", "inputs": inputs}
        kinds = {i["name"]: _onnx_type(i["type"]) for i in inputs}
        if sample is not None:
            lacking = [n for n in kinds if n not in sample.columns]
            if lacking:
                raise ConfigError(f"the sample lacks the model's input column(s) {lacking[:10]}")
            frame = sample[list(kinds)]
        else:
            frame = pd.DataFrame({n: pd.Series([], dtype=object if k == "categorical" else float)
                                  for n, k in kinds.items()})  # fmt: skip
    if task is None:
        task = "regression" if len(outputs) == 1 else None
    names = [o.name for o in outputs]
    if task != "regression":
        fallback = 1 if len(outputs) > 1 else 0
        spec["proba_output"] = names.index("probabilities") if "probabilities" in names else fallback
        if classes is None:
            if sample is None:
                raise ConfigError("pass sample= (a few rows) or classes= so the class labels can be read")
            probe = ExternalModel("onnx", _schema(frame, "binary", [0, 1], target, kinds), _dtypes(frame),
                                  onnx_bytes=data, onnx_spec=spec)  # fmt: skip
            outs = probe.onnx_session().run(None, _onnx_feeds(spec, probe.typed_frame(frame.head(5))))
            prob = outs[spec["proba_output"]]
            if not isinstance(prob, list):
                raise ConfigError(f"{path.name} returns bare probabilities; pass classes= (labels in column order)")
            classes = [plain(k) for k in prob[0]]
        classes = list(classes)
        task = task or ("binary" if len(classes) == 2 else "multiclass")
    else:
        classes = []
    schema = _schema(frame, task, classes, target, kinds)
    model = ExternalModel("onnx", schema, _dtypes(frame), onnx_bytes=data, onnx_spec=spec)
    if sample is not None:
        model.predict_scores(sample.head(5))  # fails now, clearly, if the sample does not fit the model
        if spec["layout"] == "columns":  # per-column inputs: the sample's columns are the model's
            model.reference_ = sample_reference(model, sample[list(kinds)])
    return model
