"""A scroll area for a page's content: all the room there is, scrolling only below its minimum."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class FitScrollArea(QScrollArea):
    """A scroll area that gives its widget all the room there is, and scrolls only below the
    widget's minimum size.

    (A resizable QScrollArea sizes a widget holding word-wrapped labels to its preferred
    height-for-width, so it scrolls even when everything would fit.)
    """

    def __init__(self, widget: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        widget = self.widget()
        if widget is None:
            return
        minimum = widget.minimumSizeHint().expandedTo(widget.minimumSize())
        height = max(self.maximumViewportSize().height(), minimum.height())
        scrollbar = self.verticalScrollBar().sizeHint().width() if height > self.maximumViewportSize().height() else 0
        widget.resize(max(self.maximumViewportSize().width() - scrollbar, minimum.width()), height)
