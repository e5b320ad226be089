"""Export a fitted model to ONNX: preprocessing, every member, the ensemble and calibration in one graph.

The graph takes one input per feature column, as ``[N, 1]`` tensors: DOUBLE for numeric and boolean
columns (0/1; NaN = missing), STRING for categorical ones (the level's text, "" = missing).  It returns
``label`` (STRING) and ``probabilities`` (DOUBLE ``[N, classes]``) for a classifier, ``predictions``
(DOUBLE ``[N]``) for a regressor, equal to :meth:`AutoML.predict_proba` / ``predict`` up to rounding.

What converts: numeric, boolean, categorical and high-cardinality columns (disguised missing values
included); LightGBM, random-forest / extra-trees and linear members (fold models or refits);
sigmoid calibration and a decision threshold.  Anything else (date or text columns, CatBoost, XGBoost,
k-NN, SVM, MLP, naive Bayes members, isotonic calibration) stops the export with an
:class:`~mlwright.errors.ExportError` naming the part; ``AutoML(families=ONNX_FAMILIES)`` (``mlwright
fit --onnx``) searches only convertible models.  Trees use ``ai.onnx.ml`` TreeEnsemble (opset 5), whose
set-membership splits carry LightGBM's categorical splits exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mlwright.errors import ConfigError, ExportError
from mlwright.features import MISSING, OTHER

__all__ = ["ONNX_FAMILIES", "export_onnx", "onnx_feeds", "onnx_parity", "to_onnx"]

ONNX_FAMILIES = ["lightgbm", "rf", "et", "linear"]
_OPSET, _ML_OPSET = 21, 5
_HINT = "install the ONNX support with: pip install 'mlwright[onnx]'"


class _Graph:
    """A small ONNX graph builder: unique names, constants as initializers."""

    def __init__(self):
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.n = 0

    def name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}_{self.n}"

    def const(self, value: Any, dtype=np.float64, stem: str = "c") -> str:
        from onnx import numpy_helper

        name = self.name(stem)
        arr = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", n_out: int = 1, **attrs: Any):
        from onnx import helper

        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs


# ---------------------------------------------------------------------- inputs and lookups
class _Inputs:
    def __init__(self, g: _Graph, schema):
        from onnx import TensorProto, helper

        self.g, self.schema, self.infos = g, schema, []
        self._num: dict[str, str] = {}
        for c in schema.columns:
            if not c.used:
                continue
            if c.kind in ("datetime", "text"):
                raise ExportError(
                    f"column {c.name!r} ({c.kind}) cannot be exported to ONNX: its features are computed in Python. "
                    f"Drop it (AutoML(cleaning={{'drop': [{c.name!r}]}}), CLI --clean drop={c.name}) and refit"
                )
            typ = TensorProto.STRING if c.kind in ("categorical", "high_cardinality") else TensorProto.DOUBLE
            self.infos.append(helper.make_tensor_value_info(c.name, typ, [None, 1]))

    def numeric(self, name: str) -> str:
        """The column as DOUBLE [N,1], its disguised missing values (e.g. -999) turned into NaN."""
        if name not in self._num:
            x = name
            for v in self.schema[name].na_values:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    hit = self.g.op("Equal", [x, self.g.const([[float(v)]])])
                    x = self.g.op("Where", [hit, self.g.const([[np.nan]]), x])
            self._num[name] = x
        return self._num[name]

    def missing_keys(self, name: str) -> list[str]:
        """Strings that mean "missing" in a categorical column: "" and its disguised tokens."""
        return ["", *(str(v).strip() for v in self.schema[name].na_values if isinstance(v, str))]

    def lookup(self, name: str, table: dict[str, Any], default: Any, dtype) -> str:
        """LabelEncoder: level text → value (``table``), missing → the MISSING level's value, else ``default``.

        Returns an [N] tensor."""
        keys = list(table)
        vals = [table[k] for k in keys]
        miss = table.get(MISSING, default)
        for k in self.missing_keys(name):
            if k not in table:
                keys.append(k)
                vals.append(miss)
        flat = self.g.op("Reshape", [name, self.g.const([-1], np.int64)])
        return self.g.op(
            "LabelEncoder", [flat], domain="ai.onnx.ml",
            keys_tensor=_tensor(np.array(keys, dtype=object)), values_tensor=_tensor(np.asarray(vals, dtype=dtype)),
            default_tensor=_tensor(np.asarray([default], dtype=dtype)),
        )  # fmt: skip

    def column(self, x_flat: str) -> str:
        """[N] → [N, 1]."""
        return self.g.op("Unsqueeze", [x_flat, self.g.const([1], np.int64)])


def _tensor(arr: np.ndarray):
    from onnx import helper, numpy_helper

    if arr.dtype == object:
        return helper.make_tensor("t", 8, [len(arr)], [str(v).encode() for v in arr])  # 8 = STRING
    return numpy_helper.from_array(arr, "t")


# ---------------------------------------------------------------------- preprocessing
def _prep(g: _Graph, inp: _Inputs, pre) -> str:
    """One fitted TabularPreprocessor → a DOUBLE [N, F] tensor."""
    if pre.dt_ or pre.txt_:
        raise ExportError("date and text features cannot be exported to ONNX; drop those columns and refit")
    parts: list[str] = []
    if pre.style == "native":
        parts += [inp.numeric(c) for c in pre.num_]
        for cols, enc in ((pre.cat_, pre.cat_enc_), (pre.hc_, pre.hc_enc_)):  # category codes
            for c, cats in zip(cols, enc.categories_ if enc is not None else []):
                codes = {lvl: float(i) for i, lvl in enumerate(cats)}
                parts.append(inp.column(inp.lookup(c, codes, float(cats.index(OTHER)), np.float64)))
        if pre.hc_enc_ is not None:
            for c, m in zip(pre.hc_, pre.freq_.maps_):
                parts.append(inp.column(inp.lookup(c, {k: float(v) for k, v in m.items()}, 0.0, np.float64)))
        return _concat(g, parts)
    fast = pre.fast_tables()
    if pre.imputer_ is not None:
        a = _concat(g, [inp.numeric(c) for c in pre.num_])
        clip = getattr(pre, "clip_", None)
        if clip is not None:
            bounded = g.op("Min", [g.op("Max", [a, g.const([clip[0]])]), g.const([clip[1]])])
            a = g.op("Where", [g.op("IsNaN", [a]), a, bounded])
        miss = g.op("IsNaN", [a])
        filled = g.op("Where", [miss, g.const([fast["fill"]]), a])
        block = filled
        if len(fast["flags"]):
            flags = g.op("Gather", [g.op("Cast", [miss], to=11), g.const(fast["flags"], np.int64)], axis=1)
            block = g.op("Concat", [filled, flags], axis=1)
        if pre.style == "onehot":
            block = g.op("Div", [g.op("Sub", [block, g.const([fast["mean"]])]), g.const([fast["scale"]])])
        parts.append(block)
    if pre.cat_enc_ is not None:
        parts += [_table_block(g, inp, c, t) for c, t in zip(pre.cat_, fast["cat"])]
    if pre.hc_:
        if pre.hc_enc_ is not None:
            parts += [_table_block(g, inp, c, t) for c, t in zip(pre.hc_, fast["hc"])]
        for c, m in zip(pre.hc_, pre.freq_.maps_):
            enc = {k: float(np.log1p(v * 1000.0)) for k, v in m.items()}
            parts.append(inp.column(inp.lookup(c, enc, 0.0, np.float64)))
    out = _concat(g, parts)
    if pre.style == "onehot" and pre.cat_enc_ is not None:  # scikit-learn scores the sparse float32 matrix
        out = g.op("Cast", [g.op("Cast", [out], to=1)], to=11)
    return out


def _table_block(g: _Graph, inp: _Inputs, col: str, table) -> str:
    levels, matrix, _ = table
    unseen = len(matrix) - 1
    rows = inp.lookup(col, dict(levels), unseen, np.int64)
    return g.op("Gather", [g.const(matrix), rows], axis=0)


def _concat(g: _Graph, parts: list[str]) -> str:
    if not parts:
        raise ExportError("a model with no input features cannot be exported")
    return parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=1)


# ---------------------------------------------------------------------- trees
class _Trees:
    """Accumulates trees for one TreeEnsemble node (opset 5)."""

    def __init__(self):
        self.feat, self.split, self.mode, self.member = [], [], [], []
        self.t_id, self.t_leaf, self.f_id, self.f_leaf, self.miss = [], [], [], [], []
        self.leaf_target, self.leaf_weight, self.roots = [], [], []

    def leaf(self, target: int, weight: float) -> int:
        self.leaf_target.append(int(target))
        self.leaf_weight.append(float(weight))
        return len(self.leaf_weight) - 1

    def node(self, feature: int, split: float, mode: int, missing_true: bool, members=()) -> int:
        self.feat.append(int(feature))
        self.split.append(float(split))
        self.mode.append(mode)
        self.member.extend([*map(float, members), np.nan] if mode == 6 else [])
        self.miss.append(int(missing_true))
        for lst in (self.t_id, self.t_leaf, self.f_id, self.f_leaf):
            lst.append(0)
        return len(self.feat) - 1

    def link(self, i: int, true: tuple[int, bool], false: tuple[int, bool]) -> None:
        self.t_id[i], self.t_leaf[i] = true[0], int(true[1])
        self.f_id[i], self.f_leaf[i] = false[0], int(false[1])

    def build(self, g: _Graph, x: str, n_targets: int, aggregate: int = 1) -> str:
        from onnx import numpy_helper

        if not self.feat:  # only single-leaf trees: the sum of their leaves for every row
            total = np.zeros(n_targets)
            for t, w in zip(self.leaf_target, self.leaf_weight):
                total[t] += w
            shape = g.op("Shape", [x], start=0, end=1)
            return g.op("Expand", [g.const([total]), g.op("Concat", [shape, g.const([n_targets], np.int64)], axis=0)])
        return g.op(
            "TreeEnsemble", [x], domain="ai.onnx.ml",
            nodes_featureids=self.feat, nodes_splits=numpy_helper.from_array(np.array(self.split)),
            nodes_modes=numpy_helper.from_array(np.array(self.mode, dtype=np.uint8)),
            membership_values=numpy_helper.from_array(np.array(self.member or [np.nan])),
            nodes_truenodeids=self.t_id, nodes_trueleafs=self.t_leaf, nodes_falsenodeids=self.f_id,
            nodes_falseleafs=self.f_leaf, nodes_missing_value_tracks_true=self.miss,
            leaf_targetids=self.leaf_target, leaf_weights=numpy_helper.from_array(np.array(self.leaf_weight)),
            tree_roots=self.roots, aggregate_function=aggregate, post_transform=0, n_targets=n_targets,
        )  # fmt: skip


def _lgb_tree(trees: _Trees, node: dict, target: int) -> tuple[int, bool]:
    """One LightGBM tree node → (index, is_leaf), replicating LightGBM's decision rules."""
    if "leaf_value" in node or "split_feature" not in node:
        return trees.leaf(target, node.get("leaf_value", 0.0)), True
    f = node["split_feature"]
    left = lambda: _lgb_tree(trees, node["left_child"], target)  # noqa: E731
    right = lambda: _lgb_tree(trees, node["right_child"], target)  # noqa: E731
    if node["decision_type"] == "==":  # category codes in the set go left; NaN / negative go right
        cats = [int(v) for v in str(node["threshold"]).split("||")]
        i = trees.node(f, 0.0, 6, False, cats)
        trees.link(i, left(), right())
        return i, False
    thr = float(node["threshold"])
    mt, dl = node.get("missing_type", "None"), bool(node.get("default_left", True))
    if mt == "NaN":
        i = trees.node(f, thr, 0, dl)
        trees.link(i, left(), right())
        return i, False
    if mt == "Zero" and dl != (thr >= 0.0):  # exact zeros (and NaN) follow the default side, not the split
        i = trees.node(f, 0.0, 4, True)  # x == 0 (NaN counts as true): the default side
        j = trees.node(f, thr, 0, False)
        lt, rt = left(), right()
        trees.link(j, lt, rt)
        trees.link(i, lt if dl else rt, (j, False))
        return i, False
    i = trees.node(f, thr, 0, thr >= 0.0)  # NaN is read as 0
    trees.link(i, left(), right())
    return i, False


