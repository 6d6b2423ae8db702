"""Advice about the dataset, each line with what the user can do about it.

The texts come from the engine (`dataset_advice` and the scan's own warnings); the panel adds
the buttons that act on them: rename a class whose name CLIP cannot read, open the health
report of skipped files. When nothing needs attention it says the data is ready.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QVBoxLayout, QWidget


class WarningsPanel(QFrame):
    renameRequested = Signal(str)  # folder name of a class to rename
    healthReportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetWarnings")
        self.setAccessibleName("Dataset advice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._rows = QVBoxLayout()
        self._rows.setSpacing(6)
        self.rename_button = QPushButton(self)
        self.rename_button.setObjectName("renameClassButton")
        self.rename_button.clicked.connect(self._rename_clicked)
        self.report_button = QPushButton(
            self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView), "", self
        )
        self.report_button.setObjectName("warningsHealthReportButton")
        self.report_button.clicked.connect(self.healthReportRequested)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addStretch(1)
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.report_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addLayout(self._rows)
        layout.addLayout(buttons)
        self._rename_target = ""
        self._messages: list[str] = []
        self.set_advice([], unreadable=[], skipped_count=0)

    def messages(self) -> list[str]:
        return list(self._messages)

    def set_advice(self, messages: list[str], *, unreadable: list[tuple[str, str]], skipped_count: int) -> None:
        """`unreadable`: (folder name, shown name) of classes CLIP cannot read, in table order."""
        self._messages = list(messages)
        while self._rows.count():
            item = self._rows.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # deleteLater alone leaves it painted until the next loop turn
                item.widget().deleteLater()
        style = self.style()
        if messages:
            icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(18, 18)
            for text in messages:
                self._rows.addWidget(_row(icon, text, self))
        elif skipped_count:  # never "no problems" beside a button listing skipped files
            icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation).pixmap(18, 18)
            files = f"{skipped_count} file{'s' if skipped_count != 1 else ''}"
            self._rows.addWidget(
                _row(
                    icon,
                    f"{files} could not be read and {'are' if skipped_count != 1 else 'is'} "
                    "left out; the other images are ready to train.",
                    self,
                )
            )
        else:
            icon = style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton).pixmap(18, 18)
            self._rows.addWidget(_row(icon, "No problems found: the dataset is ready to train.", self))
        self._rename_target = unreadable[0][0] if unreadable else ""
        self.rename_button.setVisible(bool(unreadable))
        if unreadable:
            more = f" ({len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
            self.rename_button.setText(f"Rename “{unreadable[0][1]}”…{more}")
        self.report_button.setVisible(skipped_count > 0)
        self.report_button.setText(f"Show {skipped_count} Skipped File{'s' if skipped_count != 1 else ''}")

    def _rename_clicked(self) -> None:
        if self._rename_target:
            self.renameRequested.emit(self._rename_target)


def _row(pixmap, text: str, parent: QWidget) -> QWidget:
    row = QWidget(parent)
    icon = QLabel(row)
    icon.setPixmap(pixmap)
    icon.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
    icon.setFixedWidth(22)
    label = QLabel(text, row)
    label.setObjectName("datasetWarningText")
    label.setTextFormat(Qt.TextFormat.PlainText)  # advice names classes
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    layout.addWidget(icon)
    layout.addWidget(label, 1)
    return row
