"""What a finished run achieved: zero-shot CLIP against CLIP + adapter on the held-out test images.

Rows are base, new, harmonic mean (and all classes together when the engine reports it);
columns are zero-shot, adapted and the change in percentage points, coloured by its sign.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from mma_studio.ui.widgets.figure_text import DASH, is_number, percent, points

ROWS = (("base", "Base classes"), ("new", "New classes"), ("hm", "Harmonic mean"), ("all", "All together"))
GAIN_COLOR = "#047857"
LOSS_COLOR = "#b91c1c"


def _headline(report) -> dict:
    if report is None:
        return {}
    if hasattr(report, "headline"):
        return report.headline()
    return dict(report)


class RunSummary(QFrame):
    """The result table of the last run, plus one sentence on how it ended."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runSummary")
        self.setProperty("card", True)
        self.title = QLabel("Result", self)
        self.title.setObjectName("runSummaryTitle")
        self.title.setProperty("role", "cardTitle")
        self.outcome = QLabel("", self)
        self.outcome.setObjectName("runOutcomeLabel")
        self.outcome.setAccessibleName("runOutcomeLabel")
        self.outcome.setWordWrap(True)
        self.outcome.setProperty("role", "hint")

        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(4)
        for column, header in enumerate(("", "Zero-shot", "Adapted", "Change")):
            label = QLabel(header, self)
            label.setProperty("role", "tableHeader")
            if column:
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(label, 0, column)
        self.cells: dict[tuple[str, str], QLabel] = {}
        self._row_labels: dict[str, QLabel] = {}
        for row, (key, caption) in enumerate(ROWS, start=1):
            name = QLabel(caption, self)
            self.grid.addWidget(name, row, 0)
            for column, part in enumerate(("zero_shot", "adapted", "change"), start=1):
                cell = QLabel(DASH, self)
                cell.setObjectName(f"summary_{key}_{part}")
                cell.setAccessibleName(f"summary_{key}_{part}")
                cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.grid.addWidget(cell, row, column)
                self.cells[(key, part)] = cell
            self._row_labels[key] = name
        self.grid.setColumnStretch(4, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.outcome)
        layout.addLayout(self.grid)
        self.setVisible(False)

    def show_run(self, run, finished=None) -> None:
        """Fill the table from a `TrainingRun` (and the `FinishedEvent`, for how it ended)."""
        zero = _headline(getattr(run, "zero_shot", None))
        adapted = _headline(getattr(run, "adapted", None))
        for key, _caption in ROWS:
            before, after = zero.get(key), adapted.get(key)
            shown = is_number(before) or is_number(after)
            for part in ("zero_shot", "adapted", "change"):
                self.cells[(key, part)].setVisible(shown)
            self._row_labels[key].setVisible(shown)
            self.cells[(key, "zero_shot")].setText(percent(before))
            self.cells[(key, "adapted")].setText(percent(after))
            change_cell = self.cells[(key, "change")]
            if is_number(before) and is_number(after):
                delta = after - before
                change_cell.setText(points(delta))
                color = GAIN_COLOR if delta > 0 else LOSS_COLOR if delta < 0 else ""
                change_cell.setStyleSheet(f"color: {color}; font-weight: 600;" if color else "")
            else:
                change_cell.setText(DASH)
                change_cell.setStyleSheet("")
        self.outcome.setText(describe_outcome(run, finished))
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)

    def figure(self, key: str, part: str) -> str:
        return self.cells[(key, part)].text()


def describe_outcome(run, finished=None) -> str:
    """One sentence: how many epochs ran, which one was kept, and why training ended."""
    history = list(getattr(run, "history", []) or [])
    epochs_run = finished.epochs_run if finished is not None else len(history)
    best = finished.best_epoch if finished is not None else (history[-1].best_epoch if history else 0)
    maximum = history[-1].epochs if history else epochs_run
    cancelled = getattr(run, "cancelled", False) or (finished is not None and finished.cancelled)
    kept = f"kept the adapter of epoch {best}" if best else "kept the last adapter"
    if cancelled:
        return f"Stopped by you after {epochs_run} epoch{'s' if epochs_run != 1 else ''}; {kept} (best base validation accuracy so far). Test figures on held-out images:"
    if finished is not None and finished.stopped_early:
        return f"Stopped early after {epochs_run} of {maximum} epochs (validation accuracy stopped improving); {kept}. Test figures on held-out images:"
    return f"Trained {epochs_run} epoch{'s' if epochs_run != 1 else ''}; {kept}. Test figures on held-out images:"
