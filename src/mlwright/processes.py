"""Whether a process that left something behind (a run, a lock, a partial copy) is still there, and the
sweep of what a killed process left: temporaries are named ``<prefix><pid>.…`` or ``<prefix><pid>-…``."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterable
from pathlib import Path

__all__ = ["HOST", "owner_pid", "process_alive", "sweep_dead"]

HOST = socket.gethostname()[:255]


def process_alive(pid: int, host: str | None = None) -> bool:
    """True when process ``pid`` of ``host`` (default: this machine) may still run: another machine's process
    cannot be seen from here, so it counts as alive."""
    if host is not None and host != HOST:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def owner_pid(name: str, prefix: str) -> int | None:
    """The pid in a name written ``<prefix><pid>.…`` or ``<prefix><pid>-…``; None for any other name."""
    m = re.match(r"(\d{1,11})[.-]", name[len(prefix) :]) if name.startswith(prefix) else None
    return int(m[1]) if m else None


def sweep_dead(paths: Iterable[Path], prefix: str) -> int:
    """Remove the files and folders among ``paths`` named ``<prefix><pid>…`` whose process is gone (a command
    killed mid-write); returns how many."""
    removed = 0
    for p in paths:
        pid = owner_pid(p.name, prefix)
        if pid is not None and not process_alive(pid):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed += 1
    return removed
