"""Save and load a model directory: ``manifest.json`` + files, every file verified by SHA-256.

Layout::

    model/
      manifest.json            schema, metrics, leaderboard, members, library versions,
                               training-data fingerprint, {file: sha256}, skops types per file
      prep/<style>_<fold>.skops  fitted preprocessing (skops, checked against TRUSTED_PREFIXES)
      models/<member>_<fold>.*   boosters in native formats (.lgb.txt, .xgb.json, .cbm);
                                 scikit-learn estimators as .skops

Loading refuses a file whose hash differs from the manifest, a missing file, an unexpected file
type inside a skops file, and never unpickles anything.

Package: the model directory (this module) and ONNX export (:mod:`.onnx`, which sits higher: it reads
fitted models).  This module may import only the base modules (errors, faults, processes, jsonsafe).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from mlwright.errors import ArtifactError, ArtifactIntegrityError, MlwrightWarning
from mlwright.faults import kill_point
from mlwright.jsonsafe import default
from mlwright.processes import sweep_dead

__all__ = [
    "FORMAT",
    "TRUSTED_PREFIXES",
    "data_fingerprint",
    "file_sha256",
    "read_manifest",
    "skops_io",
    "skops_load",
    "verify",
]

FORMAT = "mlwright-model"
FORMAT_VERSION = 1
# Types a skops file may contain: the explicit allow-list of modules we write objects from.
TRUSTED_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "mlwright.features.",
    "builtins.",
    "collections.",
    "re.",
)
VERIFIED_DIRS = ("prep", "models", "forecast", "unsupervised")  # every file under these must be listed in the manifest
TRACKED_LIBRARIES = (
    "mlwright",
    "numpy",
    "pandas",
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "xgboost-cpu",
    "catboost",
    "skops",
    "scipy",
    "statsforecast",
    "mlforecast",
)


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_fingerprint(df: pd.DataFrame) -> dict[str, Any]:
    """Rows, columns and a content hash of the training data."""
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in df.columns]).encode())
    try:
        hashed = pd.util.hash_pandas_object(df, index=False)
    except TypeError:  # unhashable cells (lists, dicts): hash their text
        hashed = pd.util.hash_pandas_object(df.astype(str), index=False)
    h.update(hashed.to_numpy().tobytes())
    return {"rows": len(df), "columns": int(df.shape[1]), "sha256": h.hexdigest()}


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries a model depends on."""
    out: dict[str, str | None] = {}
    for name in TRACKED_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _is_trusted(type_name: str) -> bool:
    return type_name.startswith(TRUSTED_PREFIXES)


#: Array libraries that scikit-learn's estimator walk (run once when skops.io is first imported) would import
#: through its array-API shims although no model of ours uses them: torch and dask alone add ~190 MB.
_NOT_FOR_SKOPS = ("torch", "dask", "cupy", "jax")
_IMPORT_LOCK = threading.Lock()


def skops_io() -> ModuleType:
    """``skops.io``, imported without the array libraries its first import would otherwise pull in.

    Importing ``skops.io`` lists scikit-learn's estimators with ``sklearn.utils.all_estimators``, which walks
    every subpackage, ``sklearn.externals.array_api_compat.torch`` and ``.dask`` included: with torch installed
    that import alone raised a fit's resident memory by 205 MB (imdb_rating, 47k rows: over the 1 GB target).
    While skops.io is imported those libraries, if not loaded already, read as absent (their shim modules fail
    to import and the walk skips them; the trusted-type list is the same); they import normally afterwards.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    with _IMPORT_LOCK:
        hidden = [m for m in _NOT_FOR_SKOPS if m not in sys.modules]
        for m in hidden:
            sys.modules[m] = None  # type: ignore[assignment]  # "import m" raises ImportError meanwhile
        try:
            import skops.io as sio
        finally:
            for m in hidden:
                if sys.modules.get(m, 0) is None:
                    del sys.modules[m]
    return sio


def skops_dump(obj: Any, path: Path) -> list[str]:
    """Write ``obj`` with skops; return the non-default types it holds (all must be trusted)."""
    sio = skops_io()

    data = sio.dumps(obj)
    types = sio.get_untrusted_types(data=data)
    bad = [t for t in types if not _is_trusted(t)]
    if bad:
        raise ArtifactError(f"refusing to save {type(obj).__name__}: it holds untrusted types {bad}")
    Path(path).write_bytes(data)
    return list(types)


def skops_load(path: Path) -> Any:
    """Load a skops file, allowing only types under :data:`TRUSTED_PREFIXES`."""
    sio = skops_io()

    data = Path(path).read_bytes()
    types = sio.get_untrusted_types(data=data)
    bad = [t for t in types if not _is_trusted(t)]
    if bad:
        raise ArtifactIntegrityError(
            f"{Path(path).name} contains types mlwright does not trust: {bad}; the file was not written "
            "by mlwright — retrain the model or restore the original file"
        )
    return sio.loads(data, trusted=types)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and sanity-check ``manifest.json`` of a model directory."""
    path = Path(path)
    mpath = path / "manifest.json"
    if not path.exists():
        raise ArtifactError(f"model directory {str(path)!r} does not exist; check the path")
    if not mpath.exists():
        raise ArtifactError(f"{str(path)!r} is not an mlwright model: it has no manifest.json")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactIntegrityError(f"{str(mpath)!r} is not valid JSON ({exc}); the model is damaged") from None
    if not isinstance(manifest, dict):
        raise ArtifactIntegrityError(f"{str(mpath)!r} is not a manifest (a JSON object); the model is damaged")
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"{str(path)!r} is not an mlwright model (format {manifest.get('format')!r})")
    if manifest.get("task") not in (None, "binary", "multiclass", "regression", "forecast", "cluster", "anomaly"):
        raise ArtifactIntegrityError(
            f"{str(mpath)!r} names an unknown task {manifest.get('task')!r}; the model is damaged"
        )
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise ArtifactError(
            f"model format {manifest['format_version']} is newer than this mlwright understands "
            f"({FORMAT_VERSION}); upgrade mlwright"
        )
    return manifest


