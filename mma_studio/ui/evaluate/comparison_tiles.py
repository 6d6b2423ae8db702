"""Zero-shot CLIP and CLIP + adapter side by side: base, new, harmonic mean, all classes together.

One tile per figure; each shows the zero-shot value, the adapted value and the change in
percentage points, green for a gain and red for a loss (lighter shades on a dark palette).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mma_studio.ui.evaluate.eval_colors import change_color
from mma_studio.ui.widgets.figure_text import DASH, is_number, percent, points
from mma_studio.ui.widgets.worse_than_zero_shot import is_worse

FIGURES = (  # key, caption, accent colour (the live plots' colours), what it measures
    ("base", "Base classes", "#2563eb", "Test images of the trained classes, classified among the base classes"),
    ("new", "New classes", "#ea580c", "Test images of classes never trained on, classified among the new classes"),
    ("hm", "Harmonic mean", "#059669", "2·base·new / (base + new): high only when both are"),
    ("all", "All classes together", "#6b7280", "Every test image classified among all classes at once (the hardest)"),
)
WIDE_MIN_WIDTH = 720  # below this (or their natural width) the four tiles wrap into two rows of two


class ComparisonTile(QFrame):
    """Caption and the change, then "zero-shot → adapted", then a detail line."""

    def __init__(self, key: str, caption: str, accent: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName(f"eval{key.capitalize()}Tile")
        self.setProperty("tile", True)
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ border-left: 3px solid {accent}; }}")
        self.setToolTip(tooltip)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.caption = QLabel(caption, self)
        self.caption.setProperty("role", "tileCaption")
        self.zero_shot = self._value_label("ZeroShot", "zero-shot CLIP", "tileBaseline")
        self.adapted = self._value_label("Adapted", "CLIP + adapter", "tileValue")
        self.change = self._value_label("Change", "change in percentage points", "tileChange")
        arrow = QLabel("→", self)
        arrow.setProperty("role", "tileDetail")
        self.detail = QLabel("", self)
        self.detail.setObjectName(f"eval{key.capitalize()}Detail")
        self.detail.setProperty("role", "tileDetail")
        self.detail.setWordWrap(True)

        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.caption, 1)
        top.addWidget(self.change)
        values = QHBoxLayout()
        values.setSpacing(8)
        values.addWidget(self.zero_shot, 0, Qt.AlignmentFlag.AlignBaseline)
        values.addWidget(arrow, 0, Qt.AlignmentFlag.AlignBaseline)
        values.addWidget(self.adapted, 0, Qt.AlignmentFlag.AlignBaseline)
        values.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addLayout(values)
        self._values = values
        layout.addWidget(self.detail)
        self._delta: float | None = None
        self.worse = False  # the adapter does worse than zero-shot CLIP on this figure

    def natural_width(self) -> int:
        """The width the figures need on one line (the detail line may wrap)."""
        margins = self.layout().contentsMargins()
        return max(
            self._values.sizeHint().width(), self.caption.sizeHint().width() + self.change.sizeHint().width() + 8
        ) + (margins.left() + margins.right() + 8)

    def _value_label(self, part: str, description: str, role: str) -> QLabel:
        label = QLabel(DASH, self)
        name = f"eval{self.key.capitalize()}{part}"
        label.setObjectName(name)
        label.setAccessibleName(name)
        label.setAccessibleDescription(f"{self.caption.text()}: {description}")
        label.setProperty("role", role)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def show_values(self, zero_shot, adapted, detail: str = "") -> None:
        self.zero_shot.setText(percent(zero_shot))
        self.adapted.setText(percent(adapted))
        self._delta = adapted - zero_shot if is_number(zero_shot) and is_number(adapted) else None
        # A loss is said in words too, not only in red: never hidden, readable without colour.
        self.worse = is_worse(self._delta)
        self.change.setText(points(self._delta) + (" ▼" if self.worse else ""))
        self.detail.setText(("Worse than zero-shot CLIP. " if self.worse else "") + detail)
        self._color_change()

    def _color_change(self) -> None:
        color = change_color(self._delta, self.palette())
        self.change.setStyleSheet(f"color: {color.name()};" if color is not None else "")

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._color_change()


class ComparisonTiles(QWidget):
    """The four headline tiles of the Evaluate page."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluationTiles")
        self.tiles = {key: ComparisonTile(key, caption, accent, tip, self) for key, caption, accent, tip in FIGURES}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(8)
        self._columns = 0
        self._arrange(4)

    def _arrange(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for tile in self.tiles.values():
            self._grid.removeWidget(tile)
        for index, tile in enumerate(self.tiles.values()):
            self._grid.addWidget(tile, index // columns, index % columns)
        for column in range(4):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        # One row when the four tiles fit side by side at their natural width, else two rows.
        natural = max(tile.natural_width() for tile in self.tiles.values())
        needed = max(WIDE_MIN_WIDTH, 4 * natural + 3 * self._grid.horizontalSpacing())
        self._arrange(4 if event.size().width() >= needed else 2)

    def show_reports(self, zero_shot, adapted, details: dict[str, str] | None = None) -> None:
        """Fill the tiles from two `EvaluationReport`s (or their `headline()` dicts)."""
        before = zero_shot.headline() if hasattr(zero_shot, "headline") else dict(zero_shot or {})
        after = adapted.headline() if hasattr(adapted, "headline") else dict(adapted or {})
        for key, tile in self.tiles.items():
            tile.show_values(before.get(key), after.get(key), (details or {}).get(key, ""))

    def texts(self) -> dict[str, tuple[str, str, str]]:
        """(zero-shot, adapted, change) texts by key, for tests and accessibility checks."""
        return {key: (t.zero_shot.text(), t.adapted.text(), t.change.text()) for key, t in self.tiles.items()}