def _lightgbm(g: _Graph, x: str, model, task: str, n_classes: int) -> str:
    dump = model.booster.dump_model(num_iteration=model.best_iteration)
    k = n_classes if task == "multiclass" else 1
    trees = _Trees()
    for t, info in enumerate(dump["tree_info"]):
        before = len(trees.feat)
        root = _lgb_tree(trees, info["tree_structure"], t % k)
        if not root[1]:
            trees.roots.append(before)
    raw = trees.build(g, x, k)
    if task == "regression":
        return raw
    if task == "binary":
        p1 = g.op("Sigmoid", [raw])
        return g.op("Concat", [g.op("Sub", [g.const([[1.0]]), p1]), p1], axis=1)
    return g.op("Softmax", [raw], axis=1)


def _sk_tree(trees: _Trees, t, value: np.ndarray, col: int, target: int, nid: int) -> tuple[int, bool]:
    if t.children_left[nid] < 0:
        return trees.leaf(target, value[nid, col]), True
    i = trees.node(t.feature[nid], t.threshold[nid], 0, False)
    left = _sk_tree(trees, t, value, col, target, int(t.children_left[nid]))
    trees.link(i, left, _sk_tree(trees, t, value, col, target, int(t.children_right[nid])))
    return i, False


def _forest(g: _Graph, x: str, model, task: str, n_classes: int) -> str:
    est = model.estimator
    x32 = g.op("Cast", [g.op("Cast", [x], to=1)], to=11)  # scikit-learn compares float32 features
    classes = np.asarray(getattr(est, "classes_", []), dtype=int)
    targets = [0] if task == "regression" else ([1] if task == "binary" else list(range(n_classes)))
    trees = _Trees()
    for e in est.estimators_:
        t = e.tree_
        value = t.value[:, 0, :].astype(float)
        if task != "regression":
            value = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300)
        for out_j, target in enumerate(targets):
            # the tree's value column of this target (a class the forest never saw: probability 0, no tree)
            found = [0] if task == "regression" else np.flatnonzero(classes == target)
            if not len(found):
                continue
            col = int(found[0])

            before = len(trees.feat)
            if not _sk_tree(trees, t, value, col, out_j, 0)[1]:
                trees.roots.append(before)
    k = len(targets)
    raw = g.op("Mul", [trees.build(g, x32, k), g.const([[1.0 / len(est.estimators_)]])])
    if task == "binary":
        return g.op("Concat", [g.op("Sub", [g.const([[1.0]]), raw]), raw], axis=1)
    return raw


