"""Linear family: logistic regression (classification), ridge (regression), on one-hot features."""

from __future__ import annotations

from optuna.distributions import FloatDistribution as F

from mlwright.models import ModelFamily, register
from mlwright.models._common import ALL, SklearnModel, load_sklearn


def _make(task, params, n_classes, seed, n_jobs, metric):
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "regression":
        est = Ridge(alpha=float(params.get("alpha", 1.0)), random_state=seed)
    else:
        est = LogisticRegression(
            C=float(params.get("C", 1.0)), max_iter=int(params.get("max_iter", 300)), tol=1e-3, random_state=seed
        )
    model = SklearnModel(est, task, n_classes, params)
    model.upcast = True  # double-precision coefficients: predictions do not round to float32 (ONNX parity)
    return model


LINEAR = register(
    ModelFamily(
        key="linear",
        name="Linear (logistic / ridge)",
        tasks=ALL,
        style="onehot",
        make=_make,
        load=load_sklearn,
        space={"C": F(1e-3, 100.0, log=True), "alpha": F(1e-3, 1000.0, log=True)},
        start={"C": 1.0, "alpha": 1.0},
        portfolio=[{"C": 1.0, "alpha": 1.0}, {"C": 0.1, "alpha": 30.0}],
        cost=lambda n, d: 0.2 + n * d * 2e-6,
        priority=40,
    )
)