def verify(path: str | Path, manifest: dict[str, Any]) -> None:
    """Check every file listed in the manifest exists and matches its SHA-256."""
    path = Path(path)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtifactIntegrityError(
            f"the manifest of {str(path)!r} lists no files to verify; the model is damaged — restore it or retrain"
        )
    for sub in VERIFIED_DIRS:  # a model file the manifest does not list would be loaded unchecked
        for f in sorted((path / sub).rglob("*")) if (path / sub).is_dir() else []:
            rel = f.relative_to(path).as_posix()
            if f.is_file() and rel not in files:
                raise ArtifactIntegrityError(
                    f"model file {rel!r} in {str(path)!r} is not listed in the manifest; refusing to load it — "
                    "remove it, restore the original model or retrain"
                )
    for rel, digest in files.items():
        f = path / rel
        if not f.is_file():
            raise ArtifactIntegrityError(f"model file {rel!r} is missing from {str(path)!r}; restore it or retrain")
        got = file_sha256(f)
        if got != digest:
            raise ArtifactIntegrityError(
                f"model file {rel!r} has been modified (SHA-256 {got[:12]}…, manifest says {digest[:12]}…); "
                "refusing to load it — restore the original file or retrain"
            )
    installed = library_versions()
    for lib, ver in manifest.get("library_versions", {}).items():
        if ver and installed.get(lib) and installed[lib].split(".")[0] != ver.split(".")[0]:
            warnings.warn(
                f"model was saved with {lib} {ver}, this environment has {installed[lib]}",
                MlwrightWarning,
                stacklevel=3,
            )


def check_save_target(target: str | Path) -> Path:
    """``target`` as a place a model directory may be written (a new or empty folder, or an mlwright model to
    replace, in a writable parent), else a clear error — callers check before long work, not after it."""
    from mlwright.errors import StorageError, writable_dir

    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise ArtifactError(f"cannot save to {str(target)!r}: it is a file; choose a directory path")
        if any(target.iterdir()) and not (target / "manifest.json").exists():
            raise ArtifactError(
                f"cannot save to {str(target)!r}: the directory is not empty and is not an mlwright model; "
                "choose a new or empty directory"
            )
    try:
        writable_dir(target.parent, "the folder", "choose another --out / path")
    except StorageError as exc:
        raise StorageError(f"cannot save the model to {str(target)!r}: {exc}") from None
    return target


def write_dir(target: str | Path, build) -> Path:
    """Build a model directory in a temporary sibling, then move it into place.

    ``build(tmpdir) -> manifest dict`` writes the files; this adds hashes and writes the manifest.
    An existing model at ``target`` is replaced only once the new one is complete; a non-empty
    directory that is not an mlwright model is never touched.
    """
    target = check_save_target(target)
    prefix = f".{target.name}."
    sweep_dead(target.parent.glob(f"{glob.escape(prefix)}*.part"), prefix)  # left by a killed save
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent))
    try:
        manifest = build(tmp)
        kill_point("save.files")
        files = {}
        for f in sorted(tmp.rglob("*")):
            if f.is_file():
                files[f.relative_to(tmp).as_posix()] = file_sha256(f)
        manifest.update(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "library_versions": library_versions(),
                "files": files,
            }
        )
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=default), encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except OSError as exc:  # a full disk, a folder made read-only meanwhile: nothing half-written is left
        shutil.rmtree(tmp, ignore_errors=True)
        from mlwright.errors import StorageError

        raise StorageError(
            f"cannot save the model to {str(target)!r} ({exc.strerror or exc}); nothing was written — free disk "
            "space or choose another folder"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
