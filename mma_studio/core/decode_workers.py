"""Start a DataLoader's decode workers from a thread that Python itself made.

The workers are forked from the thread that calls `iter(loader)`. In the app that is a
QThread, which Python knows only as a "dummy" thread, from the first time code on it asks
`threading.current_thread()`; torch's loader asks right after it has started its workers.
On CPython 3.11, a process forked from a thread that has become a dummy thread exits with code
1 whatever it did: the child's `threading._shutdown` asserts on the dummy thread it takes as
its main thread. Measured on a QThread: the first loader's workers exit with 0, the second
loader's with 1. A run has a second loader whenever it encodes a second set of images.

Where torch has installed its SIGCHLD handler, it reads that 1 as a crashed worker and raises
in the main thread, in whatever the main thread is running. The handler is installed once a
loader has been iterated on the main thread, as the CLI and in-process runs do. Workers
started from a short-lived `threading.Thread` end with 0. The main thread starts its own
workers, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader


def start_loader_iterator(loader: DataLoader) -> Iterator[Any]:
    """`iter(loader)`, its worker processes forked from a Python thread (module doc)."""
    if loader.num_workers == 0 or threading.current_thread() is threading.main_thread():
        return iter(loader)
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            outcome["iterator"] = iter(loader)
        except BaseException as exc:  # raised again on the calling thread, as iter() would
            outcome["error"] = exc

    starter = threading.Thread(target=start, name="decode-workers-start", daemon=True)
    starter.start()
    starter.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["iterator"]
