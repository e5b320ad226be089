"""Hot swap: a served registry alias (``name@champion``, or a bare ``name``) follows the registry.

A background task asks the registry every ``reload_seconds`` which version the reference now names.
When it moved, the new version is loaded in a worker thread — its manifest checked against the recorded
SHA-256, every file against the manifest — while the old one keeps answering; then the served entry is
replaced in one assignment.  A request already scoring holds its own reference to the old model and
finishes with it, so nothing is dropped.  A version that fails to load (tampered or missing artifact,
archived, unreadable) is refused: the old one keeps serving, the failure is counted in ``/metrics``
(``mlwright_model_reloads{outcome="refused"}``) and logged once, and it is not retried until the
reference moves again.  ``POST /v1/models/{name}/reload`` (token required) checks at once.

A shadow (``--shadow churn@challenger``) follows its alias the same way, under the key
``<name>:shadow``: a retrain that registers a new challenger is shadowed from the next check on, and
swapping the served model keeps its shadow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from mlwright.errors import MlwrightError

__all__ = ["Reloader"]

log = logging.getLogger("mlwright.serving")


@dataclass
class _Refused:
    version: int
    reason: str


class Reloader:
    """Keeps the served versions of registry references in step with their aliases.

    Parameters
    ----------
    core : Core
        The app's shared state; ``core.models`` is updated in place.
    store : str, optional
        The registry's store URL (None: the default store).
    interval : float
        Seconds between checks (0: only on ``POST …/reload``).
    """

    def __init__(self, core: Any, store: str | None = None, interval: float = 5.0):
        from prometheus_client import Counter

        self.core, self.store, self.interval = core, store, interval
        self._registry = None
        self._refused: dict[str, _Refused] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self.swaps = Counter("mlwright_model_reloads", "alias changes acted on", ["model", "outcome"],
                             registry=core.metrics.registry)  # fmt: skip

    def watched(self) -> list[str]:
        """Names of the served models (and ``<name>:shadow`` of shadows) that follow a registry reference."""
        out = [n for n, m in self.core.models.items() if m.ref]
        return out + [f"{n}:shadow" for n, m in self.core.models.items() if m.shadow is not None and m.shadow.ref]

    def _served(self, key: str):
        base, _, shadow = key.partition(":")
        return self.core.models[base].shadow if shadow else self.core.models[base]

    def _put(self, key: str, new) -> None:
        base, _, shadow = key.partition(":")
        if shadow:
            self.core.models[base].shadow = new
        else:  # the served model's shadow stays with it
            new.shadow = self.core.models[base].shadow
            self.core.models[base] = new

    def registry(self):
        if self._registry is None:
            from mlwright.registry import Registry

            self._registry = Registry(self.store)
        return self._registry

    # ---------------------------------------------------------------- checking
    def _target(self, ref: str):
        return self.registry().resolve(ref)

    def _load(self, version_ref: str):
        return self.registry().load(version_ref)

    async def check(self, name: str) -> dict[str, Any]:
        """Compare ``name``'s served version with what its reference names now; swap when it moved.

        ``name``: a served model's name, or ``<name>:shadow`` for its shadow.
        Returns ``{"model", "version", "changed", "refused"?}``.
        """
        from mlwright.serving.core import ServedModel

        async with self._lock:
            served = self._served(name)
            if served is None or not served.ref:
                return {"model": name, "version": served.version if served else None, "changed": False}
            try:
                target = await run_in_threadpool(self._target, served.ref)
            except MlwrightError as exc:  # alias removed, store unreachable: keep serving what we have
                return self._refuse(name, served, None, str(exc))
            if str(target.version) == served.version:
                self._refused.pop(name, None)
                return {"model": name, "version": served.version, "changed": False}
            known = self._refused.get(name)
            if known is not None and known.version == target.version:
                return {"model": name, "version": served.version, "changed": False,
                        "refused": {"version": target.version, "reason": known.reason}}  # fmt: skip
            t0 = time.perf_counter()
            try:
                model = await run_in_threadpool(self._load, target.ref)
            except MlwrightError as exc:
                return self._refuse(name, served, target.version, str(exc))
            except Exception as exc:  # an unreadable artifact must never take the service down
                return self._refuse(name, served, target.version, f"{type(exc).__name__}: {exc}")
            self._put(name, ServedModel(served.name, model, str(target.version), target.ref, ref=served.ref))
            self._refused.pop(name, None)
            self.swaps.labels(name, "swapped").inc()
            log.warning("%s: now serving version %s (was %s; loaded in %.1f s)",
                        name, target.version, served.version, time.perf_counter() - t0)  # fmt: skip
            return {"model": name, "version": str(target.version), "changed": True, "previous": served.version}

    def _refuse(self, name: str, served, version: int | None, reason: str) -> dict[str, Any]:
        if version is not None:
            self._refused[name] = _Refused(version, reason)
        self.swaps.labels(name, "refused").inc()
        log.error("%s: keeping version %s; could not switch to %s: %s", name, served.version,
                  version if version is not None else served.ref, reason)  # fmt: skip
        return {"model": name, "version": served.version, "changed": False,
                "refused": {"version": version, "reason": reason}}  # fmt: skip

    # ---------------------------------------------------------------- background loop
    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            for name in self.watched():
                try:
                    await self.check(name)
                except Exception:  # never let the watcher die silently
                    log.exception("%s: checking the registry failed", name)

    def start(self) -> None:
        """Start the periodic check (when there is something to watch and an interval)."""
        if self.interval > 0 and self.watched() and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Cancel the periodic check."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
