"""mlwright — an automated machine-learning engineer for tabular data."""

from __future__ import annotations

from mlwright._version import __version__
from mlwright.automl import AutoML, load
from mlwright.budget import Budget, Limits, Snapshot
from mlwright.data.profile import profile
from mlwright.data.schema import Schema
from mlwright.data.sql import SqlSource
from mlwright.errors import MlwrightError
from mlwright.external import from_onnx, from_sklearn
from mlwright.forecast import Forecaster
from mlwright.unsupervised import Anomaly, Cluster

__all__ = [
    "Anomaly",
    "AutoML",
    "Budget",
    "Cluster",
    "Forecaster",
    "Limits",
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
