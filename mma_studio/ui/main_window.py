"""The main window: a sidebar with the steps of the flow (Data, Train, …), the pages, menus
with shortcuts, and a status bar. It restores its geometry and last settings between runs.

Building it shows nothing and starts no engine work, so tests can drive it offscreen; the
backbone list (read from the model caches' folders, no torch) is filled in a worker shortly
after the window appears. With `defer_pages=True` (what `run_app` uses) only the Data page is
built before the first frame; the Train, Evaluate and Demo pages follow one per event-loop turn
once numpy and pyqtgraph have been imported beside the GUI thread, or at once when something
needs one (`ensure_*_page`).
"""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QEvent, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QWidget,
)

from mma_studio import __version__
from mma_studio.ui.app_identity import APP_NAME, application_icon
from mma_studio.ui.app_state import AppState
from mma_studio.ui.data.data_page import DataPage
from mma_studio.ui.data.recent_folders import clear_recent_folders, recent_folders
from mma_studio.ui.project_controller import ProjectController
from mma_studio.ui.theme import apply_saved_theme, apply_theme
from mma_studio.ui.widgets.adapter_drop import dropped_adapter_path
from mma_studio.ui.widgets.plain_text import plain_tooltip

STOP_TIMEOUT_MS = 5000
FIRST_FRAME_FALLBACK_MS = 500  # deferred pages are built after the first paint, or after this
BACKBONE_LIST_DELAY_MS = 100  # the backbone list (a worker reading the model caches) starts after the show
PAGE_BUILD_PAUSE_MS = 10  # between two deferred pages (a 0 ms timer could run before input due)
PAGE_LIBRARIES = ("numpy", "pyqtgraph")  # what the deferred pages import: ~0.5 s, imported beside the GUI thread
DATA_ROW, TRAIN_ROW, EVALUATE_ROW, DEMO_ROW = range(4)
EVALUATE_TOOLTIP = "Test figures, per-class table, confusion matrix and the misclassified images"

SIDEBAR_STYLE = """
QListWidget#pageList {
    border: none;
    border-right: 1px solid palette(midlight);
    background: palette(window);
    padding: 10px 6px;
    outline: 0;
}
QListWidget#pageList::item {
    padding: 9px 10px;
    margin: 2px 0px;
    border-radius: 7px;
}
QListWidget#pageList::item:selected {
    background: palette(highlight);
    color: palette(highlighted-text);
}
QListWidget#pageList::item:hover:!selected { background: palette(midlight); }
"""