def _linear(g: _Graph, x: str, model, task: str, n_classes: int) -> str:
    est = model.estimator
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))
    z = g.op("Add", [g.op("MatMul", [x, g.const(coef.T)]), g.const(np.atleast_1d(est.intercept_).astype(float))])
    if task == "regression":
        return z
    if len(est.classes_) != n_classes:
        raise ExportError("a linear fold model that never saw every class cannot be exported; refit the model")
    if task == "binary":
        p1 = g.op("Sigmoid", [z])
        return g.op("Concat", [g.op("Sub", [g.const([[1.0]]), p1]), p1], axis=1)
    return g.op("Softmax", [z], axis=1)


_CONVERTERS = {"lightgbm": _lightgbm, "rf": _forest, "et": _forest, "linear": _linear}


# ---------------------------------------------------------------------- the whole model
def to_onnx(model: Any):
    """The fitted model as an ``onnx.ModelProto`` (see the module docstring for what converts).

    Raises
    ------
    ExportError
        A part of the model has no ONNX form; the message names it.
    """
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        raise ConfigError(f"ONNX export needs the onnx package; {_HINT}") from None
    if getattr(model, "kind", "mlwright") != "mlwright":
        raise ExportError(f"this is an external {model.kind} model; its original file is what to deploy")
    fitted = getattr(model, "fitted_", None)
    if fitted is None:
        from mlwright.errors import NotFittedError

        raise NotFittedError("this AutoML is not fitted yet; call fit(data, target=...) or mlwright.load(path)")
    if fitted.group_thresholds:
        cols = ", ".join(fitted.group_thresholds["columns"])
        raise ExportError(f"this model decides with a threshold per group of {cols} (fairness mitigation), which "
                          "has no ONNX form here: serve it with mlwright")  # fmt: skip
    schema, task = fitted.schema, fitted.task
    k = len(schema.classes) if task != "regression" else 0
    bad = [f"{m.name} ({m.family})" for m in fitted.members if m.family not in _CONVERTERS]
    if bad:
        raise ExportError(
            f"member(s) {', '.join(bad)} have no ONNX converter (convertible: {', '.join(ONNX_FAMILIES)}); "
            "refit with AutoML(families=mlwright.artifacts.onnx.ONNX_FAMILIES) or `mlwright fit --onnx`"
        )
    g = _Graph()
    inp = _Inputs(g, schema)
    prepared: dict[str, str] = {}
    total = None
    for m in fitted.members:
        fold_outs = []
        for key, mod in zip(m.preps, m.models):
            if key not in prepared:
                prepared[key] = _prep(g, inp, fitted.preprocessors[key])
            fold_outs.append(_CONVERTERS[m.family](g, prepared[key], mod, task, k))
        p = fold_outs[0] if len(fold_outs) == 1 else g.op("Sum", fold_outs)
        p = g.op("Mul", [p, g.const(m.weight / len(fold_outs))])
        total = p if total is None else g.op("Add", [total, p])
    outputs = []
    if task == "regression":
        g.nodes.append(helper.make_node("Reshape", [total, g.const([-1], np.int64)], ["predictions"]))
        outputs.append(helper.make_tensor_value_info("predictions", TensorProto.DOUBLE, [None]))
    else:
        p = _calibrated(g, fitted, _tempered(g, fitted.tempering, total, k))
        clipped = g.op("Clip", [p, g.const(0.0), g.const(1.0)])
        probs = g.op("Div", [clipped, g.op("ReduceSum", [clipped, g.const([1], np.int64)], keepdims=1)])
        g.nodes.append(helper.make_node("Identity", [probs], ["probabilities"]))
        threshold = fitted.threshold
        if threshold is not None and task == "binary":
            p1 = g.op("Gather", ["probabilities", g.const(1, np.int64)], axis=1)
            idx = g.op("Cast", [g.op("GreaterOrEqual", [p1, g.const(float(threshold))])], to=7)
        else:
            idx = g.op("ArgMax", ["probabilities"], axis=1, keepdims=0)
        labels = [str(c) for c in schema.classes]
        g.nodes.append(helper.make_node(
            "LabelEncoder", [idx], ["label"], domain="ai.onnx.ml",
            keys_tensor=_tensor(np.arange(k, dtype=np.int64)), values_tensor=_tensor(np.array(labels, dtype=object)),
            default_tensor=_tensor(np.array([""], dtype=object)),
        ))  # fmt: skip
        outputs.append(helper.make_tensor_value_info("label", TensorProto.STRING, [None]))
        outputs.append(helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, k]))
    used = {name for node in g.nodes for name in node.input}  # constants made but never wired in are left out
    inits = [c for c in g.inits if c.name in used]
    graph = helper.make_graph(g.nodes, "mlwright", inp.infos, outputs, initializer=inits)
    onx = helper.make_model(
        graph, producer_name="mlwright",
        opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid("ai.onnx.ml", _ML_OPSET)],
    )  # fmt: skip
    onx.ir_version = 10
    meta = {"mlwright.task": task, "mlwright.classes": json.dumps(list(schema.classes)),
            "mlwright.target": schema.target, "mlwright.metric": fitted.metric}  # fmt: skip
    helper.set_model_props(onx, meta)
    onnx.checker.check_model(onx)
    return onx


