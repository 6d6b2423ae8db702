"""The current figures of a run as numbers: epoch, loss, base / new / HM accuracy, best epoch.

Each accuracy tile also shows its zero-shot baseline, so the number always has a reference.
The page feeds the latest events; tiles only change text (cheap), the page decides how often.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mma_studio.ui.train.live_plots import BASE_COLOR, BEST_COLOR, HM_COLOR, LOSS_COLOR, NEW_COLOR
from mma_studio.ui.widgets.figure_text import DASH, percent, points

WIDE_LAYOUT_MIN_WIDTH = 860  # below this, the six tiles wrap into two rows of three...
MEDIUM_LAYOUT_MIN_WIDTH = 480  # ...and below this into three rows of two


class MetricTile(QFrame):
    """A caption, a big value and a small line under it (the baseline or a detail)."""

    def __init__(self, key: str, caption: str, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{key}Tile")
        self.setProperty("tile", True)
        self.setStyleSheet(f"QFrame#{key}Tile {{ border-left: 3px solid {color}; }}")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.caption = QLabel(caption, self)
        self.caption.setProperty("role", "tileCaption")
        self.value = QLabel(DASH, self)
        self.value.setObjectName(f"{key}Value")
        self.value.setAccessibleName(f"{key}Value")
        self.value.setAccessibleDescription(caption)
        self.value.setProperty("role", "tileValue")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel("", self)
        self.detail.setObjectName(f"{key}Detail")
        self.detail.setAccessibleName(f"{key}Detail")
        self.detail.setProperty("role", "tileDetail")
        self.detail.setWordWrap(True)  # wraps in a narrow window instead of widening the page
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 10, 8)
        layout.setSpacing(1)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)

    def set(self, value: str, detail: str | None = None) -> None:
        self.value.setText(value)
        if detail is not None:
            self.detail.setText(detail)


class MetricTiles(QWidget):
    """Six tiles in a row: Epoch, Loss, Base (val), New, HM, Best epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metricTiles")
        self.epoch = MetricTile("epoch", "Epoch", BEST_COLOR, self)
        self.loss = MetricTile("loss", "Training loss", LOSS_COLOR, self)
        self.base = MetricTile("baseAccuracy", "Base accuracy (val)", BASE_COLOR, self)
        self.new = MetricTile("newAccuracy", "New-class accuracy", NEW_COLOR, self)
        self.hm = MetricTile("hm", "Harmonic mean", HM_COLOR, self)
        self.best = MetricTile("bestEpoch", "Best epoch", "#facc15", self)
        self._tiles = (self.epoch, self.loss, self.base, self.new, self.hm, self.best)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(8)
        self.columns = 0
        self._arrange(len(self._tiles))
        self._zero_shot = None
        self.reset()

    def _arrange(self, columns: int) -> None:
        """Six tiles in a row, or fewer per row when the page is narrow."""
        if columns == self.columns:
            return
        self.columns = columns
        for tile in self._tiles:
            self._grid.removeWidget(tile)
        for index, tile in enumerate(self._tiles):
            self._grid.addWidget(tile, index // columns, index % columns)
        for column in range(len(self._tiles)):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        width = event.size().width()
        self._arrange(6 if width >= WIDE_LAYOUT_MIN_WIDTH else 3 if width >= MEDIUM_LAYOUT_MIN_WIDTH else 2)

    def reset(self) -> None:
        self._zero_shot = None
        for tile in (self.epoch, self.loss, self.base, self.new, self.hm, self.best):
            tile.set(DASH, "")
        self.base.detail.setText("zero-shot —")
        self.new.detail.setText("zero-shot —")
        self.hm.detail.setText("zero-shot —")

    def show_zero_shot(self, event) -> None:
        """A `ZeroShotEvent`: the baselines under the accuracy tiles (and their values until epoch 1)."""
        self._zero_shot = event
        for tile, value in ((self.base, event.val_acc), (self.new, event.new_acc), (self.hm, event.hm)):
            tile.detail.setText(f"zero-shot {percent(value)}")
            if tile.value.text() == DASH:
                tile.value.setText(percent(value))

    def show_epoch(self, event, best_val_acc: float | None = None) -> None:
        """The latest `EpochEvent` (the page calls this at a bounded rate, with only the last one)."""
        self.epoch.set(f"{event.epoch}", f"of at most {event.epochs}")
        self.loss.set(f"{event.train_loss:.4f}" if math.isfinite(event.train_loss) else DASH, "cross-entropy")
        zero = self._zero_shot
        for tile, value, baseline in (
            (self.base, event.val_acc, zero.val_acc if zero else None),
            (self.new, event.new_acc, zero.new_acc if zero else None),
            (self.hm, event.hm, zero.hm if zero else None),
        ):
            change = points(value - baseline) if value is not None and baseline is not None else ""
            tile.set(percent(value), f"zero-shot {percent(baseline)}" + (f"  ({change})" if change else ""))
        if event.best_epoch:
            detail = f"base val {percent(best_val_acc)}" if best_val_acc is not None else "kept at the end"
            self.best.set(str(event.best_epoch), detail)

    def texts(self) -> dict[str, str]:
        """Tile values by key (for tests and accessibility checks)."""
        return {
            "epoch": self.epoch.value.text(),
            "loss": self.loss.value.text(),
            "base": self.base.value.text(),
            "new": self.new.value.text(),
            "hm": self.hm.value.text(),
            "best_epoch": self.best.value.text(),
        }
