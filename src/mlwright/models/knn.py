"""k-nearest neighbours on scaled one-hot features, or on their principal / independent components."""

from __future__ import annotations

from optuna.distributions import CategoricalDistribution as C
from optuna.distributions import IntDistribution as I

from mlwright.features.components import COMPONENT_METHODS
from mlwright.models import ModelFamily, register
from mlwright.models._common import ALL, SklearnModel, load_sklearn


def _make(task, params, n_classes, seed, n_jobs, metric):
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsRegressor if task == "regression" else KNeighborsClassifier
    est = cls(n_neighbors=int(params.get("n_neighbors", 15)), weights=params.get("weights", "distance"), n_jobs=n_jobs)
    method = params.get("components", "none")
    if method != "none":  # distances between components rather than raw columns, when the search finds it helps
        from sklearn.pipeline import Pipeline

        from mlwright.features.components import ComponentStep

        est = Pipeline([("components", ComponentStep(method, seed)), ("knn", est)])
    return SklearnModel(est, task, n_classes, params)


KNN = register(
    ModelFamily(
        key="knn",
        name="k-nearest neighbours",
        tasks=ALL,
        style="onehot",
        make=_make,
        load=load_sklearn,
        space={
            "n_neighbors": I(3, 100, log=True),
            "weights": C(["uniform", "distance"]),
            "components": C(list(COMPONENT_METHODS)),
        },
        start={"n_neighbors": 15, "weights": "distance"},
        portfolio=[{"n_neighbors": 15, "weights": "distance"}],
        cost=lambda n, d: 0.2 + n * n * d * 2e-10,
        max_rows=100_000,
        priority=60,
    )
)
