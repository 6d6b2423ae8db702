"""A progress bar with its Cancel button beside it, hidden until some long work starts: the one
shape every page gives "this takes a while, and you can stop it"."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QToolButton, QWidget


class ProgressRow(QWidget):
    def __init__(self, name: str, what: str, on_cancel, parent: QWidget | None = None) -> None:
        """`name`: object-name stem (`<name>Progress`, `<name>CancelButton`); `what` is read out
        ("Scan progress", "Cancel scan")."""
        super().__init__(parent)
        self.progress = QProgressBar(self)
        self.progress.setObjectName(f"{name}Progress")
        self.progress.setAccessibleName(f"{what.capitalize()} progress")
        self.progress.setTextVisible(True)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setObjectName(f"{name}CancelButton")
        self.cancel_button.setText("Cancel")
        self.cancel_button.setAccessibleName(f"Cancel {what}")
        self.cancel_button.clicked.connect(on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def start(self, text: str) -> None:
        """Show the row for new work: a busy bar saying `text`, Cancel enabled."""
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def cancelling(self) -> None:
        """Cancel was asked for: the work stops at its next check."""
        self.cancel_button.setEnabled(False)
        self.progress.setFormat("Cancelling…")

    def show_count(self, done: int, total: int | None) -> None:
        """`done` of `total` on the bar; a busy bar when the total is unknown."""
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)
