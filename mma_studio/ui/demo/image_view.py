"""The Demo page's image: the picture being classified, scaled to fit with its name below, or an
invitation to drop one; it lights up while a drag hovers over the page.

A widget of its own because it paints itself (no label can scale a pixmap and keep its aspect
ratio); the page decides what it shows.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QFrame, QSizePolicy, QWidget

from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.plain_text import plain_tooltip


class ImageView(QFrame):
    """The image being classified, scaled to fit, or an invitation to drop one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "demoImageView")
        self.setAccessibleDescription("The image being classified. Drop an image here, or paste one with Ctrl+V.")
        self._pixmap: QPixmap | None = None
        self._caption = ""
        self._hovering = False
        self.setMinimumSize(200, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None, caption: str = "") -> None:
        self._pixmap = QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        self._caption = caption
        self.setToolTip(plain_tooltip(caption))
        self.update()

    def has_image(self) -> bool:
        return self._pixmap is not None

    def set_hovering(self, hovering: bool) -> None:
        self._hovering = hovering
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 320)

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        palette = self.palette()
        rect = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        if self._hovering:
            fill = highlight
            fill.setAlpha(40)
        else:
            fill = palette.color(QPalette.ColorRole.Base)
        painter.setBrush(fill)
        pen = painter.pen()
        pen.setColor(highlight if self._hovering else palette.color(QPalette.ColorRole.Mid))
        pen.setWidthF(2 if self._hovering else 1.2)
        pen.setStyle(Qt.PenStyle.SolidLine if self._pixmap else Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, 10, 10)
        if self._pixmap is not None:
            caption_height = self.fontMetrics().height() + 8 if self._caption else 0
            area = rect.adjusted(10, 10, -10, -10 - caption_height)
            size = self._pixmap.size().scaled(int(area.width()), int(area.height()), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(
                area.x() + (area.width() - size.width()) / 2,
                area.y() + (area.height() - size.height()) / 2,
                size.width(),
                size.height(),
            )
            painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
            if self._caption:
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                text = self.fontMetrics().elidedText(
                    self._caption, Qt.TextElideMode.ElideMiddle, int(rect.width() - 20)
                )
                painter.drawText(
                    QRectF(rect.x() + 10, rect.bottom() - caption_height - 4, rect.width() - 20, caption_height),
                    Qt.AlignmentFlag.AlignCenter,
                    text,
                )
        else:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.15)
            painter.setFont(font)
            painter.drawText(
                rect,
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                "Drop an image here\nor open one, or paste it (Ctrl+V)",
            )
        painter.end()
