"""Page 1 of the flow: bring images in, check them, name the classes, split them, pick a model.

Everything slow runs in a `BackgroundTask` (scanning, writing the example dataset), with a
progress bar and Cancel; the page only reacts to results. What the user drops decides what
happens (see `drop_request`): a dataset folder replaces the dataset, class folders and loose
images add classes to it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.app_state import AppState
from mma_studio.ui.data.backbone_chooser import BackboneChooser, format_duration
from mma_studio.ui.data.drop_request import CLASS_FOLDERS, IMAGES, ROOT, DropRefused, DropRequest, classify_drop
from mma_studio.ui.data.drop_zone import DropZone
from mma_studio.ui.data.recent_folders import LAST_FOLDER_KEY, remember_recent_folder
from mma_studio.ui.dialogs.replace_data_question import OPEN_AS_NEW, REPLACE, ask_replace_or_new
from mma_studio.ui.widgets.page_style import CARD_STYLE, card, title_label
from mma_studio.ui.widgets.plain_text import plain_label, plain_tooltip
from mma_studio.ui.widgets.progress_row import ProgressRow
from mma_studio.ui.workers.background_task import BackgroundTask
from mma_studio.ui.workers.scan_worker import (
    ScanFailure,
    catching_dataset_errors,
    example_dataset_task,
    scan_folders_task,
    scan_images_task,
    scan_root_task,
)

EXAMPLE_PER_CLASS = 40  # the example dataset's size in the app (tests use fewer)
EXAMPLE_SEED = 0


DATA_PAGE_STYLE = (
    CARD_STYLE
    + """
