"""Settings: mlwright's home directory and the search presets."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home"]

DEFAULT_FOLDS = 5
LARGE_DATA_ROWS = 200_000  # above this, a holdout split replaces k-fold


def home() -> Path:
    """Directory holding mlwright's state: ``$MLWRIGHT_HOME`` or ``~/.mlwright`` (created)."""
    path = Path(os.environ.get("MLWRIGHT_HOME", Path.home() / ".mlwright")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
