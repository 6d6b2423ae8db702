"""An inline message with a close button: errors and notices stay readable after a dialog closes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


class Banner(QFrame):
    """`links`: the text is rich text with links (the caller escapes user text); otherwise plain."""

    def __init__(self, name: str, parent: QWidget | None = None, *, links: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}Label")
        self.label.setAccessibleName(f"{name}Label")
        self.label.setWordWrap(True)
        flags = Qt.TextInteractionFlag.TextSelectableByMouse
        if links:  # links are reported through `label.linkActivated`, never opened by Qt itself
            flags |= Qt.TextInteractionFlag.LinksAccessibleByMouse
            self.label.setOpenExternalLinks(False)
            self.label.setTextFormat(Qt.TextFormat.RichText)  # its caller escapes what the user typed
        else:  # messages name files and classes: shown as typed, never as markup
            self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(flags)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if not self.isHidden() else ""
