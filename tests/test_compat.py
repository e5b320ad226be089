"""Model directories saved by mlwright 0.1.0 (``tests/fixtures/v0_1_0``, made by ``make_v0_1_0.py``) load,
verify and predict exactly as they did when they were saved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlwright

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1_0"


@pytest.fixture(params=["binary", "regression"])
def saved(request, tmp_path):
    """A copy of the 0.1.0 directory (loading must not need to write next to it)."""
    name = request.param
    shutil.copytree(FIXTURES / name, tmp_path / name)
    rows = pd.read_csv(FIXTURES / f"{name}_rows.csv")
    expected = pd.read_csv(FIXTURES / f"{name}_expected.csv")
    return name, tmp_path / name, rows, expected


def test_a_0_1_0_model_predicts_as_it_did(saved):
    name, path, rows, expected = saved
    model = mlwright.load(path)
    pred = model.predict(rows)
    if name == "regression":
        np.testing.assert_allclose(pred, expected["prediction"].to_numpy(), rtol=1e-12, atol=0)
        assert not hasattr(model, "predict_proba")
        return
    assert list(pred) == list(expected["prediction"])
    proba = model.predict_proba(rows)
    classes = [c for c in expected.columns if c != "prediction"]
    assert [str(c) for c in proba.columns] == classes
    np.testing.assert_allclose(proba.to_numpy(), expected[classes].to_numpy(), rtol=1e-12, atol=0)


def test_a_0_1_0_model_keeps_its_decision_estimate_and_provenance(saved):
    name, path, _, _ = saved
    manifest = json.loads((path / "manifest.json").read_text())
    model = mlwright.load(path)
    assert model.score_val_ == manifest["estimate"]["score_val"]
    assert model.best_model_ == manifest["best_model"] == model.leaderboard().iloc[0]["model"]
    assert len(model.members_) == len(manifest["members"])
    assert model.run_id_ == manifest["run_id"]
    assert model.reference_ is not None  # monitoring still has its baseline
    if name == "binary":
        assert model.threshold_ == pytest.approx(0.4)
        assert model.calibration_["method"] == "sigmoid"
        assert model.report_data()["model"]["best_model"] == manifest["best_model"]


def test_a_damaged_0_1_0_model_is_refused(saved):
    _, path, _, _ = saved
    manifest = json.loads((path / "manifest.json").read_text())
    victim = path / next(f for f in manifest["files"] if f.startswith("models/"))
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(mlwright.errors.ArtifactIntegrityError):
        mlwright.load(path)
