"""The look every page shares: cards, titles and hints drawn from the palette (dark and light)."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

CARD_STYLE = """
QFrame[card="true"] {
    background: palette(base);
    border: 1px solid palette(midlight);
    border-radius: 10px;
}
QLabel[role="cardTitle"] { font-size: 12pt; font-weight: 600; }
QLabel[role="pageTitle"] { font-size: 18pt; font-weight: 600; }
QLabel[role="hint"] { color: palette(placeholder-text); }
"""
CARD_MARGINS = (16, 14, 16, 14)


def card(name: str = "", margins: tuple[int, int, int, int] = CARD_MARGINS) -> tuple[QFrame, QVBoxLayout]:
    """A rounded panel (drawn by CARD_STYLE) and its vertical layout."""
    frame = QFrame()
    if name:
        frame.setObjectName(name)
    frame.setProperty("card", True)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(*margins)
    layout.setSpacing(8)
    return frame, layout


def title_label(text: str, role: str = "cardTitle") -> QLabel:
    """A card's title (`role="pageTitle"` for a page's, `"hint"` for grey help text)."""
    label = QLabel(text)
    label.setProperty("role", role)
    return label
