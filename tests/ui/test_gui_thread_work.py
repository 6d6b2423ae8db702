"""The GUI thread never stalls at a run's end (issue 12 §6): the project's autosave serialises
and writes the project file in a worker, in order, and an edit made during a write is saved by
the next one, not lost."""

from __future__ import annotations

import json
import threading

from mma_studio.core import project_store
from mma_studio.ui import project_controller as controller_module
from mma_studio.ui.main_window import MainWindow
from tests.ui.test_projects import dataset, fill  # noqa: F401  (the module fixture: one small run)


def test_the_timer_s_autosave_writes_in_a_worker_and_keeps_later_edits(qtbot, dataset, monkeypatch):  # noqa: F811
    home, _scan, _run = dataset
    window = MainWindow()
    qtbot.addWidget(window)
    fill(window, dataset)
    path = home / "projects" / "background.mmaproj"
    assert window.projects.save_as(path)
    window.projects._autosave.setInterval(20)
    monkeypatch.setattr(controller_module, "AUTOSAVE_DELAY_MS", 20)
    writers: list[str] = []
    release = threading.Event()
    real_write = project_store.write_project_file

    def slow_write(project, target):
        writers.append(threading.current_thread().name)
        release.wait(10)  # the write is still running while the user edits
        return real_write(project, target)

    monkeypatch.setattr(project_store, "write_project_file", slow_write)
    window.state.rename_class("sky", "clear blue sky")
    qtbot.waitUntil(lambda: len(writers) == 1, timeout=5000)
    assert writers[0] != threading.main_thread().name  # not on the GUI thread
    window.state.rename_class("sun", "bright sun")  # edited while the first write runs
    release.set()
    qtbot.waitUntil(lambda: not window.projects.dirty and len(writers) == 2, timeout=10_000)
    written = json.loads(path.read_text())
    names = written["display_names"]
    assert names["sky"] == "clear blue sky" and names["sun"] == "bright sun"
    # The worker made the run's image paths relative to the project file, as a save does.
    background_split = written["runs"][-1]["split"]
    assert window.projects.save_as(path)
    assert json.loads(path.read_text())["runs"][-1]["split"] == background_split
    assert not background_split["train"][0][0].startswith("/")
    assert window.projects.stop_and_wait(5000)
