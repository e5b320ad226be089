"""One time budget for a whole run, and the progress-callback protocol.

A :class:`Budget` is created once (in :meth:`mlwright.AutoML.fit`) and passed down to the search
loop, every trial and every booster callback.  Nobody recomputes the deadline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Budget",
    "Limits",
    "ProgressCallback",
    "Snapshot",
    "release_memory",
    "resolve_jobs",
    "rss_bytes",
    "usable_cores",
]


@dataclass
class Budget:
    """A wall-clock deadline.

    Parameters
    ----------
    seconds : float
        Total seconds allowed from creation.  ``math.inf`` means no limit.
    """

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        """Monotonic time at which the budget is spent."""
        return self.start + self.seconds

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return time.monotonic() - self.start

    def left(self) -> float:
        """Seconds left (never negative; ``inf`` for an unlimited budget)."""
        if math.isinf(self.seconds):
            return math.inf
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.left() <= 0.0


@dataclass(frozen=True)
class Limits:
    """What a fit may hold and what the model it serves may cost (``AutoML(limits=…)``).

    Parameters
    ----------
    predict_ms : float or None
        Latency limit for a one-row prediction.  After fitting, the served ensemble is measured and
        its slowest members are dropped until it fits (the estimate is recomputed); ``predict_ms_``
        holds the measured figure.
    memory : int, str or None
        Memory the fitting process may hold, e.g. ``"2GB"`` or a number of bytes.  Trials whose
        models would not fit in what the process does not already hold are recorded as failed,
        forests stop growing at that size, no trial starts once the process holds the limit, the
        ensemble keeps only members that fit together, and a file too large to hold is searched on a
        sample and fitted on all its rows out of core; ``model_bytes_`` holds the served model's size.

    Examples
    --------
    >>> Limits.from_value({"predict_ms": 2, "memory": "2GB"})
    Limits(predict_ms=2, memory='2GB')
    """

    predict_ms: float | None = None
    memory: int | str | None = None

    @classmethod
    def from_value(cls, value: Limits | dict | None) -> Limits:
        """A Limits from itself, a dict of its fields, or None (no limits).

        Raises
        ------
        ConfigError
            An unknown key, or a value that is not a positive number (``predict_ms``) or size (``memory``).
        """
        from mlwright.config import parse_bytes
        from mlwright.errors import ConfigError

        if value is None:
            return cls()
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"predict_ms", "memory"})
            if unknown:
                raise ConfigError(
                    f"limits: unknown key(s) {unknown}; use 'predict_ms' (one-row latency in ms) and 'memory' "
                    "(e.g. '2GB')"
                )
            value = cls(**value)
        if not isinstance(value, cls):
            raise ConfigError(f"limits must be a dict or a Limits, got {type(value).__name__}")
        ms = value.predict_ms
        if ms is not None and (isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 < ms < math.inf):
            raise ConfigError(f"limits: predict_ms must be a positive number of milliseconds, got {ms!r}")
        if value.memory is not None:
            parse_bytes(value.memory, "limits: memory")
        return value


@dataclass(frozen=True)
class Deadline:
    """A point in monotonic time; what booster callbacks check."""

    at: float

    def left(self) -> float:
        """Seconds until the deadline (never negative)."""
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() >= self.at


@dataclass(frozen=True)
class Snapshot:
    """An immutable progress report, sent after every trial."""

    trials_done: int
    last_model: str
    last_score: float | None
    best_model: str | None
    best_score: float | None
    metric: str
    elapsed: float
    time_left: float
    budget: float
    trial: dict | None = None  # the finished trial's record (model, family, params, status, score, error)


class ProgressCallback(Protocol):
    """Anything called with a :class:`Snapshot` after each trial."""

    def __call__(self, snapshot: Snapshot) -> None: ...  # pragma: no cover


def rss_bytes() -> int | None:
    """Resident memory of this process now (Linux ``/proc``); None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def resolve_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: itself when positive, else (-1, 0, None) every core this process may use."""
    return n_jobs if n_jobs and n_jobs > 0 else usable_cores()


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (``taskset``, a pinned container, a test worker),
    not every core of the machine, so that ``n_jobs=-1`` never starts more threads than it has cores."""
    import os

    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return counted() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def release_memory(full: bool = True) -> None:
    """Hand freed heap memory back to the system: a garbage collection, glibc's ``malloc_trim`` and Arrow's pool.

    Freed memory otherwise stays resident (counted against ``memory_limit``) until the allocator reuses it.
    ``full`` collects every generation (a quarter of a second in a process holding pandas, scikit-learn and
    a few fitted models); otherwise only the young ones, where the last piece of work's own cycles are.
    """
    import gc

    gc.collect() if full else gc.collect(1)
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass


def _load_libc():
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return None


_LIBC = _load_libc()
