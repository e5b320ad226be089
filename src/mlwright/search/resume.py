"""Resume: ``fit`` on a workdir it already ran in continues where it stopped instead of starting over.

With ``AutoML(workdir=…)`` (``mlwright fit --workdir DIR``) every finished trial is kept in
``DIR/trials/<trial>/``: its record (``result.json``), its out-of-fold predictions (``oof.npy``) and
its fold models in their native formats — written into a temporary folder and renamed into place, so
a trial is there whole or not at all, whenever the process dies.  ``DIR/state.json`` names the run
and a key of what decides the trials: the training data's fingerprint, the target and the settings
that shape the search (task, metric, seed, families, folds, cleaning, fit options).

A later ``fit`` with the same key continues the same run (the same run id in the store, whose
trial rows are updated, never duplicated): the search plans its trials as before, and each planned
trial found in the workdir — the same number, family and parameters — is read back instead of run
(its record says ``worker: "resumed"``).  Planning is deterministic for a seed, so a run killed
mid-search replays its finished trials in moments and goes on with the rest.  A different key (other
data or settings) starts afresh: the old trials are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from mlwright.execution.trial import TrialResult

__all__ = ["TrialCache", "resume_key"]

STATE = "state.json"
TRIALS = "trials"


def resume_key(fingerprint: Any, settings: dict[str, Any]) -> str:
    """A short hash of the data's fingerprint and the settings that shape the trials."""
    blob = json.dumps({"data": fingerprint, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _same(params_a: dict[str, Any], params_b: dict[str, Any]) -> bool:
    return json.dumps(params_a, sort_keys=True, default=str) == json.dumps(params_b, sort_keys=True, default=str)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or no hard links
        shutil.copy2(src, dst)


class TrialCache:
    """Finished trials of one run, kept in its workdir (see the module docstring)."""

    def __init__(self, workdir: str | Path, key: str, run_id: str):
        self.dir = Path(workdir)
        self.trials = self.dir / TRIALS
        self.key = key
        self.resumed = False
        self.run_id = run_id
        state = self._state()
        if state is not None and state.get("key") == key and state.get("run_id"):
            self.run_id, self.resumed = state["run_id"], True
        else:
            shutil.rmtree(self.trials, ignore_errors=True)  # other data or settings: nothing to reuse
        self.trials.mkdir(parents=True, exist_ok=True)
        self._write_state("running")
        self.reused = 0

    def _state(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.dir / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write_state(self, status: str) -> None:
        tmp = self.dir / f".{STATE}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps({"key": self.key, "run_id": self.run_id, "status": status}), encoding="utf-8")
        os.replace(tmp, self.dir / STATE)

    def finish(self) -> None:
        """Mark the run finished (a later fit with the same key still reuses its trials)."""
        self._write_state("finished")

    def known(self) -> set[int]:
        """Numbers of the trials kept."""
        out = set()
        for d in self.trials.iterdir():
            with contextlib.suppress(ValueError):
                if (d / "result.json").exists():
                    out.add(int(d.name.rsplit("_", 1)[-1]))
        return out

    # ------------------------------------------------------------------ read
    def get(self, trial_id: int, name: str, family: str, params: dict[str, Any],
            spill: Path | None) -> TrialResult | None:  # fmt: skip
        """The kept result of trial ``trial_id`` if it was the same family and parameters; its fold model
        files are linked into ``spill`` (where the search keeps its candidates)."""
        d = self.trials / name
        try:
            rec = json.loads((d / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if rec.get("id") != trial_id or rec.get("family") != family or not _same(rec.get("params", {}), params):
            return None
        res = TrialResult(**{k: v for k, v in rec["result"].items() if k in TrialResult.__dataclass_fields__})
        if res.status == "ok":
            try:
                res.oof = np.load(d / "oof.npy", allow_pickle=False)
                if spill is None:
                    return None
                for s in res.spilled:
                    for f in s["files"]:
                        if not (spill / f).exists():
                            _link_or_copy(d / f, spill / f)
            except OSError:
                return None
        res.worker = "resumed"
        self.reused += 1
        return res

    # ------------------------------------------------------------------ write
    def put(self, trial_id: int, name: str, family: str, params: dict[str, Any], res: TrialResult,
            spill: Path | None) -> None:  # fmt: skip
        """Keep a finished trial (whole, or not at all)."""
        if res.status == "ok" and (spill is None or res.oof is None):
            return  # models only in memory (an inline search without spilling): nothing to keep
        tmp = self.trials / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            if res.status == "ok":
                np.save(tmp / "oof.npy", res.oof, allow_pickle=False)
                for s in res.spilled:
                    for f in s["files"]:
                        _link_or_copy(spill / f, tmp / f)
            fields = {k: v for k, v in res.__dict__.items() if k not in ("oof", "models", "blobs")}
            rec = {"id": trial_id, "name": name, "family": family, "params": params, "result": fields}
            (tmp / "result.json").write_text(json.dumps(rec, default=str), encoding="utf-8")
            final = self.trials / name
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # not kept: a resumed run would just run it again


def open_cache(automl: Any, df: Any, target: str, options: dict[str, Any], run_id: str) -> TrialCache | None:
    """The trial cache of ``automl``'s workdir (None without one); continues the run it names when the data,
    the settings and the fit ``options`` are the same (else a new run, ``run_id``)."""
    if not automl.workdir:
        return None
    from mlwright.artifacts import data_fingerprint

    params = automl.get_params()
    settings = {k: params.get(k) for k in ("task", "metric", "seed", "families", "n_folds", "cleaning")}
    settings |= {"target": target, "options": options}
    return TrialCache(automl.workdir, resume_key(data_fingerprint(df), settings), run_id)
