"""Settings (Ctrl+,): where features are cached and how much space they take, the runs kept
for reopened projects, the default device, and the theme. Changes apply at once (there is no OK to forget), and persist.

The cache can grow to gigabytes with large datasets, so its size is shown and it can be
cleared; both walk the disk, so they run in a worker. Listing the devices imports torch, so
that runs in a worker too; until it reports, the list offers what every machine has.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.theme import THEMES, save_theme, saved_theme
from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.plain_text import plain_label, plain_tooltip
from mma_studio.ui.workers.background_task import BackgroundTask

DEVICE_KEY = "app/defaultDevice"
CACHE_DIR_KEY = "app/cacheDir"
BASIC_DEVICES = {"auto": "Automatic (GPU when available)", "cpu": "CPU"}


def default_device() -> str:
    """The device new runs and the demo use unless told otherwise ("auto", "cpu", "cuda:0", ...)."""
    value = QSettings().value(DEVICE_KEY, "auto")
    return value if isinstance(value, str) and value else "auto"


def configured_cache_dir() -> Path | None:
    """The feature cache folder the user chose, or None for the engine's default (user cache)."""
    value = QSettings().value(CACHE_DIR_KEY, "")
    return Path(value) if isinstance(value, str) and value else None


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def _cache_size_task(folder: Path | None):
    def run(on_progress, token):
        from mma_studio.core.feature_cache import FeatureCache

        cache = FeatureCache(folder)
        return cache.root, cache.size_bytes()

    return run


def _clear_cache_task(folder: Path | None):
    def run(on_progress, token):
        from mma_studio.core.feature_cache import FeatureCache

        cache = FeatureCache(folder)
        cache.clear()
        return cache.root, cache.size_bytes()

    return run


def _devices_task():
    def run(on_progress, token):
        from mma_studio.core.devices import available_devices

        return available_devices()

    return run


