"""The exception tree of mlwright.

Every error mlwright raises on purpose derives from :class:`MlwrightError` and also from the builtin
exception a Python user would expect (``ValueError``, ``KeyError``, ``FileNotFoundError`` ...), so
``except ValueError`` keeps working.  Each class carries a short ``code`` that the CLI prints and the
service maps to an HTTP status.  Messages say what was wrong, where, and how to fix it.

Tree::

    MlwrightError
    ├── ConfigError (ValueError)                 bad parameter value, unknown metric/family/task
    ├── DataError (ValueError)                   the data cannot be used as given
    │   ├── DataReadError                        unreadable / non-UTF-8 / malformed file
    │   ├── UnsupportedFormatError               file extension we cannot read
    │   ├── EmptyDataError                       no rows or no usable columns
    │   ├── TargetError                          target unusable (one class, all missing, ...)
    │   ├── ColumnsMismatchError                 predict data lacks columns the model needs
    │   └── ColumnTypeError (also TypeError)     a column has values of the wrong type
    ├── TargetNotFoundError (KeyError)           the target column is not in the data
    ├── NotFittedError (sklearn's: ValueError, AttributeError)  predict/save before fit
    ├── BudgetExhaustedError (TimeoutError)      no model could be trained within the budget
    ├── ArtifactError (ValueError)
    │   └── ArtifactIntegrityError               tampered/missing file, hash mismatch
    ├── ModelNotFoundError (LookupError)         no such registered model, version or alias
    ├── RegistryError (ValueError)               a registry operation that cannot be done (bad name, …)
    ├── StoreError (RuntimeError)                the database cannot be reached or written
    └── StorageError (OSError)                   a folder mlwright must write to is read-only, full or a file
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from sklearn.exceptions import NotFittedError as _SkNotFittedError

__all__ = [
    "ArtifactError",
    "ArtifactIntegrityError",
    "BudgetExhaustedError",
    "ColumnTypeError",
    "ColumnsMismatchError",
    "ConfigError",
    "DataError",
    "DataReadError",
    "EmptyDataError",
    "MlwrightError",
    "ModelNotFoundError",
    "NotFittedError",
    "RegistryError",
    "StorageError",
    "StoreError",
    "TargetError",
    "TargetNotFoundError",
    "UnsupportedFormatError",
    "closest",
]


class MlwrightError(Exception):
    """Base of every error mlwright raises on purpose."""

    code = "mlwright_error"
    http_status = 400

    def __str__(self) -> str:  # KeyError would repr() its message; keep it readable, and on one line
        text = str(self.args[0]) if self.args else self.__class__.__name__
        return " ".join(text.split()) if "\n" in text else text


class ConfigError(MlwrightError, ValueError):
    """A parameter has a value mlwright does not accept."""

    code = "config_error"


class ExportError(MlwrightError):
    """A part of the model has no form in the requested export format (the message names it)."""

    code = "not_exportable"


class DataError(MlwrightError, ValueError):
    """The data cannot be used as given."""

    code = "data_error"
    http_status = 422


class DataReadError(DataError):
    """A file could not be read or parsed."""

    code = "data_read_error"


class UnsupportedFormatError(DataError):
    """The file's extension is not one mlwright reads."""

    code = "unsupported_format"


class EmptyDataError(DataError):
    """The data has no rows, or no usable feature columns."""

    code = "empty_data"


class TargetError(DataError):
    """The target column cannot be learned from (one class, all missing, wrong task...)."""

    code = "target_error"


class ColumnsMismatchError(DataError):
    """Data to score lacks columns the model was trained with."""

    code = "columns_mismatch"


class ColumnTypeError(DataError, TypeError):
    """A column holds values of a type the model cannot use."""

    code = "column_type"


class TargetNotFoundError(MlwrightError, KeyError):
    """The target column is not among the data's columns."""

    code = "target_not_found"
    http_status = 422


class NotFittedError(MlwrightError, _SkNotFittedError):
    """The estimator has not been fitted yet."""

    code = "not_fitted"
    http_status = 409


class BudgetExhaustedError(MlwrightError, TimeoutError):
    """The time budget ran out before any model finished."""

    code = "budget_exhausted"
    http_status = 503


class ArtifactError(MlwrightError, ValueError):
    """A model directory is not a valid mlwright artifact."""

    code = "artifact_error"
    http_status = 500


class ArtifactIntegrityError(ArtifactError):
    """A model file is missing or its SHA-256 does not match the manifest."""

    code = "artifact_integrity"


class ModelNotFoundError(MlwrightError, LookupError):
    """No registered model, version or alias by that name."""

    code = "model_not_found"
    http_status = 404


class RegistryError(MlwrightError, ValueError):
    """A registry operation that cannot be done as asked (bad name, archived version, no previous champion)."""

    code = "registry_error"
    http_status = 409


class StoreError(MlwrightError, RuntimeError):
    """The store's database cannot be reached, migrated or written."""

    code = "store_error"
    http_status = 503


class StorageError(MlwrightError, OSError):
    """A folder mlwright must write to cannot be written (read-only, full, or a file in the way)."""

    code = "storage_error"
    http_status = 507


def writable_dir(path: str | Path, what: str, fix: str) -> Path:
    """``path`` as a folder mlwright can write to (created when missing), else a :class:`StorageError`
    naming ``what`` it is and ``fix``: checked before long work starts, so no result is lost at the end."""
    import os
    import tempfile

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise StorageError(f"{what} {str(p)!r} is a file, not a folder; {fix}")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=p, prefix=".mlwright-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StorageError(f"{what} {str(p)!r} cannot be written ({exc.strerror or exc}); {fix}") from None
    return p


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` candidates that look like ``name`` (case-insensitive first)."""
    name = str(name)
    cands = [str(c) for c in candidates]
    lower = {c.lower(): c for c in cands}
    out = [lower[name.lower()]] if name.lower() in lower and lower[name.lower()] != name else []
    for m in difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6):
        if lower[m] not in out:
            out.append(lower[m])
    return out[:n]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Format a " (did you mean 'x'?)" hint, or an empty string."""
    near = closest(name, candidates)
    if not near:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in near) + "?)"
