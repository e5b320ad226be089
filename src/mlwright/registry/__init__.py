"""The model registry: named models, numbered versions, aliases (``champion``, ``challenger``, any name).

``register`` verifies a saved model directory, copies it into the managed artifact root
(``MLWRIGHT_HOME/artifacts`` by default) under a fresh directory, then records the version — number,
the SHA-256 of its manifest (which itself holds every file's SHA-256), task, metric, score — in one
transaction.  The copy is complete and renamed into place before the row exists, so a process killed at
any point leaves the registry as it was or with the whole new version; an unreferenced copy left by a
crash is never served.  Concurrent writers get distinct version numbers (retried on conflict).

Package: may import the store, artifacts and the estimator's ``load``; never serving, monitoring, loop, ui or
cli.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwright import artifacts
from mlwright.config import home
from mlwright.errors import (
    ArtifactError,
    ArtifactIntegrityError,
    ModelNotFoundError,
    RegistryError,
    StorageError,
    did_you_mean,
)
from mlwright.faults import kill_point
from mlwright.processes import owner_pid, process_alive, sweep_dead
from mlwright.store import Store
from mlwright.store import registry as repo

__all__ = ["ModelVersion", "Registry", "load_model", "parse_ref"]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
CHAMPION = "champion"


def _check_name(name: str, what: str = "model name") -> str:
    if not isinstance(name, str) or not NAME.match(name) or name in (".", ".."):
        raise RegistryError(
            f"{what} {name!r} is not allowed: use 1–128 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (no slashes or spaces)"
        )
    return name


def _check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not ALIAS.match(alias) or alias.isdigit():
        raise RegistryError(f"alias {alias!r} is not allowed: use a letter, then letters, digits, '_' or '-'")
    return alias


def parse_ref(ref: str) -> tuple[str, str | int | None]:
    """``"name"``, ``"name@3"`` or ``"name@champion"`` → (name, version number, alias or None)."""
    name, _, sel = str(ref).partition("@")
    _check_name(name)
    if not sel:
        return name, None
    return (name, int(sel)) if sel.isdigit() else (name, _check_alias(sel))


@dataclass
class ModelVersion:
    """One registered version."""

    name: str
    version: int
    path: Path
    sha256: str
    status: str
    kind: str
    created: _dt.datetime
    task: str | None = None
    metric: str | None = None
    score: float | None = None
    aliases: list[str] = field(default_factory=list)
    source: str | None = None
    run_id: str | None = None

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "name": self.name,
            "version": self.version,
            "path": str(self.path),
            "sha256": self.sha256,
            "status": self.status,
            "kind": self.kind,
            "created": self.created.isoformat() if self.created else None,
            "task": self.task,
            "metric": self.metric,
            "score": self.score,
            "aliases": self.aliases,
            "source": self.source,
            "run_id": self.run_id,
        }


TMP_PREFIX = ".tmp-"


PENDING = ".registering-"  # marker inside a copy put in place whose version row is not yet written


def _below(root: Path, depth: int, prefix: str) -> list[Path]:
    """Entries ``depth`` levels below ``root`` whose names start with ``prefix`` — read as other processes
    create and remove folders there (pathlib's glob raises when a folder vanishes while it is listed)."""
    level = [root]
    for d in range(depth):
        found: list[Path] = []
        for folder in level:
            try:
                with os.scandir(folder) as it:
                    last = d == depth - 1
                    found += [Path(e.path) for e in it if (e.name.startswith(prefix) if last else e.is_dir())]
            except OSError:  # gone (another register finished or swept it): nothing to sweep there
                continue
        level = found
    return level


def sweep_partial_copies(root: Path, store: Store | None = None) -> int:
    """Remove what a killed ``register`` left behind; returns how many folders.

    A copy still being made (``<name>/.tmp-<pid>-<key>``) of a process that is gone; and a copy already in
    place (``<name>/<key>`` holding a ``.registering-<pid>`` marker) whose process is gone before writing its
    version row — unless the row was written (then only the marker goes).  Unnamed ``.tmp-*`` folders of
    older versions go after an hour."""
    copies = _below(root, 2, TMP_PREFIX)
    removed = sweep_dead(copies, TMP_PREFIX)
    for tmp in copies:  # unnamed (written before copies carried their pid)
        try:
            if owner_pid(tmp.name, TMP_PREFIX) is None and time.time() - tmp.stat().st_mtime > 3600:
                shutil.rmtree(tmp, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    for marker in _below(root, 3, PENDING):
        pid_text = marker.name[len(PENDING) :]
        if not pid_text.isdigit() or process_alive(int(pid_text)) or store is None:
            continue
        folder, rel = marker.parent, marker.parent.relative_to(root).as_posix()
        if repo.version_at_path(store, rel) is None:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        else:
            marker.unlink(missing_ok=True)
    return removed


class Registry:
    """Register, list, alias, promote, roll back and archive model versions.

    Parameters
    ----------
    store : Store or str, optional
        The store (or its URL); default: the SQLite store in ``MLWRIGHT_HOME``.
    root : path, optional
        Where artifacts are kept; default ``MLWRIGHT_HOME/artifacts``.
    """

    def __init__(self, store: Store | str | None = None, root: str | Path | None = None):
        self.store = store if isinstance(store, Store) else Store(store)
        self.root = Path(root) if root is not None else home() / "artifacts"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"the registry folder {str(self.root)!r} cannot be created ({exc.strerror or exc}); "
                               "set MLWRIGHT_HOME to a writable folder") from None  # fmt: skip
        sweep_partial_copies(self.root, self.store)

    # ------------------------------------------------------------------ writing
    def register(
        self, path: str | Path, name: str, alias: str | None = None, description: str | None = None
    ) -> ModelVersion:
        """Copy a saved model directory into the registry as the next version of ``name``.

        The directory's files are verified against its manifest first; a tampered model is refused.
        """
        _check_name(name)
        if alias is not None:
            _check_alias(alias)
        src = Path(path)
        manifest = artifacts.read_manifest(src)
        artifacts.verify(src, manifest)
        digest = artifacts.file_sha256(src / "manifest.json")
        folder = self.root / name
        key = uuid.uuid4().hex
        tmp = folder / f"{TMP_PREFIX}{os.getpid()}-{key}"  # the pid: a killed copy is swept by the next command
        final = folder / key
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for rel in ["manifest.json", *manifest["files"]]:  # what the manifest vouches for, nothing else
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / rel, tmp / rel)
            artifacts.verify(tmp, manifest)  # the copy is what was verified
            (tmp / f"{PENDING}{os.getpid()}").touch()  # until the version row is written (see sweep_partial_copies)
            kill_point("register.copied")
            tmp.rename(final)  # complete before any row points at it
            kill_point("register.renamed")
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StorageError(
                f"cannot copy the model into the registry at {str(folder)!r} ({exc.strerror or exc}); nothing was "
                "registered — free disk space or point MLWRIGHT_HOME at a writable folder"
            ) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        rel = final.relative_to(self.root).as_posix()
        estimate = manifest.get("estimate") or {}

        values = dict(kind=manifest.get("kind", "mlwright"), path=rel, sha256=digest, status="ready",
                      task=manifest.get("task"), metric=manifest.get("metric"), score=estimate.get("score_val"),
                      source=str(src.resolve()), run_id=manifest.get("run_id"))  # fmt: skip
        try:
            number = repo.add_version(self.store, name, values, description=description, alias=alias)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        (final / f"{PENDING}{os.getpid()}").unlink(missing_ok=True)
        return self.get(name, number)

    def register_model(
        self, model: Any, name: str, alias: str | None = None, description: str | None = None
    ) -> ModelVersion:
        """Save ``model`` (an AutoML, or a model from :func:`mlwright.from_sklearn` / :func:`mlwright.from_onnx`)
        and register it as the next version of ``name``."""
        import tempfile

        _check_name(name)
        with tempfile.TemporaryDirectory(prefix=".mlwright-register-", dir=self.root) as tmp:
            path = model.save(Path(tmp) / "model")
            return self.register(path, name, alias=alias, description=description)

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``name@alias`` at ``version`` (which must exist and not be archived)."""
        _check_alias(alias)
        v = self.get(name, int(version))
        if v.status != "ready":
            raise RegistryError(f"{v.ref} is {v.status}: an alias may point only at a ready version")
        repo.point_alias(self.store, name, alias, v.version)
        return self.get(name, v.version)

    def promote(self, name: str, version: int, alias: str = CHAMPION) -> ModelVersion:
        """Make ``version`` the ``alias`` (the champion by default)."""
        return self.set_alias(name, alias, version)

    def rollback(self, name: str, alias: str = CHAMPION) -> ModelVersion:
        """Point ``alias`` back at the version it held before the current one (skipping archived ones)."""
        _check_alias(alias)
        self._model(name)

        return self.get(name, repo.roll_back_alias(self.store, name, alias))

    def archive(self, name: str, version: int) -> ModelVersion:
        """Mark a version archived (kept on disk, never served); refused while an alias points at it."""
        v = self.get(name, int(version))
        if v.aliases:
            raise RegistryError(
                f"{v.ref} is still {', '.join(v.aliases)}: promote another version (or roll back) before archiving it"
            )
        repo.archive_version(self.store, name, v.version)
        return self.get(name, v.version)

    # ------------------------------------------------------------------ reading
    def _model(self, name: str) -> None:
        _check_name(name)
        names = repo.model_names(self.store)
        if name not in names:
            raise ModelNotFoundError(
                f"no registered model named {name!r}{did_you_mean(name, names)}; registered: "
                f"{', '.join(sorted(names)[:20]) or 'none yet'} (register one with `mlwright models register`)"
            )

    def _row(self, r, names: list[str]) -> ModelVersion:
        return ModelVersion(
            name=r.name, version=r.version, path=self.root / r.path, sha256=r.sha256, status=r.status, kind=r.kind,
            created=r.created, task=r.task, metric=r.metric, score=r.score, aliases=names, source=r.source,
            run_id=r.run_id,
        )  # fmt: skip

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, newest first."""
        self._model(name)
        return [self._row(r, names) for r, names in repo.version_rows(self.store, name)]

    def models(self) -> list[dict[str, Any]]:
        """Each registered model: name, number of versions, latest version, aliases."""
        return repo.model_summaries(self.store)

    def get(self, name: str, selector: int | str | None = None) -> ModelVersion:
        """A version by number, by alias, or (None) the champion if set, else the newest ready version."""
        all_versions = self.versions(name)
        if isinstance(selector, int):
            for v in all_versions:
                if v.version == selector:
                    return v
            raise ModelNotFoundError(
                f"{name} has no version {selector}; versions: {', '.join(str(v.version) for v in all_versions)}"
            )
        if selector is None:
            for v in all_versions:
                if CHAMPION in v.aliases:
                    return v
            ready = [v for v in all_versions if v.status == "ready"]
            if not ready:
                raise ModelNotFoundError(f"{name} has no ready version (all are archived)")
            return ready[0]
        for v in all_versions:
            if selector in v.aliases:
                return v
        known = sorted({a for v in all_versions for a in v.aliases})
        raise ModelNotFoundError(
            f"{name} has no alias {selector!r}{did_you_mean(selector, known)}; aliases: {', '.join(known) or 'none'}"
        )

    def resolve(self, ref: str) -> ModelVersion:
        """``name``, ``name@3`` or ``name@alias`` → the version (see :meth:`get`)."""
        name, sel = parse_ref(ref)
        return self.get(name, sel)

    def load(self, ref: str):
        """Load a registered version after checking its manifest against the recorded SHA-256 (and every
        file against the manifest)."""
        from mlwright.automl import load

        v = self.resolve(ref)
        if v.status != "ready":
            raise RegistryError(f"{v.ref} is {v.status}; it cannot be served")
        return load(self.verified_path(v))

    def verified_path(self, v: ModelVersion) -> Path:
        """The artifact directory of ``v`` once its manifest matches the SHA-256 recorded at registration
        (each file is then checked against the manifest by whoever reads it)."""
        if not (v.path / "manifest.json").is_file():
            raise ArtifactError(f"the artifact of {v.ref} is missing from {v.path}; restore it or register again")
        digest = artifacts.file_sha256(v.path / "manifest.json")
        if digest != v.sha256:
            raise ArtifactIntegrityError(
                f"the manifest of {v.ref} changed since it was registered (SHA-256 {digest[:12]}…, registry says "
                f"{v.sha256[:12]}…); refusing to load it"
            )
        return v.path


def load_model(ref: str, store: str | None = None):
    """A model directory, or a registered model (``name``, ``name@alias``, ``name@3``; hash-verified)."""
    from mlwright.automl import load
    from mlwright.errors import ModelNotFoundError

    path = Path(ref)
    if path.exists() or "/" in ref or "\\" in ref or ref.startswith("."):
        return load(path)  # a path: its own clear error when it is not a model directory
    try:
        return Registry(store).load(ref)
    except ModelNotFoundError as exc:
        raise ModelNotFoundError(f"{exc} (and there is no model directory named {ref!r} here)") from None