class MainWindow(QMainWindow):
    """The application window. `defer_pages=True` (what `run_app` uses) shows the window with
    only the Data page built: the Train page's live plots import pyqtgraph and numpy, and the
    Evaluate and Demo pages cost tens of milliseconds more, all of which then happens just
    after the first frame instead of before it (benchmarks/startup.py)."""

    def __init__(
        self, state: AppState | None = None, parent: QWidget | None = None, *, defer_pages: bool = False
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.state = state or AppState(self)
        if QApplication.windowIcon().isNull():  # `create_application` gives every window the icon
            self.setWindowIcon(application_icon())
        self.resize(1180, 780)
        self.setMinimumSize(QSize(860, 560))
        apply_saved_theme()  # Settings > Theme, when not "follow the system"
        self._shown_once = False
        self._closing = False

        self.pages = QStackedWidget(self)
        self.pages.setObjectName("pageStack")
        # Built in the stack it goes into (moving a styled page to a new parent restyles it).
        self.data_page = DataPage(self.state, self.pages, defer_dataset_views=defer_pages)
        # Built by `ensure_*_page()`: now, or right after the first frame with `defer_pages`.
        self.train_page = None
        self.evaluate_page = None
        self.demo_page = None
        self._deferred_build_started = False
        self._saved_train_settings: str | None = None
        self.sidebar = QListWidget(self)
        self.sidebar.setObjectName("pageList")
        self.sidebar.setAccessibleName("Steps")
        self.sidebar.setStyleSheet(SIDEBAR_STYLE)
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setFixedWidth(168)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        style = self.style()
        self._add_page(
            self.data_page,
            "1  Data",
            style.standardIcon(QStyle.StandardPixmap.SP_DirIcon),
            "Bring in images, name the classes, choose the split and the model",
        )
        self._add_page(
            self._placeholder("Train"),
            "2  Train",
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
            "Train the adapter and watch its curves",
        )
        self._add_page(
            self._placeholder("Evaluate"),
            "3  Evaluate",  # enabled once a run exists
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
            EVALUATE_TOOLTIP,
        )
        self._add_page(
            self._placeholder("Demo"),
            "4  Demo",
            style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
            "Try the adapter on any image, into any classes",
        )
        self.sidebar.currentRowChanged.connect(self._on_page_chosen)
        self.sidebar.setCurrentRow(0)

        central = QWidget(self)
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.projects = ProjectController(self)
        self.data_page.project_guard = self.projects  # asked before new data replaces the project's
        # An adapter file dropped anywhere on the window opens in the Demo page (the Data
        # page's drop zone passes it on; other widgets ignore drops): see the drag handlers.
        self.setAcceptDrops(True)

        self._build_status_bar()
        self._build_menus()

        self.data_page.statusMessage.connect(self.show_status)
        self.data_page.exampleFinished.connect(self._on_example_finished)
        self.data_page.continueRequested.connect(lambda: self.show_page(TRAIN_ROW))
        self.projects.statusMessage.connect(self.show_status)
        self.projects.titleChanged.connect(self._update_title)
        self.state.datasetChanged.connect(self._update_title)
        self.state.datasetChanged.connect(self._update_status_labels)
        self.state.rolesChanged.connect(self._update_status_labels)
        self.state.backboneChanged.connect(self._update_status_labels)
        self.state.busyChanged.connect(self._update_actions)
        self._update_title()
        self._update_status_labels()
        self._update_actions()
        self.restore_settings()
        if not defer_pages:
            self.ensure_all_pages()

    # --- the pages after the Data page, built now or right after the first frame ----------

    def _placeholder(self, title: str) -> QLabel:
        label = QLabel(f"Loading the {title} page…", self.pages)
        label.setObjectName("pagePlaceholder")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        return label

    def _install_page(self, row: int, page: QWidget) -> None:
        """Put a built page where its placeholder stood, keeping the current page shown."""
        placeholder = self.pages.widget(row)
        self.pages.insertWidget(row, page)
        self.pages.removeWidget(placeholder)
        placeholder.deleteLater()
        self.pages.setCurrentIndex(self.sidebar.currentRow())

    def ensure_all_pages(self) -> None:
        self.ensure_train_page()
        self.ensure_evaluate_page()
        self.ensure_demo_page()

    def _build_deferred_pages(self) -> None:
        """After the first frame: the rest of the Data page, then the other pages, one per
        event-loop turn so input and painting go on between them."""
        if self._deferred_build_started:
            return
        self._deferred_build_started = True
        QTimer.singleShot(0, self.data_page.ensure_dataset_views)
        QTimer.singleShot(1, self._import_page_libraries_then_build)

    def _import_page_libraries_then_build(self) -> None:
        """numpy and pyqtgraph are imported in a thread first: imported here they would stall
        the GUI thread for ~0.5 s (issue 12 §6); a page needed sooner is built at once anyway."""
        from mma_studio.ui.workers.import_ahead import ImportAhead

        def build_pages(steps=(self.ensure_train_page, self.ensure_evaluate_page, self.ensure_demo_page)) -> None:
            if steps:  # one page at a time; timers and input that came due meanwhile go first
                steps[0]()
                QTimer.singleShot(PAGE_BUILD_PAUSE_MS, lambda: build_pages(steps[1:]))

        self._page_libraries = ImportAhead(PAGE_LIBRARIES, self)
        self._page_libraries.when_done(build_pages)
        self._page_libraries.start()

    def ensure_evaluate_page(self):
        """The Evaluate page, built now if it was deferred."""
        if self.evaluate_page is None:
            from mma_studio.ui.evaluate.evaluate_page import EvaluatePage

            self.evaluate_page = EvaluatePage(self.state, self.pages)
            self._install_page(EVALUATE_ROW, self.evaluate_page)
            self.evaluate_page.trainRequested.connect(lambda: self.show_page(TRAIN_ROW))
            self.evaluate_page.adapterExported.connect(self.projects.note_export)
            self.evaluate_page.adapterExported.connect(lambda run, path: self.ensure_demo_page().note_export(run, path))
        return self.evaluate_page

    def ensure_demo_page(self):
        """The Demo page, built now if it was deferred."""
        if self.demo_page is None:
            from mma_studio.ui.demo.demo_page import DemoPage

            self.demo_page = DemoPage(self.state, self.pages)
            self._install_page(DEMO_ROW, self.demo_page)
            self.demo_page.statusMessage.connect(self.show_status)
            self.demo_page.export_lookup = self._exported_adapter_of
        return self.demo_page

    def ensure_train_page(self):
        """The Train page, built now if it was deferred."""
        if self.train_page is not None:
            return self.train_page
        from mma_studio.ui.dialogs.settings_dialog import configured_cache_dir
        from mma_studio.ui.train.train_page import TrainPage  # pyqtgraph: deferred with the page

        self.train_page = TrainPage(self.state, self.pages)
        self._install_page(TRAIN_ROW, self.train_page)
        if self._saved_train_settings:
            try:
                self.train_page.restore_settings_values(json.loads(self._saved_train_settings))
            except (ValueError, TypeError, KeyError, AttributeError):
                pass  # settings from an older version: keep the defaults
        self.train_page.runFinished.connect(self._on_run_finished)
        chooser = self.data_page.backbone_chooser  # missing weights: the Train page offers both fixes
        self.train_page.downloadWeightsRequested.connect(chooser.start_download)
        self.train_page.chooseWeightsRequested.connect(chooser.choose_local_file)
        cache_dir = configured_cache_dir()
        if cache_dir is not None:
            self.train_page.cache_dir = cache_dir
        self.projects.attach_train_page(self.train_page)
        return self.train_page

    def _exported_adapter_of(self, run):
        """Where the project recorded `run`'s exported adapter file (None: never exported, or gone)."""
        from pathlib import Path

        finished = getattr(run, "finished_at", None)
        for record in reversed(self.projects.runs):
            if finished and record.finished_at == finished and record.adapter_file:
                path = Path(record.adapter_file)
                return path if path.is_file() else None
        return None

    def show_train_page(self) -> None:
        self.ensure_train_page()
        self.show_page(TRAIN_ROW)

    # An adapter file dropped anywhere on the window (a child that takes drops passes it on).
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if dropped_adapter_path(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        path = dropped_adapter_path(event.mimeData())
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_adapter_in_demo(path)

    def open_adapter_in_demo(self, path) -> None:
        """Load an adapter file in the Demo page and show it (File, or a drop on the window)."""
        demo_page = self.ensure_demo_page()
        self.show_page(DEMO_ROW)
        demo_page.load_adapter_file(path)

    def export_adapter(self) -> None:
        self.ensure_evaluate_page().export_adapter()

    def show_settings(self):
        from mma_studio.ui.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self, busy=self.state.busy)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.themeChanged.connect(lambda mode: apply_theme(mode))
        dialog.deviceChanged.connect(self._on_default_device_changed)
        dialog.cacheDirChanged.connect(self._on_cache_dir_changed)
        self.state.busyChanged.connect(dialog.set_busy)
        dialog.open()
        return dialog

    def _on_default_device_changed(self, device: str) -> None:
        if self.train_page is not None and not self.train_page.is_training():
            self.train_page.restore_settings_values({"device": "cuda" if device.startswith("cuda") else device})

    def _on_cache_dir_changed(self, folder) -> None:
        if self.train_page is not None:
            self.train_page.cache_dir = folder

    def forget_runs(self) -> None:
        """Another project opened: the Evaluate and Demo pages let go of the previous one's runs."""
        if self.evaluate_page is not None and self.evaluate_page.has_run():
            self.evaluate_page.set_run(None)
        if self.demo_page is not None:
            self.demo_page.forget_training_runs()
        self._update_actions()
        if self.sidebar.currentRow() == EVALUATE_ROW:
            self.show_page(DATA_ROW)  # the Evaluate page is disabled without a run

    def show_restored_run(self, run, *, replace: bool = False) -> bool:
        """A past run evaluated again: shown on the Evaluate and Demo pages. On reopening a
        project (`replace=False`) a run already shown there (trained meanwhile) is kept."""
        evaluate = self.ensure_evaluate_page()
        if evaluate.has_run() and not replace:
            return False
        evaluate.set_run(run)
        self.ensure_demo_page().use_training_run(run)
        self._update_actions()
        return True

    def _on_run_finished(self, run) -> None:
        self.ensure_evaluate_page().set_run(run)
        self.ensure_demo_page().use_training_run(run)
        self._update_actions()
        self.show_status("Training finished: see its test figures on the Evaluate page (Ctrl+3)", 8000)

    def _on_page_chosen(self, row: int) -> None:
        builders = {
            TRAIN_ROW: self.ensure_train_page,
            EVALUATE_ROW: self.ensure_evaluate_page,
            DEMO_ROW: self.ensure_demo_page,
        }
        if row in builders:
            builders[row]()
        self.pages.setCurrentIndex(row)

    # --- construction ----------------------------------------------------------------------

    def _add_page(self, page: QWidget, title: str, icon, tooltip: str) -> None:
        self.pages.addWidget(page)
        item = QListWidgetItem(icon, title)
        item.setToolTip(tooltip)
        item.setSizeHint(QSize(150, 40))
        self.sidebar.addItem(item)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("statusBar")
        self.status_dataset = QLabel(self)
        self.status_dataset.setObjectName("statusDataset")
        self.status_backbone = QLabel(self)
        self.status_backbone.setObjectName("statusBackbone")
        for label in (self.status_dataset, self.status_backbone):
            label.setContentsMargins(10, 0, 10, 0)
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        separator = QFrame(self)
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)
        bar.addPermanentWidget(self.status_dataset)
        bar.addPermanentWidget(separator)
        bar.addPermanentWidget(self.status_backbone)

    def _build_menus(self) -> None:
        style = self.style()
        menu_bar = self.menuBar()
        file_menu = menu_bar.addMenu("&File")
        self.open_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "&Open Folder…", self)
        self.open_action.setObjectName("openFolderAction")
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.setStatusTip("Open a folder with one sub-folder per class")
        self.open_action.triggered.connect(self._open_folder)
        self.example_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Try an &Example", self)
        self.example_action.setObjectName("tryExampleAction")
        self.example_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.example_action.setStatusTip("Write a small dataset of shapes and select the offline demo model")
        self.example_action.triggered.connect(self._try_example)
        self.report_action = QAction(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView), "Dataset &Health Report", self
        )
        self.report_action.setObjectName("healthReportAction")
        self.report_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        self.report_action.triggered.connect(self.data_page.show_health_report)
        self.close_dataset_action = QAction("&Close Dataset", self)
        self.close_dataset_action.setObjectName("closeDatasetAction")
        self.close_dataset_action.setShortcut(QKeySequence("Ctrl+Shift+W"))
        self.close_dataset_action.triggered.connect(self.data_page.clear_dataset)
        self.export_action = QAction(
            style.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton), "&Export Adapter…", self
        )
        self.export_action.setObjectName("exportAdapterAction")
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setStatusTip("Save the trained adapter file, with a model card and metrics beside it")
        self.export_action.triggered.connect(self.export_adapter)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setObjectName("quitAction")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.projects.new_action)
        file_menu.addAction(self.projects.open_action)
        file_menu.addMenu(self.projects.recent_menu)
        file_menu.addAction(self.projects.save_action)
        file_menu.addAction(self.projects.save_as_action)
        file_menu.addAction(self.projects.runs_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.example_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.report_action)
        file_menu.addAction(self.close_dataset_action)
        file_menu.addSeparator()
        self.settings_action = QAction("&Settings…", self)
        self.settings_action.setObjectName("settingsAction")
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.settings_action.setStatusTip("Feature cache, default device and theme")
        self.settings_action.triggered.connect(self.show_settings)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = menu_bar.addMenu("&Edit")  # undo / redo of data fixes (exclude, move, keep)
        edit_menu.addAction(self.projects.undo_action)
        edit_menu.addAction(self.projects.redo_action)

        view_menu = menu_bar.addMenu("&View")
        self.page_actions: list[QAction] = []
        for row in range(self.sidebar.count()):
            title = self.sidebar.item(row).text().split(maxsplit=1)[-1]
            action = QAction(f"&{title}", self)
            action.setObjectName(f"show{title}Action")
            action.setShortcut(QKeySequence(f"Ctrl+{row + 1}"))
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, r=row: self.show_page(r))
            view_menu.addAction(action)
            self.page_actions.append(action)
        self.sidebar.currentRowChanged.connect(self._sync_page_actions)
        self._sync_page_actions(self.sidebar.currentRow())
        view_menu.addSeparator()
        self.sidebar_action = QAction("Show &Sidebar", self)
        self.sidebar_action.setObjectName("toggleSidebarAction")
        self.sidebar_action.setCheckable(True)
        self.sidebar_action.setChecked(True)
        self.sidebar_action.setShortcut(QKeySequence("Ctrl+Alt+S"))
        self.sidebar_action.toggled.connect(self.sidebar.setVisible)
        view_menu.addAction(self.sidebar_action)
        self.full_screen_action = QAction("&Full Screen", self)
        self.full_screen_action.setObjectName("fullScreenAction")
        self.full_screen_action.setCheckable(True)
        self.full_screen_action.setShortcut(QKeySequence.StandardKey.FullScreen)
        self.full_screen_action.toggled.connect(self._set_full_screen)
        view_menu.addAction(self.full_screen_action)

        help_menu = menu_bar.addMenu("&Help")
        self.about_action = QAction(f"&About {APP_NAME}", self)
        self.about_action.setObjectName("aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        about_qt = QAction("About &Qt", self)
        about_qt.setMenuRole(QAction.MenuRole.AboutQtRole)
        about_qt.triggered.connect(QApplication.aboutQt)
        help_menu.addAction(self.about_action)
        help_menu.addAction(about_qt)

    # --- navigation and actions ------------------------------------------------------------

    def show_page(self, row: int) -> None:
        self.sidebar.setCurrentRow(row)

    def current_page(self) -> QWidget:
        return self.pages.currentWidget()

    def _sync_page_actions(self, row: int) -> None:
        for index, action in enumerate(self.page_actions):
            action.setChecked(index == row)

    def _open_folder(self) -> None:
        self.show_page(0)
        self.data_page.choose_folder()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        folders = recent_folders()
        for index, folder in enumerate(folders, start=1):
            action = self.recent_menu.addAction(f"&{index}  {folder.name} — {folder.parent}")
            action.setToolTip(plain_tooltip(str(folder)))
            action.triggered.connect(lambda _checked=False, f=folder: self._open_recent(f))
            action.setEnabled(not self.state.busy)
        if not folders:
            self.recent_menu.addAction("No Recent Folders").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", clear_recent_folders)

    def _open_recent(self, folder) -> None:
        self.show_page(0)
        self.data_page.open_folder(folder)

    def _try_example(self) -> None:
        self.show_page(0)
        self.data_page.try_example()

    def _on_example_finished(self, ok: bool) -> None:
        if ok:
            self.sidebar.item(1).setToolTip("The example is ready: train the adapter here")

    def _set_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Adapt a frozen CLIP model to your own image classes with the Multi-Modal Adapter "
            "(Seputis, Mihailov, Chatterjee and Xiao, <i>Multi-Modal Adapter for Vision-Language "
            "Models</i>, arXiv:2409.02958), on your own computer.</p>"
            "<p>Built on open_clip, PyTorch, Qt for Python and pyqtgraph.</p>",
        )

    def _update_actions(self, *_args) -> None:
        busy = self.state.busy
        for action in (self.open_action, self.example_action, self.close_dataset_action):
            action.setEnabled(not busy)
        self.report_action.setEnabled(self.state.data.scan is not None)
        self.close_dataset_action.setEnabled(not busy and self.state.data.scan is not None)
        # The Evaluate page and export need a trained run.
        has_run = self.evaluate_page is not None and self.evaluate_page.has_run()
        self.export_action.setEnabled(has_run)
        item = self.sidebar.item(EVALUATE_ROW)
        item.setFlags(
            item.flags() | Qt.ItemFlag.ItemIsEnabled if has_run else item.flags() & ~Qt.ItemFlag.ItemIsEnabled
        )
        item.setToolTip(EVALUATE_TOOLTIP if has_run else "Train an adapter first: its test figures appear here")
        if len(getattr(self, "page_actions", [])) > EVALUATE_ROW:
            self.page_actions[EVALUATE_ROW].setEnabled(has_run)

    def _update_title(self) -> None:
        project = self.projects.title_name()
        if project:  # a named project: its name, and the modified marker until it is saved
            self.setWindowTitle(f"{project}[*] — {APP_NAME}")
            self.setWindowModified(self.projects.dirty)
        else:
            name = self.data_page.dataset_title()
            self.setWindowTitle(f"{name} — {APP_NAME}" if name else APP_NAME)
        self._update_actions()

    def _update_status_labels(self) -> None:
        data = self.state.data
        if data.scan is None:
            self.status_dataset.setText("No dataset")
        else:
            self.status_dataset.setText(
                f"{len(data.scan.classes)} classes ({len(data.base_classes)} base, {len(data.new_classes)} new) · "
                f"{data.scan.image_count:,} images"
            )
        backbone = self.state.backbone
        self.status_backbone.setText(backbone.label or f"{backbone.model} · {backbone.pretrained}")

    # --- settings --------------------------------------------------------------------------

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/page", self.sidebar.currentRow())
        settings.setValue("window/sidebar", self.sidebar_action.isChecked())
        settings.setValue("data/splitter", self.data_page.splitter.saveState())
        if self.train_page is not None:
            try:
                settings.setValue("train/settings", json.dumps(self.train_page.settings_values()))
            except (TypeError, ValueError, AttributeError, RuntimeError):
                pass  # settings the page cannot give yet (never loaded) keep their last saved value
        settings.sync()

    def restore_settings(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, (QByteArray, bytes)) and geometry:
            self.restoreGeometry(geometry)
        window_state = settings.value("window/state")
        if isinstance(window_state, (QByteArray, bytes)) and window_state:
            self.restoreState(window_state)
        page = settings.value("window/page", 0)
        try:
            page = int(page)
        except (TypeError, ValueError):
            page = 0
        if 0 <= page < self.sidebar.count() and self.sidebar.item(page).flags() & Qt.ItemFlag.ItemIsEnabled:
            # Without the row signal: choosing a page must not build a deferred page early.
            self.sidebar.blockSignals(True)  # (the page is built right after the first frame)
            self.sidebar.setCurrentRow(page)
            self.sidebar.blockSignals(False)
            self.pages.setCurrentIndex(page)
            self._sync_page_actions(page)
        self.sidebar_action.setChecked(str(settings.value("window/sidebar", True)).lower() not in ("false", "0"))
        splitter = settings.value("data/splitter")
        if isinstance(splitter, (QByteArray, bytes)) and splitter:
            self.data_page.splitter.restoreState(splitter)
        saved_train = settings.value("train/settings")
        self._saved_train_settings = saved_train if isinstance(saved_train, str) and saved_train else None

    # --- Qt events -------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if None in (self.train_page, self.evaluate_page, self.demo_page):
                # The page stack is painted in every frame; a window that is never painted
                # (minimised at once) builds its pages after a short while all the same.
                self.pages.installEventFilter(self)
                QTimer.singleShot(FIRST_FRAME_FALLBACK_MS, self._build_deferred_pages)
            QTimer.singleShot(BACKBONE_LIST_DELAY_MS, self.data_page.backbone_chooser.ensure_loaded)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.pages and event.type() == QEvent.Type.Paint:
            self.pages.removeEventFilter(self)
            QTimer.singleShot(0, self._build_deferred_pages)  # after the frame this paint belongs to
        return False

    def confirm_stop_training(self) -> bool:
        """Ask before closing during training (a method so tests can answer it)."""
        answer = QMessageBox.question(
            self,
            "Training Is Running",
            "Training is still running. Stop it and quit?\n\nThe run stops cleanly; its results so far are not saved.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.train_page is not None and self.train_page.is_training():
            if not self.confirm_stop_training():
                event.ignore()
                return
            self.show_status("Stopping training…")
            if not self.train_page.request_stop_and_wait(STOP_TIMEOUT_MS):
                QMessageBox.warning(
                    self,
                    "Still Stopping",
                    "Training did not stop within a few seconds. Try closing again in a moment.",
                )
                event.ignore()
                return
        self.data_page.stop_and_wait(STOP_TIMEOUT_MS)
        if self.demo_page is not None:
            self.demo_page.stop_and_wait(STOP_TIMEOUT_MS)
        self.projects.stop_and_wait(STOP_TIMEOUT_MS)
        self.projects.flush()  # pending autosave
        self.save_settings()
        event.accept()
