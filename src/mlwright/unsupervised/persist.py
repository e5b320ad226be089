"""A clusterer's or detector's model directory.

Layout::

    model/
      manifest.json                  kind "cluster" | "anomaly": schema, settings, the choice, descriptions,
                                     every file's SHA-256
      reference.json                 monitoring's baseline (cluster shares / the anomaly rate in training)
      unsupervised/prep.skops        the fitted DenseFeatures (skops; only trusted types)
      unsupervised/<name>.skops      fitted scikit-learn models (a mixture, detectors)
      unsupervised/<name>.npy        plain arrays (centroids, training score distributions; no pickles)

Every file is checked against the manifest before anything is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mlwright import artifacts

__all__ = ["DIR", "read_parts", "write_parts"]

DIR = "unsupervised"


def write_parts(tmp: Path, objects: dict[str, Any], arrays: dict[str, np.ndarray], reference: dict[str, Any]) -> None:
    """Write fitted objects (skops) and arrays (``.npy``, no pickles) under ``unsupervised/``, and the
    reference."""
    from mlwright.jsonsafe import default

    (tmp / DIR).mkdir()
    for name, obj in objects.items():
        artifacts.skops_dump(obj, tmp / DIR / f"{name}.skops")
    for name, arr in arrays.items():
        np.save(tmp / DIR / f"{name}.npy", np.asarray(arr, dtype=float), allow_pickle=False)
    (tmp / "reference.json").write_text(json.dumps(reference, default=default), encoding="utf-8")


def read_parts(path: Path, manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The objects and arrays :func:`write_parts` wrote, after verifying every file's SHA-256."""
    artifacts.verify(path, manifest)
    objects, arrays = {}, {}
    for rel in manifest["files"]:
        p = Path(rel)
        if p.parent.as_posix() != DIR:
            continue
        if p.suffix == ".skops":
            objects[p.stem] = artifacts.skops_load(path / rel)
        elif p.suffix == ".npy":
            arrays[p.stem] = np.load(path / rel, allow_pickle=False)
    return objects, arrays


def _reference(path: Path) -> dict[str, Any]:
    """``reference.json`` (verified with the rest by :func:`read_parts`)."""
    return json.loads((path / "reference.json").read_text(encoding="utf-8"))


def _base(model: Any) -> dict[str, Any]:
    from mlwright._version import __version__

    return {
        "kind": model.kind,
        "task": model.kind,
        "mlwright_version": __version__,
        "schema": model.schema_.to_dict(),
        "params": model.get_params(),
        "findings": [f.to_dict() for f in model.findings_],
        "fit_log": model.fit_log_,
        "fit_seconds": getattr(model, "fit_seconds_", None),
        "n_rows": int(model.n_rows_),
    }


def cluster_entries(model: Any) -> dict[str, Any]:
    """A fitted Cluster's manifest entries (no file hashes)."""
    part = model.partition_
    return _base(model) | {
        "cluster": {
            "algorithm": part.algorithm,
            "k": int(part.k),
            "params": part.params,
            "noise": int(part.noise),
            "spread": float(model.spread_),
            "choice": model.choice_,
            "clusters": model.clusters_,
            "map": model.map_,
        },
        "leaderboard": model.leaderboard_.to_dict(orient="records"),
        "estimate": {"silhouette": model.choice_["silhouette"], "stability": model.choice_["stability"]},
    }


def anomaly_entries(model: Any) -> dict[str, Any]:
    """A fitted Anomaly's manifest entries (no file hashes)."""
    return _base(model) | {
        "anomaly": {
            "detectors": {n: {"seconds": d.seconds} for n, d in model.detectors_.items()},
            "threshold": float(model.threshold_),
            "contamination": float(model.contamination_),
            "how": model.how_,
            "rate": float(model.rate_),
            "labels": model.label_report_,
            "board": model.board_,
            "top": model.top_,
            "map": model.map_,
        },
        "estimate": model.label_report_,
    }


def write_cluster(model: Any, tmp: Path) -> dict[str, Any]:
    """Write a fitted :class:`~mlwright.unsupervised.Cluster` into ``tmp``; its manifest entries."""
    part = model.partition_
    objects: dict[str, Any] = {"prep": model.prep_}
    if part.model is not None:
        objects["mixture"] = part.model
    write_parts(tmp, objects, {"centroids": part.centroids}, model.reference_)
    return cluster_entries(model)


def write_anomaly(model: Any, tmp: Path) -> dict[str, Any]:
    """Write a fitted :class:`~mlwright.unsupervised.Anomaly` into ``tmp``; its manifest entries."""
    objects: dict[str, Any] = {"prep": model.prep_}
    arrays: dict[str, np.ndarray] = {"scores": model.train_scores_}
    dets = {**model.detectors_, "explainer": model.explainer_}
    for name, det in dets.items():
        arrays[f"{name}.train"] = det.train_scores
        for key, value in det.models.items():
            if isinstance(value, np.ndarray):
                arrays[f"{name}.{key}"] = value
            else:
                objects[f"{name}.{key}"] = value
    write_parts(tmp, objects, arrays, model.reference_)
    return anomaly_entries(model)


def read_cluster(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The pieces a Cluster is rebuilt from (every file verified first)."""
    from mlwright.unsupervised.partition import Partition

    objects, arrays = read_parts(path, manifest)
    spec = manifest["cluster"]
    part = Partition(
        spec["algorithm"],
        int(spec["k"]),
        arrays["centroids"],
        model=objects.get("mixture"),
        params=dict(spec["params"]),
        noise=int(spec["noise"]),
    )
    return {"prep": objects["prep"], "partition": part, "reference": _reference(path)}


def read_anomaly(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The pieces an Anomaly is rebuilt from (every file verified first)."""
    from mlwright.unsupervised.detectors import Detector

    objects, arrays = read_parts(path, manifest)

    def detector(name: str, kind: str) -> Detector:
        models = {k.split(".", 1)[1]: v for k, v in {**objects, **arrays}.items()
                  if k.startswith(f"{name}.") and k != f"{name}.train"}  # fmt: skip
        return Detector(kind, models, arrays[f"{name}.train"])

    dets = {n: detector(n, n) for n in manifest["anomaly"]["detectors"]}
    return {"prep": objects["prep"], "detectors": dets, "explainer": detector("explainer", "ecod"),
            "scores": arrays["scores"], "reference": _reference(path)}  # fmt: skip
