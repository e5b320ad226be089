import json

import numpy as np
import pytest

import mlwright
from mlwright import artifacts
from mlwright.errors import ArtifactError, ArtifactIntegrityError


@pytest.fixture()
def saved(binary_model, tmp_path):
    return binary_model.save(tmp_path / "model")


def test_round_trip_gives_identical_predictions(binary_model, binary_df, saved):
    loaded = mlwright.load(saved)
    X = binary_df.drop(columns=["label"])
    np.testing.assert_array_equal(loaded.predict_proba(X).to_numpy(), binary_model.predict_proba(X).to_numpy())
    assert (loaded.predict(X) == binary_model.predict(X)).all()
    assert loaded.leaderboard()["model"].tolist() == binary_model.leaderboard()["model"].tolist()
    assert loaded.schema_ == binary_model.schema_
    assert loaded.evaluate(binary_df)["roc_auc"] == pytest.approx(binary_model.evaluate(binary_df)["roc_auc"])


@pytest.mark.parametrize("fixture", ["multiclass_model", "regression_model"])
def test_round_trip_other_tasks(fixture, request, tmp_path, multiclass_df, regression_df):
    model = request.getfixturevalue(fixture)
    df = multiclass_df if fixture.startswith("multi") else regression_df
    X = df.drop(columns=["label"])
    loaded = mlwright.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(np.asarray(loaded.predict(X)), np.asarray(model.predict(X)))


def test_manifest_describes_the_model(saved, binary_df):
    m = json.loads((saved / "manifest.json").read_text())
    assert m["format"] == "mlwright-model" and m["task"] == "binary" and m["metric"] == "roc_auc"
    assert m["training_data"]["rows"] == len(binary_df)
    assert m["library_versions"]["lightgbm"] and m["library_versions"]["scikit-learn"]
    files = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(m["files"]) == files
    assert all(artifacts.file_sha256(saved / f) == h for f, h in m["files"].items())
    ext = {"lightgbm": ".lgb.txt", "xgboost": ".xgb.json", "catboost": ".cbm"}
    for member in m["members"]:  # boosters in their native format, sklearn parts as skops
        for fold in member["folds"]:
            assert all(f.endswith(ext.get(member["family"], ".skops")) for f in fold["files"])
    assert not any(f.endswith((".pkl", ".pickle", ".joblib")) for f in files)


def test_tampered_file_is_refused(saved):
    victim = next(p for p in sorted((saved / "models").iterdir()))
    victim.write_bytes(victim.read_bytes() + b"\n# injected")
    with pytest.raises(ArtifactIntegrityError, match=rf"'models/{victim.name}' has been modified"):
        mlwright.load(saved)


def test_missing_file_is_refused(saved):
    prep = next((saved / "prep").iterdir())
    prep.unlink()
    with pytest.raises(ArtifactIntegrityError, match="is missing"):
        mlwright.load(saved)


def test_untrusted_type_in_skops_file_is_refused(tmp_path):
    import collections

    import skops.io as sio

    class Evil:
        pass

    path = tmp_path / "x.skops"
    sio.dump({"a": collections.OrderedDict(), "b": Evil()}, path)
    with pytest.raises(ArtifactIntegrityError, match="types mlwright does not trust"):
        artifacts.skops_load(path)


def test_not_a_model_and_damaged_manifest(tmp_path, saved):
    with pytest.raises(ArtifactError, match="does not exist"):
        mlwright.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match=r"no manifest.json"):
        mlwright.load(tmp_path / "empty")
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactIntegrityError, match="not valid JSON"):
        mlwright.load(saved)


def test_save_never_clobbers_foreign_data_and_replaces_a_model(binary_model, tmp_path, saved):
    other = tmp_path / "docs"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="not empty and is not an mlwright model"):
        binary_model.save(other)
    assert (other / "notes.txt").read_text() == "keep me"
    before = json.loads((saved / "manifest.json").read_text())["created"]
    binary_model.save(saved)  # overwriting an existing model is allowed, atomically
    assert mlwright.load(saved).best_model_ == binary_model.best_model_
    assert before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")]  # no temp dirs left


def test_skops_is_imported_without_torch_and_dask():
    """skops.io's first import walks scikit-learn's array-API shims; through them torch and dask would load (~190 MB
    in every fitting process). mlwright imports it with them kept out, and they still import afterwards."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("torch") is None and importlib.util.find_spec("dask") is None:
        pytest.skip("neither torch nor dask is installed: nothing for skops to pull in")
    code = (
        "import sys\n"
        "from mlwright.artifacts import skops_io\n"
        "skops_io()\n"
        "import numpy as np, pathlib, tempfile\n"
        "from sklearn.ensemble import RandomForestRegressor\n"
        "from mlwright.artifacts import skops_dump, skops_load\n"
        "X = np.arange(40.0).reshape(20, 2); f = RandomForestRegressor(5, random_state=0).fit(X, X[:, 0])\n"
        "p = pathlib.Path(tempfile.mkdtemp()) / 'f.skops'; skops_dump(f, p)\n"
        "assert (skops_load(p).predict(X) == f.predict(X)).all()\n"
        "print(sorted(m for m in ('torch', 'dask') if m in sys.modules))\n"
        "import dask\n"
        "print('dask' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["[]", "True"]  # kept out of skops' import, importable after it