QFrame#datasetWarnings { background: palette(base); border: 1px solid palette(midlight); border-radius: 10px; }
QPushButton#continueButton {
    background: #2563eb; color: white; border: none; border-radius: 7px;
    padding: 9px 18px; font-size: 11pt; font-weight: 600;
}
QPushButton#continueButton:hover { background: #1d4ed8; }
QPushButton#continueButton:disabled { background: #bfdbfe; color: #f8fafc; }
QFrame#dataError { background: #fef2f2; border: 1px solid #fecaca; border-radius: 8px; }
QFrame#dataError QLabel { color: #991b1b; }
QFrame#backboneError { background: #fffbeb; border: 1px solid #fde68a; border-radius: 8px; }
QFrame#backboneError QLabel { color: #92400e; }
"""
)


def _card(name: str, title: str, hint: str, content: QWidget, *, grow: bool = True) -> QFrame:
    """A titled, rounded panel (the same look as the Train page's cards)."""
    frame, layout = card(name)
    hint_label = title_label(hint, "hint")
    hint_label.setWordWrap(True)
    layout.addWidget(title_label(title))
    layout.addWidget(hint_label)
    layout.addSpacing(2)
    layout.addWidget(content, 1 if grow else 0)
    if not grow:
        frame.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    return frame


def default_example_dir() -> Path:
    """Where "Try an example" writes its images: the user's data folder, not a temp dir,
    so the dataset (and the feature cache keyed on it) survives restarts."""
    from platformdirs import user_data_path

    return user_data_path("MMA Studio", "MMA Studio") / "examples" / "shapes"


class DataPage(QWidget):
    """The Data page. With `defer_dataset_views=True` (the app at start-up) the parts that only
    show once there is a dataset (class table, advice, split card) are built by
    `ensure_dataset_views()`, right after the first frame or when a dataset arrives, whichever
    comes first: an empty page is on screen sooner (benchmarks/startup.py)."""

    statusMessage = Signal(str, int)  # text, timeout in ms (0 = until replaced)
    scanFinished = Signal(bool)  # True when a scan (or the example) produced a dataset
    exampleFinished = Signal(bool)
    continueRequested = Signal()  # the user wants the next step (the Train page)

    def __init__(self, state: AppState, parent: QWidget | None = None, *, defer_dataset_views: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("dataPage")
        self._state = state
        self._task: BackgroundTask | None = None
        self._task_kind = ""
        self._pending_replace = True
        self._pending_extend = False
        self._pending_root: Path | None = None
        self.example_dir: Path | None = None  # None: `default_example_dir()`; tests point it elsewhere
        self.example_per_class = EXAMPLE_PER_CLASS
        # The window's project (ProjectController): asked before new data replaces what it
        # holds. None on a page of its own, which has no project to protect.
        self.project_guard = None
        # Built by `ensure_dataset_views()`.
        self.thumbnails = None
        self.table = None
        self.warnings = None
        self.continue_button = None
        self.split_editor = None
        self.split_card = None
        self.health = None  # the Health view (data doctor), beside the class table
        self.data_tabs = None
        style = self.style()

        # Header: title, summary, actions.
        title = QLabel("Data", self)
        title.setObjectName("dataPageTitle")
        title.setProperty("role", "pageTitle")
        self.summary = QLabel(self)
        self.summary.setObjectName("datasetSummary")
        self.summary.setProperty("role", "hint")
        self.open_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open Folder…", self)
        self.open_button.setObjectName("openFolderButton")
        self.open_button.setToolTip("Open a folder with one sub-folder per class (Ctrl+O)")
        self.open_button.clicked.connect(self.choose_folder)
        self.example_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Try an Example", self
        )
        self.example_button.setObjectName("tryExampleButton")
        self.example_button.setToolTip("Write a small dataset of shapes and select the offline demo model")
        self.example_button.clicked.connect(self.try_example)
        self.report_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView), "Health Report", self
        )
        self.report_button.setObjectName("healthReportButton")
        self.report_button.setToolTip("Every file that was skipped, and why")
        self.report_button.clicked.connect(self.show_health_report)
        header = QHBoxLayout()
        header.setSpacing(8)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(title)
        titles.addWidget(self.summary)
        header.addLayout(titles, 1)
        header.addWidget(self.report_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.example_button, 0, Qt.AlignmentFlag.AlignBottom)

        # Progress of scanning / writing the example.
        self._progress_row = ProgressRow("scan", "scan", self.cancel, self)
        self.progress, self.cancel_button = self._progress_row.progress, self._progress_row.cancel_button

        # Errors that need the user's attention (a refused drop, a failed scan).
        self.error_banner = QFrame(self)
        self.error_banner.setObjectName("dataError")
        self.error_banner.setFrameShape(QFrame.Shape.StyledPanel)
        error_icon = QLabel(self.error_banner)
        error_icon.setPixmap(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(20, 20))
        self.error_label = QLabel(self.error_banner)
        self.error_label.setObjectName("dataErrorText")
        plain_label(self.error_label)  # messages name files and folders
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_report_button = QPushButton("Show Skipped Files", self.error_banner)
        self.error_report_button.setObjectName("dataErrorReportButton")
        self.error_report_button.clicked.connect(self._show_failure_report)
        error_close = QToolButton(self.error_banner)
        error_close.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        error_close.setAutoRaise(True)
        error_close.setAccessibleName("Dismiss")
        error_close.clicked.connect(self.error_banner.hide)
        error_layout = QHBoxLayout(self.error_banner)
        error_layout.addWidget(error_icon, 0, Qt.AlignmentFlag.AlignTop)
        error_layout.addWidget(self.error_label, 1)
        error_layout.addWidget(self.error_report_button, 0, Qt.AlignmentFlag.AlignTop)
        error_layout.addWidget(error_close, 0, Qt.AlignmentFlag.AlignTop)
        self.error_banner.setVisible(False)
        self._failure_scan = None

        # Left: drop zone, class table, advice.
        self.drop_zone = DropZone(self)
        self.drop_zone.dropped.connect(self.handle_drop)
        self.drop_zone.refused.connect(self.show_error)
        self._zone_open = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open Folder…", self.drop_zone
        )
        self._zone_open.setObjectName("dropZoneOpenButton")
        self._zone_open.clicked.connect(self.choose_folder)
        self._zone_example = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Try an Example", self.drop_zone
        )
        self._zone_example.setObjectName("dropZoneExampleButton")
        self._zone_example.setToolTip("A ready-made dataset of shapes, with the offline demo model")
        self._zone_example.clicked.connect(self.try_example)
        self._zone_example.setDefault(True)
        self.drop_zone.add_button(self._zone_open)
        self.drop_zone.add_button(self._zone_example)

        left = QWidget(self)
        self._left_layout = QVBoxLayout(left)
        self._left_layout.setContentsMargins(0, 0, 0, 0)
        self._left_layout.setSpacing(10)
        self._left_layout.addWidget(self.drop_zone)

        # Right: split (built with the dataset views) and model, as cards.
        self.backbone_chooser = BackboneChooser(state, self)
        self.model_card = _card(
            "modelGroup", "Model", "The frozen CLIP the adapter is trained on.", self.backbone_chooser, grow=False
        )
        right = QWidget(self)
        self._right_layout = right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 4, 0)
        right_layout.setSpacing(12)
        right_layout.addWidget(self.model_card)
        right_layout.addStretch(0)
        right_scroll = QScrollArea(self)
        right_scroll.setObjectName("dataSidePanel")
        right_scroll.setWidget(right)
        right_scroll.setWidgetResizable(True)
        right_scroll.setFrameShape(QFrame.Shape.NoFrame)
        right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Wide enough for its content plus a vertical scroll bar: nothing is ever cut off on the right.
        scrollbar = right_scroll.verticalScrollBar().sizeHint().width()
        self.backbone_chooser.downloadFinished.connect(
            lambda ok: ok or right_scroll.ensureWidgetVisible(self.backbone_chooser.error_frame)
        )
        right_scroll.setMinimumWidth(max(362, right.minimumSizeHint().width() + scrollbar + 2))  # 362: with the
        # backbone error and its buttons showing (hidden widgets do not count in the hint)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("dataSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right_scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([700, 380])
        self.splitter.setHandleWidth(14)

        self.setStyleSheet(DATA_PAGE_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addWidget(self._progress_row)
        layout.addWidget(self.error_banner)
        layout.addWidget(self.splitter, 1)

        state.datasetChanged.connect(self._on_dataset_changed)
        state.rolesChanged.connect(self._refresh_advice)
        state.rolesChanged.connect(self._update_enabled)
        state.sampleNeedsChanged.connect(self._refresh_advice)
        state.busyChanged.connect(self._update_enabled)
        if defer_dataset_views:
            self._on_dataset_changed()
        else:
            self.ensure_dataset_views()  # (which shows the dataset, if any)

    def ensure_dataset_views(self) -> None:
        """Build the class table, the advice panel with Continue, and the split card (once)."""
        if self.table is not None:
            return
        from mma_studio.ui.data.class_table import ClassTable
        from mma_studio.ui.data.split_editor import SplitEditor
        from mma_studio.ui.data.warnings_panel import WarningsPanel
        from mma_studio.ui.widgets.thumbnails import ThumbnailLoader

        left = self.drop_zone.parentWidget()
        self.thumbnails = ThumbnailLoader(parent=self)
        self.table = ClassTable(self._state, self.thumbnails, left)
        self.table.removeRequested.connect(self.remove_classes)
        self.warnings = WarningsPanel(left)
        self.warnings.renameRequested.connect(self.table.start_rename)
        self.warnings.healthReportRequested.connect(self.show_health_report)
        self.continue_button = QPushButton("Continue to Train  ›", left)
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip("Go to the Train page (Ctrl+2)")
        self.continue_button.clicked.connect(self.continueRequested)
        bottom = QHBoxLayout()
        bottom.setSpacing(10)
        bottom.addWidget(self.warnings, 1)
        bottom.addWidget(self.continue_button, 0, Qt.AlignmentFlag.AlignBottom)
        from PySide6.QtWidgets import QTabWidget

        from mma_studio.ui.data.health_view import HealthView

        self.health = HealthView(self._state, self.thumbnails, left)
        self.health.statusMessage.connect(self.statusMessage)
        self.health.checkFinished.connect(lambda _ok: self._update_health_tab())
        self._state.fixesChanged.connect(self._update_health_tab)
        self._state.datasetChanged.connect(self._update_health_tab)
        self._state.fixesChanged.connect(self._refresh_advice)
        self.data_tabs = QTabWidget(left)
        self.data_tabs.setObjectName("dataTabs")
        self.data_tabs.setDocumentMode(True)
        self.data_tabs.addTab(self.table, "Classes")
        self.data_tabs.addTab(self.health, "Health")
        self.data_tabs.setTabToolTip(1, "Duplicates, leaks between training and test, likely label errors, outliers")
        # The first look at the tab checks the data (the features are cached after extraction).
        self.data_tabs.currentChanged.connect(
            lambda index: index == 1 and self.health.report is None and self.health.check()
        )
        self._left_layout.addWidget(self.data_tabs, 1)
        self._left_layout.addLayout(bottom)

        self.split_editor = SplitEditor(self._state, self.model_card.parentWidget())
        self.split_card = _card(
            "splitGroup",
            "Base and new classes",
            "Train on the base classes; the new ones test generalisation.",
            self.split_editor,
        )
        self._right_layout.insertWidget(0, self.split_card, 1)
        self._on_dataset_changed()

    # --- entry points ----------------------------------------------------------------------

    def choose_folder(self) -> None:
        start = QSettings().value(LAST_FOLDER_KEY, str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self, "Open Image Folder", str(start))
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> None:
        """Open a folder as if it were dropped (a dataset root, or one class folder)."""
        try:
            request = classify_drop([Path(folder)])
        except DropRefused as exc:
            self.show_error(str(exc))
            return
        self.handle_drop(request)

    def handle_drop(self, request: DropRequest) -> None:
        if self._task is not None or self._state.busy:
            self.show_error("Please wait: the data cannot change while other work is running.")
            return
        self.error_banner.hide()
        has_data = self._state.data.scan is not None
        if request.kind == ROOT:
            if not self._may_replace_data(f"the folder “{request.paths[0].name}”"):
                return
            QSettings().setValue(LAST_FOLDER_KEY, str(request.paths[0]))
            self._start_scan(
                scan_root_task(request.paths[0]), f"Scanning {request.paths[0].name}", replace=True, extend=False
            )
            self._pending_root = request.paths[0]
        elif request.kind == CLASS_FOLDERS:
            QSettings().setValue(LAST_FOLDER_KEY, str(request.paths[0].parent))
            self._start_scan(
                scan_folders_task(list(request.paths)),
                f"Scanning {request.describe()}",
                replace=not has_data,
                extend=False,
            )
        elif request.kind == IMAGES:
            name = self.ask_class_name(list(request.paths))
            if not name:
                self.statusMessage.emit("No class name given: the images were not added.", 5000)
                return
            self._start_scan(
                scan_images_task(name, list(request.paths)),
                f"Checking {request.describe()}",
                replace=not has_data,
                extend=True,
            )

    def _may_replace_data(self, what: str) -> bool:
        """Whether new data may take the place of the project's: asked when the project holds
        data or runs; "Open as New Project" starts an untitled project first (the current one
        is saved as it is), Cancel changes nothing."""
        guard = self.project_guard
        if guard is None or not guard.holds_work():
            return True
        answer = self.ask_replace_or_new(what, guard.title_name())
        if answer == OPEN_AS_NEW:
            return bool(guard.new_project())
        if answer == REPLACE:
            return True
        self.statusMessage.emit("Nothing was opened: the project is unchanged.", 5000)
        return False

    def ask_replace_or_new(self, what: str, project_name: str) -> str:
        """Ask whether new data opens as a new project (a method so tests can answer it)."""
        return ask_replace_or_new(self.window(), what, project_name)

    def ask_class_name(self, files: list[Path]) -> str:
        """Ask which class loose images belong to (a method so tests can answer it)."""
        from mma_studio.core.dataset import readable_class_name

        existing = (
            [self._state.display_name(c.name) for c in self._state.data.scan.classes]
            if (self._state.data.scan is not None)
            else []
        )
        parents = {p.parent for p in files}
        suggestion = readable_class_name(parents.pop().name) if len(parents) == 1 else ""
        items = [suggestion] + [n for n in existing if n != suggestion] if suggestion else existing
        name, ok = QInputDialog.getItem(
            self,
            "Name the New Class",
            f"Which class do these {len(files)} images show?\n"
            "Use words CLIP can read (an existing class name adds the images to it).",
            items or [""],
            0,
            True,
        )
        return " ".join(name.split()) if ok else ""

    def try_example(self) -> None:
        """Write the example dataset, scan it and select the demo model."""
        if self._task is not None or self._state.busy:
            self.show_error("Please wait: other work is running.")
            return
        if not self._may_replace_data("the example dataset"):
            return
        self.error_banner.hide()
        destination = Path(self.example_dir) if self.example_dir is not None else default_example_dir()
        self._start_scan(
            example_dataset_task(destination, self.example_per_class, EXAMPLE_SEED),
            "Writing the example dataset",
            replace=True,
            extend=False,
            kind="example",
        )

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._progress_row.cancelling()

    def is_busy(self) -> bool:
        return self._task is not None

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        """Cancel the page's workers and wait for them (the window is closing)."""
        ok = True
        if self._task is not None:
            ok = self._task.cancel_and_wait(timeout_ms)
        ok = self.backbone_chooser.stop_and_wait(timeout_ms) and ok
        if self.health is not None:
            ok = self.health.stop_and_wait(timeout_ms) and ok
        if self.thumbnails is None:
            return ok
        self.thumbnails.clear()
        return self.thumbnails.wait_for_idle(timeout_ms) and ok

    def clear_dataset(self) -> None:
        if self._task is None and not self._state.busy:
            self._state.clear_scan()
            self.error_banner.hide()

    def remove_classes(self, names: list[str]) -> None:
        scan = self._state.data.scan
        if scan is None or self._state.busy or not names:
            return
        from mma_studio.core.scan_merge import without_classes

        remaining = without_classes(scan, set(names))
        if not remaining.classes:
            self.clear_dataset()
            return
        data = self._state.data
        base = [n for n in data.base_classes if n not in names]
        new = [n for n in data.new_classes if n not in names]
        self._state.update_scan(remaining, base, new)
        self.statusMessage.emit(f"Removed {len(names)} class{'es' if len(names) != 1 else ''} from the dataset.", 5000)

    # --- running a scan --------------------------------------------------------------------

    def _start_scan(self, fn, label: str, *, replace: bool, extend: bool, kind: str = "scan") -> None:
        if self.health is not None:
            # The check after the last run gives way: the data it checks is about to change, and
            # two Python workers beside the GUI thread made it wait for the GIL (issue 12 §6).
            self.health.cancel_automatic()
        task = BackgroundTask(catching_dataset_errors(fn), self)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_scanned)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(self._on_cancelled)
        task.finished.connect(self._on_task_finished)
        self._task = task
        self._task_kind = kind
        self._pending_replace = replace
        self._pending_extend = extend
        self._pending_root = None
        self._progress_row.start(label + "…")
        self._state.set_busy(True)
        self.statusMessage.emit(label + "…", 0)
        task.start()

    def _on_progress(self, progress) -> None:
        self._progress_row.show_count(progress.done, progress.total)
        stage = {"scan": "Scanning", "example": "Writing the example"}.get(progress.stage, progress.stage.capitalize())
        message = progress.message[:1].upper() + progress.message[1:] if progress.message else stage
        text = message
        if progress.total:
            text += f": {progress.done:,} of {progress.total:,}"
        elif progress.done:
            text += f": {progress.done:,}"
        if progress.rate:
            text += f" · {progress.rate:,.0f}/s"
        if progress.eta_s is not None and progress.eta_s >= 1:
            text += f" · about {format_duration(progress.eta_s)} left"
        self.progress.setFormat(text)

    def _on_scanned(self, result) -> None:
        if isinstance(result, ScanFailure):
            self._on_failed(result.message, result.scan)
            return
        self._apply_scan(result)
        if self._pending_root is not None:
            remember_recent_folder(self._pending_root)
        if self._task_kind == "example":
            self.backbone_chooser.select_demo()
            self.statusMessage.emit(
                f"Example ready: {len(result.classes)} classes of shapes, with the demo model selected. Next: Train.",
                8000,
            )
        self.scanFinished.emit(True)

    def _apply_scan(self, scan) -> None:
        from mma_studio.core.split import default_roles

        data = self._state.data
        if self._task_kind == "rescan" and data.scan is not None:  # the same folder, read again
            known = set(data.base_classes) | set(data.new_classes)
            base = [n for n in scan.class_names if n in data.base_classes or n not in known]
            new = [n for n in scan.class_names if n in data.new_classes]
            self._state.update_scan(scan, base, new)
            skipped = len(scan.skipped)
            self.statusMessage.emit(
                f"Scanned again: {scan.image_count:,} usable images"
                + (f", {skipped} file{'s' if skipped != 1 else ''} skipped." if skipped else ", nothing skipped."),
                8000,
            )
            return
        if self._pending_replace or data.scan is None:
            base, new = default_roles(scan.class_names)
            self._state.set_scan(scan, base, new)
            skipped = len(scan.skipped)
            self.statusMessage.emit(
                f"Found {len(scan.classes)} classes and {scan.image_count:,} usable images"
                + (f"; {skipped} file{'s' if skipped != 1 else ''} skipped." if skipped else "."),
                8000,
            )
            return
        from mma_studio.core.scan_merge import merge_scans

        merged = merge_scans(data.scan, scan, extend_same_name=self._pending_extend)
        old_names = data.scan.class_names
        was_default = (list(data.base_classes), list(data.new_classes)) == tuple(default_roles(old_names))
        known = set(data.base_classes) | set(data.new_classes)
        added_names = [n for n in merged.class_names if n not in known]
        if was_default:  # the suggested split, never edited: suggested again for all the classes
            base, new = default_roles(merged.class_names)
        else:  # the user chose roles: keep them, and train on the added classes
            base = [n for n in merged.class_names if n in data.base_classes or n not in known]
            new = [n for n in merged.class_names if n in data.new_classes]
        moved = [n for n in old_names if (n in data.base_classes) != (n in base)]
        self._state.update_scan(merged, base, new)
        self.statusMessage.emit(self._added_classes_message(added_names, moved, was_default, base, new), 12000)

    def _added_classes_message(self, added: list[str], moved: list[str], was_default: bool, base, new) -> str:
        """Where the added classes went, and whether any class changed role: never silent."""
        if not added:
            return "Added the images."
        names = ", ".join(f"“{self._state.display_name(n)}”" for n in added[:3])
        names += f" and {len(added) - 3} more" if len(added) > 3 else ""
        count = f"{len(added)} class{'es' if len(added) != 1 else ''}"
        if not was_default:
            return (
                f"Added {count} ({names}) as base classes to train on; your base/new split is kept. "
                "Change it under Base and new classes."
            )
        if moved:
            shown = ", ".join(f"“{self._state.display_name(n)}”" for n in moved[:3])
            shown += f" and {len(moved) - 3} more" if len(moved) > 3 else ""
            return (
                f"Added {count} ({names}). The suggested split was made again for {len(base) + len(new)} "
                f"classes: {len(base)} base, {len(new)} new ({shown} changed role)."
            )
        return f"Added {count} ({names}) to the suggested split: {len(base)} base, {len(new)} new."

    def _on_failed(self, message: str, partial_scan=None) -> None:
        self._failure_scan = partial_scan if partial_scan is not None and partial_scan.skipped else None
        self.show_error(message[:1].upper() + message[1:])
        self.error_report_button.setVisible(self._failure_scan is not None)
        self.scanFinished.emit(False)

    def _on_cancelled(self) -> None:
        self.statusMessage.emit("Cancelled. The dataset is unchanged.", 5000)
        self.scanFinished.emit(False)

    def _on_task_finished(self) -> None:
        kind = self._task_kind
        if self._task is not None:
            self._task.deleteLater()
        self._task = None
        self._task_kind = ""
        self._progress_row.setVisible(False)
        self._state.set_busy(False)
        if kind == "example":
            self.exampleFinished.emit(self._state.data.scan is not None)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_report_button.setVisible(False)
        self.error_banner.setVisible(True)
        self.statusMessage.emit(message.splitlines()[0] if message else "", 8000)

    def error_text(self) -> str:
        return self.error_label.text() if self.error_banner.isVisibleTo(self) else ""

    # --- health report ---------------------------------------------------------------------

    def health_report_dialog(self, scan=None):
        from mma_studio.ui.data.health_report import HealthReportDialog

        scan = scan if scan is not None else self._state.data.scan
        skipped = list(scan.skipped) if scan is not None else []
        usable = scan.image_count if scan is not None else None
        duplicates = list(getattr(scan, "duplicates", [])) if scan is not None else []
        can_rescan = scan is self._state.data.scan and getattr(scan, "root", None) is not None
        dialog = HealthReportDialog(skipped, self, total_usable=usable, duplicates=duplicates, can_rescan=can_rescan)
        dialog.rescanRequested.connect(self.rescan)
        return dialog

    def rescan(self) -> None:
        """Scan the dataset's folder again (files fixed outside the app): the class names,
        roles and data fixes are kept for the classes still there."""
        scan = self._state.data.scan
        root = getattr(scan, "root", None) if scan is not None else None
        if root is None or self._task is not None or self._state.busy:
            return
        self.error_banner.hide()
        self._start_scan(
            scan_root_task(Path(root)), f"Scanning {Path(root).name} again", replace=False, extend=False, kind="rescan"
        )

    def show_health_report(self) -> None:
        dialog = self.health_report_dialog()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _show_failure_report(self) -> None:
        if self._failure_scan is not None:
            dialog = self.health_report_dialog(self._failure_scan)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.open()

    # --- view ------------------------------------------------------------------------------

    def _on_dataset_changed(self) -> None:
        scan = self._state.data.scan
        has_data = scan is not None
        if has_data:
            self.ensure_dataset_views()
        self.drop_zone.set_compact(has_data)
        if self.table is not None:
            self.thumbnails.clear()
            for view in (self.data_tabs, self.warnings, self.continue_button, self.split_card):
                view.setVisible(has_data)
        if has_data:
            skipped = len(scan.skipped)
            where = f" in {scan.root}" if scan.root is not None else ""
            self.summary.setText(
                f"{len(scan.classes)} classes · {scan.image_count:,} usable images"
                + (f" · {skipped} skipped" if skipped else "")
                + where
            )
            self.summary.setToolTip(plain_tooltip(str(scan.root)) if scan.root is not None else "")
            self.report_button.setText(f"Health Report ({skipped})" if skipped else "Health Report")
        else:
            self.summary.setText("Drop folders of images: one folder per class. CLIP reads the folder names.")
            self.report_button.setText("Health Report")
        self._refresh_advice()
        self._update_enabled()

    def _refresh_advice(self) -> None:
        if self.table is None:
            return  # nothing to advise on yet: the views come with the first dataset
        scan = self._state.data.scan
        self.table.set_minimum_images(self._state.shots + self._state.val_per_class if scan is not None else 0)
        if scan is None:
            self.warnings.set_advice([], unreadable=[], skipped_count=0)
            return
        from mma_studio.core.dataset import dataset_advice, looks_unreadable_name

        scan = self._state.fixed_scan()  # counts as training will see them (exclusions, moves)
        named = replace(scan, classes=[replace(c, display_name=self._state.display_name(c.name)) for c in scan.classes])
        # Names that read the same in the prompt (after renames) come first: training refuses them.
        advice = (
            [f"Cannot train: {line}" for line in named.errors]
            + list(named.warnings)
            + dataset_advice(
                named,
                shots=self._state.shots,
                val_per_class=self._state.val_per_class,
                base_classes=self._state.data.base_classes,
            )
        )
        unreadable = [(c.name, c.display_name) for c in named.classes if looks_unreadable_name(c.display_name)]
        self.warnings.set_advice(advice, unreadable=unreadable, skipped_count=len(scan.skipped))

    def _update_enabled(self, *_args) -> None:
        busy = self._state.busy
        has_data = self._state.data.scan is not None
        for button in (self.open_button, self.example_button, self._zone_open, self._zone_example):
            button.setEnabled(not busy)
        self.drop_zone.setAcceptDrops(not busy)
        self.report_button.setEnabled(has_data)
        if self.table is not None:
            self.table.setEnabled(not busy or self._task is not None)
            self.continue_button.setEnabled(bool(self._state.data.base_classes))
        self.open_button.setVisible(has_data)
        self.example_button.setVisible(has_data)
        self.report_button.setVisible(has_data)

    def _update_health_tab(self) -> None:
        if self.data_tabs is not None:
            count = len(self.health.open_findings())
            self.data_tabs.setTabText(1, f"Health ({count})" if self.health.report is not None else "Health")

    def dataset_title(self) -> str:
        """A short name for the window title: the dataset folder, or a class count."""
        scan = self._state.data.scan
        if scan is None:
            return ""
        if scan.root is not None:
            return scan.root.name
        return f"{len(scan.classes)} classes"
