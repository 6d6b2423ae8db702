"""The window the Train page's "Compare Methods…" opens: the comparison view, non-modal.

Closing it stops a comparison that still runs (nothing it computed is exported).
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from mma_studio.ui.train.comparison_view import ComparisonView


class ComparisonDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comparisonDialog")
        self.setWindowTitle("Compare Methods")
        self.setModal(False)
        self.view = ComparisonView(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.view)
        self.resize(1100, 640)

    def start(self, request) -> bool:
        started = self.view.start(request)
        self.show()
        self.raise_()
        return started

    def closeEvent(self, event) -> None:
        self.view.cancel()
        super().closeEvent(event)
