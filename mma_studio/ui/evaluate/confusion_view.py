"""The confusion matrix as a heatmap: true classes down the side, predicted classes across the top.

Painted directly (no plotting library): cells stay square, class names sit on both axes, and
colours come from the window palette, so it reads on light and dark themes. Correct
predictions (the diagonal) are shaded blue and mistakes red, each by the cell's value, so
errors stand out without reading numbers. Counts or row-normalised shares (what fraction of
each true class went where) are a toggle. Hovering a cell explains it; clicking one (or Enter
on the keyboard-selected cell) emits `cellClicked(true, predicted)`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QKeyEvent, QMouseEvent, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from mma_studio.ui.evaluate.eval_colors import blend, correct_ramp, error_ramp, readable_text_on, role_color
from mma_studio.ui.widgets.plain_text import escape_markup

MIN_VALUE_POINTS = 6.5  # cells too small for numbers this size show colour only (the tooltip gives the number)
MIN_LABEL_CELL = 9  # px: smaller cells get no axis labels at all
MAX_LABEL_SHARE = 0.32  # the row labels take at most this share of the width (then they are elided)
DOT = 7  # the role dot before a class name
PAD = 6
LABELLED_CELL = 10  # px: the cell size the page keeps (scrolling the matrix) so names stay readable


class ConfusionMatrixView(QWidget):
    """A clickable heatmap of a square confusion matrix (rows = true class)."""

    cellClicked = Signal(int, int)  # (true class index, predicted class index)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.setAccessibleName("confusionMatrix")
        self.setAccessibleDescription("Confusion matrix: rows are true classes, columns predicted classes")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(220, 200)
        self._matrix: list[list[int]] = []
        self._labels: list[str] = []
        self._roles: list[str] = []
        self._normalized = False
        self._hovered: tuple[int, int] | None = None
        self._selected: tuple[int, int] | None = None
        self._grid = QRectF()
        self._cell = 0.0
        self._row_label_width = 0.0
        self._column_label_height = 0.0
        self._rotate_columns = False
        self._layer: QPixmap | None = None  # cells, numbers and labels, drawn once per change
        self._layer_key: tuple | None = None

    # -- data ------------------------------------------------------------------------------
    def set_matrix(
        self, matrix: Sequence[Sequence[int]], labels: Sequence[str], roles: Sequence[str] | None = None
    ) -> None:
        """Show `matrix` (N x N counts, rows = true) with class `labels` and optional base/new roles."""
        rows = [[int(value) for value in row] for row in (matrix.tolist() if hasattr(matrix, "tolist") else matrix)]
        if any(len(row) != len(rows) for row in rows) or len(labels) != len(rows):
            raise ValueError(
                f"need a square matrix with one label per class, got {len(rows)} rows and {len(labels)} labels"
            )
        self._matrix = rows
        self._labels = [str(label) for label in labels]
        self._roles = list(roles) if roles is not None and len(roles) == len(rows) else []
        self._hovered = None
        if self._selected and max(self._selected) >= len(rows):
            self._selected = None
        self._update_description()
        self._layout_grid()
        self._invalidate()

    def clear(self) -> None:
        self.set_matrix([], [])
        self._selected = None

    def readable_size(self) -> QSize:
        """The smallest size at which every class name is drawn (cells of at least
        `LABELLED_CELL` px): the page scrolls the matrix rather than shrink it below this."""
        n = len(self._matrix)
        if not n:
            return QSize(0, 0)
        metrics = QFontMetrics(self._label_font())
        title = QFontMetrics(self._title_font()).height()
        widest = max(metrics.horizontalAdvance(label) for label in self._labels) + DOT + 3 * PAD + 4
        cell = max(LABELLED_CELL, metrics.height() * 0.9)
        # Labels are capped at MAX_LABEL_SHARE of each side: make the side large enough for them.
        side = max(title + 2 * PAD + widest + n * cell, (widest + DOT + PAD) / MAX_LABEL_SHARE)
        return QSize(int(side) + 1, int(side + title) + 1)

    def set_normalized(self, normalized: bool) -> None:
        """Counts (False) or each row divided by its total (True)."""
        if normalized != self._normalized:
            self._normalized = bool(normalized)
            self._invalidate()

    def is_normalized(self) -> bool:
        return self._normalized

    @property
    def size_n(self) -> int:
        return len(self._matrix)

    def count(self, true: int, predicted: int) -> int:
        return self._matrix[true][predicted]

    def row_total(self, true: int) -> int:
        return sum(self._matrix[true])

    def value(self, true: int, predicted: int) -> float:
        """What the cell shows: its count, or its share of the true class's images."""
        count = self._matrix[true][predicted]
        if not self._normalized:
            return float(count)
        total = self.row_total(true)
        return count / total if total else 0.0

    def value_text(self, true: int, predicted: int) -> str:
        if self._normalized:
            # percent of the row, without the sign (the "Row %" toggle says it): fits small cells
            return "—" if not self.row_total(true) else f"{round(100 * self.value(true, predicted))}"
        return str(self._matrix[true][predicted])

    def cell_tooltip(self, true: int, predicted: int) -> str:
        count = self._matrix[true][predicted]
        total = self.row_total(true)
        share = f" ({100 * count / total:.0f}% of its {total})" if total else ""
        role = f" · {self._roles[true]}" if self._roles else ""
        verdict = "correct" if true == predicted else "mistaken"
        images = "image" if count == 1 else "images"
        lines = [
            f"<b>True:</b> {escape_markup(self._labels[true])}{role}",
            f"<b>Predicted:</b> {escape_markup(self._labels[predicted])}",
            f"{count} {verdict} test {images}{share}",
        ]
        if count:
            lines.append("<i>Click to see them</i>")
        return "<br>".join(lines)

    # -- selection -------------------------------------------------------------------------
    def selected_cell(self) -> tuple[int, int] | None:
        return self._selected

    def set_selected_cell(self, cell: tuple[int, int] | None) -> None:
        self._selected = cell
        self.update()

    def labels_shown(self) -> bool:
        """False when the cells are too small for class names (hovering still names them)."""
        return bool(self._row_label_width)

    def cell_rect(self, true: int, predicted: int) -> QRectF:
        """Where a cell is drawn, in widget coordinates (tests click its centre)."""
        return QRectF(
            self._grid.left() + predicted * self._cell, self._grid.top() + true * self._cell, self._cell, self._cell
        )

    def cell_at(self, point: QPointF | QPoint) -> tuple[int, int] | None:
        if not self._matrix or self._cell <= 0:
            return None
        x = (point.x() - self._grid.left()) / self._cell
        y = (point.y() - self._grid.top()) / self._cell
        n = len(self._matrix)
        if 0 <= x < n and 0 <= y < n:
            return int(y), int(x)
        return None

    # -- geometry ----------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(460, 420)

    def _label_font(self) -> QFont:
        font = QFont(self.font())
        n = len(self._matrix)
        if n > 20:
            font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        elif n > 10:
            font.setPointSizeF(max(7.5, font.pointSizeF() - 0.5))
        return font

    def _title_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def _layout_grid(self) -> None:
        n = len(self._matrix)
        if not n:
            self._grid = QRectF()
            self._cell = 0.0
            return
        metrics = QFontMetrics(self._label_font())
        title_height = QFontMetrics(self._title_font()).height()
        width, height = self.width(), self.height()
        widest = max(metrics.horizontalAdvance(label) for label in self._labels) + DOT + 3 * PAD + 4
        self._row_label_width = min(widest, width * MAX_LABEL_SHARE)
        left = title_height + PAD + self._row_label_width
        # First guess with horizontal column labels, then rotate them if they do not fit.
        cell = min((width - left - PAD) / n, (height - 2 * title_height - 3 * PAD) / n)
        widest_column = max(metrics.horizontalAdvance(label) for label in self._labels) + PAD + 4
        self._rotate_columns = widest_column > cell
        if self._rotate_columns:
            self._column_label_height = min(widest_column + DOT + PAD, height * MAX_LABEL_SHARE)
        else:
            self._column_label_height = metrics.height() + PAD
        top = title_height + PAD + self._column_label_height
        cell = max(1.0, min((width - left - PAD) / n, (height - top - PAD) / n))
        if cell < MIN_LABEL_CELL:  # too small for labels: give their room to the cells
            self._row_label_width = self._column_label_height = 0.0
            left, top = title_height + PAD, 2 * title_height + PAD
            cell = max(1.0, min((width - left - PAD) / n, (height - top - PAD) / n))
        # Cells are square, so a tall-and-narrow or short-and-wide room leaves spare width: give
        # it to the row labels (up to their full length) rather than eliding them.
        spare = width - PAD - left - cell * n
        if self._row_label_width and spare > 0 and self._row_label_width < widest:
            grow = min(spare, widest - self._row_label_width)
            self._row_label_width += grow
            left += grow
        self._cell = cell
        grid_width = cell * n
        # Centre the whole figure in the spare room.
        spare = max(0.0, width - PAD - left - grid_width)
        spare_height = max(0.0, height - PAD - top - grid_width)
        self._grid = QRectF(left + spare / 2, top + spare_height / 3, grid_width, grid_width)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._layout_grid()
        self._layer = None

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        palette = self.palette()
        if not self._matrix:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No confusion matrix yet")
            return
        # Cells, numbers and labels change only with the data, size or palette: they are drawn
        # once into a pixmap, and hovering repaints just that pixmap and a few outlines.
        ratio = self.devicePixelRatioF()
        if self._layer is None or self._layer_key != (self.width(), self.height(), ratio):
            self._layer = self._render_layer(ratio)
            self._layer_key = (self.width(), self.height(), ratio)
        painter.drawPixmap(0, 0, self._layer)

        highlight = palette.color(QPalette.ColorRole.Highlight)
        if self._hovered is not None:
            true, predicted = self._hovered
            band = QColor(highlight)
            band.setAlpha(36)
            row = self.cell_rect(true, 0)
            column = self.cell_rect(0, predicted)
            painter.fillRect(
                QRectF(self._grid.left() - self._row_label_width, row.top(), self._row_label_width, self._cell), band
            )
            painter.fillRect(
                QRectF(
                    column.left(), self._grid.top() - self._column_label_height, self._cell, self._column_label_height
                ),
                band,
            )
            painter.setPen(QPen(palette.color(QPalette.ColorRole.WindowText), 1.5))
            painter.drawRect(self.cell_rect(true, predicted).adjusted(1, 1, -1, -1))
        if self._selected is not None:
            painter.setPen(QPen(highlight, 2.5))
            painter.drawRect(self.cell_rect(*self._selected).adjusted(1, 1, -1, -1))
        elif self.hasFocus():
            painter.setPen(QPen(highlight, 1, Qt.PenStyle.DotLine))
            painter.drawRect(self._grid.adjusted(-2, -2, 2, 2))

    def _render_layer(self, ratio: float) -> QPixmap:
        layer = QPixmap(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)))
        layer.setDevicePixelRatio(ratio)
        layer.fill(Qt.GlobalColor.transparent)
        painter = QPainter(layer)
        palette = self.palette()
        text_color = palette.color(QPalette.ColorRole.WindowText)
        placeholder = palette.color(QPalette.ColorRole.PlaceholderText)
        n = len(self._matrix)
        base = palette.color(QPalette.ColorRole.Base)
        empty = blend(base, palette.color(QPalette.ColorRole.Mid), 0.12)
        correct, wrong = correct_ramp(palette), error_ramp(palette)
        peak = self._peak()
        label_font = self._label_font()
        value_font = self._value_font(label_font)
        if value_font is not None:
            painter.setFont(value_font)
        # All cell colours as one n x n image, scaled up without smoothing: one draw call
        # however many classes there are.
        fills: list[QColor] = []
        pixels = bytearray(4 * n * n)
        for true in range(n):
            for predicted in range(n):
                value = self.value(true, predicted)
                if value <= 0:
                    fill = empty
                else:
                    strength = 0.15 + 0.85 * (value / peak if peak else 0.0)
                    fill = blend(base, correct if true == predicted else wrong, strength)
                fills.append(fill)
                at = 4 * (true * n + predicted)
                pixels[at : at + 4] = bytes((fill.blue(), fill.green(), fill.red(), 255))  # ARGB32, little-endian
        cells = QImage(bytes(pixels), n, n, 4 * n, QImage.Format.Format_ARGB32)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self._grid, cells)
        if value_font is not None:
            for true in range(n):
                for predicted in range(n):
                    value = self.value(true, predicted)
                    painter.setPen(readable_text_on(fills[true * n + predicted]) if value > 0 else placeholder)
                    painter.drawText(
                        self.cell_rect(true, predicted), Qt.AlignmentFlag.AlignCenter, self.value_text(true, predicted)
                    )

        # grid lines, in the background colour, so cells read as tiles
        if self._cell >= 6:
            painter.setPen(QPen(base, 1))
            lines = []
            for k in range(n + 1):
                x = self._grid.left() + k * self._cell
                y = self._grid.top() + k * self._cell
                lines.append(QLineF(x, self._grid.top(), x, self._grid.bottom()))
                lines.append(QLineF(self._grid.left(), y, self._grid.right(), y))
            painter.drawLines(lines)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(self._grid)

        painter.setFont(label_font)
        self._paint_labels(painter, text_color)
        self._paint_titles(painter, palette)
        painter.end()
        return layer

    def _invalidate(self) -> None:
        self._layer = None
        self.update()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._layout_grid()
            self._invalidate()

    def _value_font(self, label_font: QFont) -> QFont | None:
        """The largest font (down to MIN_VALUE_POINTS) whose widest cell text fits in a cell; None if none does."""
        n = len(self._matrix)
        widest = max((self.value_text(t, p) for t in range(n) for p in range(n)), key=len, default="")
        font = QFont(label_font)
        size = label_font.pointSizeF()
        while size >= MIN_VALUE_POINTS:
            font.setPointSizeF(size)
            metrics = QFontMetrics(font)
            if metrics.horizontalAdvance(widest) + 4 <= self._cell and metrics.height() + 2 <= self._cell:
                return font
            size -= 0.5
        return None

    def _peak(self) -> float:
        n = len(self._matrix)
        return max((self.value(t, p) for t in range(n) for p in range(n)), default=0.0) or 1.0

    def _paint_labels(self, painter: QPainter, text_color: QColor) -> None:
        if not self._row_label_width:
            return
        metrics = QFontMetrics(painter.font())
        row_text_width = int(self._row_label_width - DOT - 3 * PAD)
        for index, label in enumerate(self._labels):
            # row labels, right-aligned against the grid, with the role dot before them
            y = self._grid.top() + index * self._cell
            row_rect = QRectF(
                PAD + QFontMetrics(self._title_font()).height(), y, self._row_label_width - PAD, self._cell
            )
            text_rect = QRectF(row_rect.right() - row_text_width - PAD, y, row_text_width, self._cell)
            painter.setPen(text_color)
            painter.drawText(
                text_rect,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, row_text_width),
            )
            if self._roles:
                shown = metrics.horizontalAdvance(
                    metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, row_text_width)
                )
                self._paint_dot(
                    painter, QPointF(text_rect.right() - shown - PAD, y + self._cell / 2), self._roles[index]
                )

            # column labels above the grid
            x = self._grid.left() + index * self._cell
            if self._rotate_columns:
                length = int(self._column_label_height - PAD - (DOT + PAD if self._roles else 0))
                painter.save()
                painter.translate(x + self._cell / 2, self._grid.top() - PAD)
                painter.rotate(-90)
                painter.drawText(
                    QRectF(0, -metrics.height() / 2, length, metrics.height()),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, length),
                )
                painter.restore()
                if self._roles:
                    shown = metrics.horizontalAdvance(metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, length))
                    self._paint_dot(
                        painter, QPointF(x + self._cell / 2, self._grid.top() - PAD - shown - PAD), self._roles[index]
                    )
            else:
                rect = QRectF(
                    x, self._grid.top() - self._column_label_height, self._cell, self._column_label_height - PAD / 2
                )
                painter.drawText(
                    rect,
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                    metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, int(self._cell)),
                )

    def _paint_dot(self, painter: QPainter, centre: QPointF, role: str) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(role_color(role, self.palette()))
        painter.drawEllipse(centre, DOT / 2, DOT / 2)
        painter.restore()

    def _paint_titles(self, painter: QPainter, palette: QPalette) -> None:
        painter.setFont(self._title_font())
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        metrics = QFontMetrics(painter.font())
        title_height = metrics.height()
        painter.drawText(
            QRectF(self._grid.left(), 0, self._grid.width(), title_height),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
            "Predicted class",
        )
        painter.save()
        painter.translate(0, self._grid.top() + self._grid.height() / 2)
        painter.rotate(-90)
        painter.drawText(
            QRectF(-self._grid.height() / 2, 0, self._grid.height(), title_height),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
            "True class",
        )
        painter.restore()

    # -- interaction -------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        if cell != self._hovered:  # work only when the pointer enters another cell
            self._hovered = cell
            self.update()
            if cell is None:
                QToolTip.hideText()
                self.unsetCursor()
            else:
                QToolTip.showText(event.globalPosition().toPoint(), self.cell_tooltip(*cell), self)
                self.setCursor(Qt.CursorShape.PointingHandCursor)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hovered = None
        self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and cell is not None:
            self._activate(cell)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        n = len(self._matrix)
        if not n:
            return super().keyPressEvent(event)
        true, predicted = self._selected or (0, 0)
        moves = {Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0), Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1)}
        if event.key() in moves:
            step = moves[event.key()]
            if self._selected is not None:
                true = min(n - 1, max(0, true + step[0]))
                predicted = min(n - 1, max(0, predicted + step[1]))
            self.set_selected_cell((true, predicted))
            self._announce((true, predicted))
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self._activate((true, predicted))
        else:
            super().keyPressEvent(event)

    def _activate(self, cell: tuple[int, int]) -> None:
        self.set_selected_cell(cell)
        self._announce(cell)
        self.cellClicked.emit(*cell)

    def _announce(self, cell: tuple[int, int]) -> None:
        """Say the keyboard-selected cell in the accessible description (screen readers read it)."""
        true, predicted = cell
        self.setAccessibleDescription(
            f"True {self._labels[true]}, predicted {self._labels[predicted]}: {self.value_text(true, predicted)}"
        )

    def _update_description(self) -> None:
        n = len(self._matrix)
        correct = sum(self._matrix[i][i] for i in range(n))
        total = sum(sum(row) for row in self._matrix)
        self.setAccessibleDescription(
            f"Confusion matrix of {n} classes: {correct} of {total} test images on the diagonal (correct)"
            if n
            else "No confusion matrix yet"
        )
