"""What ``fit`` does about the data checks' findings, and the cleaning options of the pipeline.

:class:`Cleaning` holds the options (``AutoML(cleaning={...})``, ``mlwright fit --clean key=value``).
:func:`act_on_findings` runs the checks on the training table and acts on them: leaking columns
are dropped, disguised missing values ("?", -999 …) are read as missing at fit *and* predict time
(the values are stored in the Schema), duplicate rows are removed when asked; every finding records
what was done (``Finding.action``) and the important actions are logged.  Imputation and outlier
clipping are options of the feature pipeline, fitted on training folds only
(:class:`~mlwright.features.TabularPreprocessor`).  :func:`select_features` keeps a smaller set of
columns only when it scores better in cross-validation.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.checks import CheckConfig, Finding, run_checks
from mlwright.data.schema import Schema, infer_column, mask_na
from mlwright.errors import ConfigError, MlwrightWarning, did_you_mean

__all__ = ["IMPUTE", "Cleaning", "act_on_findings", "select_features"]

log = logging.getLogger("mlwright")
IMPUTE = ("median", "mean", "most_frequent", "zero")


@dataclass
class Cleaning:
    """Cleaning options of ``fit`` (pass a dict with any of these keys, or an instance).

    Attributes
    ----------
    checks : bool, default True
        Run the data checks; their findings are in ``AutoML.findings_`` and the model report.
    drop_leaks : bool, default True
        Drop columns the leakage check finds critical (one column predicts the target almost
        perfectly, a near-copy of the target, a field filled in only after the outcome).
    disguised_missing : bool, default True
        Read placeholder values ("?", "N/A", -999 …) as missing, in training and when predicting.
    drop_duplicates : bool, default False
        Remove rows that repeat an earlier row exactly (features and target).
    max_missing : float, default 1.0
        Drop feature columns missing in a larger share of rows than this.
    impute : str, default "median"
        How the linear, k-NN, SVM and neural families fill missing numbers: ``median``, ``mean``,
        ``most_frequent`` or ``zero`` (missing-value indicators are always added; tree families
        handle missing values natively).
    clip_outliers : bool or float, default False
        Clip numbers to the training folds' [q, 1 − q] quantiles (q = 0.001 when True) for the
        non-tree families.
    select_features : bool, default False
        Before the search, try dropping the columns a quick LightGBM finds least important; keep
        the smaller set only if it scores better in cross-validation.
    keep : list of str
        Columns never dropped by a finding.
    drop : list of str
        Columns to leave out of the models.
    """

    checks: bool = True
    drop_leaks: bool = True
    disguised_missing: bool = True
    drop_duplicates: bool = False
    max_missing: float = 1.0
    impute: str = "median"
    clip_outliers: bool | float = False
    select_features: bool = False
    keep: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)

    @classmethod
    def from_value(cls, value: Cleaning | dict[str, Any] | None) -> Cleaning:
        """A validated :class:`Cleaning` from an instance, a dict of options or None (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Cleaning):
            c = cls(**asdict(value))
        elif isinstance(value, dict):
            names = [f.name for f in fields(cls)]
            for k in value:
                if k not in names:
                    raise ConfigError(
                        f"unknown cleaning option {k!r}{did_you_mean(str(k), names)}; options are: {', '.join(names)}"
                    )
            c = cls(**value)
        else:
            raise ConfigError(f"cleaning must be a dict of options or a Cleaning, got {type(value).__name__}")
        if c.impute not in IMPUTE:
            raise ConfigError(f"cleaning impute={c.impute!r} is not a strategy; use one of {', '.join(IMPUTE)}")
        if not (isinstance(c.max_missing, (int, float)) and 0 <= c.max_missing <= 1):
            raise ConfigError(f"cleaning max_missing must be a share between 0 and 1, got {c.max_missing!r}")
        q = c.clip_quantile
        if q is not None and not (0 < q < 0.5):
            raise ConfigError(f"cleaning clip_outliers must be True/False or a quantile in (0, 0.5), got {q!r}")
        for key in ("keep", "drop"):
            v = getattr(c, key)
            if isinstance(v, str) or not all(isinstance(x, str) for x in v):
                raise ConfigError(f"cleaning {key} must be a list of column names, got {v!r}")
            setattr(c, key, list(v))
        return c

    @property
    def clip_quantile(self) -> float | None:
        """The clipping quantile, or None when clipping is off."""
        if self.clip_outliers is True:
            return 0.001
        if self.clip_outliers is False or self.clip_outliers is None:
            return None
        return float(self.clip_outliers)


