"""Named points of the ingest sequence where a test can kill the process.

A crash between two durable steps (the database commit, the archive's manifest line, the rollup
refresh, the watcher's move) is where data goes missing or totals go wrong, and such a crash is
hard to time from outside. ``REACH_CRASH_AT=commit`` makes the process kill itself with SIGKILL
the moment it passes that point, so tests/test_crash.py can run a real `reach import` or
`reach watch --once` that dies exactly there, restart it, and compare with a clean run.
``REACH_CRASH_SIGNAL=INT`` sends SIGINT instead (Ctrl-C: Python raises KeyboardInterrupt there);
``STOP`` stops the process there (SIGSTOP), for a test that kills from outside a process that
is not the one at the point: tests/test_celery.py kills a whole Celery worker, its parent
included, while its pool process stands in the middle of an import.

Unset, a point costs one dictionary look-up. The points, in the order an import passes them:
"""
from __future__ import annotations

import os
import signal
import sys

POINTS = (
    "read",      # the file's bytes are in memory; nothing else has happened
    "parse",     # read, detected and parsed; nothing written
    "write",     # the rows written inside the import's transaction, not committed
    "commit",    # the import's transaction committed; the manifest line not yet written
    "manifest",  # the manifest line written; the rollups not yet refreshed
    "refresh",   # the rollup rows computed, not yet stored
    "move",      # the watcher imported the file; it is still in .claimed/, not yet moved away
)


def point(name: str) -> None:
    """Die here when REACH_CRASH_AT names this point (a comma-separated list may name several)."""
    at = os.environ.get("REACH_CRASH_AT")
    if not at or name not in at.split(","):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    said = os.environ.get("REACH_CRASH_SIGNAL", "").upper().removeprefix("SIG")
    sig = {"INT": signal.SIGINT, "STOP": signal.SIGSTOP}.get(said, signal.SIGKILL)
    if sig == signal.SIGINT:
        # A Ctrl-C, whatever the process inherited: a parent that ignored or blocked SIGINT (a
        # test runner's worker, a shell's background job) passes that on to its children, and the
        # signal would do nothing here.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    os.kill(os.getpid(), sig)  # SIGINT: Python's handler raises KeyboardInterrupt at the next bytecode