class SettingsDialog(QDialog):
    """Cache location and size (with Clear Cache), default device, theme."""

    cacheDirChanged = Signal(object)  # Path | None (None: the default location)
    deviceChanged = Signal(str)
    themeChanged = Signal(str)
    cacheSizeKnown = Signal(int)  # bytes, each time the size has been measured

    def __init__(self, parent: QWidget | None = None, *, busy: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._busy = busy
        self._task: BackgroundTask | None = None
        self._devices_task: BackgroundTask | None = None
        self.cache_root: Path | None = None
        self.cache_bytes: int | None = None

        # ---- cache --------------------------------------------------------------------------
        self.cache_location = plain_label(named(QLabel(), "cacheLocationLabel"))  # a folder the user chose
        self.cache_location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cache_location.setWordWrap(True)
        self.cache_size = plain_label(named(QLabel("Measuring…"), "cacheSizeLabel"))  # may hold an error
        self.change_cache_button = named(QPushButton("Change…"), "changeCacheButton")
        self.change_cache_button.setToolTip("Keep the feature cache in another folder (e.g. a larger disk)")
        self.change_cache_button.clicked.connect(self.choose_cache_dir)
        self.default_cache_button = named(QPushButton("Use Default"), "defaultCacheButton")
        self.default_cache_button.clicked.connect(lambda: self.set_cache_dir(None))
        self.open_cache_button = named(QPushButton("Show in Folder"), "openCacheButton")
        self.open_cache_button.clicked.connect(self._open_cache_folder)
        self.clear_cache_button = named(QPushButton("Clear Cache…"), "clearCacheButton")
        self.clear_cache_button.setToolTip("Delete the cached features; the next run encodes its images again")
        self.clear_cache_button.clicked.connect(self.clear_cache)
        location_buttons = QHBoxLayout()
        location_buttons.setSpacing(6)
        location_buttons.addWidget(self.change_cache_button)
        location_buttons.addWidget(self.default_cache_button)
        location_buttons.addWidget(self.open_cache_button)
        location_buttons.addStretch(1)
        size_row = QHBoxLayout()
        size_row.addWidget(self.cache_size, 1)
        size_row.addWidget(self.clear_cache_button)
        cache_hint = QLabel("Each image is encoded once per model and kept here, so later runs start in seconds.")
        cache_hint.setWordWrap(True)
        cache_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        # ---- kept runs (a few small files: listed and removed on the GUI thread) -------------
        self.runs_size = named(QLabel(), "keptRunsLabel")
        self.clear_runs_button = named(QPushButton("Remove…"), "clearKeptRunsButton")
        self.clear_runs_button.setToolTip("Delete the kept adapters; projects keep their figures and curves")
        self.clear_runs_button.clicked.connect(self.clear_kept_runs)
        runs_row = QHBoxLayout()
        runs_row.addWidget(self.runs_size, 1)
        runs_row.addWidget(self.clear_runs_button)
        runs_hint = QLabel(
            "The adapters of the newest runs, so a reopened project shows its results again "
            "(exported adapters are not affected)."
        )
        runs_hint.setWordWrap(True)
        runs_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        # ---- projects --------------------------------------------------------------------------
        from mma_studio.ui.recent_projects import reopen_last_project_enabled, set_reopen_last_project

        self.reopen_check = named(QCheckBox("Open the last project when MMA Studio starts"), "reopenLastProjectCheck")
        self.reopen_check.setToolTip(
            "Off: MMA Studio starts with an empty project; recent ones stay under File > Open Recent Project"
        )
        self.reopen_check.setChecked(reopen_last_project_enabled())
        self.reopen_check.toggled.connect(set_reopen_last_project)

        # ---- device and theme ----------------------------------------------------------------
        self.device_combo = named(QComboBox(), "defaultDeviceCombo")
        self.device_combo.setToolTip("Where new training runs and the demo run (a run's own setting can differ)")
        self._fill_devices([])
        self.device_combo.currentIndexChanged.connect(self._on_device_chosen)
        self.theme_combo = named(QComboBox(), "themeCombo")
        for key, label in THEMES.items():
            self.theme_combo.addItem(label, key)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(saved_theme())))
        self.theme_combo.currentIndexChanged.connect(self._on_theme_chosen)

        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        form.addRow(_section("Feature cache"))
        form.addRow("Location", self.cache_location)
        form.addRow("", location_buttons)
        form.addRow("Size", size_row)
        form.addRow("", cache_hint)
        form.addRow("Kept runs", runs_row)
        form.addRow("", runs_hint)
        form.addRow(_section("Projects"))
        form.addRow("", self.reopen_check)
        form.addRow(_section("Hardware"))
        form.addRow("Default device", self.device_combo)
        form.addRow(_section("Appearance"))
        form.addRow("Theme", self.theme_combo)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 14)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self._show_location(configured_cache_dir())
        self.refresh_cache_size()
        self.refresh_kept_runs()
        self._list_devices()
        self._update_enabled()

    # -- busy (training writes the cache) ---------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_enabled()

    def _update_enabled(self) -> None:
        working = self._task is not None
        self.clear_cache_button.setEnabled(not self._busy and not working and bool(self.cache_bytes))
        self.clear_runs_button.setEnabled(not self._busy and self.runs_size.text() != "None")
        self.change_cache_button.setEnabled(not self._busy)
        self.default_cache_button.setEnabled(not self._busy and configured_cache_dir() is not None)
        self.clear_cache_button.setToolTip(
            "Wait for the current task to finish: it may be using the cache"
            if self._busy
            else "Delete the cached features; the next run encodes its images again"
        )

    # -- kept runs -------------------------------------------------------------------------
    def refresh_kept_runs(self) -> None:
        from mma_studio.core.run_store import RunStore

        count, size = RunStore().size()
        self.runs_size.setText(f"{count} run{'s' if count != 1 else ''} · {format_bytes(size)}" if count else "None")
        self.clear_runs_button.setEnabled(bool(count) and not self._busy)

    def confirm_clear_runs(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Remove Kept Runs?",
            "Reopened projects will show their runs' figures and curves, but not their test results "
            "or demo, until they are trained again. Exported adapter files are not affected.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def clear_kept_runs(self) -> None:
        if self._busy or not self.confirm_clear_runs():
            return
        from mma_studio.core.run_store import RunStore

        RunStore().clear()
        self.refresh_kept_runs()

    # -- cache -----------------------------------------------------------------------------
    def choose_cache_dir(self) -> None:
        start = str(self.cache_root or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Feature Cache Folder", start)
        if folder:
            self.set_cache_dir(Path(folder))

    def set_cache_dir(self, folder: Path | None) -> None:
        """Use `folder` for the cache: itself when it is empty or already a cache, otherwise a
        sub-folder of its own (`core.feature_cache.cache_root_for`), so Clear Cache can never
        reach a user's files. The resolved folder is what is remembered and shown."""
        if folder is None:
            QSettings().remove(CACHE_DIR_KEY)
        else:
            from mma_studio.core.feature_cache import cache_root_for

            folder = cache_root_for(folder)
            QSettings().setValue(CACHE_DIR_KEY, str(folder))
        self._show_location(folder)
        self.cacheDirChanged.emit(folder)
        self.refresh_cache_size()

    def _show_location(self, folder: Path | None) -> None:
        if folder is not None:
            self.cache_root = folder
            self.cache_location.setText(str(folder))
        else:
            self.cache_location.setText("Default (the user cache folder)")  # the path arrives with the size

    def refresh_cache_size(self) -> None:
        self._run(_cache_size_task(configured_cache_dir()), "Measuring…")

    def confirm_clear(self) -> bool:
        """Ask before deleting (a method so tests can answer it)."""
        size = format_bytes(self.cache_bytes or 0)
        answer = QMessageBox.question(
            self,
            "Clear the Feature Cache?",
            f"Delete {size} of cached image and prompt features?\n\nNothing else is deleted; the next run "
            "encodes its images again, which takes longer once.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def clear_cache(self) -> None:
        if self._busy or self._task is not None or not self.confirm_clear():
            return
        self._run(_clear_cache_task(configured_cache_dir()), "Clearing…")

    def _run(self, fn, label: str) -> None:
        if self._task is not None:
            self._task.cancel_and_wait(2000)
        task = BackgroundTask(fn, self)
        # A task replaced by a newer one may still report (its signals are queued): only the
        # current task's result is shown, and a finished task never clears its successor.
        task.succeeded.connect(lambda result: self._on_size(result) if self._task is task else None)
        task.failed.connect(
            lambda message: self.cache_size.setText(f"Unknown ({message})") if self._task is task else None
        )
        task.finished.connect(lambda: self._on_task_finished(task))
        self._task = task
        self.cache_size.setText(label)
        self._update_enabled()
        task.start()

    def _on_size(self, result) -> None:
        root, size = result
        self.cache_root = Path(root)
        self.cache_bytes = int(size)
        if configured_cache_dir() is None:
            self.cache_location.setText(str(root))
        self.cache_location.setToolTip(plain_tooltip(str(root)))
        self.cache_size.setText(format_bytes(size) if size else "Empty")
        self.cacheSizeKnown.emit(int(size))

    def _on_task_finished(self, task: BackgroundTask) -> None:
        if self._task is task:
            self._task = None
        task.deleteLater()
        self._update_enabled()

    def _open_cache_folder(self) -> None:
        if self.cache_root is not None:
            self.cache_root.mkdir(parents=True, exist_ok=True)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.cache_root)))

    def is_working(self) -> bool:
        return self._task is not None

    # -- device ----------------------------------------------------------------------------
    def _list_devices(self) -> None:
        task = BackgroundTask(_devices_task(), self)
        task.succeeded.connect(self._fill_devices)
        task.finished.connect(self._on_devices_listed)
        self._devices_task = task
        task.start()

    def _on_devices_listed(self) -> None:
        task, self._devices_task = self._devices_task, None
        if task is not None:
            task.deleteLater()

    def _fill_devices(self, devices: list[str]) -> None:
        current = default_device()
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for key, label in BASIC_DEVICES.items():
            self.device_combo.addItem(label, key)
        for name in devices:
            if name not in BASIC_DEVICES:
                label = {"mps": "Apple GPU (mps)"}.get(name, f"GPU {name}" if name.startswith("cuda") else name)
                self.device_combo.addItem(label, name)
        if self.device_combo.findData(current) < 0:
            self.device_combo.addItem(f"{current} (not available here)", current)
        self.device_combo.setCurrentIndex(self.device_combo.findData(current))
        self.device_combo.blockSignals(False)

    def _on_device_chosen(self, _index: int) -> None:
        device = self.device_combo.currentData()
        if device and device != default_device():
            QSettings().setValue(DEVICE_KEY, device)
            self.deviceChanged.emit(device)

    # -- theme -----------------------------------------------------------------------------
    def _on_theme_chosen(self, _index: int) -> None:
        mode = self.theme_combo.currentData()
        save_theme(mode)
        self.themeChanged.emit(mode)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        for task in (self._task, self._devices_task):
            if task is not None and task.is_running():
                task.cancel_and_wait(3000)
        super().done(result)


def _section(title: str) -> QLabel:
    label = QLabel(title)
    font = label.font()
    font.setWeight(font.Weight.DemiBold)
    font.setPointSizeF(font.pointSizeF() * 1.05)
    label.setFont(font)
    label.setContentsMargins(0, 8, 0, 0)
    return label