def _tempered(g: _Graph, t: dict[str, Any] | None, p: str, k: int) -> str:
    """:func:`mlwright.evaluation.tempering.apply_tempering` as graph nodes (``k`` classes)."""
    if t is None:
        return p
    axis = g.const([1], np.int64)
    if "temperature" in t:
        z = g.op("Div", [g.op("Log", [g.op("Clip", [p, g.const(1e-300)])]), g.const(float(t["temperature"]))])
        q = g.op("Exp", [g.op("Sub", [z, g.op("ReduceMax", [z, axis], keepdims=1)])])
        q = g.op("Div", [q, g.op("ReduceSum", [q, axis], keepdims=1)])
        eps = float(t["floor"])
        prior = g.const(np.asarray(t["prior"], dtype=float)[None, :] * eps)
        p = g.op("Add", [g.op("Mul", [q, g.const(1.0 - eps)]), prior])
    m = float(t.get("min_prob", 0.0))
    return g.op("Add", [g.op("Mul", [p, g.const(1.0 - k * m)]), g.const(m)]) if m else p


def _calibrated(g: _Graph, fitted, p: str) -> str:
    cal = fitted.calibration
    if cal is None or fitted.task != "binary":
        return p
    if cal["method"] != "sigmoid":
        raise ExportError(
            f"{cal['method']} calibration has no ONNX form here; use model.calibrate('sigmoid') (or 'none') first"
        )
    from mlwright.evaluation.diagnose import EPS

    p1 = g.op("Gather", [p, g.const([1], np.int64)], axis=1)
    q = g.op("Clip", [p1, g.const(EPS), g.const(1 - EPS)])
    logit = g.op("Log", [g.op("Div", [q, g.op("Sub", [g.const(1.0), q])])])
    c1 = g.op("Sigmoid", [g.op("Add", [g.op("Mul", [logit, g.const(float(cal["a"]))]), g.const(float(cal["b"]))])])
    return g.op("Concat", [g.op("Sub", [g.const(1.0), c1]), c1], axis=1)


