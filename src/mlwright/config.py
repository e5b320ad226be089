"""Settings: mlwright's home directory and the search presets."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["home", "parse_bytes"]

DEFAULT_FOLDS = 5
LARGE_DATA_ROWS = 200_000  # above this, a holdout split replaces k-fold


def home() -> Path:
    """Directory holding mlwright's state: ``$MLWRIGHT_HOME`` or ``~/.mlwright`` (created)."""
    path = Path(os.environ.get("MLWRIGHT_HOME", Path.home() / ".mlwright")).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from mlwright.errors import StorageError

        raise StorageError(
            f"MLWRIGHT_HOME {str(path)!r} cannot be created ({exc.strerror or exc}); "
            "set MLWRIGHT_HOME to a writable folder"
        ) from None
    return path


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_bytes(value: int | float | str, name: str = "memory_limit") -> int:
    """``"2GB"``, ``"512 MiB"``, ``1e9`` → a number of bytes.

    Raises
    ------
    ConfigError
        When the value is not a positive size.
    """
    from mlwright.errors import ConfigError

    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a size such as '2GB' or a number of bytes, got {value!r}")
    if isinstance(value, (int, float)):
        n = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _UNITS:
            raise ConfigError(
                f"{name}={value!r} is not a size; write e.g. '2GB', '500MB', '1.5GiB' or a number of bytes"
            )
        n = float(m.group(1)) * _UNITS[unit]
    if not n > 0 or n != n or n == float("inf"):
        raise ConfigError(f"{name} must be a positive size, got {value!r}")
    return int(n)
