"""Projects through the main window: save and reopen (data, split, names, backbone, settings,
runs and curves), relative paths, autosave (debounced, atomic, unnamed projects kept), the
recent list, the title, and files that cannot be opened."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from mma_studio.ui import project_controller as controller_module
from mma_studio.ui.app import APP_NAME
from mma_studio.ui.app_state import BackboneSelection
from mma_studio.ui.main_window import MainWindow
from mma_studio.ui.project_controller import autosave_folder, recent_projects
from tests.training_helpers import RANDOM_BACKBONE, fast_values
from tests.ui.trained_run import train_small_run

CLASSES = ["apple", "leaf", "sky", "sun", "grape"]
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A colour dataset and one finished mma-tiny run on it with 'sun' moved to the new classes."""
    home = tmp_path_factory.mktemp("project-home")
    scan, run = train_small_run(
        home,
        classes=CLASSES,
        per_class=5,
        epochs=4,
        val_per_class=1,
        base_classes=["apple", "grape", "leaf"],
        new_classes=["sky", "sun"],
        display_names={"leaf": "green leaf"},
    )
    return home, scan, run


@pytest.fixture
def window_factory(qtbot):
    windows = []

    def build() -> MainWindow:
        window = MainWindow()
        qtbot.addWidget(window)
        window.resize(1180, 780)
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.projects.stop_and_wait(5000)


def fill(window: MainWindow, dataset) -> None:
    """The state a user builds on the Data and Train pages: data, split, a rename, model, settings."""
    _home, scan, run = dataset
    window.state.set_scan(scan, ["apple", "grape", "leaf"], ["sky", "sun"])
    window.state.rename_class("leaf", "green leaf")
    model, tag, label = RANDOM_BACKBONE
    window.state.set_backbone(BackboneSelection(model, tag, label, is_random=True))
    window.train_page.settings.ensure_loaded()
    window.train_page.settings.set_values(fast_values(epochs=7, shots=3, val_per_class=1))
    window.train_page.runFinished.emit(run)


def open_and_wait(qtbot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.projects.projectOpened, timeout=WAIT_MS):
        assert window.projects.open_project(path)


def test_save_and_reopen_restores_data_split_names_settings_and_the_last_runs_curves(qtbot, window_factory, dataset):
    home, scan, run = dataset
    first = window_factory()
    fill(first, dataset)
    path = home / "projects" / "colours.mmaproj"
    assert first.projects.save_as(path)
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["data_root"] == "../data"  # relative to the project file
    assert stored["runs"][0]["split"]["train"][0][0].startswith("../data/")
    assert stored["runs"][0]["summary"]["adapted"].keys() >= {"base", "new", "hm"}
    assert first.windowTitle() == f"colours[*] — {APP_NAME}" and not first.isWindowModified()

    second = window_factory()
    open_and_wait(qtbot, second, path)
    data = second.state.data
    assert data.scan.class_names == scan.class_names and data.scan.image_count == scan.image_count
    assert (data.base_classes, data.new_classes) == (["apple", "grape", "leaf"], ["sky", "sun"])
    assert second.state.display_name("leaf") == "green leaf"
    assert second.state.backbone.pretrained == RANDOM_BACKBONE[1] and second.state.backbone.is_random
    values = second.train_page.settings.values()
    assert (values["shots"], values["training"]["epochs"], values["val_per_class"]) == (3, 7, 1)
    plots = second.train_page.plots
    assert plots.point_count == len(run.history)
    assert plots.drawn_point_count() == len(run.history)
    assert plots._zero_shot["val"] == pytest.approx(100 * run.zero_shot_event.val_acc)
    assert second.projects.runs[0].summary["best_epoch"] == run.best_epoch
    assert Path(second.projects.runs[0].split["train"][0][0]).is_absolute()
    assert second.windowTitle() == f"colours[*] — {APP_NAME}" and not second.isWindowModified()
    assert not second.projects.dirty and not second.state.busy


