"""Libraries the deferred pages need are imported beside the GUI thread, and the pages are
built on the GUI thread once they are in (issue 12 §6: no import stalls the window)."""

from __future__ import annotations

import sys
import threading

from mma_studio.ui.workers.import_ahead import ImportAhead


def test_imports_in_a_thread_then_calls_back_on_the_gui_thread(qtbot, tmp_path, monkeypatch):
    (tmp_path / "mma_import_ahead_probe.py").write_text(
        "import threading\nIMPORTED_ON = threading.current_thread().name\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mma_import_ahead_probe", raising=False)
    ahead = ImportAhead(["mma_import_ahead_probe", "mma_no_such_module_anywhere"])  # a failed import still ends
    calls = []
    ahead.when_done(lambda: calls.append(threading.current_thread() is threading.main_thread()))
    ahead.start()
    qtbot.waitUntil(lambda: bool(calls), timeout=10_000)
    assert calls == [True] and ahead.is_done()
    assert sys.modules["mma_import_ahead_probe"].IMPORTED_ON == "import-ahead"

    ahead.when_done(lambda: calls.append("late"))  # asked after the imports: called all the same, later
    assert calls == [True]
    qtbot.waitUntil(lambda: calls == [True, "late"], timeout=5_000)
