"""FittedModel ↔ model directory (the file I/O and hashing live in :mod:`mlwright.artifacts`).

The directory format is the one mlwright 0.1.0 wrote (``tests/fixtures/v0_1_0`` keeps two such directories
and their predictions), so models saved before the fitted-model contract load and predict identically.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright import artifacts
from mlwright._version import __version__
from mlwright.automl.fitted import Estimate, FittedModel, Member, Provenance
from mlwright.data.findings import Finding
from mlwright.data.schema import TASKS, Schema
from mlwright.errors import ArtifactError, ArtifactIntegrityError
from mlwright.models import get as get_family

__all__ = ["load_fitted", "manifest_of", "save_fitted"]


def _param_value(v: Any) -> Any:
    """A parameter value as plain JSON (config objects become dicts; a live executor or Dask client — a
    resource of the fitting process, not a setting — is not kept)."""
    if is_dataclass(v) and not isinstance(v, type):
        return asdict(v)
    if v is not None and not isinstance(v, (str, int, float, bool, list, tuple, dict)):
        return None
    return v


def manifest_of(f: FittedModel, params: dict[str, Any]) -> dict[str, Any]:
    """The manifest's description of ``f`` (``params``: the estimator's settings), without the files."""
    est, prov = f.estimate, f.provenance
    names = f.feature_names_in
    return {
        "mlwright_version": __version__,
        "task": f.task,
        "metric": f.metric,
        "classes": f.schema.to_dict()["classes"],
        "schema": f.schema.to_dict(),
        "n_features_in": int(f.n_features_in),
        "feature_names_in": [str(c) for c in (names if names is not None else [])],
        "estimate": {
            "metric": est.metric,
            "score_val": est.score_val,
            "validation": est.validation,
            "n_folds": est.n_folds,
            "predict_ms": est.predict_ms,
            "kind": est.kind,
            "model_bytes": est.model_bytes,
        },
        "best_model": f.best_model,
        "leaderboard": f.leaderboard.replace({np.nan: None}).to_dict(orient="records"),
        "trials": list(f.trials),
        "training_data": prov.training_fingerprint,
        "fit_seconds": prov.fit_seconds,
        "run_id": prov.run_id,
        "training_source": prov.training_source,
        "fit_options": prov.fit_options,
        "large": prov.large,
        "params": {k: _param_value(v) for k, v in params.items() if k != "workdir"},
        "findings": [x.to_dict() for x in f.findings],
        "feature_selection": f.feature_selection,
        "threshold": f.threshold,
        "calibration": f.calibration,
        "tempering": f.tempering,
        "fairness": f.fairness,
        "group_thresholds": f.group_thresholds,
    }


def save_fitted(f: FittedModel, params: dict[str, Any], path: Path) -> Path:
    """Write ``f`` to the model directory ``path`` (atomically; see :func:`mlwright.artifacts.write_dir`)."""

    def build(tmp: Path) -> dict:
        (tmp / "prep").mkdir()
        (tmp / "models").mkdir()
        skops_types: dict[str, list[str]] = {}
        preps = {}
        for key, pre in f.preprocessors.items():
            rel = f"prep/{key.replace('/', '_')}.skops"
            skops_types[rel] = artifacts.skops_dump(pre, tmp / rel)
            preps[key] = rel
        members = []
        for m in f.members:
            folds = []
            for k, (model, key) in enumerate(zip(m.models, m.preps)):
                stem = f"{m.name}_{k}"
                files = model.save(tmp / "models", stem)
                folds.append({"stem": stem, "prep": key, "files": [f"models/{x}" for x in files], "meta": model.meta()})
            members.append({"name": m.name, "family": m.family, "weight": m.weight, "refit": m.refit, "folds": folds})
        if f.report:
            from mlwright.report import render_model_report

            (tmp / "report.json").write_text(json.dumps(f.report), encoding="utf-8")
            (tmp / "report.html").write_text(render_model_report(f.report), encoding="utf-8")
        if f.reference is not None:  # monitoring's baseline (see mlwright.monitoring.reference)
            (tmp / "reference.json").write_text(json.dumps(f.reference, allow_nan=False), encoding="utf-8")
        return manifest_of(f, params) | {"preprocessors": preps, "members": members, "skops_types": skops_types}

    return artifacts.write_dir(path, build)


def load_fitted(path: Path, manifest: dict[str, Any]) -> tuple[FittedModel, dict[str, Any]]:
    """Rebuild the fitted model of a model directory, verifying every file first; returns it and the
    estimator settings it was fitted with."""
    artifacts.verify(path, manifest)
    try:
        return _build(path, manifest), manifest.get("params", {})
    except ArtifactIntegrityError:
        raise
    except Exception as exc:  # a damaged manifest, or a native library refusing a damaged file (XGBoostError …)
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise ArtifactError(
            f"cannot load model from {str(path)!r}: {type(exc).__name__}: {first}; the model is damaged — "
            "restore the original model or retrain"
        ) from None


def _json_file(path: Path, name: str, manifest: dict[str, Any]) -> Any:
    if name not in manifest.get("files", {}):
        return None
    return json.loads((path / name).read_text(encoding="utf-8"))


def _build(path: Path, manifest: dict[str, Any]) -> FittedModel:
    schema = Schema.from_dict(manifest["schema"])
    task = manifest["task"]
    if task not in TASKS or schema.task != task:
        raise ValueError(f"unknown task {task!r} in the manifest")
    n_classes = len(schema.classes) if task != "regression" else 0
    members = []
    for m in manifest["members"]:
        fam = get_family(m["family"])
        models = [fam.load(path / "models", x["stem"], x["meta"], task, n_classes) for x in m["folds"]]
        members.append(
            Member(
                m["name"],
                m["family"],
                m["weight"],
                tuple(models),
                tuple(x["prep"] for x in m["folds"]),
                m.get("refit", False),
                tuple(x["meta"] for x in m["folds"]),
            )
        )
    est = manifest["estimate"]
    names = manifest.get("feature_names_in")
    threshold = manifest.get("threshold")
    return FittedModel(
        schema=schema,
        members=tuple(members),
        preprocessors={key: artifacts.skops_load(path / rel) for key, rel in manifest["preprocessors"].items()},
        estimate=Estimate(
            manifest["metric"],
            est["score_val"],
            est.get("kind"),
            est["validation"],
            est["n_folds"],
            est.get("predict_ms"),
            est.get("model_bytes"),
        ),
        leaderboard=pd.DataFrame(manifest["leaderboard"]),
        best_model=manifest["best_model"],
        n_features_in=int(manifest["n_features_in"]),
        feature_names_in=np.asarray(names, dtype=object) if names else None,
        trials=manifest.get("trials", []),
        findings=[Finding(**x) for x in manifest.get("findings", [])],
        feature_selection=manifest.get("feature_selection"),
        provenance=Provenance(
            run_id=manifest.get("run_id"),
            training_source=manifest.get("training_source"),
            fit_options=manifest.get("fit_options"),
            training_fingerprint=manifest.get("training_data"),
            fit_seconds=manifest.get("fit_seconds"),
            large=manifest.get("large"),
        ),
        threshold=float(threshold) if threshold is not None else None,
        calibration=manifest.get("calibration"),
        tempering=manifest.get("tempering"),
        fairness=manifest.get("fairness"),
        group_thresholds=manifest.get("group_thresholds"),
        reference=_json_file(path, "reference.json", manifest),
        report=_json_file(path, "report.json", manifest),
    )
