"""The Demo page: try an adapter on any image, into any classes.

Drop an image (or open one, or paste it with Ctrl+V) and see the top classes twice, side by
side: frozen zero-shot CLIP, and CLIP with the adapter. The class list is editable: names the
adapter never trained on can be added (MMA scores any class name), others removed, and the
results follow. By default the demo runs the last training run's adapter on the backbone
that run already loaded; any adapter file can be loaded instead (button, or drop it anywhere
on the window), and its metadata is shown. A whole folder can be classified into a CSV.

All engine work runs in `BackgroundTask`s, one at a time (the classifier is never used by two
threads); requests that arrive meanwhile wait, and repeated ones collapse into the latest.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QImage,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.app_state import AppState
from mma_studio.ui.demo.class_list_editor import ClassListEditor
from mma_studio.ui.demo.image_view import ImageView
from mma_studio.ui.demo.results_panel import ResultsPanel
from mma_studio.ui.widgets.adapter_drop import is_adapter_path, local_paths
from mma_studio.ui.widgets.adapter_info import AdapterInfo
from mma_studio.ui.widgets.banner import Banner
from mma_studio.ui.widgets.fit_scroll_area import FitScrollArea
from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.page_style import CARD_STYLE, card, title_label
from mma_studio.ui.widgets.plain_text import plain_label
from mma_studio.ui.workers.background_task import BackgroundTask
from mma_studio.ui.workers.demo_worker import (
    BackboneCache,
    DemoModel,
    DemoResult,
    FolderResult,
    TaskFailure,
    classify_task,
    folder_task,
    model_from_file_task,
    model_from_run_task,
    read_adapter_task,
)

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"
ADAPTER_FILTER = "Adapter files (*.safetensors);;All files (*)"
LAST_ADAPTER_DIR_KEY = "demo/lastAdapterFolder"
LAST_IMAGE_DIR_KEY = "demo/lastImageFolder"
LAST_CSV_DIR_KEY = "demo/lastCsvFolder"
FOLDER_TOP_K = 3
SIDE_PANEL_WIDTH = 392
NARROW_SIDE_PANEL_WIDTH = 280

DEMO_PAGE_STYLE = (
    CARD_STYLE
    + """
