"""What a clusterer and an anomaly detector share as predictors: checking request rows against the Schema,
the reference monitoring compares with, the manifest, saving, the common part of loading, the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwright.errors import NotFittedError

__all__ = ["RowsModel", "lazy"]


def lazy(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported on the first call (the report's plotting stack stays out of ``import
    mlwright``)."""

    def call(*args: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(*args)

    return call


class RowsModel:
    """The predictor protocol's shared half for models of rows without a label (see :mod:`mlwright.predictor`).

    A subclass sets ``kind`` and, when fitted, ``schema_``, ``prep_``, ``reference_data_``, ``findings_``,
    ``fit_log_``, ``n_rows_`` and ``fit_seconds_``; it names its fitted marker in ``_FITTED`` and gives
    ``_entries`` (manifest entries), ``_write`` (files) and ``_render`` (report HTML).
    """

    kind = ""
    _FITTED = ""
    _entries: Callable[[Any], dict[str, Any]]
    _write: Callable[[Any, Path], dict[str, Any]]
    _render: Callable[[Any], str]

    def _check_fitted(self) -> None:
        if not hasattr(self, self._FITTED):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(data) first")

    def validate(self, X: Any) -> pd.DataFrame:
        """Request rows checked and coerced by :attr:`schema_` (a typed, one-line error for what does not fit)."""
        self._check_fitted()
        from mlwright.unsupervised.framing import read_rows

        frame = X.frame() if hasattr(X, "frame") else read_rows(X)
        return self.schema_.validate(frame)

    def _rows(self, X: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """Request rows as validated and as the dense matrix the model measures."""
        rows = self.validate(X)
        return rows, self.prep_.transform(rows[self.schema_.features])

    @property
    def task_(self) -> str:
        """``"cluster"`` or ``"anomaly"``."""
        return self.kind

    @property
    def reference_(self) -> dict[str, Any]:
        """Monitoring's baseline: the training columns' statistics and the output's shares in training
        (clusters; flagged and normal rows), which every window's are compared with."""
        self._check_fitted()
        return self.reference_data_

    def manifest(self) -> dict[str, Any]:
        """Provenance, settings and what was chosen, as saved in ``manifest.json`` (without file hashes)."""
        self._check_fitted()
        return type(self)._entries(self)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to a model directory (every file hashed in ``manifest.json``).

        Returns
        -------
        Path
            The model directory; ``mlwright.load(path)`` reads it back.
        """
        from mlwright import artifacts

        self._check_fitted()
        return artifacts.write_dir(path, lambda tmp: type(self)._write(self, tmp))

    def report(self, path: str | Path | None = None) -> str:
        """The model's report as one self-contained HTML page (written to ``path`` when given)."""
        self._check_fitted()
        html = type(self)._render(self)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    @classmethod
    def restored(cls, manifest: dict[str, Any], parts: dict[str, Any]) -> Any:
        """A model of this kind built from its saved settings, with the fitted state every kind shares
        restored from a verified model directory's manifest and files (the kind restores the rest)."""
        from mlwright.data.findings import Finding
        from mlwright.data.schema import Schema

        model = cls(**manifest["params"])
        model.schema_ = Schema.from_dict(manifest["schema"])
        model.prep_ = parts["prep"]
        model.reference_data_ = parts["reference"]
        model.fit_log_ = list(manifest.get("fit_log", []))
        model.findings_ = [Finding(**f) for f in manifest.get("findings", [])]
        model.n_rows_ = int(manifest["n_rows"])
        model.fit_seconds_ = manifest.get("fit_seconds")
        return model
