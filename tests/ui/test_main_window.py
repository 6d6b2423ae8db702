"""The main window: built without showing, stable object names, menus and shortcuts, the
title, settings restored between runs, a deferred Train page, and closing during training."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QListWidget, QPushButton, QTableView, QWidget

from mma_studio.core.collector_pause import collector_paused
from mma_studio.ui import MainWindow, main_window
from mma_studio.ui.app import APP_NAME, application_icon, create_application
from tests.image_factory import make_class_dataset

NAMED_CONTROLS = {
    "dataDropZone": QWidget,
    "classTable": QTableView,
    "backboneCombo": QComboBox,
    "trainButton": QPushButton,
    "cancelButton": QPushButton,
    "lossPlot": pg.PlotWidget,
    "accuracyPlot": pg.PlotWidget,
}


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    return window


def test_builds_without_showing_and_names_its_controls(window):
    assert not window.isVisible()
    for name, kind in NAMED_CONTROLS.items():
        found = window.findChild(kind, name)
        assert found is not None, name
        assert found.accessibleName(), f"{name} has no accessible name"
    for name in ("dataDropZone", "classTable", "backboneCombo"):
        assert window.findChild(QWidget, name).accessibleName() == name
    sidebar = window.findChild(QListWidget, "pageList")
    pages = [sidebar.item(i).text().split()[-1] for i in range(sidebar.count())]
    assert pages[:2] == ["Data", "Train"] and pages[-1] == "Demo"  # Evaluate comes between them
    assert window.windowTitle() == APP_NAME
    assert not window.windowIcon().isNull()


def test_menus_have_the_expected_shortcuts(window):
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.page_actions[1].shortcut() == QKeySequence("Ctrl+2")
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&View", "&Help"]
    edit_actions = window.menuBar().actions()[1].menu().actions()
    assert [a.shortcut() for a in edit_actions] == [
        QKeySequence(QKeySequence.StandardKey.Undo),
        QKeySequence(QKeySequence.StandardKey.Redo),
    ]
    file_actions = [a.text() for a in window.menuBar().actions()[0].menu().actions() if a.text()]
    first = file_actions.index("&Open Folder…")  # after the project actions
    assert file_actions[first : first + 3] == ["&Open Folder…", "Open &Recent", "Try an &Example"]
    window.page_actions[1].trigger()
    assert window.current_page() is window.train_page
    assert window.page_actions[1].isChecked() and not window.page_actions[0].isChecked()


def test_title_and_status_follow_the_dataset(qtbot, window, tmp_path):
    make_class_dataset(tmp_path / "Birds", ["crow", "owl", "robin"], per_class=3)
    window.data_page.open_folder(tmp_path / "Birds")
    # The scan is set before its thread has ended; until then the page is busy and Close Dataset
    # (below) does nothing: wait for both.
    qtbot.waitUntil(lambda: window.state.data.scan is not None and not window.data_page.is_busy(), timeout=20_000)
    assert window.windowTitle() == f"Birds — {APP_NAME}"
    assert window.status_dataset.text().startswith("3 classes (2 base, 1 new)")
    assert window.report_action.isEnabled()
    window.close_dataset_action.trigger()
    assert window.state.data.scan is None and window.windowTitle() == APP_NAME

    window._fill_recent_menu()  # File > Open Recent reopens it
    recent = [a for a in window.recent_menu.actions() if "Birds" in a.text()]
    assert len(recent) == 1
    recent[0].trigger()
    qtbot.waitUntil(lambda: window.state.data.scan is not None, timeout=20_000)
    assert window.windowTitle() == f"Birds — {APP_NAME}"


def test_geometry_page_and_splitter_are_restored(qtbot, isolated_user_folders):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.resize(first.width(), 610)  # the offscreen screen is 800 px wide: only heights fit freely
    first.hide()  # choose the Train page without showing it: it would start importing the engine
    first.show_page(1)
    first.data_page.splitter.setSizes([500, 400])
    splitter_state = first.data_page.splitter.saveState()
    first.close()
    assert list(isolated_user_folders.rglob("*.ini")), "settings were not written to the test's folder"
    assert QSettings().value("window/page") in (1, "1")

    second = MainWindow()
    qtbot.addWidget(second)
    assert second.height() == 610  # (the default is 780; x, y and width are clamped to the small offscreen screen)
    assert second.sidebar.currentRow() == 1 and second.current_page() is second.train_page
    assert second.data_page.splitter.saveState() == splitter_state


def test_deferred_pages_are_built_after_the_first_frame(qtbot, monkeypatch):
    monkeypatch.setattr(main_window, "BACKBONE_LIST_DELAY_MS", 600_000)  # no torch import in this test
    monkeypatch.setattr(main_window, "FIRST_FRAME_FALLBACK_MS", 600_000)  # only the paint may start it
    window = MainWindow(defer_pages=True)
    qtbot.addWidget(window)
    assert (window.train_page, window.evaluate_page, window.demo_page) == (None, None, None)
    assert window.findChild(QPushButton, "trainButton") is None
    pages = window.pages.count()
    assert pages == window.sidebar.count() == 4  # placeholders hold the deferred pages' places
    painted = []
    window.data_page.installEventFilter(_PaintSpy(window.data_page, painted))
    window.show()
    qtbot.waitUntil(lambda: window.demo_page is not None, timeout=10_000)
    assert painted, "the pages were built before the first frame was painted"
    assert window.findChild(QPushButton, "trainButton") is not None
    assert [window.pages.widget(row) for row in range(4)] == [
        window.data_page,
        window.train_page,
        window.evaluate_page,
        window.demo_page,
    ]
    assert window.pages.count() == pages and window.current_page() is window.data_page
    assert not window.findChildren(QLabel, "pagePlaceholder") or all(
        not label.isVisible() for label in window.findChildren(QLabel, "pagePlaceholder")
    )


class _PaintSpy(QObject):
    def __init__(self, parent, painted):
        super().__init__(parent)
        self.painted = painted

    def eventFilter(self, watched, event):  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.painted.append(watched)
        return False


@pytest.mark.parametrize("row, attribute", [(1, "train_page"), (2, "evaluate_page"), (3, "demo_page")])
def test_choosing_a_page_before_the_deferred_build_builds_it(qtbot, row, attribute):
    window = MainWindow(defer_pages=True)
    qtbot.addWidget(window)
    if row == 2:  # the Evaluate row is enabled once a run exists; the View menu still reaches it
        window.sidebar.item(2).setFlags(window.sidebar.item(2).flags() | Qt.ItemIsEnabled)
    window.show_page(row)
    page = getattr(window, attribute)
    assert page is not None and window.current_page() is page


def test_actions_that_need_a_deferred_page_build_it(qtbot, monkeypatch, tmp_path):
    window = MainWindow(defer_pages=True)
    qtbot.addWidget(window)
    loaded = []
    from mma_studio.ui.demo import demo_page as demo_module

    monkeypatch.setattr(demo_module.DemoPage, "load_adapter_file", lambda self, path: loaded.append(path))
    window.open_adapter_in_demo(tmp_path / "a.safetensors")
    assert window.demo_page is not None and window.current_page() is window.demo_page
    assert loaded == [tmp_path / "a.safetensors"]
    assert window.ensure_evaluate_page() is window.evaluate_page is window.pages.widget(2)
    assert window.show_train_page() is None and window.current_page() is window.train_page


def test_close_during_training_asks_then_stops_the_worker(qtbot, window, monkeypatch):
    page = window.train_page
    stops = []
    monkeypatch.setattr(page, "is_training", lambda: True)
    monkeypatch.setattr(page, "request_stop_and_wait", lambda timeout_ms: stops.append(timeout_ms) or True)
    window.show()
    qtbot.waitExposed(window)

    monkeypatch.setattr(window, "confirm_stop_training", lambda: False)
    assert not window.close()
    assert window.isVisible() and stops == []

    monkeypatch.setattr(window, "confirm_stop_training", lambda: True)
    assert window.close()
    assert not window.isVisible() and len(stops) == 1


def test_application_identity_and_icon(qapp):
    app = create_application()
    assert app is QApplication.instance()
    assert app.applicationName() == APP_NAME and app.organizationName()
    icon = application_icon()
    assert {s.width() for s in icon.availableSizes()} >= {16, 32, 48, 256}


def test_run_app_shows_the_window_and_returns_when_it_closes(qtbot, monkeypatch):
    """What `mma-studio` without arguments does, closed by a timer once the deferred pages are
    built (they follow the first frame, after numpy and pyqtgraph are imported in a thread)."""
    import time

    from PySide6.QtCore import QTimer

    from mma_studio.ui.app import run_app

    seen = []
    give_up_at = time.monotonic() + 30

    def close_windows():
        with collector_paused():  # a list of raw pointers: no collection may free one meanwhile
            shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        built = shown and all(None not in (w.train_page, w.evaluate_page, w.demo_page) for w in shown)
        if not built and time.monotonic() < give_up_at:
            QTimer.singleShot(20, close_windows)
            return
        seen.extend(shown)
        QApplication.closeAllWindows()

    monkeypatch.setattr(main_window, "BACKBONE_LIST_DELAY_MS", 600_000)
    QTimer.singleShot(300, close_windows)
    assert run_app([]) == 0
    assert len(seen) == 1 and None not in (
        seen[0].train_page,
        seen[0].evaluate_page,
        seen[0].demo_page,
    )  # built after the first frame
    assert not seen[0].isVisible()


def test_window_appears_without_importing_torch(tmp_path):
    """The window must be on screen before the engine's heavy imports (start-up time)."""
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import QSettings
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
        from mma_studio.ui.app import create_application
        app = create_application()
        from mma_studio.ui.main_window import MainWindow
        window = MainWindow(defer_pages=True)
        window.show()
        app.processEvents()
        heavy = sorted(m for m in ("torch", "open_clip", "pyqtgraph", "numpy") if m in sys.modules)
        print("HEAVY=" + ",".join(heavy))
        """
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout, result.stdout