def _exclude(schema: Schema, name: str) -> None:
    schema[name].kind = "excluded"


def act_on_findings(
    df: pd.DataFrame, schema: Schema, cleaning: Cleaning, time_column: str | None = None, seed: int = 0
) -> tuple[np.ndarray | None, list[Finding]]:
    """Run the checks on the training table and act on what they find (the Schema is updated).

    Returns
    -------
    rows : ndarray of bool or None
        Rows to keep (None: all of them).
    findings : list of Finding
        Each with ``action`` saying what was done.
    """
    names = {c.name for c in schema.columns}
    for key in ("keep", "drop"):
        for name in getattr(cleaning, key):
            if name not in names:
                raise ConfigError(
                    f"cleaning {key} names column {name!r}, which is not a feature{did_you_mean(name, names)}"
                )
    for name in cleaning.drop:
        _exclude(schema, name)
        log.info("column %r left out: cleaning drop", name)
    if not cleaning.checks:
        return None, []
    findings = run_checks(
        df,
        schema.target,
        columns=schema.columns,
        task=schema.task,
        time_column=time_column,
        config=CheckConfig(seed=seed),
    )
    rows = None
    leaks = {f.column for f in findings if f.check == "leakage" and f.severity == "critical"}
    easy = bool(leaks) and not [c for c in schema.features if c not in leaks]
    for f in findings:
        if easy and f.column in leaks and f.check == "leakage":
            f.action = "kept: every feature predicts the target this well — an easy problem rather than a leak?"
            continue
        f.action = _act(f, df, schema, cleaning)
        if f.action.startswith(("dropped", "removed")):
            warnings.warn(f"{f.action}: {f.message}", MlwrightWarning, stacklevel=4)
        elif f.severity != "info":
            log.info("%s — %s", f.message, f.action)
        if f.check == "duplicates" and f.action.startswith("removed"):
            rows = ~df.duplicated().to_numpy()
    return rows, findings


def _act(f: Finding, df: pd.DataFrame, schema: Schema, cleaning: Cleaning) -> str:
    col = f.column
    spec = schema[col] if col is not None and col != schema.target and col in {c.name for c in schema.columns} else None
    if spec is not None and spec.kind == "excluded":
        return "left out of the models (column dropped)"
    if f.check == "leakage" and f.severity == "critical" and spec is not None:
        if col in cleaning.keep:
            return "kept: listed in cleaning keep"
        if not cleaning.drop_leaks:
            return "kept: cleaning drop_leaks is off"
        _exclude(schema, col)
        return f"dropped column {col!r} (suspected target leakage)"
    if f.check == "disguised_missing" and f.severity == "warning" and spec is not None:
        if not cleaning.disguised_missing:
            return "kept as values: cleaning disguised_missing is off"
        spec.na_values = list(dict.fromkeys(spec.na_values + list(f.data.get("values", []))))
        seen = infer_column(col, mask_na(df[col], spec.na_values), len(df))
        if spec.kind in ("numeric", "categorical", "high_cardinality", "boolean", "datetime", "text"):
            spec.kind, spec.from_text = seen.kind, seen.from_text
            spec.missing, spec.n_unique, spec.top = seen.missing, seen.n_unique, seen.top
        return f"read as missing (now {spec.missing:.1%} missing, kind {spec.kind})"
    if f.check == "duplicates" and f.data.get("scope") == "rows":
        if cleaning.drop_duplicates:
            return f"removed {f.data.get('rows', 0)} duplicate rows"
        return "kept: set cleaning drop_duplicates to remove them"
    if f.check == "missing" and spec is not None and spec.used and spec.missing > cleaning.max_missing:
        _exclude(schema, col)
        return f"dropped column {col!r} (missing above cleaning max_missing={cleaning.max_missing})"
    if f.check == "non_finite" and spec is not None and spec.used:
        return "read as missing (imputed like any other gap)"
    if f.check in ("constant", "id_like") and spec is not None and not spec.used:
        return "left out of the models"
    if f.check == "missing" and spec is not None and spec.kind == "empty":
        return "left out of the models"
    return "none (for your information)"


