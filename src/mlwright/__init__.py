"""mlwright — an automated machine-learning engineer for tabular data."""

from __future__ import annotations

__version__ = "0.1.0"

from .automl import AutoML, load
from .budget import Budget, Snapshot
from .data.profile import profile
from .data.schema import Schema
from .data.sql import SqlSource
from .errors import MlwrightError
from .external import from_onnx, from_sklearn

__all__ = [
    "AutoML",
    "Budget",
    "MlwrightError",
    "Schema",
    "Snapshot",
    "SqlSource",
    "__version__",
    "from_onnx",
    "from_sklearn",
    "load",
    "profile",
]
