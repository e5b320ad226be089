"""Random forest and extra trees (scikit-learn), grown in chunks so the deadline can stop them."""

from __future__ import annotations

from optuna.distributions import CategoricalDistribution as C
from optuna.distributions import IntDistribution as I

from mlwright.models import ModelFamily, register
from mlwright.models._common import ALL, SklearnModel, load_sklearn


def _maker(kind: str):
    def _make(task, params, n_classes, seed, n_jobs, metric):
        from sklearn import ensemble as E

        name = ("RandomForest" if kind == "rf" else "ExtraTrees") + (
            "Regressor" if task == "regression" else "Classifier"
        )
        mf = params.get("max_features", "sqrt" if task != "regression" else 1.0)
        mf = float(mf) if isinstance(mf, (int, float)) or mf.replace(".", "").isdigit() else mf
        est = getattr(E, name)(
            n_estimators=int(params.get("n_estimators", 300)),
            max_features=mf,
            min_samples_leaf=int(params.get("min_samples_leaf", 1)),
            n_jobs=n_jobs,
            random_state=seed,
        )
        return SklearnModel(est, task, n_classes, params)

    return _make


_SPACE = {"max_features": C(["sqrt", "0.5", "0.8", "1.0"]), "min_samples_leaf": I(1, 20, log=True)}

for _kind, _name, _prio in (("rf", "Random forest", 45), ("et", "Extra trees", 42)):
    register(
        ModelFamily(
            key=_kind,
            name=_name,
            tasks=ALL,
            style="ordinal",
            make=_maker(_kind),
            load=load_sklearn,
            space=_SPACE,
            start={"n_estimators": 300},
            portfolio=[{"n_estimators": 300}],
            cost=lambda n, d: 0.5 + n * max(d, 1) ** 0.5 * 3e-4,
            priority=_prio,
        )
    )
