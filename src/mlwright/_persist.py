"""AutoML ↔ model directory (the file I/O lives in :mod:`mlwright.artifacts`)."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, artifacts
from .data.findings import Finding
from .data.schema import TASKS, Schema
from .errors import ArtifactError, ArtifactIntegrityError
from .models import get as get_family


def _plain(v):
    """A parameter value as plain JSON (config objects become dicts; a live executor or Dask client — a
    resource of the fitting process, not a setting — is not kept)."""
    if is_dataclass(v) and not isinstance(v, type):
        return asdict(v)
    if v is not None and not isinstance(v, (str, int, float, bool, list, tuple, dict)):
        return None
    return v


def save_automl(automl, path: Path) -> Path:
    """Write ``automl``'s fitted state to ``path``."""

    def build(tmp: Path) -> dict:
        (tmp / "prep").mkdir()
        (tmp / "models").mkdir()
        skops_types: dict[str, list[str]] = {}
        preps = {}
        for key, pre in automl.preprocessors_.items():
            rel = f"prep/{key.replace('/', '_')}.skops"
            skops_types[rel] = artifacts.skops_dump(pre, tmp / rel)
            preps[key] = rel
        members = []
        for m in automl.members_:
            folds = []
            for k, (model, key) in enumerate(zip(m["models"], m["preps"])):
                stem = f"{m['name']}_{k}"
                files = model.save(tmp / "models", stem)
                folds.append({"stem": stem, "prep": key, "files": [f"models/{f}" for f in files], "meta": model.meta()})
            members.append(
                {"name": m["name"], "family": m["family"], "weight": m["weight"], "refit": m["refit"], "folds": folds}
            )
        report = automl.report_data() if float(getattr(automl, "report_seconds", 0) or 0) > 0 else None
        report = report or getattr(automl, "report_data_", None)
        if report:
            from .report import render_model_report

            (tmp / "report.json").write_text(json.dumps(report), encoding="utf-8")
            (tmp / "report.html").write_text(render_model_report(report), encoding="utf-8")
        reference = getattr(automl, "reference_", None)
        if reference is not None:  # monitoring's baseline (see mlwright.monitoring.reference)
            (tmp / "reference.json").write_text(json.dumps(reference, allow_nan=False), encoding="utf-8")
        lb = automl.leaderboard_.replace({np.nan: None})
        return {
            "mlwright_version": __version__,
            "task": automl.task_,
            "metric": automl.metric_,
            "classes": automl.schema_.to_dict()["classes"],
            "schema": automl.schema_.to_dict(),
            "n_features_in": int(automl.n_features_in_),
            "feature_names_in": [str(c) for c in getattr(automl, "feature_names_in_", [])],
            "estimate": {
                "metric": automl.metric_,
                "score_val": automl.score_val_,
                "validation": automl.split_kind_,
                "n_folds": automl.n_folds_,
                "predict_ms": getattr(automl, "predict_ms_", None),
                "kind": getattr(automl, "estimate_kind_", None),
                "model_bytes": getattr(automl, "model_bytes_", None),
            },
            "best_model": automl.best_model_,
            "leaderboard": lb.to_dict(orient="records"),
            "trials": automl.trials_,
            "training_data": getattr(automl, "training_fingerprint_", None),
            "fit_seconds": getattr(automl, "fit_seconds_", None),
            "run_id": getattr(automl, "run_id_", None),
            "training_source": getattr(automl, "training_source_", None),
            "fit_options": getattr(automl, "fit_options_", None),
            "large": getattr(automl, "large_", None),
            "params": {k: _plain(v) for k, v in automl.get_params().items() if k != "workdir"},
            "findings": [f.to_dict() for f in getattr(automl, "findings_", [])],
            "feature_selection": getattr(automl, "feature_selection_", None),
            "threshold": getattr(automl, "threshold_", None),
            "calibration": getattr(automl, "calibration_", None),
            "preprocessors": preps,
            "members": members,
            "skops_types": skops_types,
        }

    return artifacts.write_dir(path, build)


def load_automl(path: Path):
    """Rebuild a fitted AutoML from a verified model directory."""
    from .automl import AutoML

    manifest = artifacts.read_manifest(path)
    artifacts.verify(path, manifest)
    try:
        params = manifest.get("params", {})
        automl = AutoML(**{k: v for k, v in params.items() if k in AutoML().get_params()})
        schema = Schema.from_dict(manifest["schema"])
        automl.schema_ = schema
        automl.task_ = manifest["task"]
        if automl.task_ not in TASKS:
            raise ValueError(f"unknown task {automl.task_!r} in the manifest")
        automl.metric_ = manifest["metric"]
        if automl.task_ != "regression":
            automl.classes_ = np.asarray(schema.classes)
        automl.n_features_in_ = int(manifest["n_features_in"])
        if manifest.get("feature_names_in"):
            automl.feature_names_in_ = np.asarray(manifest["feature_names_in"], dtype=object)
        est = manifest["estimate"]
        automl.score_val_ = est["score_val"]
        automl.split_kind_ = est["validation"]
        automl.n_folds_ = est["n_folds"]
        automl.predict_ms_ = est.get("predict_ms")
        automl.estimate_kind_ = est.get("kind")
        automl.model_bytes_ = est.get("model_bytes")
        automl.best_model_ = manifest["best_model"]
        automl.leaderboard_ = pd.DataFrame(manifest["leaderboard"])
        automl.trials_ = manifest.get("trials", [])
        automl.training_fingerprint_ = manifest.get("training_data")
        if manifest.get("run_id"):
            automl.run_id_ = manifest["run_id"]
        automl.fit_seconds_ = manifest.get("fit_seconds")
        automl.training_source_ = manifest.get("training_source")
        automl.fit_options_ = manifest.get("fit_options")
        automl.large_ = manifest.get("large")
        automl.findings_ = [Finding(**f) for f in manifest.get("findings", [])]
        automl.feature_selection_ = manifest.get("feature_selection")
        if manifest.get("threshold") is not None:
            automl.threshold_ = float(manifest["threshold"])
        automl.calibration_ = manifest.get("calibration")
        automl.report_data_ = None
        automl.reference_ = None
        if "reference.json" in manifest.get("files", {}):
            automl.reference_ = json.loads((path / "reference.json").read_text(encoding="utf-8"))
        if "report.json" in manifest.get("files", {}):
            automl.report_data_ = json.loads((path / "report.json").read_text(encoding="utf-8"))
        automl.preprocessors_ = {
            key: artifacts.skops_load(path / rel) for key, rel in manifest["preprocessors"].items()
        }
        n_classes = len(schema.classes) if automl.task_ != "regression" else 0
        members = []
        for m in manifest["members"]:
            fam = get_family(m["family"])
            models = [fam.load(path / "models", f["stem"], f["meta"], automl.task_, n_classes) for f in m["folds"]]
            members.append(
                {
                    "name": m["name"],
                    "family": m["family"],
                    "weight": m["weight"],
                    "refit": m.get("refit", False),
                    "models": models,
                    "preps": [f["prep"] for f in m["folds"]],
                    "meta": [f["meta"] for f in m["folds"]],
                }
            )
        automl.members_ = members
    except ArtifactIntegrityError:
        raise
    except Exception as exc:  # a damaged manifest, or a native library refusing a damaged file (XGBoostError …)
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise ArtifactError(
            f"cannot load model from {str(path)!r}: {type(exc).__name__}: {first}; the model is damaged — "
            "restore the original model or retrain"
        ) from None
    return automl
