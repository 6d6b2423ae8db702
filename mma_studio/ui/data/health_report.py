"""A dialog listing every file the scan skipped, with the reason, ready to copy.

Users fix data outside the app (delete a truncated JPEG, convert a HEIC), so the report gives
full paths, the engine's reason word for word, a way to open the folder, and a plain-text copy
that pastes cleanly into a terminal, a spreadsheet or a bug report.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.widgets.plain_text import plain_tooltip


class _Entry:
    """A row of the report: a path and why it is listed (skipped files and duplicates alike)."""

    def __init__(self, path, reason: str) -> None:
        self.path, self.reason = path, reason


def duplicate_entries(groups) -> list:
    """A row per path of each `DuplicateGroup` (`core.file_identity`): the image is used, but
    more than once, so the report names the other paths it is counted under."""
    import os

    rows = []
    for group in groups:
        what = "same file as" if group.kind == "same-file" else "identical copy of"
        try:  # the other paths as short as they read unambiguously: class folder and name
            base = os.path.commonpath([str(Path(p).parent.parent) for p in group.paths])
        except ValueError:  # different drives
            base = ""
        for path in group.paths:
            others = ", ".join(os.path.relpath(p, base) if base else str(p) for p in group.paths if p != path)
            rows.append(_Entry(path, f"{what} {others}: counted more than once"))
    return rows


def report_text(skipped: list) -> str:
    """Tab-separated `path<TAB>reason` lines, one per skipped file."""
    return "".join(f"{entry.path}\t{entry.reason}\n" for entry in skipped)


class HealthReportDialog(QDialog):
    rescanRequested = Signal()  # the user fixed files outside the app: scan the folder again

    def __init__(
        self,
        skipped: list,
        parent: QWidget | None = None,
        *,
        total_usable: int | None = None,
        duplicates=(),
        can_rescan: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("healthReportDialog")
        self.setWindowTitle("Dataset Health Report")
        self.resize(940, 460)
        duplicates = list(duplicates)
        self._skipped = list(skipped) + duplicate_entries(duplicates)

        count = len(self._skipped)
        skipped_count = count - sum(len(g.paths) for g in duplicates)
        if count == 0:
            summary = "Every file is a usable image. Nothing was skipped."
        elif skipped_count == 0:
            summary = ""
        else:
            summary = (
                f"<b>{count} file{'s were' if count != 1 else ' was'} skipped</b> and will not be used. "
                "Fix or remove them, then open the folder again to rescan."
            )
            if total_usable is not None:
                summary += f" {total_usable:,} usable images remain."
        if duplicates:
            summary += (
                f"{' ' if summary else ''}<b>{len(duplicates)} image{'s are' if len(duplicates) != 1 else ' is'} "
                "counted more than once</b> (links to the same file, or identical copies): remove the extra "
                "copies or links, or the same picture is used twice."
            )
        self._summary = QLabel(summary, self)
        self._summary.setObjectName("healthReportSummary")
        self._summary.setWordWrap(True)

        self.table = QTableWidget(count, 3, self)
        self.table.setObjectName("healthReportTable")
        self.table.setAccessibleName("Skipped files")
        self.table.setHorizontalHeaderLabels(["File", "Reason", "Folder"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for row, entry in enumerate(self._skipped):
            path = Path(entry.path)
            name = QTableWidgetItem(warning, path.name)
            name.setToolTip(plain_tooltip(str(path)))
            name.setData(Qt.ItemDataRole.UserRole, str(path))
            reason = QTableWidgetItem(str(entry.reason))
            reason.setToolTip(plain_tooltip(str(entry.reason)))
            folder = QTableWidgetItem(str(path.parent))
            folder.setToolTip(plain_tooltip(str(path.parent)))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, reason)
            self.table.setItem(row, 2, folder)
        self.table.setColumnWidth(0, 200)
        self.table.setColumnWidth(2, 240)
        self.table.setVisible(count > 0)
        self.table.doubleClicked.connect(self._show_selected_in_folder)
        QShortcut(QKeySequence.StandardKey.Copy, self.table, activated=self.copy_selection)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy Report", self)
        self.copy_button.setObjectName("healthReportCopyButton")
        self.copy_button.setToolTip("Copy every skipped file and its reason as tab-separated text")
        self.copy_button.setEnabled(count > 0)
        self.copy_button.clicked.connect(self.copy_all)
        self.open_button = QPushButton("Show in Folder", self)
        self.open_button.setObjectName("healthReportOpenButton")
        self.open_button.setToolTip("Open the folder of the selected file")
        self.open_button.clicked.connect(self._show_selected_in_folder)
        self.table.itemSelectionChanged.connect(
            lambda: self.open_button.setEnabled(bool(self.table.selectionModel().selectedRows()))
        )
        if count:  # the first file is selected, so Show in Folder works at once
            self.table.selectRow(0)
        self.open_button.setEnabled(bool(count))
        self.rescan_button = QPushButton("Rescan", self)
        self.rescan_button.setObjectName("healthReportRescanButton")
        self.rescan_button.setToolTip(
            "Scan the dataset folder again after fixing or removing these files; "
            "class names and the base/new split are kept"
        )
        self.rescan_button.setEnabled(can_rescan)
        self.rescan_button.clicked.connect(self._rescan)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.rescan_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(self._summary)
        layout.addWidget(self.table, 1)
        if count == 0:
            layout.addStretch(1)
        layout.addWidget(buttons)

    def _rescan(self) -> None:
        self.rescanRequested.emit()
        self.accept()

    def report_text(self) -> str:
        return report_text(self._skipped)

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.report_text())

    def copy_selection(self) -> None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        chosen = [self._skipped[r] for r in rows] or self._skipped
        QGuiApplication.clipboard().setText(report_text(chosen))

    def _show_selected_in_folder(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            path = Path(self._skipped[rows[0].row()].path)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))
