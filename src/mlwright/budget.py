"""One time budget for a whole run, and the progress-callback protocol.

A :class:`Budget` is created once (in :meth:`mlwright.AutoML.fit`) and passed down to the search
loop, every trial and every booster callback.  Nobody recomputes the deadline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Budget", "ProgressCallback", "Snapshot", "rss_bytes"]


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


def release_memory() -> None:
    """Hand freed heap memory back to the system: a garbage collection, glibc's ``malloc_trim`` and Arrow's pool.

    Freed memory otherwise stays resident (counted against ``memory_limit``) until the allocator reuses it.
    """
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
