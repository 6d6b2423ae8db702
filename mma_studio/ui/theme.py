"""Light, dark, or whatever the system uses: the application palette and the plots that follow it.

"system" leaves the palette to the platform (Qt follows the desktop's light or dark setting,
live on most platforms). "light" and "dark" set an explicit palette, tuned so that every
page stays readable: hint text, disabled text, links and selections all keep their contrast.

pyqtgraph plots do not read the palette after they are built, so `restyle_plots` redraws
their background, axes, labels and titles in the new colours. The data colours (blue base,
orange new, green HM, ...) are mid-tone and read well on both backgrounds.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from mma_studio.core.collector_pause import collector_paused

THEME_KEY = "app/theme"
THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


def saved_theme() -> str:
    value = QSettings().value(THEME_KEY, "system")
    return value if value in THEMES else "system"


def save_theme(mode: str) -> None:
    QSettings().setValue(THEME_KEY, mode if mode in THEMES else "system")


def _palette(colors: dict) -> QPalette:
    palette = QPalette()
    for role, value in colors.items():
        palette.setColor(role, QColor(value))
    return palette


def light_palette() -> QPalette:
    P = QPalette.ColorRole
    palette = _palette(
        {
            P.Window: "#f3f4f6",
            P.WindowText: "#111827",
            P.Base: "#ffffff",
            P.AlternateBase: "#f9fafb",
            P.ToolTipBase: "#111827",
            P.ToolTipText: "#f9fafb",
            P.PlaceholderText: "#6b7280",
            P.Text: "#111827",
            P.Button: "#f9fafb",
            P.ButtonText: "#111827",
            P.BrightText: "#ffffff",
            P.Light: "#ffffff",
            P.Midlight: "#e5e7eb",
            P.Mid: "#9ca3af",
            P.Dark: "#6b7280",
            P.Shadow: "#1f2937",
            P.Highlight: "#2563eb",
            P.HighlightedText: "#ffffff",
            P.Link: "#1d4ed8",
            P.LinkVisited: "#6d28d9",
        }
    )
    _disabled(palette, "#9ca3af")
    return palette


def dark_palette() -> QPalette:
    P = QPalette.ColorRole
    palette = _palette(
        {
            # Cards and fields (Base) a step lighter than the window: Fusion outlines line edits,
            # spin boxes and lists in the window's colour darkened, which vanished on darker cards.
            P.Window: "#17191d",
            P.WindowText: "#e5e7eb",
            P.Base: "#22252b",
            P.AlternateBase: "#272a31",
            P.ToolTipBase: "#e5e7eb",
            P.ToolTipText: "#111827",
            P.PlaceholderText: "#9ca3af",
            P.Text: "#e5e7eb",
            P.Button: "#2a2e35",
            P.ButtonText: "#e5e7eb",
            P.BrightText: "#ffffff",
            P.Light: "#3a3f47",
            P.Midlight: "#30343b",
            P.Mid: "#4b5563",
            P.Dark: "#111317",
            P.Shadow: "#000000",
            P.Highlight: "#3b82f6",
            P.HighlightedText: "#ffffff",
            P.Link: "#93c5fd",
            P.LinkVisited: "#c4b5fd",
        }
    )
    _disabled(palette, "#6b7280")
    return palette


def _disabled(palette: QPalette, color: str) -> None:
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))


def apply_theme(mode: str, app: QApplication | None = None) -> None:
    """Set the application palette for `mode` and bring every open plot and style sheet along."""
    app = app or QApplication.instance()
    if app is None:
        return
    if mode == "light":
        app.setPalette(light_palette())
    elif mode == "dark":
        app.setPalette(dark_palette())
    else:
        app.setPalette(QPalette())  # an empty palette hands the colours back to the platform
    refresh_widgets(app)


def apply_saved_theme(app: QApplication | None = None) -> None:
    """At start-up: nothing to do for "system" (the default), else the saved palette."""
    mode = saved_theme()
    if mode != "system":
        apply_theme(mode, app)


def is_dark_palette(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def refresh_widgets(app: QApplication) -> None:
    """Re-evaluate style sheets that use palette(...) colours, and restyle the plots.

    The cyclic garbage collector waits until the walk is over. `allWidgets()` is a list of raw
    pointers, wrapped one by one; a collection during the walk (any allocation can start one)
    could free a closed window that was only cyclic garbage, and with it its child widgets,
    still in the list: the next call on one of them read freed memory and the process died
    (a theme switch; reproduced in tests/ui/test_theme_switch_with_garbage.py)."""
    with collector_paused():
        for widget in app.allWidgets():
            sheet = widget.styleSheet()
            if sheet and "palette(" in sheet:
                widget.setStyleSheet(sheet)
        restyle_plots(list(app.topLevelWidgets()))


def restyle_plots(roots: list[QWidget]) -> int:
    """Give every pyqtgraph PlotWidget under `roots` the current palette; returns how many."""
    import sys

    if "pyqtgraph" not in sys.modules:  # no plot was ever built
        return 0
    import pyqtgraph as pg

    count = 0
    seen = set()
    for root in roots:
        plots = [root] if isinstance(root, pg.PlotWidget) else []
        plots += root.findChildren(pg.PlotWidget)
        for plot in plots:
            if id(plot) not in seen:
                seen.add(id(plot))
                restyle_plot(plot)
                count += 1
    return count


def restyle_plot(plot) -> None:
    """Background, axes, axis labels and title of one PlotWidget in its palette's colours."""
    import pyqtgraph as pg

    palette = plot.palette()
    background = palette.color(QPalette.ColorRole.Base)
    foreground = palette.color(QPalette.ColorRole.Text)
    plot.setBackground(background)
    item = plot.getPlotItem()
    title = item.titleLabel
    if title is not None and title.text:
        title.setText(title.text, color=foreground.name())
    axis_pen = foreground.lighter(170) if foreground.lightness() < 128 else foreground  # as live_plots draws it
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        if axis is None:
            continue
        axis.setTextPen(foreground)
        axis.setPen(pg.mkPen(axis_pen))
        if axis.labelText:
            axis.setLabel(axis.labelText, units=axis.labelUnits or None, color=foreground.name())
