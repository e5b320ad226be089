"""What a fitted AutoML offers besides predicting: the model report, a decision threshold, calibration.

A mixin of :class:`mlwright.AutoML` (kept apart so the facade stays small); the work itself lives in
:mod:`mlwright.report.build` and :mod:`mlwright.evaluation.diagnose`.  Each change is a new fitted model
(``FittedModel.replace``), never an edit of the old one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlwright.data.sources import read_table

__all__ = ["AfterFit"]


def _not_per_group(fitted: Any, what: str) -> None:
    """Thresholds per group were chosen for these probabilities and this threshold: changing either would
    silently break the fairness constraint they meet."""
    if fitted.group_thresholds:
        from mlwright.errors import ConfigError

        raise ConfigError(f"{what}: this model decides with thresholds per group chosen to meet its fairness "
                          "constraint; refit with AutoML(fairness=...) changed instead")  # fmt: skip


class AfterFit:
    """Report, threshold and calibration methods of a fitted :class:`~mlwright.AutoML`."""

    def report_data(self, data: Any = None, sensitive: list[str] | None = None) -> dict[str, Any] | None:
        """The model report as plain values (built once after ``fit``, within ``report_seconds``).

        With labelled ``data`` (DataFrame or path) the report adds a test evaluation and explains the
        model on those rows, and measures it per group of the ``sensitive`` columns (default: those named
        at fit).  None when ``report_seconds`` is 0 and nothing was built before.
        """
        fitted = self._check_fitted()
        test = read_table(data) if isinstance(data, (str, Path)) else data
        target = self.schema_.target
        if test is not None and target not in test.columns:
            from mlwright.errors import TargetNotFoundError, did_you_mean

            raise TargetNotFoundError(
                f"the report's test data has no target column {target!r}{did_you_mean(target, map(str, test.columns))}"
                "; the test evaluation needs the true values (drop --data for a report without one)"
            )
        seconds = float(self.report_seconds or 0)
        stored = fitted.report
        ctx = self.__dict__.get("_report_ctx")
        if test is None and (stored is not None or seconds <= 0 or ctx is None):
            return stored
        from mlwright.report.build import build_report_data

        built = build_report_data(
            fitted, ctx, test, seconds=seconds if seconds > 0 else 60.0, seed=self.seed, sensitive=sensitive
        )
        if test is None:
            self.fitted_ = self.fitted_.replace(report=built)
            self._report_ctx = None  # the training rows are no longer needed
        return built

    def report(self, path: str | Path | None = None, data: Any = None, sensitive: list[str] | None = None) -> str:
        """The model report as one self-contained HTML page (written to ``path`` when given).

        See :meth:`report_data`; with ``report_seconds=0`` and nothing built, the page holds the
        leaderboard, findings and model card only.
        """
        from mlwright.report import render_model_report

        payload = self.report_data(data, sensitive)
        if payload is None:
            from mlwright.report.build import build_report_data

            payload = build_report_data(self._check_fitted(), None, None, seconds=0.0, seed=self.seed)
        html = render_model_report(payload)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def set_threshold(self, threshold: float | str | None = 0.5, cost_ratio: float = 1.0) -> float | None:
        """Decision threshold of a binary model on P(second class), used by :meth:`predict`.

        Parameters
        ----------
        threshold : float, {"f1", "cost"} or None
            A probability, or chosen on the cross-validated predictions: ``"f1"`` maximises F1,
            ``"cost"`` minimises ``cost_ratio`` × false positives + false negatives; None removes the
            threshold (the most probable class is predicted).
        cost_ratio : float
            What a false positive costs in false negatives (``"cost"`` only).

        Returns
        -------
        float or None
            The threshold now in use (saved with the model).
        """
        fitted = self._check_fitted()
        _not_per_group(fitted, "set_threshold")
        from mlwright.evaluation.diagnose import resolve_threshold

        if threshold is None:
            self.fitted_ = self.fitted_.replace(threshold=None)
            return None
        curve = None
        if isinstance(threshold, str):
            curve = ((self.report_data() or {}).get("cv") or {}).get("thresholds")
        value = resolve_threshold(fitted.task, threshold, cost_ratio, curve)
        self.fitted_ = self.fitted_.replace(threshold=value)
        return value

    def calibrate(self, method: str | None = "best") -> dict[str, Any] | None:
        """Calibrate a binary model's probabilities (isotonic or sigmoid, learned on the out-of-fold
        predictions); ``"best"`` picks the lower cross-fitted log loss, None removes calibration.

        Returns the chosen method's cross-fitted scores (log loss, Brier, ECE), or None.
        """
        fitted = self._check_fitted()
        _not_per_group(fitted, "calibrate")
        from mlwright.evaluation.diagnose import resolve_calibration

        methods = ((self.report_data() or {}).get("cv") or {}).get("calibration_methods")
        calibration, chosen = resolve_calibration(fitted.task, method, methods)
        ref = self.fitted_.reference
        if ref is not None and ref.get("output_raw") is not None:  # monitoring compares served probabilities
            from mlwright.monitoring.reference import calibrated_output

            ref = ref | {"output": calibrated_output(ref["output_raw"], calibration)}
        self.fitted_ = self.fitted_.replace(calibration=calibration, reference=ref)
        return chosen
