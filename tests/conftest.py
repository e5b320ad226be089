"""Shared fixtures: small mixed-type tables and one fitted model per task (built once per session)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlwright

FAST = ["lightgbm", "linear"]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLWRIGHT_HOME", str(tmp_path / "home"))


def pytest_configure(config):
    """Under pytest-xdist each worker runs on a core of its own (its fits, and the processes it starts,
    then use one thread per core instead of every worker starting a thread on every core)."""
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test``: ``-n 2 --dist worksteal``): the modules holding long end-to-end tests
    (marked ``slow``) first, so that the short ones fill in at the end and a worker left idle steals from the
    other's queue; within a module, the file's order (its module-scoped fixtures are built once per worker).
    A plain run keeps the file order."""
    import os

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    slow_modules = {item.module.__name__ for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module.__name__ not in slow_modules)  # stable


def make_table(n: int = 400, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """A table with every column kind and a learnable target."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 10, size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    city = rng.choice([f"city{i}" for i in range(60)], size=n)
    flag = rng.random(n) < 0.5
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, size=n), unit="D")
    words = np.array(["great", "bad", "fine", "product", "service", "slow", "fast", "price", "value", "ok"])
    text = [" ".join(rng.choice(words, size=6)) for _ in range(n)]
    signal = 1.5 * x1 + 0.3 * x2 + np.where(color == "red", 1.0, 0.0) + np.where(flag, 0.5, 0.0)
    signal += np.array([t.count("great") for t in text]) * 0.8
    df = pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "color": color,
            "city": city,
            "flag": flag,
            "when": when.astype(str),
            "review": text,
            "row_id": np.arange(n),
            "const": 7,
        }
    )
    df.loc[rng.random(n) < 0.1, "x2"] = np.nan
    df.loc[rng.random(n) < 0.05, "color"] = np.nan
    if task == "binary":
        df["label"] = np.where(signal + rng.normal(scale=0.7, size=n) > np.median(signal), "yes", "no")
    elif task == "multiclass":
        q = np.quantile(signal, [0.33, 0.66])
        df["label"] = np.select([signal < q[0], signal < q[1]], ["low", "mid"], "high")
    else:
        df["label"] = signal * 10 + rng.normal(scale=1.0, size=n)
    return df


@pytest.fixture(scope="session")
def binary_df() -> pd.DataFrame:
    return make_table(400, "binary")


@pytest.fixture(scope="session")
def multiclass_df() -> pd.DataFrame:
    return make_table(450, "multiclass", seed=1)


@pytest.fixture(scope="session")
def regression_df() -> pd.DataFrame:
    return make_table(400, "regression", seed=2)


FIT_KW = ("groups", "time_column", "column_types", "callbacks")


def quick_fit(df: pd.DataFrame, target: str = "label", **kw) -> mlwright.AutoML:
    params = {"time_budget": 60, "families": FAST, "max_trials": 4, "n_folds": 3, "n_jobs": -1, "seed": 0}
    fit_kw = {k: kw.pop(k) for k in FIT_KW if k in kw}
    params.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlwright.AutoML(**params).fit(df, target=target, **fit_kw)


@pytest.fixture(scope="session")
def binary_model(binary_df) -> mlwright.AutoML:
    return quick_fit(binary_df)


@pytest.fixture(scope="session")
def multiclass_model(multiclass_df) -> mlwright.AutoML:
    return quick_fit(multiclass_df)


@pytest.fixture(scope="session")
def regression_model(regression_df) -> mlwright.AutoML:
    return quick_fit(regression_df)
