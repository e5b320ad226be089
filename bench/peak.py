"""Peak resident memory of this process (and its children) while a block runs, sampled every 20 ms.

with Peak() as p:
    model.fit(df)
p.mb, p.added_mb   # the peak, and how far it rose above the resident size before the block
"""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType

import psutil


class Peak:
    """Sample the resident memory of this process tree on a thread while the ``with`` block runs."""

    def __init__(self, every: float = 0.02) -> None:
        self.every = every
        self.peak = self.before = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def _rss(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> Peak:
        self.before = self.peak = self._rss()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mb(self) -> float:
        """The peak, in MB."""
        return self.peak / 1e6

    @property
    def added_mb(self) -> float:
        """How far the peak rose above the resident size before the block, in MB."""
        return (self.peak - self.before) / 1e6