QFrame#demoErrorBanner { background: #fef2f2; border: 1px solid #fecaca; border-radius: 8px; }
QFrame#demoErrorBanner QLabel { color: #991b1b; }
QFrame#demoNoticeBanner { background: #eff6ff; border: 1px solid #bfdbfe; border-radius: 8px; }
QFrame#demoNoticeBanner QLabel { color: #1e3a8a; }
"""
)


def _card(name: str, title: str, content_layout) -> QFrame:
    frame, layout = card(name)
    layout.addWidget(title_label(title))
    layout.addLayout(content_layout, 1)
    return frame


class DemoPage(QWidget):
    """Classify images with an adapter: zero-shot and adapted top-k, editable classes."""

    statusMessage = Signal(str, int)  # text, timeout in ms
    modelChanged = Signal()  # a new adapter is active (from a run or a file)
    classified = Signal()  # an image result is on screen
    folderFinished = Signal(bool)  # True when a CSV was written
    taskFinished = Signal()  # any worker task ended (tests wait on it)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoPage")
        self.state = state
        self.backbones = BackboneCache()
        self.model: DemoModel | None = None
        self.last_result: DemoResult | None = None
        self.last_error = ""
        self._latest_run = None  # the last TrainingRun announced by the Train page
        self._image = None  # the decoded image (PIL), kept so class edits do not decode it again
        self._image_name = ""
        self.image_path: Path | None = None  # the image file on screen (kept with the project)
        self._task: BackgroundTask | None = None
        self._task_kind = ""
        self._pending_model = None  # ("read", path) | ("file", adapter_file, path) | ("run", run)
        self._pending_image = None  # ("path", Path) | ("qimage", QImage)
        self._pending_classify = False
        self._pending_folder = None  # (folder, csv_path)
        self._loading_label = ""
        self._reading_path: Path | None = None
        # Where a run's adapter was saved (the Export dialog, or the project's record of it):
        # the adapter card says so instead of "not saved as a file yet".
        self._exported: dict[int, Path] = {}
        self.export_lookup = None  # callable(run) -> Path | None, set by the window (the project's runs)
        style = self.style()
        self.setAcceptDrops(True)
        self.setStyleSheet(DEMO_PAGE_STYLE)

        # ---- header ------------------------------------------------------------------------
        title = named(title_label("Demo", "pageTitle"), "demoPageTitle")
        self.summary_label = plain_label(named(QLabel(), "demoSummaryLabel"))  # names the adapter file
        self.summary_label.setProperty("role", "hint")
        self.summary_label.setWordWrap(True)
        self.load_button = named(
            QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton), "Load Adapter File…"),
            "loadAdapterButton",
        )
        self.load_button.setToolTip("Classify with an adapter file (.safetensors); you can also drop one on the window")
        self.load_button.clicked.connect(self.choose_adapter_file)
        self.use_run_button = named(QPushButton("Use Last Training Run"), "useLastRunButton")
        self.use_run_button.setToolTip("Go back to the adapter of the latest training run")
        self.use_run_button.clicked.connect(self.use_latest_run)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(title)
        titles.addWidget(self.summary_label)
        header = QHBoxLayout()
        header.setSpacing(8)
        header.addLayout(titles, 1)
        header.addWidget(self.use_run_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.load_button, 0, Qt.AlignmentFlag.AlignBottom)

        # ---- activity (model loading, folder classification) and messages --------------------
        self.progress = named(QProgressBar(), "demoProgress")
        self.progress.setTextVisible(True)
        self.cancel_button = named(QPushButton("Cancel"), "demoCancelButton")
        self.cancel_button.setToolTip("Stop the work in progress")
        self.cancel_button.clicked.connect(self.cancel)
        self._activity = QWidget()
        activity = QHBoxLayout(self._activity)
        activity.setContentsMargins(0, 0, 0, 0)
        activity.addWidget(self.progress, 1)
        activity.addWidget(self.cancel_button)
        self._activity.hide()
        self.error_banner = Banner("demoErrorBanner", links=True)
        self.notice_banner = Banner("demoNoticeBanner", links=True)
        self.notice_banner.label.linkActivated.connect(self._on_notice_link)

        # ---- left: the image and the two result columns ----------------------------------------
        self.image_view = ImageView()
        self.open_image_button = named(
            QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open Image…"), "openImageButton"
        )
        self.open_image_button.setToolTip("Classify an image file")
        self.open_image_button.clicked.connect(self.choose_image)
        self.paste_button = named(QPushButton("Paste"), "pasteImageButton")
        self.paste_button.setToolTip("Classify the image on the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(self.paste_from_clipboard)
        image_buttons = QHBoxLayout()
        image_buttons.setSpacing(8)
        image_buttons.addWidget(self.open_image_button)
        image_buttons.addWidget(self.paste_button)
        image_buttons.addStretch(1)
        from mma_studio.ui.demo.add_to_class_button import AddToClassButton

        self.add_to_class_button = AddToClassButton(state, lambda: self.image_path)
        image_buttons.addWidget(self.add_to_class_button)
        image_layout = QVBoxLayout()
        image_layout.setSpacing(8)
        image_layout.addWidget(self.image_view, 1)
        image_layout.addLayout(image_buttons)
        image_card = _card("demoImageCard", "Image", image_layout)

        self.results = ResultsPanel()
        self.results.top_k_spin.valueChanged.connect(self._request_classify)
        results_layout = QVBoxLayout()
        results_layout.addWidget(self.results)
        results_card = _card("demoResultsCard", "Results", results_layout)

        left = QVBoxLayout()
        left.setSpacing(12)
        left.addWidget(image_card, 1)  # the results keep the room their bars need; the image takes the rest
        left.addWidget(results_card, 0)

        # ---- right: classes, adapter, folder ------------------------------------------------------
        self.class_editor = ClassListEditor()
        self.class_editor.classesChanged.connect(self._on_classes_edited)
        classes_layout = QVBoxLayout()
        classes_hint = QLabel("Add names the adapter never saw: it scores any class name.")
        classes_hint.setProperty("role", "hint")
        classes_hint.setWordWrap(True)
        classes_layout.addWidget(classes_hint)
        classes_layout.addWidget(self.class_editor, 1)
        classes_card = _card("demoClassesCard", "Classes", classes_layout)

        self.adapter_info = AdapterInfo()
        adapter_layout = QVBoxLayout()
        adapter_layout.addWidget(self.adapter_info)
        adapter_card = _card("demoAdapterCard", "Adapter", adapter_layout)

        self.folder_button = named(
            QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DirIcon), "Classify a Folder…"),
            "classifyFolderButton",
        )
        self.folder_button.setToolTip("Classify every image in a folder (and its sub-folders) into a CSV file")
        self.folder_button.clicked.connect(self.choose_folder_to_classify)
        self.folder_result = named(QLabel(), "folderResultLabel")
        self.folder_result.setProperty("role", "hint")
        self.folder_result.setWordWrap(True)
        self.folder_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.folder_result.linkActivated.connect(lambda link: QDesktopServices.openUrl(QUrl(link)))
        folder_layout = QVBoxLayout()
        folder_hint = QLabel(
            f"One row per image: the top {FOLDER_TOP_K} classes with the adapter, and zero-shot CLIP's answer."
        )
        folder_hint.setProperty("role", "hint")
        folder_hint.setWordWrap(True)
        folder_layout.addWidget(folder_hint)
        folder_layout.addWidget(self.folder_button, 0, Qt.AlignmentFlag.AlignLeft)
        folder_layout.addWidget(self.folder_result)
        folder_card = _card("demoFolderCard", "Folder to CSV", folder_layout)

        right_widget = QWidget()
        right = QVBoxLayout(right_widget)
        right.setContentsMargins(0, 0, 4, 0)
        right.setSpacing(12)
        right.addWidget(classes_card, 1)
        right.addWidget(adapter_card)
        right.addWidget(folder_card)
        right_scroll = QScrollArea()
        right_scroll.setObjectName("demoSidePanel")
        right_scroll.setWidget(right_widget)
        right_scroll.setWidgetResizable(True)
        right_scroll.setFrameShape(QFrame.Shape.NoFrame)
        right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right_scroll.setFixedWidth(SIDE_PANEL_WIDTH)
        self._side_panel = right_scroll
        right_widget.installEventFilter(self)
        classes_card.setMinimumHeight(260)

        columns = QHBoxLayout()
        columns.setSpacing(16)
        # In a short window the image and results scroll (the results never lose their last rows).
        left_widget = QWidget()
        left_widget.setLayout(left)
        left.setContentsMargins(0, 0, 0, 0)
        left_scroll = FitScrollArea(left_widget)
        left_scroll.setObjectName("demoMainColumn")
        columns.addWidget(left_scroll, 1)
        columns.addWidget(right_scroll)
        body = QVBoxLayout(self)
        body.setContentsMargins(20, 16, 20, 16)
        body.setSpacing(12)
        body.addLayout(header)
        body.addWidget(self._activity)
        body.addWidget(self.error_banner)
        body.addWidget(self.notice_banner)
        body.addLayout(columns, 1)

        paste = QShortcut(QKeySequence(QKeySequence.StandardKey.Paste), self)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        paste.activated.connect(self.paste_from_clipboard)
        self._refresh()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_side_panel()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self._side_panel.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit_side_panel()  # an adapter's metadata, a longer class name: its cards grew
        return super().eventFilter(watched, event)

    def _fit_side_panel(self) -> None:
        # The side panel gives up width in a small window, so the image and results keep room,
        # but never narrower than its cards need: it scrolls up and down, never sideways, so
        # anything wider was cut off at its right edge (the Add button, the cards' borders).
        width = int(self.width() * 0.4)
        needed = (
            self._side_panel.widget().minimumSizeHint().width()
            + self._side_panel.verticalScrollBar().sizeHint().width()
            + 2
        )
        self._side_panel.setFixedWidth(max(NARROW_SIDE_PANEL_WIDTH, needed, min(SIDE_PANEL_WIDTH, width)))

    # ================================================================== public API
    def use_training_run(self, run) -> None:
        """A training run finished: use its adapter, unless the user chose a file."""
        if run is None:
            return
        self._latest_run = run
        self.backbones.remember(getattr(run, "backbone", None))  # adapter files on the same weights reuse it
        if self.model is None or self.model.source == "run" or self._pending_is_run():
            self._queue_model(("run", run))
        else:
            self.notice_banner.show_text(
                'A new training run finished. <a href="use-run">Use its adapter</a> instead of the loaded file.'
            )
        self._refresh()

    def forget_training_runs(self) -> None:
        """Another project was opened (or a new one started): its runs are not this one's. A
        run's adapter in use is put away; an adapter file the user loaded stays."""
        self._latest_run = None
        if self._pending_is_run():
            self._pending_model = None
        if self.model is not None and self.model.source == "run":
            self.model = None
            self.class_editor.set_classes([])
            self.adapter_info.show_empty()
            self.last_result = None
            self.modelChanged.emit()
        self.notice_banner.hide()
        self._refresh()

    def note_export(self, run, adapter_path: Path | str) -> None:
        """`run`'s adapter was saved as `adapter_path`: the adapter card names the file."""
        self._exported[id(run)] = Path(adapter_path)
        if self.model is not None and self.model.source == "run" and self.model.run is run:
            self._show_adapter_info(self.model)

    def _saved_path(self, run) -> Path | None:
        path = self._exported.get(id(run))
        if path is None and self.export_lookup is not None and run is not None:
            path = self.export_lookup(run)
        return Path(path) if path else None

    def _show_adapter_info(self, model: DemoModel) -> None:
        if model.source != "run":
            self.adapter_info.show_adapter(model.adapter_file, "Adapter file", model.path)
            return
        saved = self._saved_path(model.run)
        if saved is not None:
            self.adapter_info.show_adapter(model.adapter_file, "Last training run, saved as a file", saved)
        else:
            self.adapter_info.show_adapter(model.adapter_file, "Last training run (not saved as a file yet)")

    def use_latest_run(self) -> None:
        if self._latest_run is not None:
            self.notice_banner.hide()
            self._queue_model(("run", self._latest_run))

    def classes_added_for(self, run) -> list[str]:
        """The class names the user added on this page to `run`'s classes (for its ONNX export);
        none when the page shows another adapter."""
        if run is None or self.model is None or self.model.source != "run" or self.model.run is not run:
            return []
        trained = set(self.model.class_names)
        return [name for name in self.class_editor.class_names() if name not in trained]

    def load_adapter_file(self, path: Path | str) -> None:
        """Read an adapter file, show its metadata and classify with it (on success)."""
        path = Path(path)
        QSettings().setValue(LAST_ADAPTER_DIR_KEY, str(path.parent))
        self.notice_banner.hide()
        self._queue_model(("read", path))

    def classify_path(self, path: Path | str) -> None:
        """Classify an image file (decoded by the engine, upright per its EXIF)."""
        path = Path(path)
        self.image_path = path
        self._pending_image = ("path", path)
        self._run_next()

    def classify_qimage(self, image: QImage, name: str = "Pasted image") -> None:
        if image is None or image.isNull():
            self.show_error("No image", "The clipboard holds no image.")
            return
        self.image_path = None  # a pasted image has no file to come back to
        self._pending_image = ("qimage", image.copy(), name)
        self._run_next()

    def classify_folder(self, folder: Path | str, csv_path: Path | str) -> bool:
        """Classify every image below `folder` into `csv_path`; False when no model is loaded."""
        if self.model is None:
            self.show_error("No adapter", "Train an adapter or load an adapter file before classifying a folder.")
            return False
        self._pending_folder = (Path(folder), Path(csv_path))
        self.folder_result.setText("")
        self._run_next()
        return True

    def set_class_names(self, names: list[str]) -> None:
        """Replace the class list (as edits would), e.g. from a test or a script."""
        current = self.class_editor.class_names()
        self.class_editor.add_names([n for n in names if n not in current])
        self.class_editor.remove_names([n for n in current if n not in names])

    def paste_from_clipboard(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.classify_qimage(image)
                return
        paths = local_paths(mime)
        if not paths and mime is not None and mime.hasText():
            candidate = Path(mime.text().strip().removeprefix("file://"))
            if candidate.is_file():
                paths = [candidate]
        if paths:
            self.handle_paths(paths)
            return
        self.show_error(
            "Nothing to paste", "The clipboard holds no image. Copy an image (or an image file) and paste again."
        )

    def handle_paths(self, paths: list[Path]) -> None:
        """What a drop or paste of local files does: an adapter file loads, a folder is classified
        into a CSV, an image is classified."""
        adapters = [p for p in paths if is_adapter_path(p)]
        if adapters:
            self.load_adapter_file(adapters[0])
            return
        folders = [p for p in paths if p.is_dir()]
        if folders:
            self.choose_folder_to_classify(folders[0])
            return
        if paths:
            self.classify_path(paths[0])
            if len(paths) > 1:
                self.statusMessage.emit(
                    f"Classifying the first of {len(paths)} images; drop a folder to classify them all.", 6000
                )

    def cancel(self) -> None:
        if self._task is not None and self._task_kind in ("folder", "read", "file", "run"):
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("Cancelling…")

    def is_busy(self) -> bool:
        return self._task is not None

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        """Cancel queued and running work and wait for the worker (the window is closing)."""
        self._pending_model = self._pending_image = self._pending_folder = None
        self._pending_classify = False
        if self._task is not None:
            return self._task.cancel_and_wait(timeout_ms)
        return True

    def error_text(self) -> str:
        return self.error_banner.text()

    # ================================================================== dialogs
    def choose_adapter_file(self) -> None:
        start = QSettings().value(LAST_ADAPTER_DIR_KEY, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Load Adapter File", str(start), ADAPTER_FILTER)
        if path:
            self.load_adapter_file(Path(path))

    def choose_image(self) -> None:
        start = QSettings().value(LAST_IMAGE_DIR_KEY, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open Image", str(start), IMAGE_FILTER)
        if path:
            QSettings().setValue(LAST_IMAGE_DIR_KEY, str(Path(path).parent))
            self.classify_path(Path(path))

    def choose_folder_to_classify(self, folder: Path | None = None) -> None:
        if self.model is None:
            self.show_error("No adapter", "Train an adapter or load an adapter file before classifying a folder.")
            return
        if folder is None:
            start = QSettings().value(LAST_IMAGE_DIR_KEY, str(Path.home()))
            chosen = QFileDialog.getExistingDirectory(self, "Classify a Folder of Images", str(start))
            if not chosen:
                return
            folder = Path(chosen)
        start = QSettings().value(LAST_CSV_DIR_KEY, str(folder.parent))
        suggestion = Path(start) / f"{folder.name or 'images'}-predictions.csv"
        csv_path, _ = QFileDialog.getSaveFileName(self, "Save the Predictions as", str(suggestion), "CSV files (*.csv)")
        if not csv_path:
            return
        csv_path = Path(csv_path)
        if csv_path.suffix.lower() != ".csv":
            csv_path = csv_path.with_name(csv_path.name + ".csv")
        QSettings().setValue(LAST_CSV_DIR_KEY, str(csv_path.parent))
        self.classify_folder(folder, csv_path)

    # ================================================================== drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if local_paths(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()
            self.image_view.set_hovering(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self.image_view.set_hovering(False)

    def dropEvent(self, event) -> None:  # noqa: N802
        self.image_view.set_hovering(False)
        mime = event.mimeData()
        paths = local_paths(mime)
        if paths:
            event.acceptProposedAction()
            self.handle_paths(paths)
        elif mime.hasImage():
            event.acceptProposedAction()
            self.classify_qimage(QImage(mime.imageData()), "Dropped image")
        else:
            event.ignore()

    # ================================================================== the task queue
    def _queue_model(self, request) -> None:
        self._pending_model = request
        self._run_next()

    def _pending_is_run(self) -> bool:
        return self._pending_model is not None and self._pending_model[0] == "run"

    def _on_classes_edited(self, names: list[str]) -> None:
        self._request_classify()

    def _request_classify(self, *_args) -> None:
        if self._image is not None or self._pending_image is not None:
            self._pending_classify = True
            self._run_next()

    def _run_next(self) -> None:
        if self._task is not None:
            return
        if self._pending_model is not None:
            request, self._pending_model = self._pending_model, None
            kind = request[0]
            if kind == "read":
                self._loading_label = request[1].name
                self._reading_path = request[1]
                self._start("read", read_adapter_task(request[1]), f"Reading {request[1].name}…")
            elif kind == "file":
                _, adapter_file, path = request
                self._loading_label = path.name
                self._start(
                    "file",
                    model_from_file_task(adapter_file, path, default_device(), self.backbones),
                    f"Loading {path.name}…",
                )
            else:
                self._loading_label = "the last training run"
                self._start("run", model_from_run_task(request[1]), "Preparing the last training run's adapter…")
            return
        if self._pending_folder is not None and self.model is not None:
            folder, csv_path = self._pending_folder
            self._pending_folder = None
            self._start(
                "folder",
                folder_task(self.model.classifier, self.class_editor.class_names(), folder, csv_path, FOLDER_TOP_K),
                f"Classifying the images in {folder.name}…",
            )
            return
        if self._pending_image is not None or (self._pending_classify and self._image is not None):
            pending, self._pending_image = self._pending_image, None
            self._pending_classify = False
            classifier = self.model.classifier if self.model is not None else None
            names = self.class_editor.class_names() if self.model is not None else []
            top_k = self.results.top_k()
            if pending is None:
                fn = classify_task(classifier, names, image=self._image, top_k=top_k, source_name=self._image_name)
            elif pending[0] == "path":
                fn = classify_task(classifier, names, path=pending[1], top_k=top_k, source_name=pending[1].name)
            else:
                fn = classify_task(classifier, names, qimage=pending[1], top_k=top_k, source_name=pending[2])
            self._start("classify", fn, "")
            return

    def _start(self, kind: str, fn, label: str) -> None:
        task = BackgroundTask(fn, self)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(lambda result, k=kind: self._on_succeeded(k, result))
        task.failed.connect(lambda message, k=kind: self._on_failed(k, message))
        task.cancelled.connect(lambda k=kind: self._on_cancelled(k))
        task.finished.connect(self._on_task_finished)
        self._task = task
        self._task_kind = kind
        if kind != "classify":  # classifying one image takes a moment: no progress bar flicker
            self.progress.setRange(0, 0)
            self.progress.setFormat(label)
            self.cancel_button.setEnabled(True)
            self._activity.show()
            self.statusMessage.emit(label, 0)
        else:
            self.results.set_hint("Classifying…")
        self._refresh()
        task.start()

    def _on_progress(self, progress) -> None:
        if self._task_kind == "classify":
            return
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(min(progress.done, progress.total))
            text = progress.message or "Working"
            if progress.stage == "predict":
                text = f"Classifying: {progress.done:,} of {progress.total:,} images"
                if progress.rate:
                    text += f" · {progress.rate:,.0f}/s"
            self.progress.setFormat(text)
        else:
            self.progress.setRange(0, 0)
            if progress.message:
                self.progress.setFormat(progress.message)

    def _on_succeeded(self, kind: str, result) -> None:
        if isinstance(result, TaskFailure):
            self._on_failed(kind, result.message)
        elif kind == "read":
            # Metadata is shown once the classifier is ready: first load its backbone (unless
            # the user asked for another adapter meanwhile).
            if self._pending_model is None:
                self._pending_model = ("file", result, self._reading_path)
        elif kind in ("file", "run"):
            self._set_model(result)
        elif kind == "classify":
            self._show_result(result)
        elif kind == "folder":
            self._show_folder_result(result)

    def _on_failed(self, kind: str, message: str) -> None:
        if kind in ("read", "file", "run"):
            what = self._loading_label or "the adapter"
            keep = " The demo keeps the adapter it had." if self.model is not None else ""
            reason = _strip_path(message).rstrip(".")
            self.show_error("The adapter could not be loaded", f"{what}: {reason}.{keep}")
        elif kind == "classify":
            self.show_error("The image could not be classified", message)
            if self._image is None:
                self._show_empty_results()
        elif kind == "folder":
            self.folder_result.setText("")
            self.show_error("The folder could not be classified", message)
            self.folderFinished.emit(False)

    def _on_cancelled(self, kind: str) -> None:
        if kind == "folder":
            self.folder_result.setText("Cancelled: no CSV file was written.")
            self.statusMessage.emit("Cancelled: no CSV file was written.", 5000)
            self.folderFinished.emit(False)
        elif kind in ("read", "file", "run"):
            self.statusMessage.emit("Loading the adapter was cancelled.", 5000)

    def _on_task_finished(self) -> None:
        task, self._task = self._task, None
        self._task_kind = ""
        if task is not None:
            task.deleteLater()
        self._activity.hide()
        self._refresh()
        self.taskFinished.emit()
        self._run_next()

    # ================================================================== results on screen
    def _set_model(self, model: DemoModel) -> None:
        previous = self.model
        # Names the user added to the previous adapter's classes stay: MMA scores any name, and
        # a new adapter is no reason to lose them (the status line says they were kept).
        added = (
            [n for n in self.class_editor.class_names() if n not in set(previous.class_names)]
            if previous is not None
            else []
        )
        self.model = model
        self.error_banner.hide()
        names, roles = model.class_names, model.roles
        self.class_editor.set_classes(names, roles)
        kept = self.class_editor.add_names([n for n in added if n not in set(names)]) if added else []
        self._show_adapter_info(model)
        if model.source == "run":
            self.notice_banner.hide()
        message = f"Demo: using {self._model_title()}"
        if kept:
            shown = ", ".join(f"“{n}”" for n in kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
            message += f"; kept the class{'es' if len(kept) != 1 else ''} you added: {shown}"
        self.statusMessage.emit(message, 8000)
        self.modelChanged.emit()
        self._refresh()
        self._request_classify()

    def _show_result(self, result: DemoResult) -> None:
        self.last_result = result
        self._image = result.image
        self._image_name = result.source_name
        self.image_view.set_image(result.preview, result.source_name)
        prediction = result.prediction
        if prediction is None:
            self._show_empty_results()
            return
        self.results.show_prediction(
            prediction, self.class_editor.roles(), len(result.class_names), self._known_class(result.class_names)
        )
        self.classified.emit()

    def _known_class(self, class_names: list[str]) -> str | None:
        """The image's class when its folder names one of the classes (an image from a dataset)."""
        if self.image_path is None or self._image_name != self.image_path.name:
            return None
        from mma_studio.core.dataset import readable_class_name

        folder = self.image_path.parent.name
        wanted = {folder.casefold(), readable_class_name(folder).casefold()}
        matches = [name for name in class_names if name.casefold() in wanted]
        return matches[0] if len(matches) == 1 else None

    def _show_empty_results(self) -> None:
        if self.model is None:
            self.results.show_message("Train an adapter, or load an adapter file, to classify images.")
        elif self._image is not None or self._pending_image is not None or self._task_kind == "classify":
            self.results.show_message("Classifying…")
        else:
            self.results.show_message("Drop, open or paste an image to see the top classes.")

    def _show_folder_result(self, result: FolderResult) -> None:
        url = QUrl.fromLocalFile(str(result.csv_path)).toString()
        folder_url = QUrl.fromLocalFile(str(result.csv_path.parent)).toString()
        self.folder_result.setText(
            f"{result.rows:,} image{'s' if result.rows != 1 else ''} classified into "
            f'<a href="{url}">{_escape(result.csv_path.name)}</a> (<a href="{folder_url}">show folder</a>).'
        )
        self.statusMessage.emit(f"Wrote {result.rows:,} predictions to {result.csv_path}", 8000)
        self.folderFinished.emit(True)

    def show_error(self, title: str, message: str) -> None:
        self.last_error = message
        self.error_banner.show_text(f"<b>{_escape(title)}.</b> {_escape(message)}")
        self.statusMessage.emit(f"{title}: {message}".splitlines()[0], 8000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, title, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("demoErrorBox")
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages name files and classes
        box.setInformativeText(message)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the worker's signals keep flowing

    def _on_notice_link(self, link: str) -> None:
        if link == "use-run":
            self.use_latest_run()

    def _model_title(self) -> str:
        model = self.model
        if model is None:
            return ""
        backbone = model.adapter_file.backbone.get("description") or model.adapter_file.backbone.get("model_name", "")
        if model.source == "run":
            return f"the adapter of the last training run · {backbone}"
        return f"{model.path.name if model.path else 'adapter file'} · {backbone}"

    def _refresh(self) -> None:
        busy = self._task is not None and self._task_kind != "classify"
        if self.model is None:
            if self._task_kind in ("read", "file", "run"):
                self.summary_label.setText(f"Loading {self._loading_label}…")
            else:
                self.summary_label.setText(
                    "Train an adapter on the Train page, or load an adapter file, then drop an image."
                )
            if self.last_result is None:
                self._show_empty_results()
        else:
            self.summary_label.setText(f"Classifying with {self._model_title()}")
            if self.last_result is None or self.last_result.prediction is None:
                self._show_empty_results()  # never "Train an adapter…" beside an adapter in use
        has_other_run = self._latest_run is not None and (self.model is None or self.model.run is not self._latest_run)
        self.use_run_button.setVisible(has_other_run)
        self.folder_button.setEnabled(self.model is not None and self._task_kind != "folder")
        self.load_button.setEnabled(not busy or self._task_kind == "classify")


def default_device() -> str:
    """The device the demo loads backbones on (Settings > Default device)."""
    from mma_studio.ui.dialogs.settings_dialog import default_device as configured

    return configured()


def _strip_path(message: str) -> str:
    """AdapterFileError messages start with the path; the dialog names the file already."""
    head, sep, tail = message.partition(": ")
    return tail if sep and ("/" in head or "\\" in head) else message


def _escape(text: str) -> str:
    from html import escape

    return escape(str(text))
