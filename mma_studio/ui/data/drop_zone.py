"""The place where a user drops folders or images to build a dataset.

It only understands *what* was dropped (see `drop_request.classify_drop`) and says so through
`dropped(DropRequest)` or `refused(message)`; the Data page decides what to do with it. It
has two looks: a large inviting area while there is no data, and a slim strip afterwards.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDragLeaveEvent, QDropEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QStyle, QVBoxLayout, QWidget

from mma_studio.ui.data.drop_request import DropRefused, DropRequest, classify_drop
from mma_studio.ui.widgets.adapter_drop import dropped_adapter_path, local_paths


class DropZone(QFrame):
    dropped = Signal(object)  # DropRequest
    refused = Signal(str)  # why the drop could not be used

    LARGE_TITLE = "Drop your images here"
    LARGE_HINT = (
        "A folder with one sub-folder per class, a few class folders at once, or loose images to make a new class."
    )
    COMPACT_TITLE = "Drop more here"
    COMPACT_HINT = "Class folders or images add classes; a folder of class folders replaces the dataset."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataDropZone")
        self.setAccessibleName("dataDropZone")  # the stable names of the issue: object name = accessible name
        self.setAccessibleDescription("Drop zone for image folders. " + self.LARGE_HINT)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._hovering = False
        self._compact = False

        # Large look: icon, title, hint and the page's buttons, centred.
        self._large_panel = QWidget(self)
        self._icon = QLabel(self._large_panel)
        self._icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon).pixmap(64, 64))
        self._title = QLabel(self.LARGE_TITLE, self._large_panel)
        self._title.setObjectName("dropZoneTitle")
        self._title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title_font = self._title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.4)
        title_font.setBold(True)
        self._title.setFont(title_font)
        self._hint = QLabel(self.LARGE_HINT, self._large_panel)
        self._hint.setObjectName("dropZoneHint")
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._example = QLabel(
            "<pre style='margin:0'>Pets/\n  cat/     photo_001.jpg  photo_002.jpg  …\n  dog/     …\n  parrot/  …</pre>",
            self._large_panel,
        )
        self._example.setObjectName("dropZoneExample")
        self._example.setAlignment(Qt.AlignmentFlag.AlignLeft)
        self._example.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.buttons = QHBoxLayout()  # the page adds its actions (Open Folder, Try an Example)
        self.buttons.setSpacing(8)
        self.buttons.addStretch(1)
        self.buttons.addStretch(1)
        large = QVBoxLayout(self._large_panel)
        large.setContentsMargins(32, 32, 32, 32)
        large.setSpacing(10)
        large.addStretch(1)
        large.addWidget(self._icon)
        large.addWidget(self._title)
        large.addWidget(self._hint)
        large.addSpacing(6)
        large.addWidget(self._example, 0, Qt.AlignmentFlag.AlignHCenter)
        large.addSpacing(10)
        large.addLayout(self.buttons)
        large.addStretch(2)

        # Compact look: one line, once data is loaded.
        self._compact_panel = QWidget(self)
        compact_icon = QLabel(self._compact_panel)
        compact_icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon).pixmap(20, 20))
        compact_text = QLabel(f"<b>{self.COMPACT_TITLE}</b> &nbsp; {self.COMPACT_HINT}", self._compact_panel)
        compact_text.setObjectName("dropZoneCompactHint")
        compact_text.setWordWrap(True)
        compact = QHBoxLayout(self._compact_panel)
        compact.setContentsMargins(14, 8, 14, 8)
        compact.setSpacing(8)
        compact.addWidget(compact_icon)
        compact.addWidget(compact_text, 1)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._large_panel)
        outer.addWidget(self._compact_panel)
        self._apply_mode()

    def add_button(self, button: QWidget) -> None:
        """Put an action button inside the large look (centred, in the order added)."""
        self.buttons.insertWidget(self.buttons.count() - 1, button)

    def set_compact(self, compact: bool) -> None:
        if compact != self._compact:
            self._compact = compact
            self._apply_mode()

    def is_compact(self) -> bool:
        return self._compact

    def _apply_mode(self) -> None:
        self._large_panel.setVisible(not self._compact)
        self._compact_panel.setVisible(self._compact)
        if self._compact:
            self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
            self.setMinimumHeight(0)
        else:
            self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
            self.setMinimumHeight(240)
        self.updateGeometry()
        self.update()

    # --- drag and drop -------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()) and dropped_adapter_path(event.mimeData()) is None:
            event.acceptProposedAction()
            self._set_hovering(True)
        else:
            event.ignore()  # nothing local, or an adapter file: the window opens it in the Demo

    def dragMoveEvent(self, event) -> None:
        if dropped_adapter_path(event.mimeData()) is None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_hovering(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_hovering(False)
        if dropped_adapter_path(event.mimeData()) is not None:
            event.ignore()  # the main window's drop handler opens it in the Demo
            return
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            self.refused.emit("Only files and folders on this computer can be dropped here.")
            return
        event.acceptProposedAction()
        try:
            request: DropRequest = classify_drop(paths)
        except DropRefused as exc:
            self.refused.emit(str(exc))
            return
        self.dropped.emit(request)

    def _set_hovering(self, hovering: bool) -> None:
        self._hovering = hovering
        self.update()

    # --- painting --------------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        highlight = palette.color(QPalette.ColorRole.Highlight)
        rect = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        if self._hovering:
            fill = QColor(highlight)
            fill.setAlpha(40)
            border = highlight
        else:
            fill = palette.color(QPalette.ColorRole.Base)
            border = palette.color(QPalette.ColorRole.Mid)
        painter.setBrush(fill)
        pen = QPen(border, 2 if self._hovering else 1.5, Qt.PenStyle.DashLine)
        pen.setDashPattern([4, 3])
        painter.setPen(pen)
        painter.drawRoundedRect(rect, 10, 10)
        painter.end()
