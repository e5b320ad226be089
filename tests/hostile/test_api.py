"""The Python-API rows of the hostile corpus: each raises its typed error or gives a correct result."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

import mlwright
from mlwright.errors import MlwrightError

from .corpus_api import CASES


class Ctx:
    def __init__(self, model_dir: Path, df, tmp: Path, monkeypatch):
        self.model_dir, self.df, self.tmp, self.mp = model_dir, df, tmp, monkeypatch
        self.model = _loaded(model_dir)
        self.X = df.drop(columns="churn")
        self._n = 0

    def fit(self, data, target: str | None = "churn", **kw):
        fit_kw = {k: kw.pop(k) for k in ("column_types", "groups", "time_column") if k in kw}
        params = {"time_budget": 20, "families": ["lightgbm"], "max_trials": 1, "n_jobs": 1, "report_seconds": 0} | kw
        return mlwright.AutoML(**params).fit(data, target=target, **fit_kw)

    def fit_xy(self, X, y):
        return mlwright.AutoML(time_budget=20, families=["lightgbm"], max_trials=1, report_seconds=0).fit(X, y)

    def fit_with_home(self, data, home: Path):
        self.mp.setenv("MLWRIGHT_HOME", str(home / "sub"))
        return self.fit(data)

    def fit_and_look(self, data, target):
        self.fit(data, target=target)
        return list(data.columns)

    def csv(self, text) -> Path:
        self._n += 1
        p = self.tmp / f"f{self._n}.csv"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        return p

    def damaged(self, edit):
        self._n += 1
        copy = self.tmp / f"model{self._n}"
        shutil.copytree(self.model_dir, copy)
        edit(copy)
        return mlwright.load(copy)


_CACHE: dict[Path, object] = {}


def _loaded(path: Path):
    if path not in _CACHE:
        _CACHE[path] = mlwright.load(path)
    return _CACHE[path]


@pytest.mark.parametrize(("case", "action", "expect"), CASES, ids=[c[0] for c in CASES])
def test_api_case(case, action, expect, hostile_model, hostile_data, tmp_path, monkeypatch):
    ctx = Ctx(hostile_model, hostile_data, tmp_path, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(expect, type) and issubclass(expect, BaseException):
            with pytest.raises(expect) as info:
                action(ctx)
            assert isinstance(info.value, MlwrightError), f"{case}: untyped {type(info.value).__name__}"
            message = str(info.value)
            assert message and "\n" not in message and "Traceback" not in message, f"{case}: {message!r}"
        else:
            out = action(ctx)
            assert expect(out), f"{case}: unexpected result {str(out)[:300]}"


def test_corpus_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
