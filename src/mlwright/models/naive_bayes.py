"""Gaussian naive Bayes (classification only): a fast, very different baseline."""

from __future__ import annotations

from optuna.distributions import FloatDistribution as F

from mlwright.models import ModelFamily, register
from mlwright.models._common import CLS, SklearnModel, load_sklearn


def _make(task, params, n_classes, seed, n_jobs, metric):
    from sklearn.naive_bayes import GaussianNB

    return SklearnModel(GaussianNB(var_smoothing=float(params.get("var_smoothing", 1e-9))), task, n_classes, params)


NAIVE_BAYES = register(
    ModelFamily(
        key="naive_bayes",
        name="Gaussian naive Bayes",
        tasks=CLS,
        style="ordinal",
        make=_make,
        load=load_sklearn,
        space={"var_smoothing": F(1e-11, 1e-1, log=True)},
        start={"var_smoothing": 1e-9},
        portfolio=[{"var_smoothing": 1e-9}],
        cost=lambda n, d: 0.1 + n * d * 1e-7,
        priority=70,
    )
)
