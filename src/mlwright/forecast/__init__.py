"""Forecasting: many series at once, backtested on rolling origins, ensembled, with calibrated quantiles.

Modules, in data-path order: :mod:`.frame` (checks, frequency and seasons), :mod:`.members` (the local
families and the backtest windows), :mod:`.gbm` (global LightGBM models), :mod:`.ensemble` (selection and
quantiles), :mod:`.metrics`, :mod:`.estimator` (:class:`Forecaster`).  statsforecast and mlforecast are
imported only when a forecaster fits (the ``forecast`` extra).
"""

from __future__ import annotations

from mlwright.forecast.estimator import Forecaster

__all__ = ["Forecaster"]
