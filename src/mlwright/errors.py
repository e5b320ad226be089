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
    ├── StorageError (OSError)                   a folder mlwright must write to is read-only, full or a file
    ├── ExportError                              a model that cannot be exported (ONNX)
    ├── ExecutionError                           why a trial stopped early (kept on the trial, not raised)
    │   ├── TrialOutOfTimeError                  its folds do not fit the time left
    │   └── TrialTooBigError                     its model does not fit the memory left
    ├── RetrainError                             retraining cannot run on what was given
    ├── PipelineError                            a pipeline file or step that cannot run
    ├── MonitoringError                          no reference or no log to monitor
    ├── ServiceError                             the service could not start
    ├── BusyError                                every scoring slot taken (429)
    ├── ScoringTimeoutError                      scoring took too long (503)
    └── CsrfError                                a dashboard form without its CSRF secret (403)
    DataError also holds: FeedbackError (422), UploadError (422), BadRequest (400: a body that is not a
    table; BodyTooLargeError and TooManyRowsError 413, UnsupportedMediaTypeError 415) and
    UnprocessableRequest (422, with a per-column report).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from sklearn.exceptions import NotFittedError as _SkNotFittedError

__all__ = [
    "ArtifactError",
    "ArtifactIntegrityError",
    "BadRequest",
    "BodyTooLargeError",
    "BudgetExhaustedError",
    "BusyError",
    "ColumnTypeError",
    "ColumnsMismatchError",
    "ConfigError",
    "CsrfError",
    "DataError",
    "DataReadError",
    "EmptyDataError",
    "ExecutionError",
    "FeedbackError",
    "MlwrightError",
    "MlwrightWarning",
    "ModelNotFoundError",
    "MonitoringError",
    "NotFittedError",
    "PipelineError",
    "RegistryError",
    "RetrainError",
    "ScoringTimeoutError",
    "ServiceError",
    "StorageError",
    "StoreError",
    "TargetError",
    "TargetNotFoundError",
    "TooManyRowsError",
    "TrialOutOfTimeError",
    "TrialTooBigError",
    "UnprocessableRequest",
    "UnsupportedFormatError",
    "UnsupportedMediaTypeError",
    "UploadError",
    "closest",
]


class MlwrightError(Exception):
    """Base of every error mlwright raises on purpose."""

    code = "mlwright_error"
    fix = "Read the message: it names what was wrong and where."
    http_status = 400

    def __str__(self) -> str:  # KeyError would repr() its message; keep it readable, and on one line
        text = str(self.args[0]) if self.args else self.__class__.__name__
        return " ".join(text.split()) if "\n" in text else text


class MlwrightWarning(UserWarning):
    """Every warning mlwright gives on purpose (a ``UserWarning``: ``pytest.warns(UserWarning)`` still
    matches).  The CLI prints these; other libraries' warnings go to its log unless ``--verbose``."""


class ConfigError(MlwrightError, ValueError):
    """A parameter has a value mlwright does not accept."""

    code = "config_error"
    fix = "Change the parameter or option the message names to one of the values it lists."


class ExportError(MlwrightError):
    """A part of the model has no form in the requested export format (the message names it)."""

    code = "not_exportable"
    fix = "Fit with AutoML(families=ONNX_FAMILIES) (`mlwright fit --onnx`), or serve the model with mlwright instead."


class DataError(MlwrightError, ValueError):
    """The data cannot be used as given."""

    code = "data_error"
    fix = "Fix the data as the message says; nothing was stored."
    http_status = 422


class DataReadError(DataError):
    """A file could not be read or parsed."""

    code = "data_read_error"
    fix = "Save the file as UTF-8 CSV/TSV or Parquet, with one header row; check it opens in pandas."


class UnsupportedFormatError(DataError):
    """The file's extension is not one mlwright reads."""

    code = "unsupported_format"
    fix = "Give a .csv, .tsv, .parquet file (or a Parquet directory), or a DataFrame."


