"""Import heavy libraries in a background thread while the window is already on screen, so
that building the pages that need them does not stall the GUI thread.

Python runs one thread at a time (the GIL), but an import is mostly bytecode, which hands the
GIL over every few milliseconds: measured, the GUI thread's 20 ms timer stays under ~40 ms
late while numpy and pyqtgraph import beside it, against a ~0.5 s stall when the GUI thread
imports them itself (issue 12 §6). Only third-party libraries are imported here, never the
app's own Qt modules (a module that made a QPixmap at import would make it in the wrong thread).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer, Signal


class ImportAhead(QObject):
    """Imports `modules` in a daemon thread once started; `when_done(callback)` runs the
    callback on the GUI thread after the imports (at once if they are already done). A failed
    import is left for the code that needs the module to raise, where it is handled."""

    finished = Signal()  # emitted from the thread: delivered queued, on the GUI thread

    def __init__(self, modules: Iterable[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._modules = tuple(modules)
        self._lock = threading.Lock()
        self._done = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="import-ahead", daemon=True)
            self._thread.start()

    def is_done(self) -> bool:
        with self._lock:
            return self._done

    def when_done(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._done:
                self.finished.connect(callback)
                return
        QTimer.singleShot(0, callback)

    def _run(self) -> None:
        for name in self._modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001, S110 - the page that needs it reports the failure
                pass
        with self._lock:
            self._done = True
            try:
                self.finished.emit()
            except RuntimeError:  # the window (this object's parent) was closed meanwhile
                pass
