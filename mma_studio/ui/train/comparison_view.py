"""The "Compare methods" view: runs the comparison in a worker and shows its table and chart.

The comparison is evidence, not a second product: it trains zero-shot CLIP, a text-initialised
linear probe, CLIP-Adapter, Tip-Adapter(-F) and MMA on the Train page's split and settings,
shows base / new / HM / all with mean ± std over seeds, and marks the best of each column.
Only MMA is ever exported.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.train.comparison_chart import ComparisonChart
from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.plain_text import plain_label
from mma_studio.ui.widgets.progress_row import ProgressRow
from mma_studio.ui.workers.background_task import BackgroundTask

INTRO = (
    "Trains zero-shot CLIP, a linear probe, CLIP-Adapter, Tip-Adapter, Tip-Adapter-F and MMA on the same split "
    "and cached features. Each method's epoch or setting is chosen on base validation only. This is evidence: "
    "the adapter you export is MMA's."
)
DEFAULT_SEEDS = 3


class ComparisonView(QWidget):
    runningChanged = Signal(bool)
    resultShown = Signal(object)  # core.comparison.ComparisonResult

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comparisonView")
        self.result = None
        self.last_error: str | None = None
        self._task: BackgroundTask | None = None
        self._request = None

        intro = named(QLabel(INTRO), "comparisonIntro")
        intro.setWordWrap(True)
        intro.setProperty("role", "hint")
        self.seeds = named(QSpinBox(), "comparisonSeeds")
        self.seeds.setRange(1, 10)
        self.seeds.setValue(DEFAULT_SEEDS)
        self.seeds.setPrefix("Seeds: ")
        self.seeds.setToolTip("Each seed samples its own shots and initialises training; figures are mean ± std")
        self.run_button = named(QPushButton("Run Comparison"), "runComparisonButton")
        self.run_button.clicked.connect(self.restart)
        self.progress_row = ProgressRow("comparison", "comparison", self.cancel)
        self.status = plain_label(named(QLabel(), "comparisonStatus"))  # messages name files and classes
        self.status.setProperty("role", "hint")
        controls = QHBoxLayout()
        controls.addWidget(self.seeds)
        controls.addWidget(self.run_button)
        controls.addWidget(self.progress_row, 1)
        controls.addWidget(self.status, 1)

        self.table = named(QTableWidget(0, 7), "comparisonTable")
        self.table.setHorizontalHeaderLabels(["Method", "Base %", "New %", "HM %", "All %", "Train time", "Params"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, 7):
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.footnotes = plain_label(named(QLabel(), "comparisonFootnotes"))
        self.footnotes.setWordWrap(True)
        self.footnotes.setProperty("role", "hint")
        self.chart = ComparisonChart(self)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(controls)
        layout.addWidget(self.table)
        layout.addWidget(self.footnotes)
        layout.addWidget(self.chart, 1)
        self._fit_table_height()

    # -- running ---------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._task is not None and self._task.is_running()

    def start(self, request) -> bool:
        """Compare on `request` (the Train page's `TrainRequest`); False while one still runs."""
        if self.is_running():
            return False
        from mma_studio.core.comparison_names import DEFAULT_METHODS
        from mma_studio.ui.workers.comparison_worker import comparison_task

        self._request = request
        self.last_error = None
        seeds = list(range(1, self.seeds.value() + 1))
        task = comparison_task(request, DEFAULT_METHODS, seeds, self)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self.show_result)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(lambda: self.status.setText("Cancelled; the table shows the last finished comparison."))
        task.finished.connect(self._on_finished)
        self._task = task
        self.progress_row.progress.setRange(0, 0)
        self.progress_row.setVisible(True)
        self.progress_row.cancel_button.setEnabled(True)
        self.status.setText("Starting…")
        self.run_button.setEnabled(False)
        self.seeds.setEnabled(False)
        task.start()
        self.runningChanged.emit(True)
        return True

    def restart(self) -> None:
        if self._request is not None:
            self.start(self._request)

    def cancel(self) -> None:
        if self._task is not None and self._task.is_running():
            self._task.cancel()
            self.status.setText("Stopping…")
            self.progress_row.cancel_button.setEnabled(False)

    def cancel_and_wait(self, timeout_ms: int = 5000) -> bool:
        return self._task.cancel_and_wait(timeout_ms) if self._task is not None else True

    def _on_progress(self, progress) -> None:
        if progress.stage == "compare" and progress.total:
            self.progress_row.progress.setRange(0, progress.total)
            self.progress_row.progress.setValue(progress.done)
            self.status.setText(progress.message)
        elif progress.stage == "extract":
            self.status.setText(
                f"Extracting features · {progress.message}" if progress.message else "Extracting features"
            )
        elif progress.stage == "load_model":
            self.status.setText(progress.message or "Loading the model")

    def _on_failed(self, message: str) -> None:
        self.last_error = message
        self.status.setText(f"Failed: {message}")

    def _on_finished(self) -> None:
        self.progress_row.setVisible(False)
        self.run_button.setEnabled(self._request is not None)
        self.seeds.setEnabled(True)
        self.runningChanged.emit(False)

    def _fit_table_height(self) -> None:
        """As tall as its rows (at least the six methods), so the chart gets the rest of the window."""
        rows = max(6, self.table.rowCount())
        self.table.setFixedHeight(
            self.table.horizontalHeader().sizeHint().height()
            + rows * self.table.verticalHeader().defaultSectionSize()
            + 4
        )

    # -- showing ---------------------------------------------------------------------------
    def show_result(self, result) -> None:
        """Fill the table and the chart from a `ComparisonResult`."""
        from mma_studio.core.comparison import comparison_chart
        from mma_studio.core.result_table import format_cell

        self.result = result
        table = result.table()
        winners = table.winners()
        columns = table.columns
        self.table.setRowCount(len(table.rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for row, cells in enumerate(table.rows):
            for column_index, column in enumerate(columns):
                text = format_cell(cells.get(column.key), column.kind)
                if column_index == 0 and table.row_marks[row]:
                    text += f" {table.row_marks[row]}"
                item = QTableWidgetItem(text)
                if column_index:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row in winners.get(column.key, ()):
                    item.setFont(bold)
                    item.setText(f"★ {text}")
                    item.setToolTip("Best in this column (mean over seeds)")
                self.table.setItem(row, column_index, item)
        self._fit_table_height()
        notes = list(table.footnotes) + ["★ best in its column"]
        if result.warnings:
            notes.append(f"{len(result.warnings)} warning(s): {result.warnings[0]}")
        self.footnotes.setText("\n".join(notes))
        self.chart.show_chart(comparison_chart(result.summaries))
        self.status.setText(f"Done · {result.settings.get('backbone', '')} · seeds {', '.join(map(str, result.seeds))}")
        self.resultShown.emit(result)
