"""Named write points where the fault tests kill the process, as ``kill -9`` would at that moment.

``MLWRIGHT_KILL_AT=<point>`` in the environment makes the process SIGKILL itself when it reaches that
point (nothing runs after it: no ``finally``, no ``atexit``), so a test can show that what a killed command
leaves behind is never a half entry and is cleaned up by the next command.  Unset — always, outside the
tests — each point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

__all__ = ["ENV", "POINTS", "kill_point"]

ENV = "MLWRIGHT_KILL_AT"
POINTS = (
    "fit.searched",  # the search is over, the run not yet recorded as finished
    "save.files",  # a model directory's files are written, its manifest not yet
    "register.copied",  # a registry copy is complete but not yet in place
    "register.renamed",  # the copy is in place, the version row not yet written
    "predlog.write",  # a batch of logged predictions is about to be inserted
    "feedback.write",  # inside the transaction: old labels deleted, new ones not yet inserted
    "batch.chunk",  # the first chunk of a batch scoring's output is written
    "pipeline.step",  # a pipeline step is marked running
    "outofcore.staging",  # the first block of a table larger than memory is staged on disk
)


def kill_point(name: str) -> None:
    """SIGKILL this process when ``MLWRIGHT_KILL_AT`` names ``name``."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