class EmptyDataError(DataError):
    """The data has no rows, or no usable feature columns."""

    code = "empty_data"
    fix = "Give rows, and at least one column besides the target that is not empty, constant or an ID."


class TargetError(DataError):
    """The target column cannot be learned from (one class, all missing, wrong task...)."""

    code = "target_error"
    fix = "Check the target: at least two classes (or varying numbers), labelled rows, the task you meant."


class ColumnsMismatchError(DataError):
    """Data to score lacks columns the model was trained with."""

    code = "columns_mismatch"
    fix = "Send every column the model was trained on (missing values are allowed); `mlwright info MODEL` lists them."


class ColumnTypeError(DataError, TypeError):
    """A column holds values of a type the model cannot use."""

    code = "column_type"
    fix = "Send values of the column's training type (numbers as numbers, dates as ISO text)."


class TargetNotFoundError(MlwrightError, KeyError):
    """The target column is not among the data's columns."""

    code = "target_not_found"
    fix = "Name the target as it is spelled in the data (the message suggests the closest column)."
    http_status = 422


class NotFittedError(MlwrightError, _SkNotFittedError):  # type: ignore[misc]
    """The estimator has not been fitted yet."""

    code = "not_fitted"
    fix = "Call fit(...) first, or load a saved model with mlwright.load(path)."
    http_status = 409


class BudgetExhaustedError(MlwrightError, TimeoutError):
    """The time budget ran out before any model finished."""

    code = "budget_exhausted"
    fix = "Raise time_budget (or --time-budget), lower n_folds, or give fewer rows or families."
    http_status = 503


class ArtifactError(MlwrightError, ValueError):
    """A model directory is not a valid mlwright artifact."""

    code = "artifact_error"
    fix = "Load a directory written by mlwright's save(), `mlwright fit --out` or the registry."
    http_status = 500


class ArtifactIntegrityError(ArtifactError):
    """A model file is missing or its SHA-256 does not match the manifest."""

    code = "artifact_integrity"
    fix = "The model's files changed after it was saved: save or register it again from its source."


class ModelNotFoundError(MlwrightError, LookupError):
    """No registered model, version or alias by that name."""

    code = "model_not_found"
    fix = "Check the name, version or alias with `mlwright models list`."
    http_status = 404


class RegistryError(MlwrightError, ValueError):
    """A registry operation that cannot be done as asked (bad name, archived version, no previous champion)."""

    code = "registry_error"
    fix = "Do what the message says (another name, an active version, a previous champion to roll back to)."
    http_status = 409


class StoreError(MlwrightError, RuntimeError):
    """The store's database cannot be reached, migrated or written."""

    code = "store_error"
    fix = "Check MLWRIGHT_STORE_URL / --store: the database must be reachable and writable."
    http_status = 503


class StorageError(MlwrightError, OSError):
    """A folder mlwright must write to cannot be written (read-only, full, or a file in the way)."""

    code = "storage_error"
    fix = "Point the folder (MLWRIGHT_HOME, --workdir, --out) at a writable place with free space."
    http_status = 507


class ExecutionError(MlwrightError):
    """Base of the reasons a trial stops early (recorded on the trial, never raised to the user)."""

    code = "trial_stopped"
    fix = "Nothing to do: the search recorded why the trial stopped and went on."


class TrialOutOfTimeError(ExecutionError):
    """A trial that cannot finish its folds in the time it was given."""

    code = "trial_out_of_time"
    fix = "Nothing to do, or give a larger time_budget for slower families to finish."


class TrialTooBigError(ExecutionError):
    """A model larger than the memory ``limits={"memory": …}`` leaves for it."""

    code = "trial_too_big"
    fix = "Nothing to do, or raise limits={'memory': …} for larger models."


class RetrainError(MlwrightError):
    """Retraining cannot run on what was given."""

    code = "retrain_error"
    fix = "Give at least 20 labelled rows with the champion's target and classes (new classes: fit a new model)."


