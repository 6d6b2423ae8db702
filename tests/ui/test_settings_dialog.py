"""Settings: the feature cache's size and Clear Cache, its location, the default device, and
the theme (light and dark palettes, plots included)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QApplication

from mma_studio.core.feature_cache import FeatureCache
from mma_studio.ui.dialogs.settings_dialog import (
    CACHE_DIR_KEY,
    DEVICE_KEY,
    SettingsDialog,
    default_device,
    format_bytes,
)
from mma_studio.ui.main_window import MainWindow
from mma_studio.ui.theme import apply_theme, saved_theme

WAIT_MS = 15_000


@pytest.fixture(autouse=True)
def system_theme_afterwards():
    yield
    apply_theme("system")  # other tests expect the platform palette


def filled_cache(root: Path) -> FeatureCache:
    """A cache with real shards in two namespaces, and a file of the user's that is not ours."""
    cache = FeatureCache(root)
    cache.store(root / "img-mma-tiny-v0-0123456789abcdef", [("a.png", 1, 1), ("b.png", 2, 2)], torch.ones(2, 64))
    cache.store(root / "txt-mma-tiny-fedcba9876543210", [("text", "a photo of a cat.")], torch.ones(1, 64))
    (root / "README-not-ours.txt").write_text("kept")
    return cache


def open_dialog(qtbot, **kwargs) -> SettingsDialog:
    dialog = SettingsDialog(**kwargs)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS):
        dialog.show()
    # The size arrives (queued `succeeded`) before the task's thread has ended (queued `finished`):
    # until then the dialog is still working and Clear Cache stays off. Wait for both.
    qtbot.waitUntil(lambda: not dialog.is_working(), timeout=WAIT_MS)
    return dialog


def test_shows_the_cache_location_and_size_and_clears_it(qtbot, tmp_path, monkeypatch):
    root = tmp_path / "features"
    cache = filled_cache(root)
    QSettings().setValue(CACHE_DIR_KEY, str(root))
    dialog = open_dialog(qtbot)
    size = cache.size_bytes()
    assert size > 0 and dialog.cache_bytes == size
    assert dialog.cache_size.text() == format_bytes(size) and dialog.cache_location.text() == str(root)
    assert dialog.clear_cache_button.isEnabled()

    monkeypatch.setattr(dialog, "confirm_clear", lambda: False)  # the user says no
    dialog.clear_cache_button.click()
    assert not dialog.is_working() and cache.size_bytes() == size

    monkeypatch.setattr(dialog, "confirm_clear", lambda: True)
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS) as measured:
        qtbot.mouseClick(dialog.clear_cache_button, Qt.MouseButton.LeftButton)
    assert measured.args == [0]  # the user's own file is neither counted nor deleted
    assert sorted(p.name for p in root.iterdir()) == ["CACHEDIR.TAG", "README-not-ours.txt"]
    qtbot.waitUntil(lambda: not dialog.is_working(), timeout=WAIT_MS)
    assert dialog.cache_size.text() == "Empty"


def test_a_cache_folder_named_like_markup_shows_as_typed(qtbot, tmp_path):
    from tests.ui.test_plain_text_names import walk

    root = tmp_path / "<font color=red>yak"
    filled_cache(root)
    QSettings().setValue(CACHE_DIR_KEY, str(root))
    dialog = open_dialog(qtbot)
    assert dialog.cache_location.text() == str(root)
    assert walk(dialog) == []


