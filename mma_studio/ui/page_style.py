"""The look every page shares: cards, titles and hints drawn from the palette (dark and light)."""

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