def test_a_project_moved_with_its_data_still_opens(qtbot, window_factory, dataset, tmp_path):
    home, scan, _run = dataset
    first = window_factory()
    fill(first, dataset)
    assert first.projects.save_as(home / "projects" / "moving.mmaproj")
    moved = tmp_path / "elsewhere"
    shutil.copytree(home / "data", moved / "data")
    (moved / "projects").mkdir()
    shutil.copy(home / "projects" / "moving.mmaproj", moved / "projects" / "moving.mmaproj")
    second = window_factory()
    open_and_wait(qtbot, second, moved / "projects" / "moving.mmaproj")
    assert Path(second.state.data.scan.root).resolve() == (moved / "data").resolve()
    assert second.state.data.scan.class_names == scan.class_names
    split = second.projects.runs[0].split
    assert all(Path(p).is_relative_to(moved) for p, _ in split["train"])


def test_changes_are_autosaved_after_a_pause_atomically(qtbot, window_factory, dataset, monkeypatch):
    home, _scan, _run = dataset
    window = window_factory()
    fill(window, dataset)
    path = home / "projects" / "autosave.mmaproj"
    assert window.projects.save_as(path)
    monkeypatch.setattr(controller_module, "AUTOSAVE_DELAY_MS", 50)
    window.projects._autosave.setInterval(50)
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spying_replace(src, dst, *args, **kwargs):
        replaced.append((str(src), str(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", spying_replace)
    window.train_page.settings.set_values({"training": {"epochs": 8}})
    assert window.projects.dirty and window.isWindowModified()  # the title marks unsaved changes
    window.train_page.settings.set_values({"training": {"epochs": 7}})  # changed back: clean again
    assert not window.projects.dirty and not window.isWindowModified()
    window.state.rename_class("sky", "clear blue sky")
    assert window.projects.dirty
    qtbot.waitUntil(lambda: not window.projects.dirty, timeout=WAIT_MS)  # written in a worker
    assert json.loads(path.read_text())["display_names"]["sky"] == "clear blue sky"
    assert replaced and replaced[-1][1] == str(path)
    assert Path(replaced[-1][0]).parent == path.parent and Path(replaced[-1][0]) != path  # temp file beside it
    assert not window.isWindowModified()
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"] == []

    # A failed write (full disk) keeps the previous file whole and says so.
    before = path.read_bytes()

    def failing_replace(src, dst, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    window.state.rename_class("sun", "bright sun")
    qtbot.waitUntil(lambda: bool(window.projects.last_error), timeout=WAIT_MS)
    assert path.read_bytes() == before and "No space left" in window.projects.last_error
    assert window.projects.dirty


def test_an_unnamed_project_is_kept_in_autosaved_and_save_as_gives_it_a_home(qtbot, window_factory, dataset):
    home, _scan, _run = dataset
    window = window_factory()
    window.projects._autosave.setInterval(30)
    assert window.projects.path is None
    fill(window, dataset)
    # The file exists as soon as the worker has renamed it into place; the project takes note
    # (clean again, the recent list) when the worker's result reaches the GUI thread: wait for that.
    qtbot.waitUntil(
        lambda: window.projects.path is not None and window.projects.path.exists() and not window.projects.dirty,
        timeout=WAIT_MS,
    )
    autosaved = window.projects.path
    assert autosaved.parent == autosave_folder() and autosaved in recent_projects()
    assert window.windowTitle() == f"data — {APP_NAME}"  # no name of its own yet: the dataset's
    target = home / "projects" / "named.mmaproj"
    window.projects.ask_save_path = lambda suggestion: str(target)
    assert window.projects.save()
    assert not autosaved.exists() and autosaved not in recent_projects()
    assert window.projects.path == target and window.windowTitle().startswith("named[*]")


def test_recent_projects_newest_first_and_the_menu_opens_them(qtbot, window_factory, dataset):
    home, _scan, _run = dataset
    window = window_factory()
    fill(window, dataset)
    first, second = home / "projects" / "one.mmaproj", home / "projects" / "two.mmaproj"
    assert window.projects.save_as(first) and window.projects.save_as(second)
    assert recent_projects()[:2] == [second, first]
    QSettings().setValue(controller_module.RECENT_PROJECTS_KEY, [str(second), str(home / "gone.mmaproj"), str(first)])
    assert recent_projects() == [second, first]  # files that no longer exist are left out
    menu = window.projects.recent_menu
    menu.aboutToShow.emit()
    entries = [a for a in menu.actions() if a.text() and a.isEnabled() and "one" in a.text()]
    assert entries and str(first) == entries[0].toolTip()
    other = window_factory()
    other.projects.recent_menu.aboutToShow.emit()
    action = next(a for a in other.projects.recent_menu.actions() if a.toolTip() == str(first))
    with qtbot.waitSignal(other.projects.projectOpened, timeout=WAIT_MS):
        action.trigger()
    assert other.projects.path == first and other.state.data.scan is not None


def test_runs_dialog_lists_each_run_with_its_figures(qtbot, window_factory, dataset):
    _home, _scan, run = dataset
    window = window_factory()
    fill(window, dataset)
    window.train_page.runFinished.emit(run)
    dialog = window.projects.show_runs()
    assert dialog.table.rowCount() == 2
    base = dialog.table.item(0, 3).text()
    assert "→" in base and f"{100 * run.adapted.base_acc:.1f}" in base
    assert dialog.table.item(0, 6).text() == "not exported"
    dialog.table.selectRow(1)
    window.train_page.plots.reset()
    dialog.curves_button.click()
    assert window.train_page.plots.point_count == len(run.history) and window.current_page() is window.train_page
    assert not dialog.demo_button.isEnabled()  # not exported yet
    dialog.close()

    # Once exported, the project remembers the file (relative to it) and the run opens in the Demo.
    home, _scan, _run = dataset
    adapter = run.save(home / "exports" / "colours.safetensors")
    window.projects.note_export(run, adapter)
    path = home / "projects" / "exported.mmaproj"
    assert window.projects.save_as(path)
    assert json.loads(path.read_text())["runs"][-1]["adapter_file"] == "../exports/colours.safetensors"
    dialog = window.projects.show_runs()
    assert dialog.table.item(0, 6).text() == str(adapter)
    dialog.demo_button.click()
    qtbot.waitUntil(
        lambda: window.demo_page.model is not None and window.demo_page.model.path == adapter, timeout=WAIT_MS
    )
    assert window.current_page() is window.demo_page


def test_files_that_cannot_be_opened_leave_the_window_as_it_was(qtbot, window_factory, dataset, tmp_path):
    home, scan, _run = dataset
    window = window_factory()
    fill(window, dataset)
    for name, content in (("garbage.mmaproj", b"{not json"), ("other.mmaproj", b'{"format": "something-else"}')):
        (tmp_path / name).write_bytes(content)
        with qtbot.waitSignal(window.projects.projectOpenFailed, timeout=WAIT_MS):
            assert window.projects.open_project(tmp_path / name)  # read in a worker, refused there
        assert name in window.projects.last_error
        assert window.state.data.scan is scan and window.projects.path is None

    # Data that moved away: the project still opens, without data, and says what is missing.
    missing = tmp_path / "missing.mmaproj"
    window.projects.save_as(missing)
    stored = json.loads(missing.read_text())
    stored["data_root"] = "no-such-folder"
    missing.write_text(json.dumps(stored))
    other = window_factory()
    messages = []
    other.projects.statusMessage.connect(lambda text, _ms: messages.append(text))
    open_and_wait(qtbot, other, missing)
    assert other.state.data.scan is None and "no-such-folder" in messages[-1]
    assert len(other.projects.runs) == 1 and other.train_page.plots.point_count > 0


def test_new_project_starts_empty(qtbot, window_factory, dataset):
    home, _scan, _run = dataset
    window = window_factory()
    fill(window, dataset)
    assert window.projects.save_as(home / "projects" / "before-new.mmaproj")
    assert window.projects.new_project()
    assert window.state.data.scan is None and window.projects.runs == [] and window.projects.path is None
    assert window.windowTitle() == APP_NAME and window.train_page.plots.point_count == 0


def test_reopening_shows_the_last_run_on_the_evaluate_and_demo_pages_again(qtbot, window_factory, dataset):
    from PySide6.QtCore import Qt

    from mma_studio.core.run_store import RunStore

    home, _scan, run = dataset
    first = window_factory()
    fill(first, dataset)
    qtbot.waitUntil(lambda: not first.projects._run_tasks, timeout=WAIT_MS)  # its adapter is kept
    record = first.projects.runs[-1]
    assert RunStore().has(record.run_id)
    path = home / "projects" / "shown-again.mmaproj"
    assert first.projects.save_as(path)
    assert json.loads(path.read_text(encoding="utf-8"))["runs"][-1]["run_id"] == record.run_id

    second = window_factory()
    assert second.evaluate_page is not None and not second.evaluate_page.has_run()
    open_and_wait(qtbot, second, path)
    qtbot.waitUntil(lambda: second.evaluate_page.has_run(), timeout=WAIT_MS)
    restored = second.evaluate_page.run
    assert restored is not run and restored.finished_at == run.finished_at
    assert restored.adapted.headline() == run.adapted.headline()
    assert restored.zero_shot.headline() == run.zero_shot.headline()
    assert second.evaluate_page.tiles.texts() == first.evaluate_page.tiles.texts()
    assert second.sidebar.item(2).flags() & Qt.ItemIsEnabled and second.export_action.isEnabled()
    qtbot.waitUntil(lambda: second.demo_page.model is not None, timeout=WAIT_MS)
    assert second.demo_page.model.source == "run" and second.demo_page.model.run is restored
    assert not second.projects.dirty  # showing a run again changes nothing in the project

    # Another project: the pages let go of this one's run.
    assert second.projects.new_project()
    assert not second.evaluate_page.has_run() and second.demo_page.model is None
    assert not second.export_action.isEnabled()


def test_a_run_whose_adapter_is_gone_reopens_with_its_figures_and_curves_only(qtbot, window_factory, dataset):
    from mma_studio.core.run_store import RunStore

    home, _scan, run = dataset
    first = window_factory()
    fill(first, dataset)
    qtbot.waitUntil(lambda: not first.projects._run_tasks, timeout=WAIT_MS)
    path = home / "projects" / "adapter-gone.mmaproj"
    assert first.projects.save_as(path)
    RunStore().path(first.projects.runs[-1].run_id).unlink()

    second = window_factory()
    open_and_wait(qtbot, second, path)
    assert second.projects.restore_last_run() is None  # nothing to evaluate again
    assert not second.evaluate_page.has_run()
    assert second.train_page.plots.point_count == len(run.history)  # the curves are there


def test_show_results_brings_back_an_earlier_run_from_the_runs_dialog(qtbot, window_factory, dataset, tmp_path):
    import dataclasses

    from mma_studio.core.run_store import RunStore

    _home, _scan, run = dataset
    window = window_factory()
    fill(window, dataset)  # run 1
    later = dataclasses.replace(run, finished_at=run.finished_at + "-later")
    window.train_page.runFinished.emit(later)  # run 2, now on the Evaluate page
    qtbot.waitUntil(lambda: not window.projects._run_tasks, timeout=WAIT_MS)
    assert window.evaluate_page.run is later

    dialog = window.projects.show_runs()
    dialog.table.selectRow(1)  # newest first: row 1 is the first run
    assert dialog.results_button.isEnabled()
    dialog.results_button.click()
    qtbot.waitUntil(lambda: window.evaluate_page.run is not later, timeout=WAIT_MS)
    shown = window.evaluate_page.run
    assert shown.finished_at == run.finished_at and shown.adapted.headline() == run.adapted.headline()
    assert window.current_page() is window.evaluate_page
    assert window.train_page.plots.point_count == len(run.history)

    RunStore().path(window.projects.runs[0].run_id).unlink()  # pruned from the store
    dialog = window.projects.show_runs()
    dialog.table.selectRow(1)
    assert not dialog.results_button.isEnabled() and "no longer kept" in dialog.results_button.toolTip()
    dialog.close()


def test_a_class_of_chosen_images_reopens_with_exactly_those_images(qtbot, window_factory, dataset, tmp_path):
    """Loose images filed under a class name are listed one by one: reopening must not take the
    whole folder they came from (nor lose the class, whose name is not a folder's)."""
    from mma_studio.core.chosen_images import scan_chosen_images as scan_loose_images
    from mma_studio.core.scan_merge import merge_scans
    from tests.image_factory import make_image

    home, scan, _run = dataset
    downloads = tmp_path / "Downloads"
    chosen = [make_image(downloads / f"parrot_{i}.png", noise=10, seed=i) for i in range(3)]
    others = [make_image(downloads / f"holiday_{i}.png", noise=10, seed=10 + i) for i in range(4)]
    window = window_factory()
    loose = scan_loose_images("my parrot", chosen)
    more = scan_loose_images("apple", [make_image(tmp_path / "extra" / "green_apple.png", noise=10, seed=30)])
    combined = merge_scans(merge_scans(scan, loose), more, extend_same_name=True)  # a folder class + a file
    window.state.set_scan(combined, ["apple", "grape", "leaf"], ["my parrot", "sky", "sun"])
    path = home / "projects" / "chosen.mmaproj"
    assert window.projects.save_as(path)
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(stored["class_files"]) == ["apple", "my parrot"]
    assert all(not folder.endswith("Downloads") for folder in stored["class_folders"])

    os.remove(others[0])  # unrelated changes in the folder do not matter
    second = window_factory()
    open_and_wait(qtbot, second, path)
    reopened = second.state.data.scan
    assert reopened.class_names == combined.class_names
    assert sorted(reopened.class_by_name("my parrot").images) == sorted(chosen)
    assert sorted(reopened.class_by_name("apple").images) == sorted(combined.class_by_name("apple").images)
    assert second.state.data.new_classes == ["my parrot", "sky", "sun"]

    for image in chosen:
        os.remove(image)
    third = window_factory()
    open_and_wait(qtbot, third, path)
    assert "my parrot" not in third.state.data.scan.class_names
    assert "the images of class 'my parrot'" in third.statusBar().currentMessage()


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_fifo_project_is_refused_by_a_worker_and_the_window_stays_responsive(
    qtbot, window_factory, dataset, tmp_path
):
    """Issue 11.4: a FIFO .mmaproj froze the window (read on the GUI thread, blocked in open())."""
    import threading

    home, scan, _run = dataset
    window = window_factory()
    fill(window, dataset)
    pipe = tmp_path / "pipe.mmaproj"
    os.mkfifo(pipe)
    gui_thread = threading.current_thread()
    from mma_studio.core import project_store

    readers = []
    original = project_store.open_project_file
    monkey = pytest.MonkeyPatch()
    monkey.setattr(
        project_store, "open_project_file", lambda path: readers.append(threading.current_thread()) or original(path)
    )
    try:
        with qtbot.waitSignal(window.projects.projectOpenFailed, timeout=WAIT_MS) as failed:
            assert window.projects.open_project(pipe)
    finally:
        monkey.undo()
    assert readers and readers[0] is not gui_thread  # the file is read off the GUI thread
    assert "named pipe" in failed.args[0] and str(pipe) in failed.args[0]
    assert window.state.data.scan is scan and window.projects.path is None


def test_the_data_check_after_a_run_starts_once_the_results_are_shown_and_only_on_the_same_data(
    qtbot, window_factory, dataset, monkeypatch
):
    """Its torch work beside the pages' own end-of-run work kept the GUI thread from a CPU:
    it starts a moment later, and not at all when the data changed or a new run began."""
    from mma_studio.ui.data.health_view import HealthView

    monkeypatch.setattr(controller_module, "HEALTH_CHECK_AFTER_RUN_DELAY_MS", 200)
    checked = []
    monkeypatch.setattr(HealthView, "check_after_run", lambda self, run, cache_dir=None: checked.append(run) or True)
    _home, scan, run = dataset
    window = window_factory()
    fill(window, dataset)  # the run finishes
    assert checked == []  # not with the results
    qtbot.waitUntil(lambda: checked == [run], timeout=WAIT_MS)

    window.train_page.runFinished.emit(run)
    rescanned = copy.copy(scan)  # the folder scanned again before the check would start
    window.state.set_scan(rescanned, ["apple", "grape", "leaf"], ["sky", "sun"])
    qtbot.wait(600)
    assert checked == [run]

    window.train_page.runFinished.emit(run)
    window.train_page.trainingStarted.emit()  # a new run begins before the check would start
    qtbot.wait(600)
    assert checked == [run]
