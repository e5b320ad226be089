"""Trials on a Dask cluster (``AutoML(cluster="tcp://host:8786")``, ``mlwright fit --cluster …``).

The search's data is scattered to the workers once; each trial is one task.  A worker keeps the
preprocessed folds of the data it holds (per style and fold), as a local worker process does.  Fold
models come back as bytes (the workers' disks need not be shared) and are written to the search's
spill directory here.  A trial that outlives its time plus a grace period is given up (and its task
cancelled); a trial whose worker dies is tried on other workers up to the scheduler's
``allowed-failures`` and then fails (``KilledWorker``) — the search goes on.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from mlwright.errors import ConfigError
from mlwright.execution.trial import TrialData, TrialResult, TrialTask

__all__ = ["DaskExecutor"]

_CACHE: dict[str, TrialData] = {}  # on a worker: the data of the searches it serves, with their fold caches


def _run_on_worker(data: TrialData, key: str, task: TrialTask) -> TrialResult:
    import os
    import tempfile

    from mlwright.execution.trial import train_folds

    cached = _CACHE.get(key)
    if cached is None:  # first trial of this search on this worker: keep its fold cache for the next ones
        _CACHE.clear()
        cached = _CACHE[key] = data
    with tempfile.TemporaryDirectory(prefix="mlwright-dask-") as tmp:
        res = train_folds(cached, task, Path(tmp), blobs=True)
    res.worker = f"dask pid {os.getpid()}"
    return res


def _forget(key: str) -> None:
    _CACHE.pop(key, None)


class DaskExecutor:
    """Run trials on a ``dask.distributed`` cluster.

    Parameters
    ----------
    cluster : str or distributed.Client
        The scheduler's address (``"tcp://host:8786"``) or a connected client.
    grace : float
        Seconds a trial may run past its deadline before it is given up.
    """

    name = "dask"

    def __init__(self, cluster: Any, grace: float = 10.0):
        try:
            import distributed
        except ImportError:
            raise ConfigError("cluster=… needs Dask: pip install 'mlwright[dask]'") from None
        self._own = isinstance(cluster, str)
        self._address = cluster if isinstance(cluster, str) else None
        self.client: Any = None if isinstance(cluster, str) else cluster
        self._distributed = distributed
        self.grace = grace
        self._data: Any = None
        self._key = ""
        self._spill: Path | None = None

    def prepare(self) -> None:
        if self.client is None:
            try:
                self.client = self._distributed.Client(self._address, timeout=10)
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {self._address}: {exc}; start it "
                                  "(dask scheduler) or check the address") from None  # fmt: skip

    def start(self, data: TrialData, spill_dir: Path) -> None:
        import uuid

        self.prepare()
        self._key = uuid.uuid4().hex
        self._data = self.client.scatter(data, broadcast=True, hash=False)
        self._spill = spill_dir

    def run(self, task: TrialTask) -> TrialResult:
        t0 = time.monotonic()
        fut = self.client.submit(_run_on_worker, self._data, self._key, task, pure=False, retries=0)
        limit = task.seconds + max(self.grace, 0.25 * task.seconds) if task.seconds < float("inf") else None
        try:
            res: TrialResult = fut.result(timeout=limit)
        except self._distributed.TimeoutError:
            fut.cancel()
            return TrialResult(status="failed", error=f"given up: still running after {limit:.1f} s, over the "
                               "trial's time limit", fit_seconds=time.monotonic() - t0)  # fmt: skip
        except Exception as exc:  # KilledWorker (the worker died), a lost connection …
            return TrialResult(status="failed", error=f"the Dask task failed: {type(exc).__name__}: {exc}",
                               fit_seconds=time.monotonic() - t0)  # fmt: skip
        if res.blobs and self._spill is not None:
            for name, blob in res.blobs.items():
                (self._spill / name).write_bytes(blob)
        res.blobs = None
        return res

    def close(self) -> None:
        if self.client is not None and self._key:
            with contextlib.suppress(Exception):  # the cluster may be gone already; nothing to keep
                self.client.run(_forget, self._key)
            self._data = None
        if self._own and self.client is not None:
            self.client.close()
            self.client = None
