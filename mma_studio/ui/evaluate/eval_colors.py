"""Colours of the Evaluate page that must stay readable on a light and on a dark palette.

Gains and losses, roles and heatmap ramps are fixed hues in the Train page's colour language;
only their lightness changes with the palette, so a dark theme gets light-on-dark colours
instead of dark green text on a dark grey background.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

# The live plots' base and new colours (not imported: live_plots pulls in pyqtgraph and numpy).
BASE_COLOR = "#2563eb"
NEW_COLOR = "#ea580c"

# (light palette, dark palette)
_GAIN = ("#047857", "#34d399")
_LOSS = ("#b91c1c", "#f87171")
_BASE_ROLE = (BASE_COLOR, "#60a5fa")
_NEW_ROLE = (NEW_COLOR, "#fb923c")
_CORRECT_RAMP = ("#2563eb", "#3b82f6")  # confusion-matrix diagonal
_ERROR_RAMP = ("#dc2626", "#ef4444")  # off-diagonal (mistakes)


def is_dark(palette: QPalette) -> bool:
    """True for a dark theme: light text. (Text, not the background, decides: a style sheet's
    `background:` rewrites a widget's Window colour, while its text colour stays the theme's.)"""
    return palette.color(QPalette.ColorRole.WindowText).lightness() > 128


def _pick(pair: tuple[str, str], palette: QPalette) -> QColor:
    return QColor(pair[1] if is_dark(palette) else pair[0])


def gain_color(palette: QPalette) -> QColor:
    return _pick(_GAIN, palette)


def loss_color(palette: QPalette) -> QColor:
    return _pick(_LOSS, palette)


def change_color(delta: float | None, palette: QPalette) -> QColor | None:
    """Green for a gain, red for a loss, None for no change or no figure."""
    if delta is None or delta != delta or abs(delta) < 1e-12:
        return None
    return gain_color(palette) if delta > 0 else loss_color(palette)


def role_color(role: str, palette: QPalette) -> QColor:
    return _pick(_BASE_ROLE if role == "base" else _NEW_ROLE, palette)


def correct_ramp(palette: QPalette) -> QColor:
    return _pick(_CORRECT_RAMP, palette)


def error_ramp(palette: QPalette) -> QColor:
    return _pick(_ERROR_RAMP, palette)


def blend(start: QColor, end: QColor, t: float) -> QColor:
    """Linear mix: t = 0 gives `start`, t = 1 gives `end`."""
    t = min(1.0, max(0.0, t))
    return QColor(
        round(start.red() + (end.red() - start.red()) * t),
        round(start.green() + (end.green() - start.green()) * t),
        round(start.blue() + (end.blue() - start.blue()) * t),
    )


def readable_text_on(background: QColor) -> QColor:
    """Black or white, whichever contrasts more with `background` (relative luminance)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = (
        0.2126 * channel(background.red()) + 0.7152 * channel(background.green()) + 0.0722 * channel(background.blue())
    )
    return QColor("#111827") if luminance > 0.36 else QColor("#ffffff")