def test_choosing_a_users_folder_puts_the_cache_in_its_own_sub_folder_and_clear_spares_the_users_files(
    qtbot, tmp_path, monkeypatch
):
    """Issue 11.1: a user's img-holiday-2024/ and txt-notes/ survive Clear Cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    users = tmp_path / "big-disk"
    photos, notes = users / "img-holiday-2024" / "beach.jpg", users / "txt-notes" / "todo.txt"
    for path in (photos, notes):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"the user's own")
    dialog = open_dialog(qtbot)
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS) as measured:
        dialog.set_cache_dir(users)
    own = users / "mma-studio-cache"
    assert QSettings().value(CACHE_DIR_KEY) == str(own) and dialog.cache_location.text() == str(own)
    assert measured.args == [0]  # the user's bytes are not the cache's size
    cache = filled_cache(own)
    qtbot.waitUntil(lambda: not dialog.is_working(), timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS) as measured:
        dialog.refresh_cache_size()
    assert measured.args == [cache.size_bytes()] and cache.size_bytes() > 0
    qtbot.waitUntil(lambda: not dialog.is_working(), timeout=WAIT_MS)
    monkeypatch.setattr(dialog, "confirm_clear", lambda: True)
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS) as measured:
        dialog.clear_cache_button.click()
    assert measured.args == [0]
    assert photos.read_bytes() == notes.read_bytes() == b"the user's own"
    qtbot.waitUntil(lambda: not dialog.is_working(), timeout=WAIT_MS)


def test_clear_is_disabled_while_a_task_may_write_the_cache(qtbot, tmp_path):
    root = tmp_path / "features"
    filled_cache(root)
    QSettings().setValue(CACHE_DIR_KEY, str(root))
    dialog = open_dialog(qtbot, busy=True)
    assert not dialog.clear_cache_button.isEnabled() and "Wait" in dialog.clear_cache_button.toolTip()
    dialog.set_busy(False)
    assert dialog.clear_cache_button.isEnabled()


def test_the_default_cache_location_is_the_engines(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    dialog = open_dialog(qtbot)
    assert Path(dialog.cache_location.text()) == FeatureCache().root
    assert dialog.cache_size.text() == "Empty" and not dialog.clear_cache_button.isEnabled()


def test_window_settings_apply_device_cache_folder_and_theme(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.settings_action.shortcut() == QKeySequence("Ctrl+,")
    window.train_page.settings.ensure_loaded()
    dialog = window.show_settings()
    qtbot.waitUntil(lambda: dialog.device_combo.findData("cpu") >= 0, timeout=WAIT_MS)

    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    assert default_device() == "cpu" == QSettings().value(DEVICE_KEY)
    assert window.train_page.settings.values()["device"] == "cpu"

    folder = tmp_path / "my-cache"
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS):
        dialog.set_cache_dir(folder)
    assert window.train_page.cache_dir == folder and dialog.cache_location.text() == str(folder)
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS):
        dialog.default_cache_button.click()
    assert window.train_page.cache_dir is None and QSettings().value(CACHE_DIR_KEY) is None

    app = QApplication.instance()
    loss_plot = window.findChild(pg.PlotWidget, "lossPlot")
    for mode, dark in (("dark", True), ("light", False)):
        dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData(mode))
        assert saved_theme() == mode
        palette = app.palette()
        assert (palette.color(QPalette.ColorRole.Window).lightness() < 128) is dark
        # readable: text against its background, hint text too
        for fg, bg in (
            (QPalette.ColorRole.Text, QPalette.ColorRole.Base),
            (QPalette.ColorRole.WindowText, QPalette.ColorRole.Window),
            (QPalette.ColorRole.PlaceholderText, QPalette.ColorRole.Base),
        ):
            assert abs(palette.color(fg).lightness() - palette.color(bg).lightness()) > 90
        # the plots follow: background and axis text from the new palette
        assert loss_plot.backgroundBrush().color() == loss_plot.palette().color(QPalette.ColorRole.Base)
        axis = loss_plot.getPlotItem().getAxis("left")
        assert axis.textPen().color() == palette.color(QPalette.ColorRole.Text)
        assert (loss_plot.backgroundBrush().color().lightness() < 128) is dark
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("system"))
    assert saved_theme() == "system" and app.palette().resolveMask() == 0  # back to the platform's colours
    dialog.close()
    assert window.close()


def test_a_saved_dark_theme_is_applied_when_the_window_opens(qtbot):
    QSettings().setValue("app/theme", "dark")
    window = MainWindow()
    qtbot.addWidget(window)
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 128
    assert window.findChild(pg.PlotWidget, "accuracyPlot").backgroundBrush().color().lightness() < 128


def test_kept_runs_are_counted_and_can_be_removed(qtbot, monkeypatch):
    from mma_studio.core.run_store import RunStore, new_run_id

    store = RunStore()  # in the test's own user data folder
    store.folder.mkdir(parents=True)
    ids = [new_run_id() for _ in range(3)]
    for run_id in ids:
        store.path(run_id).write_bytes(b"x" * 1000)
    (store.folder / "notes.txt").write_text("not a kept run")
    dialog = open_dialog(qtbot)
    assert dialog.runs_size.text() == "3 runs · 3.0 KB" and dialog.clear_runs_button.isEnabled()

    monkeypatch.setattr(dialog, "confirm_clear_runs", lambda: False)
    dialog.clear_runs_button.click()
    assert all(store.has(run_id) for run_id in ids)
    monkeypatch.setattr(dialog, "confirm_clear_runs", lambda: True)
    dialog.clear_runs_button.click()
    assert not any(store.has(run_id) for run_id in ids) and (store.folder / "notes.txt").is_file()
    assert dialog.runs_size.text() == "None" and not dialog.clear_runs_button.isEnabled()


def test_a_measurement_replaced_by_a_newer_one_never_drops_the_newer_result(qtbot, tmp_path):
    """Choosing a folder while the last measurement is still ending: the old task's queued
    `finished` must not clear (and delete) the new task, whose size would then never arrive."""
    dialog = open_dialog(qtbot)
    cache = filled_cache(tmp_path / "features")
    dialog.refresh_cache_size()  # a task in flight; its signals are queued for the event loop
    with qtbot.waitSignal(dialog.cacheSizeKnown, timeout=WAIT_MS) as measured:
        dialog.set_cache_dir(tmp_path / "features")  # replaces it before its `finished` is handled
    assert measured.args == [cache.size_bytes()]
    qtbot.waitUntil(lambda: not dialog.is_working(), timeout=WAIT_MS)
    assert dialog.cache_location.text() == str(tmp_path / "features")
