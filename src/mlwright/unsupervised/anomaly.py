"""``Anomaly``: score how unusual each row is, flag the most unusual, and say which columns made it so.

Without labels the score is the rank average of isolation forest and robust covariance — two detectors
that see different kinds of oddity (rows easy to isolate; rows far from the bulk's correlations, which no
single column shows).  Of every combination of five detectors (COPOD came later), measured on nine ADBench-style tables
(``bench/anomaly_quality.py``), it had the best mean ROC-AUC and ranks first on average against isolation
forest, LOF and ECOD at their defaults.  ECOD's per-column tail probabilities explain every flagged row.
When a few rows are labelled (``fit(df, labels=…)``: 1 anomaly, 0 normal, missing unknown), the labelled rows choose the
detectors (average precision of every combination) and the threshold (best F1).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import ConfigError, DataError
from mlwright.unsupervised.base import RowsModel, lazy
from mlwright.unsupervised.detectors import DETECTORS, Detector, ecod_columns, fit_detector
from mlwright.unsupervised.framing import pca_map
from mlwright.unsupervised.persist import anomaly_entries, write_anomaly

__all__ = ["Anomaly"]

DEFAULT_DETECTORS = ("iforest", "robust_cov")
ROBUST_Z = 3.5  # a row whose median robust z-score over the detectors exceeds this counts as an outlier
CONTAMINATION_RANGE = (0.001, 0.2)  # an estimated anomaly share is kept within these bounds
MIN_LABELLED = 2  # labelled anomalies needed before labels choose the detectors


def _check(contamination: Any, time_budget: Any, detectors: Any) -> tuple[str, ...] | None:
    if contamination is not None and (isinstance(contamination, bool) or not isinstance(contamination, (int, float))
                                      or not 0 < contamination < 0.5):  # fmt: skip
        raise ConfigError(f"contamination must be a share between 0 and 0.5 (or None to estimate it), "
                          f"got {contamination!r}")  # fmt: skip
    if not isinstance(time_budget, (int, float)) or isinstance(time_budget, bool) or time_budget <= 0:
        raise ConfigError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    if detectors is None:
        return None
    bad = [d for d in detectors if d not in DETECTORS]
    if bad or not detectors:
        raise ConfigError(f"unknown detector(s) {bad or detectors!r}; choose from {', '.join(DETECTORS)}")
    return tuple(detectors)


def _labels(labels: Any, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    arr = pd.to_numeric(pd.Series(np.asarray(labels, dtype=object).ravel()), errors="coerce").to_numpy(float)
    if len(arr) != n:
        raise DataError(f"labels has {len(arr)} values for {n} rows; give one per row (missing = unknown)")
    bad = ~np.isnan(arr) & ~np.isin(arr, [0.0, 1.0])
    if bad.any():
        raise DataError(f"labels must be 1 (anomaly), 0 (normal) or missing; row {int(np.argmax(bad))} is "
                        f"{arr[bad][0]!r}")  # fmt: skip
    return arr


def _robust_z(raw: np.ndarray, train: np.ndarray) -> np.ndarray:
    med = np.median(train)
    mad = 1.4826 * np.median(np.abs(train - med)) or (np.std(train) or 1.0)
    return (raw - med) / mad


class Anomaly(RowsModel):
    """Anomaly detection on rows without (or with a few) labels.

    Parameters
    ----------
    contamination : float or None
        The expected share of anomalies, which sets the threshold; None estimates it (the share of rows
        that at least half of the detectors place more than 3.5 robust standard deviations — median
        absolute deviations × 1.4826 — from their median, kept within 0.1 %–20 %).
    time_budget : float
        Seconds for fitting.
    seed : int
    detectors : list of str or None
        Fix the detectors (``iforest``, ``lof``, ``robust_cov``, ``ocsvm``, ``ecod``); None: isolation forest
        and robust covariance, or the labels' choice.
    column_types : dict or None
        ``{column: kind}`` overrides of the inferred column kinds.
    """

    kind = "anomaly"
    _FITTED = "detectors_"
    _entries = staticmethod(anomaly_entries)
    _write = staticmethod(write_anomaly)
    _render = staticmethod(lazy("mlwright.report.unsupervised", "render_anomaly"))

    def __init__(
        self,
        contamination: float | None = None,
        time_budget: float = 60.0,
        seed: int = 0,
        detectors: list[str] | None = None,
        column_types: dict[str, str] | None = None,
    ) -> None:
        self.contamination = contamination
        self.time_budget = time_budget
        self.seed = seed
        self.detectors = detectors
        self.column_types = column_types

    def get_params(self) -> dict[str, Any]:
        """The constructor's settings."""
        return {
            "contamination": self.contamination,
            "time_budget": float(self.time_budget),
            "seed": self.seed,
            "detectors": self.detectors,
            "column_types": self.column_types,
        }

    # ------------------------------------------------------------------------------------------ fitting
    def fit(
        self, data: Any, labels: Any = None, columns: list[str] | None = None, exclude: list[str] | None = None
    ) -> Anomaly:
        """Fit the detectors, combine them, and set the threshold.

        Parameters
        ----------
        data : DataFrame, path or SqlSource
            The rows.
        labels : array-like, optional
            One value per row: 1 a known anomaly, 0 a known normal row, missing unknown.
        columns, exclude : list of str, optional
            Use only / leave out these columns.

        Returns
        -------
        Anomaly
            ``self``, fitted.
        """
        from mlwright.unsupervised.framing import frame_rows

        start = time.monotonic()
        fixed = _check(self.contamination, self.time_budget, self.detectors)
        framed = frame_rows(data, "anomaly", columns, exclude, self.column_types, self.seed)
        X = framed.X
        y = _labels(labels, len(X))
        known = y is not None and np.nansum(y) >= MIN_LABELLED and (y == 0).sum() >= MIN_LABELLED
        names = fixed or (DETECTORS if known else DEFAULT_DETECTORS)
        deadline = start + float(self.time_budget) * 0.9
        fitted: dict[str, Detector] = {}
        log = []
        for name in names:
            if fitted and time.monotonic() > deadline:
                log.append({"detector": name, "status": "out of time"})
                continue
            fitted[name] = fit_detector(name, X, self.seed)
            log.append({"detector": name, "status": "ok", "seconds": round(fitted[name].seconds, 3)})
        pct = {n: d.percentile(X) for n, d in fitted.items()}
        self.board_: list[dict[str, Any]] = []
        chosen = list(fitted) if (fixed or not known) else self._choose(pct, y)
        self.schema_ = framed.schema
        self.prep_ = framed.prep
        self.detectors_ = {n: fitted[n] for n in chosen}
        # ECOD's per-column tails explain every row, whichever detectors score it
        self.explainer_ = fitted.get("ecod") or fit_detector("ecod", X, self.seed)
        scores = np.mean([pct[n] for n in chosen], axis=0)
        self.train_scores_ = np.sort(scores)
        self.threshold_, self.contamination_, how = self._threshold(X, scores, y if known else None)
        flags = scores >= self.threshold_
        self.fit_log_ = log
        self.findings_ = framed.findings
        self.how_ = how
        self.n_rows_ = len(X)
        self.rate_ = float(flags.mean())
        self.label_report_ = _label_report(y, scores, self.threshold_) if y is not None else None
        self.top_ = self._top_rows(framed.df, X, scores)
        self.map_ = pca_map(X, flags.astype(int), self.seed)
        from mlwright.monitoring.reference import build_reference

        self.reference_data_ = build_reference(framed.df, framed.schema, {"labels": flags.astype(int).astype(str)}) | {
            "kind": "anomaly",
            "rate": float(self.rate_),
            "threshold": float(self.threshold_),
            "score_deciles": [float(v) for v in np.quantile(scores, np.linspace(0, 1, 11))],
        }
        self.fit_seconds_ = time.monotonic() - start
        return self

    def _choose(self, pct: dict[str, np.ndarray], y: np.ndarray) -> list[str]:
        """The combination of detectors with the best average precision on the labelled rows."""
        from sklearn.metrics import average_precision_score

        ok = ~np.isnan(y)
        best, best_ap = list(pct)[:1], -1.0
        for r in range(1, len(pct) + 1):
            for combo in itertools.combinations(pct, r):
                ap = float(average_precision_score(y[ok], np.mean([pct[c][ok] for c in combo], axis=0)))
                self.board_.append({"detectors": "+".join(combo), "average_precision": round(ap, 4)})
                if ap > best_ap + 1e-9:
                    best, best_ap = list(combo), ap
        self.board_.sort(key=lambda r: -r["average_precision"])
        return best

    def _threshold(self, X: np.ndarray, scores: np.ndarray, y: np.ndarray | None) -> tuple[float, float, str]:
        if y is not None:
            from sklearn.metrics import precision_recall_curve

            ok = ~np.isnan(y)
            p, r, t = precision_recall_curve(y[ok], scores[ok])
            f1 = np.where(p[:-1] + r[:-1] > 0, 2 * p[:-1] * r[:-1] / np.maximum(p[:-1] + r[:-1], 1e-12), 0)
            thr = float(t[int(np.argmax(f1))])
            return thr, float((scores >= thr).mean()), "the best F1 on the labelled rows"
        if self.contamination is not None:
            c = float(self.contamination)
            how = f"contamination {c:.2%} as given"
        else:
            z = np.median([_robust_z(d.raw(X), d.train_scores) for d in self.detectors_.values()], axis=0)
            c = float(np.clip((z > ROBUST_Z).mean(), *CONTAMINATION_RANGE))
            how = (f"contamination estimated at {c:.2%}: rows that at least half of the detectors place more "
                   f"than {ROBUST_Z} robust standard deviations out")  # fmt: skip
        return float(np.quantile(scores, 1 - c)), c, how

    # ------------------------------------------------------------------------------------------ scoring
    def predict_scores(self, X: Any) -> np.ndarray:
        """The anomaly score of each row in [0, 1]: the mean over the detectors of the share of training rows
        it is more unusual than."""
        _, M = self._rows(X)
        return np.mean([d.percentile(M) for d in self.detectors_.values()], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        """1 for rows at or above the threshold (anomalies), else 0."""
        return (self.predict_scores(X) >= self.threshold_).astype(int)

    def explain(self, X: Any, top: int = 3) -> list[list[dict[str, Any]]]:
        """For each row, the ``top`` columns that make it most unusual: the column, its value, and how rare
        a value that far out was in training (ECOD's per-column tail probability)."""
        rows, M = self._rows(X)
        return _reasons(self, rows, M, top)

    def _top_rows(self, df: pd.DataFrame, X: np.ndarray, scores: np.ndarray, n: int = 20) -> list[dict[str, Any]]:
        from mlwright.jsonsafe import plain

        idx = np.argsort(-scores, kind="stable")[:n]
        why = _reasons(self, df.iloc[idx], X[idx], 3)
        return [{"row": int(i), "score": float(scores[i]), "values": plain(df.iloc[int(i)].to_dict()), "why": w}
                for i, w in zip(idx, why)]  # fmt: skip

    # ------------------------------------------------------------------------------------------ views
    @classmethod
    def load(cls, path: str | Path, manifest: dict[str, Any]) -> Anomaly:
        """Rebuild a detector from its model directory (verified by SHA-256; use :func:`mlwright.load`)."""
        from mlwright.unsupervised.persist import read_anomaly

        parts = read_anomaly(Path(path), manifest)
        spec = manifest["anomaly"]
        model = cls.restored(manifest, parts)
        model.detectors_ = parts["detectors"]
        model.explainer_ = parts["explainer"]
        model.train_scores_ = parts["scores"]
        model.threshold_ = float(spec["threshold"])
        model.contamination_ = float(spec["contamination"])
        model.how_ = spec["how"]
        model.rate_ = float(spec["rate"])
        model.label_report_ = spec.get("labels")
        model.board_ = list(spec.get("board") or [])
        model.top_ = list(spec.get("top") or [])
        model.map_ = spec.get("map")
        return model

    def summary(self) -> str:
        """The detectors, the threshold and the flagged share in a few lines."""
        self._check_fitted()
        lines = [
            f"{'+'.join(self.detectors_)} on {self.n_rows_} rows; threshold {self.threshold_:.3f} "
            f"({self.how_}); {self.rate_:.1%} of the training rows flagged"
        ]
        if self.label_report_:
            r = self.label_report_
            lines.append(f"on the {r['labelled']} labelled rows: precision {r['precision']:.2f}, "
                         f"recall {r['recall']:.2f}, ROC-AUC {r['roc_auc']:.3f}")  # fmt: skip
        return "\n".join(lines)


def _reasons(model: Anomaly, rows: pd.DataFrame, M: np.ndarray, top: int) -> list[list[dict[str, Any]]]:
    """Per row, the source columns with the largest ECOD outlyingness (aggregated over a column's encoded
    parts by their maximum), with the value and its tail probability."""
    from mlwright.jsonsafe import plain

    prep = model.prep_
    ecod = model.explainer_
    cols = ecod_columns(M, ecod.models["sorted"], ecod.models["skew"])
    sources = list(prep.sources_)
    names = list(dict.fromkeys(sources))
    per = np.stack([cols[:, [j for j, s in enumerate(sources) if s == c]].max(1) for c in names], axis=1)
    out = []
    for i in range(len(M)):
        order = np.argsort(-per[i], kind="stable")[:top]
        out.append(
            [
                {"column": names[j], "value": plain(rows.iloc[i][names[j]]), "tail_probability":
                 float(np.exp(-per[i, j]))}
                for j in order
            ]
        )  # fmt: skip
    return out


def _label_report(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any] | None:
    from sklearn.metrics import roc_auc_score

    ok = ~np.isnan(y)
    yy, flag = y[ok].astype(int), scores[ok] >= threshold
    if yy.sum() == 0 or yy.sum() == len(yy):
        return None
    tp = int((flag & (yy == 1)).sum())
    return {
        "labelled": int(ok.sum()),
        "anomalies": int(yy.sum()),
        "precision": tp / max(int(flag.sum()), 1),
        "recall": tp / int(yy.sum()),
        "roc_auc": float(roc_auc_score(yy, scores[ok])),
    }
