"""The runs of the open project, with their figures: when, which backbone, how long it
trained, and zero-shot versus adapted base / new / HM. Choosing one shows its curves on the
Train page."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.widgets.adapter_info import format_created
from mma_studio.ui.widgets.plain_text import plain_tooltip

COLUMNS = ("Finished", "Backbone", "Epochs", "Base", "New", "HM", "Adapter file")


def _percent(value) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        return "—"
    return f"{100 * value:.1f}"


def figure_text(summary: dict, key: str) -> str:
    """'61.2 → 78.4' (zero-shot → adapted, in percent) for one headline figure."""
    zero = (summary.get("zero_shot") or {}).get(key)
    adapted = (summary.get("adapted") or {}).get(key)
    return f"{_percent(zero)} → {_percent(adapted)}"


def run_row(record) -> list[str]:
    summary = record.summary or {}
    epochs = summary.get("epochs_run", len(record.history))
    best = summary.get("best_epoch")
    state = " (cancelled)" if summary.get("cancelled") else (" (early stop)" if summary.get("stopped_early") else "")
    return [
        format_created(record.finished_at),
        str(summary.get("backbone") or ""),
        f"{epochs}, best {best}{state}" if best else f"{epochs}{state}",
        figure_text(summary, "base"),
        figure_text(summary, "new"),
        figure_text(summary, "hm"),
        str(record.adapter_file or "not exported"),
    ]


class RunsDialog(QDialog):
    """A table of runs, newest first; `showCurvesRequested(index)` with the index in `runs`."""

    showCurvesRequested = Signal(int)
    showResultsRequested = Signal(int)  # evaluate the run again and show it on the Evaluate page
    openAdapterRequested = Signal(object)  # Path of an exported adapter file

    def __init__(self, runs: list, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsDialog")
        self.setWindowTitle("Runs of This Project")
        self.resize(860, 360)
        self._runs = list(runs)
        hint = QLabel("Figures are test accuracy in percent: zero-shot CLIP → with the adapter.")
        hint.setWordWrap(True)
        self.table = QTableWidget(len(runs), len(COLUMNS), self)
        self.table.setObjectName("runsTable")
        self.table.setAccessibleName("runsTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        for row, index in enumerate(reversed(range(len(runs)))):  # newest first
            for column, text in enumerate(run_row(runs[index])):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, index)
                if 3 <= column <= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 6 and runs[index].adapter_file:
                    item.setToolTip(plain_tooltip(str(runs[index].adapter_file)))
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _index: self._show_curves())
        if runs:
            self.table.selectRow(0)
        self.empty = QLabel("No runs yet: train an adapter and it is recorded here.")
        self.empty.setVisible(not runs)
        self.curves_button = QPushButton("Show Curves")
        self.curves_button.setObjectName("showRunCurvesButton")
        self.curves_button.setEnabled(bool(runs))
        self.curves_button.setToolTip("Draw this run's curves on the Train page")
        self.curves_button.clicked.connect(self._show_curves)
        self.results_button = QPushButton("Show Results")
        self.results_button.setObjectName("showRunResultsButton")
        self.results_button.setToolTip("Evaluate this run again and show it on the Evaluate and Demo pages")
        self.results_button.clicked.connect(self._show_results)
        self.demo_button = QPushButton("Open in Demo")
        self.demo_button.setObjectName("openRunInDemoButton")
        self.demo_button.setToolTip("Classify images with this run's exported adapter file")
        self.demo_button.clicked.connect(self._open_in_demo)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.curves_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.results_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.demo_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(buttons)
        self._update_buttons()

    def selected_index(self) -> int | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _adapter_path(self) -> Path | None:
        index = self.selected_index()
        if index is None or not self._runs[index].adapter_file:
            return None
        path = Path(self._runs[index].adapter_file)
        return path if path.is_file() else None

    def _has_stored_adapter(self, index: int | None) -> bool:
        from mma_studio.core.run_store import RunStore

        record = self._runs[index] if index is not None else None
        return record is not None and isinstance(record.split, dict) and RunStore().has(record.run_id)

    def _update_buttons(self) -> None:
        path = self._adapter_path()
        self.demo_button.setEnabled(path is not None)
        index = self.selected_index()
        stored = self._has_stored_adapter(index)
        self.results_button.setEnabled(stored)
        self.results_button.setToolTip(
            "Evaluate this run again and show it on the Evaluate and Demo pages"
            if stored or index is None
            else "This run's adapter is no longer kept (only the newest runs are): its figures and curves remain"
        )
        if path is None and index is not None and self._runs[index].adapter_file:
            self.demo_button.setToolTip("The exported adapter file is no longer there")

    def _open_in_demo(self) -> None:
        path = self._adapter_path()
        if path is not None:
            self.openAdapterRequested.emit(path)
            self.accept()

    def _show_results(self) -> None:
        index = self.selected_index()
        if index is not None and self._has_stored_adapter(index):
            self.showResultsRequested.emit(int(index))
            self.accept()

    def _show_curves(self) -> None:
        index = self.selected_index()
        if index is not None:
            self.showCurvesRequested.emit(int(index))