class PipelineError(MlwrightError):
    """A pipeline cannot run (bad file, busy, a step failed)."""

    code = "pipeline_error"
    fix = "Fix the pipeline file or the failed step the message names; `mlwright pipeline runs` shows each step's log."


class MonitoringError(MlwrightError):
    """Monitoring cannot run on what was asked (no reference, no log)."""

    code = "monitoring_error"
    fix = "Serve the model and send requests first (the log is empty), or pick a reference period that has traffic."


class FeedbackError(DataError):
    """Feedback that cannot be stored (HTTP 422), with what is wrong per item."""

    code = "invalid_feedback"
    fix = "Send prediction_id/actual items for this model's own logged predictions, actuals among its classes."
    http_status = 422

    def __init__(self, message: str, problems: dict[str, str] | None = None):
        super().__init__(message)
        self.columns = problems or {}


class ServiceError(MlwrightError):
    """The service could not run."""

    code = "service_failed"
    fix = "Read the message (a port in use, a model that does not load) and start the service again."


class BadRequest(DataError):
    """The body cannot be read as a table (HTTP 400)."""

    code = "bad_request"
    fix = "Send JSON records/columns or CSV with a header row."
    http_status = 400


class UnprocessableRequest(DataError):
    """The body is a table, but not one the model can score (HTTP 422, with a per-column report)."""

    code = "invalid_columns"
    fix = "Fix the columns named in the answer's `columns` report."
    http_status = 422

    def __init__(self, message: str, columns: dict[str, str]):
        super().__init__(message)
        self.columns = columns


class BodyTooLargeError(BadRequest):
    """A request body over the service's byte limit (HTTP 413)."""

    code = "body_too_large"
    fix = "Send fewer rows per request, or raise the service's limit (ServeConfig.max_body_bytes)."
    http_status = 413

    def __init__(self, size: int):
        super().__init__(f"the body ({size:,} bytes) is larger than this service accepts; send fewer rows per request")


class TooManyRowsError(BadRequest):
    """A request with more rows than the service's row limit (HTTP 413)."""

    code = "too_many_rows"
    fix = "Split the batch, or raise the service's limit (ServeConfig.max_rows); use `mlwright predict` for files."
    http_status = 413

    def __init__(self, n: int, limit: int):
        super().__init__(f"{n:,} rows in one request; the limit is {limit:,}: split the batch")


class UnsupportedMediaTypeError(BadRequest):
    """A body in a content type the service does not read (HTTP 415)."""

    code = "unsupported_media_type"
    fix = "Send Content-Type: application/json or text/csv."
    http_status = 415

    def __init__(self, ctype: str):
        super().__init__(f"content type {ctype!r} is not accepted; send application/json or text/csv")


class BusyError(MlwrightError):
    """Every scoring slot is taken (HTTP 429)."""

    code = "busy"
    fix = "Retry after the Retry-After seconds, or run more workers (`mlwright serve --workers N`)."
    http_status = 429

    def __init__(self, cap: int):
        super().__init__(f"{cap} requests are being scored; retry shortly")


class ScoringTimeoutError(MlwrightError):
    """Scoring one request took longer than the service allows (HTTP 503)."""

    code = "timeout"
    fix = "Send fewer rows per request."
    http_status = 503

    def __init__(self, seconds: float):
        super().__init__(f"scoring took longer than {seconds:g} s; send fewer rows per request")


class UploadError(DataError):
    """An uploaded table that cannot be used (dashboard, HTTP 422)."""

    code = "invalid_upload"
    fix = "Upload a CSV, TSV or Parquet file with a header row and at least one data row."
    http_status = 422


class CsrfError(MlwrightError):
    """A form posted without this session's CSRF secret (dashboard, HTTP 403)."""

    code = "csrf_failed"
    fix = "Reload the page and submit the form again (the session may have expired: log in again)."
    http_status = 403


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
