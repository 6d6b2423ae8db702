"""Pause Python's cyclic garbage collector for a stretch of code, from any thread, nested.

`gc.disable()` and `gc.enable()` switch one process-wide flag. Two users that each disable it
and later re-enable it would end each other's pause early: a heavy import finishing on a worker
thread (`quiet_heavy_imports`) would let collection run again in the middle of the GUI thread's
walk over a list of widgets (`ui.theme`), the one place where a collection can crash the app.
Here the pauses are counted: collection resumes when the last one ends, and only if it was
enabled when the first began. Reference counting goes on freeing objects as usual; only
reference cycles wait.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cyclic collection until this and every other pause now open have ended."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
