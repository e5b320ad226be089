"""Support vector machines (RBF kernel), small data only: fitting cost grows with rows squared."""

from __future__ import annotations

from optuna.distributions import FloatDistribution as F

from . import ModelFamily, register
from ._common import ALL, SklearnModel, load_sklearn


def _make(task, params, n_classes, seed, n_jobs, metric):
    from sklearn.svm import SVC, SVR

    if task == "regression":
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.preprocessing import StandardScaler

        est = TransformedTargetRegressor(
            SVR(C=float(params.get("C", 1.0)), gamma="scale"), transformer=StandardScaler()
        )
    else:
        from sklearn.calibration import CalibratedClassifierCV

        svc = SVC(C=float(params.get("C", 1.0)), gamma="scale", random_state=seed)
        est = CalibratedClassifierCV(svc, ensemble=False, cv=3)
    return SklearnModel(est, task, n_classes, params)


SVM = register(
    ModelFamily(
        key="svm",
        name="SVM (RBF)",
        tasks=ALL,
        style="onehot",
        make=_make,
        load=load_sklearn,
        space={"C": F(1e-2, 100.0, log=True)},
        start={"C": 1.0},
        portfolio=[{"C": 1.0}],
        cost=lambda n, d: 0.2 + (n**2) * max(d, 1) * 5e-10,
        max_rows=5_000,
        priority=80,
    )
)
