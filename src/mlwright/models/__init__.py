"""Model-family registry.

A family is a record (:class:`ModelFamily`), not a subclass tree: key, display name, tasks, the
preprocessing style it reads, a factory building a :class:`Model`, a search space in the library's
native parameter names (Optuna distributions), a cheap start config, portfolio configs tried first,
and a rough cost model used by the scheduler.

Every model built by a factory follows the same small protocol::

    model.fit(X, y, X_val, y_val, deadline)   # deadline: budget.Deadline or None
    model.predict_raw(X) -> (n, k) probabilities or (n,) values
    model.save(directory, stem) -> list of file names (native formats / skops)
    Family.load(directory, stem, meta) -> model
    model.meta() -> JSON-able dict (params, best iteration, ...)

Package: one module per family; may import artifacts (skops), budget and errors only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlwright.errors import ConfigError, did_you_mean

__all__ = ["REGISTRY", "ModelFamily", "families_for", "get", "register"]


@dataclass(frozen=True)
class ModelFamily:
    """One algorithm family as data."""

    key: str
    name: str
    tasks: frozenset[str]
    style: str  # preprocessing style: native | ordinal | onehot
    make: Callable[..., Any]  # make(task, params, n_classes, seed, n_jobs, metric) -> Model
    load: Callable[..., Any]  # load(directory, stem, meta) -> Model
    space: dict[str, Any]
    start: dict[str, Any]
    portfolio: list[dict[str, Any]] = field(default_factory=list)
    cost: Callable[[int, int], float] = lambda n, d: 1.0 + n * d * 1e-6
    max_rows: int | None = None  # skip the family above this many training rows
    min_rows: int = 0
    priority: int = 50  # lower runs earlier in the portfolio round
    requires: str | None = None  # module of an optional extra; without it the family is left out
    install_hint: str = ""
    default: bool = True  # in the search when the user names no families
    refit: bool = True  # refit on all rows when served; False: serve the fold models' average

    def available(self) -> bool:
        """Whether the optional module this family needs is installed."""
        if self.requires is None:
            return True
        import importlib.util

        return importlib.util.find_spec(self.requires) is not None


REGISTRY: dict[str, ModelFamily] = {}


def register(family: ModelFamily) -> ModelFamily:
    """Add a family to the registry (replacing one with the same key)."""
    REGISTRY[family.key] = family
    return family


def get(key: str) -> ModelFamily:
    """Look up a family; an unknown key raises :class:`ConfigError` listing the valid ones."""
    _load_builtins()
    if key not in REGISTRY:
        raise ConfigError(f"unknown model family {key!r}{did_you_mean(key, REGISTRY)}; valid: {', '.join(REGISTRY)}")
    return REGISTRY[key]


def families_for(task: str, keys: list[str] | None = None) -> list[ModelFamily]:
    """Families that handle ``task`` (restricted to ``keys`` when given), by priority.

    Without ``keys``: the default families whose optional modules are installed.  A family named in
    ``keys`` whose extra is missing raises :class:`ConfigError` with the install command.
    """
    _load_builtins()
    if keys:
        fams = [get(k) for k in keys]
        for f in fams:
            if not f.available():
                raise ConfigError(
                    f"model family {f.key!r} needs {f.requires!r}, which is not installed: {f.install_hint}"
                )
    else:
        fams = [f for f in REGISTRY.values() if f.default and f.available()]
    return sorted((f for f in fams if task in f.tasks), key=lambda f: f.priority)


def _load_builtins() -> None:
    # imported once (a module imports once), also when a family from elsewhere was registered first
    from mlwright.models import catboost, forest, knn, lightgbm, linear, mlp, naive_bayes, svm, xgboost  # noqa: F401