def select_features(
    X: pd.DataFrame, y: np.ndarray, schema: Schema, splits, metric, seconds: float, seed: int = 0
) -> tuple[list[str], dict[str, Any]]:
    """Permutation-importance feature selection, kept only when it helps the cross-validated score.

    A small LightGBM is cross-validated on the run's folds with every column; on each validation
    fold every input column is shuffled in turn (all the features derived from it together) and the
    loss of score is its importance.  Columns whose mean importance is not above zero (at most half
    of them) are the candidates; the same model is cross-validated without them, and the smaller set
    wins only if it scores strictly better.

    Returns
    -------
    dropped : list of str
        Columns to leave out (empty when selection did not help or ran out of time).
    info : dict
        Scores with all columns and with the selection, the candidates, their importances and the
        seconds spent.
    """
    from mlwright.features import build_preprocessor

    t0 = time.monotonic()
    task = schema.task
    n_classes = len(schema.classes) if task != "regression" else 0
    rng = np.random.default_rng(seed)

    def predict(m, Xva):
        if task == "regression":
            return m.predict(Xva)
        p = np.zeros((len(Xva), n_classes))
        p[:, m.classes_.astype(int)] = m.predict_proba(Xva)
        return p

    def cv(sch: Schema, importance: bool) -> tuple[float, dict[str, float]]:
        import lightgbm as lgb

        oof = np.zeros((len(y), n_classes)) if n_classes else np.zeros(len(y))
        mask = np.zeros(len(y), dtype=bool)
        imp = {c: 0.0 for c in sch.features}
        for tr, va in splits.folds:
            pre = build_preprocessor(sch, "native", seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Xtr = pre.fit_transform(X.iloc[tr], y[tr])
                Xva = pre.transform(X.iloc[va])
            kw = dict(n_estimators=150, learning_rate=0.08, num_leaves=31, verbose=-1, random_state=seed, n_jobs=1)
            m = (lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier)(**kw).fit(Xtr, y[tr])
            oof[va] = predict(m, Xva)
            mask[va] = True
            if importance:
                base = metric.loss(y[va], oof[va], n_classes)
                for c, cols in _derived(pre, sch).items():
                    shuffled = Xva.copy()
                    order = rng.permutation(len(Xva))
                    for k in cols:
                        shuffled[k] = Xva[k].to_numpy()[order]
                    imp[c] += (metric.loss(y[va], predict(m, shuffled), n_classes) - base) / len(splits.folds)
            if time.monotonic() - t0 > seconds:
                raise TimeoutError
        return metric(y[mask], oof[mask], n_classes), imp

    info: dict[str, Any] = {"kept": False, "method": "permutation importance, LightGBM, run folds"}
    try:
        base, imp = cv(schema, importance=True)
        ranked = sorted(imp, key=imp.get)
        weak = [c for c in ranked if imp[c] <= 0][: len(ranked) // 2]
        info.update(score_all=base, candidates=weak, importance={c: round(v, 6) for c, v in imp.items()})
        if not weak:
            return [], info | {"seconds": round(time.monotonic() - t0, 2)}
        reduced = Schema.from_dict(schema.to_dict())
        for c in weak:
            reduced[c].kind = "excluded"
        score, _ = cv(reduced, importance=False)
        info["score_selected"] = score
    except TimeoutError:
        return [], info | {"seconds": round(time.monotonic() - t0, 2), "timed_out": True}
    info["seconds"] = round(time.monotonic() - t0, 2)
    if metric.better(score, base):
        info["kept"] = True
        return weak, info
    return [], info


def _derived(pre, schema: Schema) -> dict[str, list[str]]:
    """Input column → the columns of the native preprocessor's output derived from it."""
    names = [str(n) for n in getattr(pre, "feature_names_out_", [])]
    out: dict[str, list[str]] = {c: [] for c in schema.features}
    text = schema.of_kind("text")
    for i, name in enumerate(names):
        base = name if name in out else name.rsplit("__", 1)[0]  # date parts, __cat, __freq
        if base in out:
            out[base].append(f"f{i}")
        elif text and name.startswith("text"):  # text components belong to the text columns together
            for c in text:
                out[c].append(f"f{i}")
    return {c: cols for c, cols in out.items() if cols}