def export_onnx(model: Any, path: str | Path) -> Path:
    """Write ``model`` as an ONNX file at ``path`` (see :func:`to_onnx`); returns the path."""
    onx = to_onnx(model)
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ConfigError(f"write the ONNX model to a file ending in .onnx, not {str(path)!r}")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(onx.SerializeToString())
    tmp.replace(path)
    return path


def onnx_feeds(schema, df) -> dict[str, np.ndarray]:
    """Rows → the exported graph's inputs (validated and coerced by the Schema first)."""
    import pandas as pd

    valid = schema.validate(df)
    feeds = {}
    for c in schema.columns:
        if not c.used:
            continue
        v = valid[c.name]
        if c.kind in ("categorical", "high_cardinality"):
            arr = np.array(["" if pd.isna(x) else str(x) for x in v], dtype=object)
        else:
            arr = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float)
        feeds[c.name] = arr.reshape(-1, 1)
    return feeds


def onnx_parity(model: Any, path: str | Path, df) -> dict[str, Any]:
    """Score ``df`` with ONNX Runtime and natively: rows, the largest absolute difference, equal labels."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError(f"checking an ONNX export needs onnxruntime; {_HINT}") from None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = df.drop(columns=[model.schema_.target], errors="ignore")
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, onnx_feeds(model.schema_, X))))
    if model.task_ == "regression":
        return {"rows": len(X), "max_abs": float(np.max(np.abs(out["predictions"] - model.predict(X))))}
    diff = float(np.max(np.abs(out["probabilities"] - model.predict_proba(X).to_numpy())))
    labels = [str(v) for v in model.predict(X)]
    return {"rows": len(X), "max_abs": diff, "labels_equal": list(out["label"]) == labels}
