"""The prediction service: FastAPI app factory (:func:`create_app`), model loading and ``serve``.

Package: the service core (:mod:`.core`), payloads, auth, protocols, hot reload, the prediction log and batch
scoring sit below ``monitoring``; :mod:`.app` (which mounts the dashboard) and this module sit above ``ui``
(see ``tests/test_layers.py``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlwright.errors import ConfigError, ServiceError
from mlwright.serving.app import ServeConfig, ServedModel, create_app

__all__ = ["ServeConfig", "ServedModel", "create_app", "load_models", "serve"]


def load_models(sources: list[str], store: str | None = None, shadows: list[str] | None = None) -> list[ServedModel]:
    """Model directories or registry references (``name``, ``name@alias``, ``name@3``) → served models.

    ``shadows``: registry references scored alongside the served model of the same name (``churn@challenger``
    next to ``churn@champion``), logged as ``<name>:shadow`` and never answered.

    A directory is served under its folder name; a registered model under its registered name.  Every
    artifact is verified (SHA-256) before it is loaded.
    """
    from mlwright.automl import load
    from mlwright.registry import parse_ref

    out: list[ServedModel] = []
    registry = None
    for src in sources:
        path = Path(src)
        if path.is_dir() and (path / "manifest.json").exists():
            out.append(ServedModel(path.name, load(path), "local", str(path.resolve())))
            continue
        if registry is None:
            from mlwright.registry import Registry

            registry = Registry(store)
        v = registry.resolve(src)
        pinned = isinstance(parse_ref(src)[1], int)
        model = registry.load(v.ref)
        out.append(ServedModel(v.name, model, str(v.version), v.ref, ref="" if pinned else src))
    names = [m.name for m in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"two served models share the name(s) {sorted(dup)}; serve each name once")
    for ref in shadows or []:  # each shadows the served model of the same name
        (shadow,) = load_models([ref], store)
        target = next((m for m in out if m.name == shadow.name), None)
        if target is None:
            raise ConfigError(f"--shadow {ref}: no served model is named {shadow.name!r}; serve {shadow.name}@champion "
                              "too (a shadow scores the requests of the model of its own name)")  # fmt: skip
        target.shadow = shadow
    return out


_SPEC_ENV = "MLWRIGHT_SERVE_SPEC"


def _app_from_env():
    """App factory of each worker process (``serve(workers=N)``): the spec travels in the environment."""
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    spec = json.loads(os.environ[_SPEC_ENV])
    cfg = ServeConfig(**spec["config"])
    _serving_process(cfg)
    log = PredictionLog(Store(spec["store"])) if spec["log"] else None
    models = load_models(spec["sources"], spec["store"], spec.get("shadows"))
    return create_app(models, cfg, log, spec["store"])


def _serving_process(cfg: ServeConfig) -> None:
    """Settings for a process that only serves: threads per prediction (see ``ServeConfig.predict_threads``)."""
    from mlwright.models._common import set_predict_threads

    set_predict_threads(cfg.predict_threads)


def serve(
    sources: list[str],
    host: str = "127.0.0.1",
    port: int = 8080,
    config: ServeConfig | None = None,
    store: str | None = None,
    log_predictions: bool = True,
    workers: int = 1,
    shadows: list[str] | None = None,
    announce: Any = None,
) -> None:
    """Load ``sources`` and serve them with uvicorn until interrupted (binds to loopback by default);
    every prediction is logged to the store unless ``log_predictions`` is False.  ``workers`` > 1 runs
    that many processes on the port (see :mod:`mlwright.serving.workers`), each with the models loaded
    and its own log writer.  ``announce()`` is called once the models are loaded, before serving starts."""
    import uvicorn

    cfg = config or ServeConfig()
    if workers > 1:
        from mlwright.serving.workers import balanced_workers_supported, run_workers

        spec = json.dumps({"sources": list(sources), "store": store, "log": log_predictions, "config": asdict(cfg),
                           "shadows": list(shadows or [])})  # fmt: skip
        load_models(sources, store, shadows)  # fail here, once, with a clear error, not in every worker
        if announce is not None:
            announce()
        if balanced_workers_supported():
            if run_workers(_SPEC_ENV, spec, host, port, workers) != 0:
                raise ServiceError("a server process failed to start; its error is in the log above")
            return
        os.environ[_SPEC_ENV] = spec
        uvicorn.run("mlwright.serving:_app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)  # fmt: skip
        return
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    _serving_process(cfg)
    log = PredictionLog(Store(store)) if log_predictions else None
    app = create_app(load_models(sources, store, shadows), cfg, log, store)
    if announce is not None:
        announce()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
