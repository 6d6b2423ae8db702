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
    qtbot.waitUntil(lambda: len(writers) == 1, timeout=30_000)  # a worker thread: generous on a loaded machine
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


def test_a_run_s_end_records_it_without_converting_its_paths_and_keeps_its_adapter_in_a_worker(
    qtbot,
    dataset,  # noqa: F811
    monkeypatch,
):
    """The end-of-run slot once converted every split path to a relative one only to throw it
    away (0.6 s at 20,000 images); the run store finds its folder and writes in a worker."""
    from mma_studio.core import run_store, split
    from mma_studio.core.project_store import record_finished_run

    _home, _scan, run = dataset
    conversions = [0]
    real_relative = split._relative

    def counting(path, root):
        conversions[0] += 1
        return real_relative(path, root)

    monkeypatch.setattr(split, "_relative", counting)
    record = record_finished_run(run, "0" * 32)
    assert conversions[0] == 0
    assert record.split == run.split.to_dict(None)  # every path absolute, as before
    assert record.split["train"][0][0] == str(run.split.train[0].path)

    store_threads: list[str] = []
    real_init = run_store.RunStore.__init__

    def recording_init(self, *args, **kwargs):
        store_threads.append(threading.current_thread().name)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(run_store.RunStore, "__init__", recording_init)
    window = MainWindow()
    qtbot.addWidget(window)
    fill(window, dataset)  # announces the run, as the Train page does at its end
    assert window.projects.runs[-1].split == record.split
    qtbot.waitUntil(lambda: store_threads != [] and window.projects._run_tasks == [], timeout=10_000)
    assert threading.main_thread().name not in store_threads  # made (and written) off the GUI thread
    assert window.projects.stop_and_wait(5000)


def test_the_train_page_freezes_the_long_lived_heap_before_its_end_of_run_work(
    qtbot,
    dataset,  # noqa: F811
    monkeypatch,
):
    """A full garbage collection over the loaded model and data (~0.35 s) fell into the
    end-of-run slot: the page moves what is alive out of the collector's walk first."""
    from mma_studio.ui.train import train_page as train_page_module

    _home, _scan, run = dataset
    order: list[str] = []
    monkeypatch.setattr(train_page_module, "freeze_long_lived_objects", lambda: order.append("freeze"))
    window = MainWindow()
    qtbot.addWidget(window)
    page = window.ensure_train_page()
    page.runFinished.connect(lambda _run: order.append("announced"))
    page._on_succeeded(run)
    assert order == ["freeze"]  # the other pages hear of the run one event-loop turn later
    qtbot.waitUntil(lambda: order == ["freeze", "announced"], timeout=5000)
    assert page.last_run is run and window.projects.runs[-1].finished_at == run.finished_at
    assert window.projects.stop_and_wait(5000)


def test_the_end_of_a_run_is_split_over_two_turns_and_stopped_follows_the_announcement(
    qtbot,
    dataset,  # noqa: F811
):
    """The Train page shows its result in one event-loop turn, the other pages and the project
    take the run in the next (one ~100 ms slot at 20,000 images before, issue 12 §6); the
    job's end, which arrives in between, is reported after the run, as before."""
    _home, _scan, run = dataset
    window = MainWindow()
    qtbot.addWidget(window)
    page = window.ensure_train_page()
    order: list[str] = []
    page.runFinished.connect(lambda _run: order.append("announced"))
    page.trainingStopped.connect(lambda: order.append("stopped"))
    page._on_succeeded(run)
    page._on_job_finished()  # the worker's thread ended in the same batch of events
    assert page.last_run is run and order == []
    qtbot.waitUntil(lambda: order == ["announced", "stopped"], timeout=5000)
    assert window.projects.runs[-1].finished_at == run.finished_at
    assert window.projects.stop_and_wait(5000)


def test_freezing_takes_the_objects_alive_now_out_of_the_collector_s_walk():
    import gc

    from mma_studio.ui.long_lived_objects import freeze_long_lived_objects

    before = gc.get_freeze_count()
    kept = [[index] for index in range(1000)]  # tracked containers that live on
    freeze_long_lived_objects()
    try:
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()  # the test process's other objects go back to the collector
