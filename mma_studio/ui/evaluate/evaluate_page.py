"""The Evaluate page: how the trained adapter does on held-out test images, and where it errs.

Top: zero-shot CLIP against CLIP + adapter for base, new, harmonic mean and all classes
together. Below: a sortable per-class table and the confusion matrix of one model (the
adapter by default, zero-shot CLIP by a toggle). Clicking a matrix cell (or a class in the
table) shows those test images, with true and predicted class, in a gallery.

Everything shown comes from the `TrainingRun`'s `EvaluationReport`s, which the engine computed
in the worker: this page never runs torch, so `set_run` is instant.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.app_state import AppState
from mma_studio.ui.evaluate.comparison_tiles import ComparisonTiles
from mma_studio.ui.evaluate.confusion_view import ConfusionMatrixView
from mma_studio.ui.evaluate.image_gallery import GalleryImage, ImageGallery
from mma_studio.ui.evaluate.per_class_table import PerClassTable
from mma_studio.ui.later_turn import TurnByTurn
from mma_studio.ui.widgets.fit_scroll_area import FitScrollArea
from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.page_style import CARD_STYLE, card, title_label
from mma_studio.ui.widgets.worse_than_zero_shot import is_worse

ADAPTED = "adapted"
ZERO_SHOT = "zero_shot"
MODEL_TITLES = {ADAPTED: "CLIP + adapter", ZERO_SHOT: "Zero-shot CLIP"}

PAGE_STYLE = (
    CARD_STYLE
    + """
