"""The guide's examples run: every Python block in docs/ marked ``<!-- runnable -->`` is executed, page by page in
order (one namespace a page, in a scratch folder), on the bundled demo data; and every error class documents
what it means and how to fix it (the troubleshooting page is written from them)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"<!-- runnable -->\s*\n```python\n(.*?)\n```", re.S)


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if BLOCK.search(p.read_text(encoding="utf-8")))


def test_the_guide_has_runnable_examples():
    names = {p.name for p in _pages()}
    assert {
        "getting-started.md",
        "data.md",
        "evaluating.md",
        "deploying.md",
        "forecasting.md",
        "unsupervised.md",
        "fairness.md",
        "training.md",
        "watching.md",
        "integrations.md",
    } <= names, names


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_runnable_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    for key in ("AIP_PREDICT_ROUTE", "AIP_HEALTH_ROUTE"):  # an example sets Vertex's routes: undone after the page
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    for i, code in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
        exec(compile(code, f"{page.name} (block {i + 1})", "exec"), namespace)  # our own docs


def test_every_error_says_what_it_means_and_how_to_fix_it():
    from mlwright import errors

    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.MlwrightError)]
    assert len(classes) > 30
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes), "one code per class"
    for c in classes:
        assert c.__doc__ and c.fix, c
        assert c is errors.MlwrightError or "fix" in vars(c), f"{c.__name__} says no fix of its own"
