"""Findings and the shared context of the data checks (see :mod:`mlwright.data.checks`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlwright.data.schema import ColumnSpec

__all__ = ["SEVERITIES", "CheckConfig", "Ctx", "Finding", "finding", "pct", "show"]

SEVERITIES = ("critical", "warning", "info")


@dataclass
class Finding:
    """One problem found in the data.

    Attributes
    ----------
    check : str
        Key of the check in :data:`CHECKS` (``"leakage"``, ``"missing"`` …).
    severity : str
        ``"critical"`` (the model would be wrong), ``"warning"`` or ``"info"``.
    column : str or None
        The column concerned, None for the whole table.
    message : str
        What was found, with the numbers.
    fix : str
        What to do about it.
    action : str
        What ``fit`` did about it (filled in by ``fit``; empty elsewhere).
    data : dict
        The numbers behind the finding (JSON-serialisable).
    """

    check: str
    severity: str
    column: str | None
    message: str
    fix: str
    action: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


@dataclass
class CheckConfig:
    """Thresholds of the checks (defaults are the ones ``fit`` and ``profile`` use)."""

    missing_warn: float = 0.5
    missing_high: float = 0.95
    near_constant: float = 0.99
    high_cardinality: int = 1000
    imbalance: float = 0.1
    outlier_iqr: float = 3.0
    leak_auc: float = 0.99  # binary: out-of-fold AUC of one column alone
    leak_gain: float = 0.98  # multiclass: share of the majority-class error removed by one column
    leak_r2: float = 0.98  # regression: out-of-fold R² of one column alone
    leak_rho: float = 0.995  # regression: |Spearman| between a column and the target
    # the warning tier: suspicious, not conclusive (fit keeps the column and says so)
    leak_warn_auc: float = 0.95
    leak_warn_gain: float = 0.95
    leak_warn_r2: float = 0.9
    skew_auc: float = 0.75  # adversarial validation AUC above which two tables differ
    sample_rows: int = 50_000
    seed: int = 0


# ---------------------------------------------------------------------------------------------- context
@dataclass
class Ctx:
    df: pd.DataFrame
    specs: list[ColumnSpec]
    target: str | None
    task: str | None
    cfg: CheckConfig
    time_column: str | None = None
    _sample: pd.Index | None = None
    sentinels: dict[str, list[float]] = field(default_factory=dict)

    def sample(self) -> pd.DataFrame:
        if self._sample is None:
            n = len(self.df)
            if n > self.cfg.sample_rows:
                rng = np.random.default_rng(self.cfg.seed)
                self._sample = self.df.index[np.sort(rng.choice(n, self.cfg.sample_rows, replace=False))]
            else:
                self._sample = self.df.index
        return self.df.loc[self._sample]

    @property
    def used(self) -> list[ColumnSpec]:
        return [c for c in self.specs if c.used]


def finding(check: str, severity: str, column: str | None, message: str, fix: str, **data: Any) -> Finding:
    return Finding(check, severity, column, message, fix, data=data)


def show(v: object, n: int = 60) -> str:
    """``repr`` of a value for a message, cut to ``n`` characters."""
    text = repr(v)
    return text if len(text) <= n else text[: n - 2] + "…" + text[-1]


def pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x >= 0.001 else f"{100 * x:.2g}%"