QLabel[role="tileCaption"] { color: palette(placeholder-text); font-size: 8.5pt; }
QLabel[role="tileValue"] { font-size: 17pt; font-weight: 600; }
QLabel[role="tileBaseline"] { font-size: 12pt; color: palette(placeholder-text); }
QLabel[role="tileChange"] { font-size: 10pt; font-weight: 600; }
QLabel[role="tileDetail"] { color: palette(placeholder-text); font-size: 8.5pt; }
QFrame[tile="true"] {
    background: palette(base);
    border: 1px solid palette(midlight);
    border-radius: 8px;
}
QPushButton[segment] {
    border: 1px solid palette(mid); padding: 5px 10px; background: palette(button); border-radius: 0px;
}
QPushButton[segment="first"] { border-top-left-radius: 7px; border-bottom-left-radius: 7px; }
QPushButton[segment="last"] { border-top-right-radius: 7px; border-bottom-right-radius: 7px; border-left: none; }
QPushButton[segment]:checked { background: #2563eb; color: white; border-color: #2563eb; }
QPushButton#evaluateExportButton {
    background: #2563eb; color: white; border: none; border-radius: 7px;
    padding: 8px 16px; font-weight: 600;
}
QPushButton#evaluateExportButton:hover { background: #1d4ed8; }
QPushButton#evaluateExportButton:disabled { background: #93c5fd; color: #eff6ff; }
QLineEdit#perClassFilter {
    border: 1px solid palette(mid); border-radius: 6px; padding: 3px 6px; background: palette(window);
}
QFrame#evaluateNotice { background: rgba(245, 158, 11, 0.14); border: 1px solid rgba(245, 158, 11, 0.55); border-radius: 8px; }
"""
)


STACK_BELOW_WIDTH = 1000  # page width under which the confusion matrix goes below the table
MATRIX_CARD_CHROME = 44  # the matrix card's margins and its scroll area's frame
MIN_TABLE_COLUMN_WIDTH = 560  # the per-class table's column never gets narrower for the matrix


def worse_than_zero_shot(zero_shot: dict, adapted: dict) -> list[str]:
    """The headline figures where the adapter loses to zero-shot CLIP, in words with the loss
    ("new classes (−4.2 points)"), so the page says it above the tiles."""
    names = {"base": "base classes", "new": "new classes", "hm": "the harmonic mean", "all": "all classes together"}
    worse = []
    for key, words in names.items():
        before, after = zero_shot.get(key), adapted.get(key)
        if isinstance(before, float) and isinstance(after, float) and is_worse(after - before):
            worse.append(f"{words} ({100 * (after - before):.1f} points)")
    return worse


def _card(name: str) -> tuple[QFrame, QVBoxLayout]:
    return card(name, margins=(14, 12, 14, 12))  # a little tighter: the page holds three


def _segmented(names_and_texts: list[tuple[str, str, str]], parent: QWidget) -> tuple[QButtonGroup, QHBoxLayout]:
    """Two checkable buttons drawn as one control (the Train page's segmented style)."""
    group = QButtonGroup(parent)
    group.setExclusive(True)
    row = QHBoxLayout()
    row.setSpacing(0)
    for position, (name, text, tooltip) in enumerate(names_and_texts):
        button = named(QPushButton(text, parent), name)
        button.setCheckable(True)
        button.setToolTip(tooltip)
        button.setProperty("segment", "first" if position == 0 else "last")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        group.addButton(button, position)
        row.addWidget(button)
    group.button(0).setChecked(True)
    return group, row


class EvaluatePage(QWidget):
    """Figures, per-class table, confusion matrix and image gallery of one `TrainingRun`."""

    runChanged = Signal(object)  # the TrainingRun now shown (None when cleared)
    trainRequested = Signal()  # the empty state's "Go to Train" button
    adapterExported = Signal(object, object)  # (TrainingRun, Path of the saved adapter file)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluatePage")
        self.state = state
        self.run = None
        self.model = ADAPTED
        self.export_dialog = None
        self._figures_later = TurnByTurn(self)  # the table and matrix of a run set while hidden
        self.setStyleSheet(PAGE_STYLE)

        # ---- header ----------------------------------------------------------------------------
        page_title = named(title_label("Evaluate", "pageTitle"), "evaluatePageTitle")
        self.summary_label = named(QLabel("No trained adapter yet"), "evaluateSummaryLabel")
        self.summary_label.setProperty("role", "hint")
        self.summary_label.setWordWrap(True)
        self.model_group, model_row = _segmented(
            [
                (
                    "showAdaptedButton",
                    MODEL_TITLES[ADAPTED],
                    "Per-class figures, confusion matrix and images of CLIP + adapter",
                ),
                (
                    "showZeroShotButton",
                    MODEL_TITLES[ZERO_SHOT],
                    "The same for zero-shot CLIP, the baseline without adapter",
                ),
            ],
            self,
        )
        self.model_group.idToggled.connect(self._on_model_toggled)
        model_caption = QLabel("Show:")
        model_caption.setProperty("role", "hint")
        self.export_button = named(
            QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton), "Export Adapter…"),
            "evaluateExportButton",
        )
        self.export_button.setToolTip("Save the adapter file, and a model card and metrics beside it (Ctrl+E)")
        self.export_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.export_button.clicked.connect(self.export_adapter)
        # Title and controls on one line, the run's summary under them across the whole width.
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(page_title, 1)
        top.addWidget(model_caption)
        top.addLayout(model_row)
        top.addSpacing(8)
        top.addWidget(self.export_button)
        header = QVBoxLayout()
        header.setSpacing(2)
        header.addLayout(top)
        header.addWidget(self.summary_label)

        # ---- notice (random weights, a cancelled run) -----------------------------------------
        self.notice = QFrame()
        self.notice.setObjectName("evaluateNotice")
        self.notice_label = named(QLabel(), "evaluateNoticeLabel")
        self.notice_label.setWordWrap(True)
        notice_layout = QHBoxLayout(self.notice)
        notice_layout.setContentsMargins(12, 6, 12, 6)
        notice_layout.addWidget(self.notice_label)
        self.notice.setVisible(False)

        # ---- headline figures -----------------------------------------------------------------
        self.tiles = ComparisonTiles()

        # ---- per-class table ------------------------------------------------------------------
        table_card, table_layout = _card("perClassCard")
        self.table_title = title_label("Per class")
        self.filter_edit = named(QLineEdit(), "perClassFilter")
        self.filter_edit.setPlaceholderText("Filter classes")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(200)
        table_header = QHBoxLayout()
        table_header.addWidget(self.table_title, 1)
        table_header.addWidget(self.filter_edit)
        self.table = PerClassTable()
        self.filter_edit.textChanged.connect(self.table.set_filter_text)
        self.table.classChosen.connect(self.show_class)
        self.table_note = table_note = QLabel()
        table_note.setProperty("role", "hint")
        table_note.setWordWrap(True)
        table_layout.addLayout(table_header)
        table_layout.addWidget(self.table, 1)
        table_layout.addWidget(table_note)

        # ---- confusion matrix -----------------------------------------------------------------
        matrix_card, matrix_layout = _card("confusionCard")
        self.matrix_title = title_label("Confusion matrix")
        self.scale_group, scale_row = _segmented(
            [
                ("confusionCountsButton", "Counts", "Number of test images in each cell"),
                ("confusionNormalizedButton", "Row %", "Share of each true class's test images (rows add up to 100%)"),
            ],
            self,
        )
        self.scale_group.idToggled.connect(lambda index, on: on and self.matrix.set_normalized(index == 1))
        matrix_header = QHBoxLayout()
        matrix_header.addWidget(self.matrix_title, 1)
        matrix_header.addLayout(scale_row)
        self.matrix = ConfusionMatrixView()
        self.matrix.cellClicked.connect(self.show_cell)
        self.matrix.installEventFilter(self)  # its labels come and go with its size: keep the note in step
        self.matrix_note = QLabel()
        self.matrix_note.setProperty("role", "hint")
        self.matrix_note.setWordWrap(True)
        matrix_layout.addLayout(matrix_header)
        # Never smaller than its class names need: below that the matrix scrolls in its card.
        self.matrix_scroll = QScrollArea()
        self.matrix_scroll.setObjectName("confusionScroll")
        self.matrix_scroll.setWidget(self.matrix)
        self.matrix_scroll.setWidgetResizable(True)
        self.matrix_scroll.setFrameShape(QFrame.Shape.NoFrame)
        matrix_layout.addWidget(self.matrix_scroll, 1)
        matrix_layout.addWidget(self.matrix_note)

        # ---- gallery ------------------------------------------------------------------------------
        gallery_card, gallery_layout = _card("galleryCard")
        self.gallery = ImageGallery()
        self.gallery.class_choices = lambda: [
            (n, state.display_name(n)) for n in (state.data.scan.class_names if state.data.scan is not None else [])
        ]
        self.gallery.dataFixRequested.connect(state.request_data_fix)
        gallery_layout.addWidget(self.gallery)

        # Left: the table above the gallery it feeds; right: the matrix, as tall as the page allows.
        self.left_rows = QSplitter(Qt.Orientation.Vertical)
        self.left_rows.setObjectName("evaluateLeftRows")
        self.left_rows.setChildrenCollapsible(False)
        self.left_rows.setHandleWidth(12)
        self.left_rows.addWidget(table_card)
        self.left_rows.addWidget(gallery_card)
        self.left_rows.setStretchFactor(0, 3)  # the table shows rows; the gallery waits for a click
        self.left_rows.setStretchFactor(1, 2)
        table_card.setMinimumHeight(270)  # about six rows, whatever the window
        gallery_card.setMinimumHeight(190)
        self.columns = QSplitter(Qt.Orientation.Horizontal)
        self.columns.setObjectName("evaluateColumns")
        self.columns.setChildrenCollapsible(False)
        self.columns.setHandleWidth(12)
        self.columns.addWidget(self.left_rows)
        self.columns.addWidget(matrix_card)
        self.columns.setStretchFactor(0, 11)
        self.columns.setStretchFactor(1, 9)
        self.columns.setSizes([640, 420])
        self.left_rows.setSizes([340, 220])
        self.left_rows.setMinimumWidth(300)
        matrix_card.setMinimumWidth(280)
        matrix_card.setMinimumHeight(360)
        self.columns.setMinimumHeight(470)

        content = QWidget()
        content.setObjectName("evaluateContent")
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.setSpacing(12)
        content_layout.addWidget(self.notice)
        content_layout.addWidget(self.tiles)
        content_layout.addWidget(self.columns, 1)
        # In a short window the results scroll instead of squeezing the matrix flat.
        self.content_scroll = FitScrollArea(content)
        self.content_scroll.setObjectName("evaluateScroll")

        # ---- empty state ---------------------------------------------------------------------------
        self.empty_state = QWidget()
        self.empty_state.setObjectName("evaluateEmptyState")
        empty_text = QLabel(
            "<p style='font-size:13pt'><b>No results yet</b></p>"
            "<p>Train an adapter on the Train page. Its test figures, per-class table, confusion "
            "matrix and the misclassified images appear here.</p>"
        )
        empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_text.setWordWrap(True)
        empty_text.setProperty("role", "hint")
        go_train = named(QPushButton("Go to Train"), "evaluateGoTrainButton")
        go_train.clicked.connect(self.trainRequested)
        empty_layout = QVBoxLayout(self.empty_state)
        empty_layout.addStretch(1)
        empty_layout.addWidget(empty_text)
        empty_layout.addWidget(go_train, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(2)

        self.body = QStackedWidget()
        self.body.addWidget(self.empty_state)
        self.body.addWidget(self.content_scroll)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addWidget(self.body, 1)
        self._update_enabled()

    # -- public API --------------------------------------------------------------------------
    def set_run(self, run) -> None:
        """Show a `TrainingRun` (None clears the page)."""
        self.run = run
        self.gallery.clear()
        self.matrix.set_selected_cell(None)
        self.table.clearSelection()
        if run is None:
            self._figures_later.cancel()
            self.summary_label.setText("No trained adapter yet")
            self.notice.setVisible(False)
            self.body.setCurrentWidget(self.empty_state)
        else:
            self.tiles.show_reports(run.zero_shot, run.adapted, self._tile_details(run))
            self.summary_label.setText(self._summary_text(run))
            notice = self._notice_text(run)
            self.notice_label.setText(notice)
            self.notice.setVisible(bool(notice))
            if self.isVisible():
                self._show_model()
            else:  # a run's end: the per-class table, then the matrix (200 classes: ~50 ms), in
                self._figures_later.start([self._show_table, self._show_matrix])  # later turns
            self.body.setCurrentWidget(self.content_scroll)
        self._update_enabled()
        self.runChanged.emit(run)

    def has_run(self) -> bool:
        return self.run is not None

    def show_pending_figures(self) -> None:
        """Fill the per-class table and matrix of the run on show, if `set_run` left them for
        later turns (the page was hidden); at once when the page is shown or read."""
        self._figures_later.finish()

    def showEvent(self, event) -> None:  # noqa: N802
        self.show_pending_figures()
        super().showEvent(event)

    def set_model(self, model: str) -> None:
        """Show the per-class figures and matrix of `ADAPTED` or `ZERO_SHOT`."""
        self.model_group.button(0 if model == ADAPTED else 1).setChecked(True)

    def report(self):
        """The `EvaluationReport` on show (adapted or zero-shot)."""
        if self.run is None:
            return None
        return self.run.adapted if self.model == ADAPTED else self.run.zero_shot

    def show_cell(self, true: int, predicted: int) -> list[str]:
        """Fill the gallery with the test images of class `true` predicted as `predicted`."""
        self.show_pending_figures()
        report = self.report()
        if report is None:
            return []
        names = self._names(report)
        images = [
            GalleryImage(path, names[t], names[p])
            for path, t, p in zip(report.paths, report.true_labels, report.predicted_labels)
            if t == true and p == predicted
        ]
        self.matrix.set_selected_cell((true, predicted))
        count = len(images)
        plural = "image" if count == 1 else "images"
        if true == predicted:
            title = f"{names[true]}: correctly classified"
        else:
            title = f"{names[true]} predicted as {names[predicted]}"
        self.gallery.show_images(
            title, images, f"{count} test {plural} · {MODEL_TITLES[self.model]}, all classes together"
        )
        return [image.path for image in images]

    def show_class(self, true: int) -> list[str]:
        """Fill the gallery with every test image of class `true`, mistakes first."""
        self.show_pending_figures()
        report = self.report()
        if report is None:
            return []
        names = self._names(report)
        images = [
            GalleryImage(path, names[t], names[p])
            for path, t, p in zip(report.paths, report.true_labels, report.predicted_labels)
            if t == true
        ]
        images.sort(key=lambda image: image.correct)  # stable: mistakes first, then file order
        wrong = sum(not image.correct for image in images)
        self.matrix.set_selected_cell(None)
        detail = f"{len(images)} test images, {wrong} misclassified · {MODEL_TITLES[self.model]}, all classes together"
        self.gallery.show_images(f"All test images of {names[true]}", images, detail)
        return [image.path for image in images]

    def export_adapter(self):
        """Open the export dialog for the run on show (non-modal to the event loop); returns it."""
        if self.run is None:
            return None
        from mma_studio.ui.dialogs.export_dialog import ExportDialog

        if self.export_dialog is not None and self.export_dialog.isVisible():
            self.export_dialog.raise_()
            self.export_dialog.activateWindow()
            return self.export_dialog
        demo_page = getattr(self.window(), "demo_page", None)  # classes added there go into the ONNX model
        added = demo_page.classes_added_for(self.run) if demo_page is not None else []
        dialog = ExportDialog(self.run, self.window(), suggested_name=self._suggested_name(), added_classes=added)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: setattr(self, "export_dialog", None))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.exportSucceeded.connect(
            lambda result, run=self.run: result.written and self.adapterExported.emit(run, result.written[0])
        )
        self.export_dialog = dialog
        dialog.open()
        return dialog

    # -- helpers ---------------------------------------------------------------------------------
    def _on_model_toggled(self, index: int, checked: bool) -> None:
        if checked:
            self.model = ADAPTED if index == 0 else ZERO_SHOT
            if self.run is not None:
                self.gallery.clear()
                self._show_model()

    def _show_model(self) -> None:
        self._figures_later.cancel()
        self._show_table()
        self._show_matrix()

    def _show_table(self) -> None:
        report = self.report()
        title = MODEL_TITLES[self.model]
        baseline = self.run.zero_shot.per_class if self.model == ADAPTED else None
        self.table.set_metrics(report.per_class, baseline)
        self.table_note.setText(
            f"{title}. Accuracy in its group: among the classes of the same role (the protocol's "
            "figure); among all: every class at once. Hover a column's title for its definition."
            + (" vs zero-shot: accuracy in its group against zero-shot CLIP, in points (▼ worse)." if baseline else "")
        )

    def _show_matrix(self) -> None:
        report = self.report()
        if report.confusion is not None:
            self.matrix.set_matrix(report.confusion, self._names(report), report.roles)
        else:
            self.matrix.clear()
        self.matrix.setMinimumSize(self.matrix.readable_size())
        QTimer.singleShot(0, self._fit_matrix_column)  # once the page has its size
        self._update_matrix_note()

    def _fit_matrix_column(self) -> None:
        """Side by side, give the matrix's card the width its names need (as far as the table
        keeps a readable width), so it shows whole instead of scrolling."""
        if self.columns.orientation() != Qt.Orientation.Horizontal:
            return
        total = sum(self.columns.sizes())
        if total <= 0 or not self.isVisible():
            return
        wanted = self.matrix.readable_size().width() + MATRIX_CARD_CHROME
        matrix = max(self.columns.sizes()[1], min(wanted, total - MIN_TABLE_COLUMN_WIDTH))
        if total > 0 and matrix != self.columns.sizes()[1]:
            self.columns.setSizes([total - matrix, matrix])

    def _update_matrix_note(self) -> None:
        report = self.report()
        if report is None:
            return
        total = len(report.paths)
        correct = sum(1 for t, p in zip(report.true_labels, report.predicted_labels) if t == p)
        hover = (
            "" if self.matrix.labels_shown() else " Too many classes for names here: hover a cell, or widen the window."
        )
        self.matrix_note.setText(
            f"{MODEL_TITLES[self.model]}, every test image classified among all {len(report.class_names)} classes: "
            f"{correct} of {total} correct (the diagonal). Click a cell to see its images.{hover}"
        )

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.matrix and event.type() == QEvent.Type.Resize:
            # After the matrix has laid out its grid for the new size (a filter runs first).
            QTimer.singleShot(0, self._update_matrix_note)
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        # Narrow: the matrix goes below the table and gallery, with the page's width for its
        # labels, and the page scrolls; side by side, the table's columns and the matrix's
        # labels were both squeezed past reading.
        stacked = event.size().width() < STACK_BELOW_WIDTH
        orientation = Qt.Orientation.Vertical if stacked else Qt.Orientation.Horizontal
        if self.columns.orientation() != orientation:
            self.columns.setOrientation(orientation)
            self.columns.setMinimumHeight(470 + 420 if stacked else 470)
        QTimer.singleShot(0, self._fit_matrix_column)  # after the splitter has laid out

    @staticmethod
    def _names(report) -> list[str]:
        return list(report.display_names or report.class_names)

    @staticmethod
    def _tile_details(run) -> dict[str, str]:
        split = run.split
        base_images, new_images = len(split.test_base), len(split.test_new)
        return {
            "base": f"{base_images} test images of {len(split.base)} classes",
            "new": f"{new_images} test images of {len(split.new)} unseen classes" if split.new else "no new classes",
            "hm": "balance of base and new" if split.new else "needs new classes",
            "all": f"{base_images + new_images} images among all {len(split.classes)} classes",
        }

    def _summary_text(self, run) -> str:
        backbone = (run.backbone_metadata or {}).get(
            "description"
        ) or f"{run.settings.model} · {run.settings.pretrained}"
        epochs = len(run.history)
        kept = f", kept epoch {run.best_epoch}" if run.best_epoch else ""
        parts = ["Held-out test images", backbone, f"{epochs} epoch{'s' if epochs != 1 else ''}{kept}"]
        if run.finished_at:
            parts.append(run.finished_at.replace("T", " ")[:16] + " UTC")
        return " · ".join(parts)

    @staticmethod
    def _notice_text(run) -> str:
        notes = []
        if (run.backbone_metadata or {}).get("is_random") or str(run.settings.pretrained).startswith("random"):
            notes.append("This run used random backbone weights (for testing the app): expect figures near chance.")
        if run.cancelled:
            notes.append("Training was stopped early by you; these are the figures of the best adapter so far.")
        worse = worse_than_zero_shot(run.zero_shot.headline(), run.adapted.headline())
        if worse:
            notes.append("The adapter does worse than zero-shot CLIP on " + ", ".join(worse) + ".")
        return " ".join(notes)

    def _suggested_name(self) -> str:
        scan = self.state.data.scan
        root = getattr(scan, "root", None) if scan is not None else None
        name = Path(root).name if root else "adapter"
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip("-.") or "adapter"
        return f"{safe}-mma"

    def _update_enabled(self) -> None:
        has_run = self.run is not None
        self.export_button.setEnabled(has_run)
        for button in self.model_group.buttons():
            button.setEnabled(has_run)
