"""The CLI rows of the hostile corpus, run through the real command (in-process, Typer's runner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlwright.cli import app

from .corpus_cli import CASES


class Ctx:
    def __init__(self, model: Path, train: Path, tmp: Path):
        self.model, self.train, self.tmp = model, train, tmp
        self._n = 0

    def csv(self, text) -> Path:
        self._n += 1
        p = self.tmp / f"f{self._n}.csv"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        return p

    def registered(self) -> str:
        """The model registered (as champion) in this test's store; its name."""
        from mlwright.registry import Registry

        Registry().register(self.model, "churn", alias="champion")
        return "churn"

    def damaged(self, edit) -> Path:
        self._n += 1
        copy = self.tmp / f"model{self._n}"
        shutil.copytree(self.model, copy)
        edit(copy)
        return copy


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory, hostile_data) -> Path:
    p = tmp_path_factory.mktemp("cli-hostile") / "train.csv"
    hostile_data.to_csv(p, index=False)
    return p


@pytest.mark.parametrize(("case", "argv", "code", "expect"), CASES, ids=[c[0] for c in CASES])
def test_cli_case(case, argv, code, expect, hostile_model, train_csv, tmp_path):
    (tmp_path / "work").mkdir()
    ctx = Ctx(hostile_model, train_csv, tmp_path / "work")
    result = CliRunner().invoke(app, [str(a) for a in argv(ctx)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case}: {type(result.exception).__name__}: {result.exception}"
    )
    stdout, stderr = result.stdout, result.stderr
    assert "Traceback" not in stdout + stderr, f"{case}: {stderr[-2000:]}"
    assert result.exit_code == code, f"{case}: exit {result.exit_code}, stderr: {stderr[-1500:]}"
    if code == 2 and "Invalid value" not in str(expect):
        lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("warning:")]
        assert len(lines) == 1 and lines[0].startswith("error"), f"{case}: {stderr[-1500:]}"
    if callable(expect):
        assert expect(stdout), f"{case}: {stdout[-1500:]}"
    else:
        assert expect in stderr, f"{case}: {stderr[-1500:]}"
    if case.startswith("fit-") and code == 2:
        assert not (ctx.tmp / "out").exists(), f"{case}: a refused fit left a model behind"


def test_corpus_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
