"""Model families that misbehave on purpose, for the executor tests: each fails in one way a real library
can (a segfault in native code, a hang, runaway memory, an exception).  Registered on import; a worker
process imports this module itself (the family's module is sent with each task)."""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

from mlwright.models import ModelFamily, register

HOG_STEP = 100_000_000  # bytes allocated (and touched) per step by the "memory" mode


class Faulty:
    def __init__(self, mode: str, task: str, n_classes: int):
        self.mode, self.task, self.n_classes = mode, task, n_classes
        self.prior = None

    def fit(self, X, y, X_val=None, y_val=None, deadline=None):
        if self.mode == "segfault":
            ctypes.string_at(0)  # reads address 0: SIGSEGV, as a crashing native library would
        elif self.mode == "hang":
            time.sleep(120)
        elif self.mode == "memory":
            hog = []
            for _ in range(30):  # at most 3 GB, then it just hangs: the limit must stop it first
                hog.append(np.ones(HOG_STEP // 8))
                time.sleep(0.02)
            time.sleep(120)
        elif self.mode == "raise":
            raise RuntimeError("this family always fails")
        elif self.mode == "exit":
            os._exit(3)
        y = np.asarray(y)
        self.prior = np.bincount(y.astype(int), minlength=self.n_classes) / len(y) if self.n_classes else y.mean()
        return self

    def predict_raw(self, X):
        n = X.shape[0]
        return np.tile(self.prior, (n, 1)) if self.n_classes else np.full(n, self.prior)

    def save(self, directory, stem):
        np.save(os.path.join(directory, f"{stem}.npy"), np.atleast_1d(self.prior))
        return [f"{stem}.npy"]

    def meta(self):
        return {"mode": self.mode}


def _load(directory, stem, meta, task, n_classes):
    m = Faulty(meta["mode"], task, n_classes)
    prior = np.load(os.path.join(directory, f"{stem}.npy"))
    m.prior = prior if n_classes else float(prior[0])
    return m


for _mode in ("segfault", "hang", "memory", "raise", "exit", "ok"):
    register(
        ModelFamily(
            key=f"faulty_{_mode}",
            name=f"Faulty ({_mode})",
            tasks=frozenset({"binary", "multiclass", "regression"}),
            style="ordinal",
            make=lambda task, params, n_classes, seed, n_jobs, metric: Faulty(params["mode"], task, n_classes),
            load=_load,
            space={},
            start={"mode": _mode},
            portfolio=[{}],
            default=False,
            refit=False,
        )
    )
