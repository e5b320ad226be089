"""Forecasting: many series at once, backtested on rolling origins, ensembled, with calibrated quantiles.

Modules, in data-path order: :mod:`.frame` (checks, frequency and seasons), :mod:`.profile` (each series'
trend, seasonality and demand pattern), :mod:`.members` (the local families and the backtest windows),
:mod:`.local` and :mod:`.gbm` (statsforecast per series, global LightGBM), :mod:`.runner`, :mod:`.ensemble`
(selection and quantiles), :mod:`.metrics`, :mod:`.estimator` (:class:`Forecaster`); after the fit,
:mod:`.persist` (the model directory), :mod:`.scoring` (the predictor protocol's rows) and :mod:`.summary`
(the report's values).  statsforecast and mlforecast are
imported only when a forecaster fits (the ``forecast`` extra).
"""

from __future__ import annotations

from mlwright.forecast.estimator import Forecaster

__all__ = ["Forecaster"]
