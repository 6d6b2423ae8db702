"""The Data page's Health view: a check in a worker, then Exclude, Move and Keep, each undoable,
and the next split built with the fixes (the files on disk untouched)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from mma_studio.core.doctor import CONFLICT, DUPLICATE, LABEL, OUTLIER
from mma_studio.ui.app_state import AppState
from mma_studio.ui.data.data_page import DataPage
from mma_studio.ui.data_fixes_controller import DataFixesController

SHOTS_DIR = os.environ.get("MMA_HEALTH_SHOTS")  # set to render the view to PNGs while testing
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def messy_dataset(tmp_path_factory) -> Path:
    """Six example classes, 10 images each, with a resized copy in its own class, an orange
    cross filed under "yellow ring" as well, and a red star filed as a blue circle."""
    from mma_studio.toy.example_dataset import write_example_dataset

    root = tmp_path_factory.mktemp("messy") / "shapes"
    write_example_dataset(root, per_class=10, seed=0)
    for folder in list(root.iterdir()):
        if folder.is_dir() and folder.name not in {
            "blue_circle",
            "blue_star",
            "green_square",
            "orange_cross",
            "red_star",
            "yellow_ring",
        }:
            shutil.rmtree(folder)
    original = Image.open(root / "green_square" / "green_square_003.png")
    original.resize((128, 128), Image.Resampling.BICUBIC).save(root / "green_square" / "copy_resized.png")
    shutil.copy(root / "orange_cross" / "orange_cross_004.png", root / "yellow_ring" / "filed_twice.png")
    (root / "red_star" / "red_star_005.png").rename(root / "blue_circle" / "misfiled_star.png")
    return root


@pytest.fixture
def page(qtbot, messy_dataset, tmp_path):
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.split import default_roles

    state = AppState()
    fixes = DataFixesController(state)
    page = DataPage(state)
    page.fixes_controller = fixes
    qtbot.addWidget(page)
    page.resize(1280, 800)
    scan = scan_dataset(messy_dataset)
    state.set_scan(scan, *default_roles(scan.class_names))
    page.health.cache_dir = tmp_path / "cache"
    yield page
    assert page.stop_and_wait(10_000)


def checked(qtbot, page) -> DataPage:
    with qtbot.waitSignal(page.health.checkFinished, timeout=TIMEOUT_MS) as blocker:
        page.data_tabs.setCurrentIndex(1)  # the first look at the tab runs the check
    assert blocker.args == [True]
    return page


def row_of(page, kind: str):
    return next(row for row in page.health.rows if row.finding.kind == kind)


def test_health_view_lists_the_planted_problems_with_their_actions(qtbot, page, messy_dataset):
    checked(qtbot, page)
    kinds = {row.finding.kind for row in page.health.rows}
    assert {DUPLICATE, CONFLICT, LABEL} <= kinds
    label = row_of(page, LABEL)
    assert label.finding.paths == (messy_dataset / "blue_circle" / "misfiled_star.png",)
    assert label.finding.suggested_class == "red_star"
    menu = label.move_button.menu()
    assert menu.actions() == []  # filled when it opens: 150 findings x every class were 30,000 actions
    menu.aboutToShow.emit()
    assert menu.actions()[0].data() == "red_star"  # the suggestion comes first
    assert len(menu.actions()) == len(page._state.data.scan.class_names) - 1  # every other class, once
    menu.aboutToShow.emit()
    assert len(menu.actions()) == len(page._state.data.scan.class_names) - 1
    conflict = row_of(page, CONFLICT)
    assert set(conflict.finding.paths) == {
        messy_dataset / "orange_cross" / "orange_cross_004.png",
        messy_dataset / "yellow_ring" / "filed_twice.png",
    }
    duplicate = row_of(page, DUPLICATE)
    assert messy_dataset / "green_square" / "copy_resized.png" in duplicate.finding.paths
    assert conflict.move_button is not None and duplicate.exclude_button is not None
    assert page.data_tabs.tabText(1) == f"Health ({len(page.health.rows)})"
    qtbot.waitUntil(
        lambda: all(
            lbl.pixmap() is not None and not lbl.pixmap().isNull()
            for row in page.health.rows
            for lbl in row.thumb_labels.values()
        ),
        timeout=10_000,
    )
    if SHOTS_DIR:
        _render(page, Path(SHOTS_DIR))


def test_exclude_move_keep_are_recorded_undoable_and_used_by_the_split(qtbot, page, messy_dataset):
    from mma_studio.core.split import make_split

    checked(qtbot, page)
    state, undo = page._state, page.fixes_controller.undo_stack
    before = {row.finding.key for row in page.health.rows}

    conflict = row_of(page, CONFLICT)
    filed_twice = messy_dataset / "yellow_ring" / "filed_twice.png"
    conflict.move_to("orange_cross")
    assert state.data.fixes.moved == {str(p): "orange_cross" for p in conflict.finding.paths}
    duplicate = row_of(page, DUPLICATE)
    duplicate.keep()
    assert duplicate.finding.key in state.data.fixes.kept
    assert {row.finding.key for row in page.health.rows} == before - {conflict.finding.key, duplicate.finding.key}
    undo.undo()  # the keep
    duplicate = row_of(page, DUPLICATE)
    duplicate.exclude()
    excluded = set(state.data.fixes.excluded)
    assert excluded == {str(p) for p in duplicate.finding.paths[1:]}
    assert not state.data.fixes.kept

    split = make_split(state.data.scan, shots=2, val_per_class=1, fixes=state.data.fixes)
    where = {s.path: split.classes[s.class_index] for s in split.train + split.val + split.test_base + split.test_new}
    assert where[filed_twice] == "orange_cross"
    assert not {str(p) for p in where} & excluded
    assert filed_twice.is_file() and all(Path(p).is_file() for p in excluded)  # nothing on disk changed

    undo.undo()  # exclude
    assert not state.data.fixes.excluded
    assert duplicate.finding.key in {row.finding.key for row in page.health.rows}
    undo.undo()  # move
    assert state.data.fixes is None
    assert conflict.finding.key in {row.finding.key for row in page.health.rows}
    undo.redo()
    assert state.data.fixes.moved == {str(p): "orange_cross" for p in conflict.finding.paths}


def _render(page, folder: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from mma_studio.ui.theme import apply_theme

    folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance()
    for theme in ("light", "dark"):
        apply_theme(theme, app)
        for width, height in ((1280, 800), (1024, 640)):
            page.resize(width, height)
            page.show()
            QApplication.processEvents()
            page.grab().save(str(folder / f"health_{theme}_{width}x{height}.png"))
    apply_theme("light", app)


def test_evaluate_gallery_menu_excludes_and_moves_through_the_state(qtbot, messy_dataset):
    from PySide6.QtWidgets import QMenu

    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.split import default_roles
    from mma_studio.ui.evaluate.evaluate_page import EvaluatePage
    from mma_studio.ui.evaluate.image_gallery import GalleryImage

    state = AppState()
    controller = DataFixesController(state)
    scan = scan_dataset(messy_dataset)
    state.set_scan(scan, *default_roles(scan.class_names))
    page = EvaluatePage(state)
    qtbot.addWidget(page)
    star = str(messy_dataset / "blue_star" / "blue_star_002.png")
    page.gallery.show_images("blue star", [GalleryImage(star, "blue star", "blue circle")])
    index = page.gallery.model.index(0, 0)
    page.gallery.view.setCurrentIndex(index)

    menu = QMenu()
    page.gallery._add_fix_actions(menu, index)
    move_menu = next(a.menu() for a in menu.actions() if a.menu() is not None)
    first = move_menu.actions()[0]
    assert first.text() == "blue circle (predicted)"
    assert "blue star" not in [a.text() for a in move_menu.actions()]  # not its own class
    first.trigger()
    assert state.data.fixes.moved == {star: "blue_circle"}
    next(a for a in menu.actions() if a.objectName() == "galleryExcludeAction").trigger()
    assert state.data.fixes.excluded == {star} and not state.data.fixes.moved
    controller.undo_stack.undo()
    assert state.data.fixes.moved == {star: "blue_circle"}


def test_demo_page_adds_an_outside_image_to_a_class(qtbot, messy_dataset, tmp_path):
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.split import default_roles
    from mma_studio.ui.demo.demo_page import DemoPage

    state = AppState()
    controller = DataFixesController(state)  # noqa: F841 - kept alive: it applies the requests
    scan = scan_dataset(messy_dataset)
    state.set_scan(scan, *default_roles(scan.class_names))
    page = DemoPage(state)
    qtbot.addWidget(page)
    outside = tmp_path / "found.png"
    shutil.copy(messy_dataset / "red_star" / "red_star_001.png", outside)
    page.image_path = outside
    button = page.add_to_class_button
    button.fill_menu()
    action = next(a for a in button.menu_.actions() if a.text() == "red star")
    action.trigger()
    assert state.data.fixes.moved == {str(outside): "red_star"}
    assert outside in state.fixed_scan().class_by_name("red_star").images
    assert outside not in state.data.scan.class_by_name("red_star").images  # the scan itself is as found


def test_fixes_are_saved_with_the_project_reopened_and_undone_from_the_edit_menu(qtbot, messy_dataset, tmp_path):
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.split import default_roles
    from mma_studio.ui.main_window import MainWindow

    windows = []
    for _ in range(2):
        window = MainWindow()
        qtbot.addWidget(window)
        windows.append(window)
    first, second = windows
    scan = scan_dataset(messy_dataset)
    first.state.set_scan(scan, *default_roles(scan.class_names))
    copy = messy_dataset / "yellow_ring" / "filed_twice.png"
    resized = messy_dataset / "green_square" / "copy_resized.png"
    first.state.request_data_fix("move", [copy], "orange_cross")
    first.state.request_data_fix("exclude", [resized], "")
    first.state.request_data_fix("keep", "duplicate:somewhere", "")
    path = tmp_path / "project" / "fixed.mmaproj"
    assert first.projects.save_as(path)
    stored = path.read_text()
    assert "../" in stored and str(messy_dataset) not in stored.split('"data_fixes"')[1]  # portable paths

    with qtbot.waitSignal(second.projects.projectOpened, timeout=TIMEOUT_MS):
        assert second.projects.open_project(path)
    fixes = second.state.data.fixes
    assert {Path(p).resolve() for p in fixes.moved} == {copy.resolve()}
    assert {Path(p).resolve() for p in fixes.excluded} == {resized.resolve()}
    assert fixes.kept == {"duplicate:somewhere"}
    fixed = second.state.fixed_scan()
    assert copy.name in {p.name for p in fixed.class_by_name("orange_cross").images}
    assert resized.name not in {p.name for p in fixed.class_by_name("green_square").images}

    assert not second.projects.undo_action.isEnabled()  # an opened project starts with nothing to undo
    undo = first.projects.undo_action
    assert undo.isEnabled() and undo in first.menuBar().actions()[1].menu().actions()
    undo.trigger()
    assert not first.state.data.fixes.kept
    for window in windows:
        window.projects.stop_and_wait(5000)


def test_class_table_counts_follow_the_fixes(qtbot, page, messy_dataset):
    from mma_studio.ui.data.class_table import IMAGES

    model = page.table.class_model()

    def count(name: str) -> str:
        return model.index(model.row_of(name), IMAGES).data()

    before = count("green_square")
    page._state.request_data_fix("exclude", [messy_dataset / "green_square" / "copy_resized.png"])
    assert int(count("green_square")) == int(before) - 1
    page._state.request_data_fix("move", [messy_dataset / "blue_circle" / "misfiled_star.png"], "red_star")
    assert count("red_star") == "10" and count("blue_circle") == "10"
    page.fixes_controller.undo_stack.undo()
    assert count("red_star") == "9"


def test_after_a_training_run_the_health_tab_counts_findings_without_being_asked(
    qtbot, messy_dataset, tmp_path, monkeypatch
):
    from PySide6.QtCore import Qt

    from mma_studio.core.dataset import scan_dataset
    from mma_studio.ui.data.health_view import HealthView
    from mma_studio.ui.main_window import MainWindow
    from tests.training_helpers import fast_values, make_state

    asked = []
    monkeypatch.setattr(HealthView, "check", lambda self: asked.append(self) or False)  # the button, the tab
    window = MainWindow(make_state(scan_dataset(messy_dataset)))
    qtbot.addWidget(window)
    page = window.train_page
    page.cache_dir = tmp_path / "cache"
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(epochs=1))
    window.show_page(1)
    health = window.data_page.health
    tabs = window.data_page.data_tabs
    assert tabs.tabText(1) == "Health" and health.report is None

    with qtbot.waitSignal(health.checkFinished, timeout=TIMEOUT_MS) as finished:
        with qtbot.waitSignal(page.trainingStopped, timeout=TIMEOUT_MS):
            qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
        assert page.last_error is None  # the check starts a moment later, in a worker
    assert finished.args == [True] and not asked
    assert health.report.label_source == "zero-shot"  # the adapter's out-of-fold check stays on the button
    conflict = [f for f in health.open_findings() if f.kind == CONFLICT]
    assert {p.name for p in conflict[0].paths} == {"orange_cross_004.png", "filed_twice.png"}
    assert tabs.tabText(1) == f"Health ({len(health.open_findings())})"
    assert "Check Data Health also asks the adapter" in health.summary.text()


def test_a_new_run_cancels_the_check_after_the_last_one(qtbot, page, monkeypatch):
    import time

    from mma_studio.core.cancellation import check

    started = []

    def endless_check(scan, settings, fixes, cache_dir, **kwargs):  # stands in for examine_dataset
        def run(on_progress, token):
            started.append(kwargs.get("label_source", "auto"))
            while True:
                check(token)
                time.sleep(0.01)

        return run

    monkeypatch.setattr("mma_studio.ui.data.health_view.health_task", endless_check)
    health = page.health
    finished = []
    health.checkFinished.connect(finished.append)
    assert health.check_after_run() and health.is_busy()
    qtbot.waitUntil(lambda: started == ["zero-shot"], timeout=5000)
    health.cancel_automatic()  # what the start of a new run calls
    qtbot.waitUntil(lambda: not health.is_busy(), timeout=5000)
    assert health.report is None and not finished
    assert "Cancelled" not in health.summary.text()  # it gave way quietly
    assert health.check() and health.is_busy()  # a check the user asks for is not cancelled
    health.cancel_automatic()
    assert not health.progress_row.progress.format().startswith("Cancelling")
    assert health.stop_and_wait(5000)


def test_closing_the_window_during_the_check_after_a_run_does_not_wait_for_it(qtbot, messy_dataset, monkeypatch):
    import time

    from mma_studio.core.cancellation import check
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.ui.main_window import MainWindow
    from tests.training_helpers import make_state

    def endless_check(*args, **kwargs):
        def run(on_progress, token):
            while True:
                check(token)
                time.sleep(0.01)

        return run

    monkeypatch.setattr("mma_studio.ui.data.health_view.health_task", endless_check)
    window = MainWindow(make_state(scan_dataset(messy_dataset)))
    qtbot.addWidget(window)
    window.show()
    health = window.data_page.health
    assert health.check_after_run() and health.is_busy()
    task = health._task
    assert window.close()
    assert task.token.cancelled and task.wait(0)  # cancelled and already stopped when close returns


def test_opening_other_data_cancels_the_automatic_check_but_not_one_the_user_asked_for(page, qtbot, messy_dataset):
    """The check after a run gives way as soon as a scan starts (its data is about to change,
    and it competed with the scan for the GIL: issue 12 §6); a check the user started goes on
    until the new data arrives."""

    class RunningCheck:
        cancelled = False

        def cancel(self) -> None:
            self.cancelled = True

    health = page.health
    for automatic in (False, True):
        check = RunningCheck()
        health._task, health._automatic = check, automatic
        page.open_folder(messy_dataset)
        assert check.cancelled is automatic  # at the start of the scan, before any result
        qtbot.waitUntil(lambda: not page.is_busy(), timeout=TIMEOUT_MS)
        health._task = None


def test_a_long_report_is_listed_a_few_rows_per_turn_and_a_newer_one_replaces_it(qtbot, page, messy_dataset):
    """150 rows built at once held the GUI thread ~0.3 s when a check of 20,000 images
    finished: a few rows now, the rest turn by turn, each finding once."""
    from mma_studio.core.doctor.findings import DataHealthReport, Finding
    from mma_studio.ui.data.health_view import ROWS_PER_TURN, SHOWN_FINDINGS

    images = sorted(messy_dataset.rglob("*.png"))
    findings = [
        Finding(OUTLIER, (images[i % len(images)],), (images[i % len(images)].parent.name,), 1 - i / 1000, f"odd {i}")
        for i in range(SHOWN_FINDINGS + 20)
    ]
    health = page.health
    health._on_report(DataHealthReport(findings, len(images), 5))
    assert len(health.rows) == ROWS_PER_TURN and not health.rows_built()
    assert "170 findings" in health.summary.text() and f"the first {SHOWN_FINDINGS}" in health.summary.text()

    newer = findings[: ROWS_PER_TURN + 3]
    health._on_report(DataHealthReport(newer, len(images), 5))  # before the first list is done
    qtbot.waitUntil(health.rows_built, timeout=5000)
    qtbot.wait(50)  # the first report's queued turns add nothing
    assert [row.finding for row in health.rows] == newer

    health._on_report(DataHealthReport(findings, len(images), 5))
    qtbot.waitUntil(health.rows_built, timeout=5000)
    assert [row.finding for row in health.rows] == findings[:SHOWN_FINDINGS]
