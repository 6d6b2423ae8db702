"""Run one long engine call in a worker QThread and report back through signals.

The engine's long functions share one shape: `fn(on_progress=..., token=...)`. A
`BackgroundTask` runs such a call off the GUI thread, forwards its `Progress` reports (at a
bounded rate, so a fast scan cannot flood the event loop), and ends with exactly one of
`succeeded(result)`, `failed(message)` or `cancelled()`. Cancel sets the engine's thread-safe
`CancelToken`; nothing is ever terminated by force.
"""

from __future__ import annotations

import atexit
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from mma_studio.core.cancellation import Cancelled, CancelToken

if TYPE_CHECKING:  # the events' dataclasses cost ~4 ms of start-up; tasks only pass them through
    from mma_studio.core.events import Progress

# fn(on_progress, token) -> result
TaskFunction = Callable[[Callable[["Progress"], None], CancelToken], Any]

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress updates per second reach the GUI


class _Worker(QObject):
    progress = Signal(object)  # Progress
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, fn: TaskFunction, token: CancelToken) -> None:
        super().__init__()
        self._fn = fn
        self._token = token
        self._last_emit = 0.0
        self._lock = threading.Lock()

    def _on_progress(self, progress: Progress) -> None:
        now = time.monotonic()
        finished = progress.total is not None and progress.done >= progress.total
        with self._lock:
            if not finished and now - self._last_emit < PROGRESS_INTERVAL_S:
                return
            self._last_emit = now
        self.progress.emit(progress)

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(self._on_progress, self._token)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # every failure reaches the user as a message, never a crash
            traceback.print_exc()
            self.failed.emit(user_message(exc))
        else:
            if self._token.cancelled:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            self.done.emit()


def user_message(exc: BaseException) -> str:
    """The text a user sees for a failure: the engine's own message, else the error type."""
    text = str(exc).strip()
    if isinstance(exc, MemoryError):
        return "Out of memory. Try fewer images, a smaller batch size or a smaller model."
    return text or type(exc).__name__


class _ThreadKeeper(QObject):
    """Owns every worker thread until it has really stopped.

    Destroying a running QThread aborts the process. A page can be deleted while its task
    still runs (a window closed mid-scan, a test ending), so threads are not children of the
    task: they live here until they end, and the interpreter waits for stragglers at exit.
    """

    def __init__(self) -> None:
        super().__init__()
        self._live: dict[int, tuple[QThread, _Worker, CancelToken]] = {}

    def adopt(self, thread: QThread, worker: _Worker, token: CancelToken) -> None:
        self._live[id(thread)] = (thread, worker, token)
        key = id(thread)
        thread.finished.connect(lambda: self._release(key), Qt.ConnectionType.QueuedConnection)

    def _release(self, key: int) -> None:
        entry = self._live.pop(key, None)
        if entry is not None:
            entry[0].wait()  # finished is emitted just before the thread ends

    def live_count(self) -> int:
        return sum(1 for thread, _, _ in self._live.values() if thread.isRunning())

    def cancel_and_wait_all(self) -> None:
        for _thread, _, token in list(self._live.values()):
            token.cancel()
        for thread, _, _ in list(self._live.values()):
            thread.wait()
        self._live.clear()


_keeper = _ThreadKeeper()
atexit.register(_keeper.cancel_and_wait_all)


def running_worker_threads() -> int:
    """How many worker threads are still running (tests check that none is left behind)."""
    return _keeper.live_count()


class BackgroundTask(QObject):
    """One run of `fn` in its own QThread. Create, connect the signals, then `start()`."""

    progress = Signal(object)  # Progress
    succeeded = Signal(object)  # the function's return value
    failed = Signal(str)  # a user-facing message
    cancelled = Signal()
    finished = Signal()  # after any of the three outcomes, once the thread has stopped

    def __init__(self, fn: TaskFunction, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token = CancelToken()
        self._thread = QThread()
        self._worker = _Worker(fn, self.token)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self.progress)
        self._worker.succeeded.connect(self.succeeded)
        self._worker.failed.connect(self.failed)
        self._worker.cancelled.connect(self.cancelled)
        # quit() is thread-safe; a queued call would never run while the GUI thread blocks in wait().
        self._worker.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)
        self._running = False

    def start(self) -> None:
        self._running = True
        _keeper.adopt(self._thread, self._worker, self.token)
        self._thread.start()

    def cancel(self) -> None:
        self.token.cancel()

    def is_running(self) -> bool:
        return self._running

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the thread has stopped (a negative timeout waits for ever); True if it did."""
        if not self._thread.isRunning():
            return True
        if timeout_ms < 0:
            return self._thread.wait()
        return self._thread.wait(timeout_ms)

    def cancel_and_wait(self, timeout_ms: int = 5000) -> bool:
        self.cancel()
        return self.wait(timeout_ms)

    def _on_thread_finished(self) -> None:
        self._thread.wait()  # finished is emitted just before the thread ends: wait that instant out
        self._running = False
        self.finished.emit()
