"""Top-k class probabilities as labelled horizontal bars (the Demo page shows two side by side).

Painted rather than built from labels and progress bars: the rows stay aligned, the colours
come from the palette (readable in light and dark themes), and a class's role (trained on,
held out, or added in the demo) shows as a coloured dot, so a user sees at a glance whether a
confident answer is a class the adapter never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

# The same colours as the live plots: base blue, new orange; classes added in the demo teal.
ROLE_COLORS = {"base": "#2563eb", "new": "#ea580c", "added": "#0d9488"}
ROLE_LABELS = {"base": "trained on (base)", "new": "held out (new)", "added": "added here"}
ROW_GAP = 10
BAR_HEIGHT = 9
DOT = 8


@dataclass(frozen=True)
class BarRow:
    label: str
    probability: float  # 0..1
    role: str = ""  # "base", "new", "added" or "" (unknown)


class TopKBars(QWidget):
    """A titled list of bars, best first. `set_rows` shows a prediction, `show_message` a note."""

    def __init__(self, title: str, caption: str = "", accent: str = "#2563eb", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._caption = caption
        self._accent = QColor(accent)
        self._rows: list[BarRow] = []
        self._message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setMinimumWidth(140)
        self._update_description()

    # -- data ------------------------------------------------------------------------------
    def set_rows(self, rows: list[BarRow]) -> None:
        self._rows = list(rows)
        self._message = ""
        self._changed()

    def show_message(self, text: str) -> None:
        """No bars, only a line of text (nothing classified yet, or why not)."""
        self._rows = []
        self._message = text
        self._changed()

    def set_caption(self, caption: str) -> None:
        self._caption = caption
        self._changed()

    def rows(self) -> list[BarRow]:
        return list(self._rows)

    def labels(self) -> list[str]:
        return [row.label for row in self._rows]

    def message(self) -> str:
        return self._message

    def _changed(self) -> None:
        self._update_description()
        self.updateGeometry()
        self.update()

    def _update_description(self) -> None:
        if self._rows:
            text = "; ".join(f"{row.label} {100 * row.probability:.1f}%" for row in self._rows)
        else:
            text = self._message
        self.setAccessibleDescription(f"{self._title}: {text}" if text else self._title)

    # -- geometry --------------------------------------------------------------------------
    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        base = QFont(self.font())
        title = QFont(base)
        title.setPointSizeF(base.pointSizeF() * 1.12)
        title.setWeight(QFont.Weight.DemiBold)
        small = QFont(base)
        small.setPointSizeF(base.pointSizeF() * 0.9)
        return title, base, small

    def _row_height(self) -> int:
        return QFontMetrics(self._fonts()[1]).height() + 4 + BAR_HEIGHT + ROW_GAP

    def _header_height(self) -> int:
        title, _, small = self._fonts()
        height = QFontMetrics(title).height() + 2
        if self._caption:
            height += QFontMetrics(small).height()
        return height + 10

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = max(len(self._rows), 1 if self._message else 3)
        return QSize(260, self._header_height() + rows * self._row_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(140, self.sizeHint().height())

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        hint = palette.color(QPalette.ColorRole.PlaceholderText)
        track = QColor(palette.color(QPalette.ColorRole.Mid))
        track.setAlphaF(0.35)
        title_font, body_font, small_font = self._fonts()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = self.width()

        y = 0
        painter.setFont(title_font)
        painter.setPen(text)
        title_height = QFontMetrics(title_font).height()
        painter.drawText(
            QRectF(0, y, width, title_height), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self._title
        )
        y += title_height + 2
        if self._caption:
            painter.setFont(small_font)
            painter.setPen(hint)
            caption_height = QFontMetrics(small_font).height()
            caption = QFontMetrics(small_font).elidedText(self._caption, Qt.TextElideMode.ElideRight, width)
            painter.drawText(
                QRectF(0, y, width, caption_height), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, caption
            )
            y += caption_height
        y += 10

        if not self._rows:
            if self._message:
                painter.setFont(body_font)
                painter.setPen(hint)
                painter.drawText(
                    QRectF(0, y, width, self.height() - y),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                    self._message,
                )
            painter.end()
            return

        metrics = QFontMetrics(body_font)
        line = metrics.height()
        percent_width = metrics.horizontalAdvance("100.0%") + 4
        for index, row in enumerate(self._rows):
            probability = min(1.0, max(0.0, float(row.probability)))
            x = 0
            if row.role in ROLE_COLORS:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(ROLE_COLORS[row.role]))
                painter.drawEllipse(QRectF(0, y + (line - DOT) / 2, DOT, DOT))
                x = DOT + 6
            font = QFont(body_font)
            font.setWeight(QFont.Weight.DemiBold if index == 0 else QFont.Weight.Normal)
            painter.setFont(font)
            painter.setPen(text)
            label = QFontMetrics(font).elidedText(
                row.label, Qt.TextElideMode.ElideRight, max(10, width - x - percent_width)
            )
            painter.drawText(
                QRectF(x, y, width - x - percent_width, line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            painter.drawText(
                QRectF(width - percent_width, y, percent_width, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{100 * probability:.1f}%",
            )
            bar_y = y + line + 4
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(track)
            painter.drawRoundedRect(QRectF(0, bar_y, width, BAR_HEIGHT), BAR_HEIGHT / 2, BAR_HEIGHT / 2)
            fill = QColor(self._accent)
            if palette.color(QPalette.ColorRole.Base).lightness() < 128 and fill.lightness() < 140:
                fill = fill.lighter(150)  # a mid-tone bar on a dark background needs more light
            if index > 0:
                fill.setAlphaF(0.55)
            filled = max(BAR_HEIGHT, width * probability) if probability > 0 else 0
            if filled:
                painter.setBrush(fill)
                painter.drawRoundedRect(QRectF(0, bar_y, filled, BAR_HEIGHT), BAR_HEIGHT / 2, BAR_HEIGHT / 2)
            y += self._row_height()
        painter.end()
