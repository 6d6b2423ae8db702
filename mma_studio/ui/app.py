"""Start the desktop application: one QApplication, named for QSettings, with its icon and a
style that follows the system's light or dark palette.

`mma-studio` without arguments calls `run_app()`. Nothing here imports torch: the window is
on screen before any engine work starts.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from mma_studio.core.quiet_heavy_imports import install_quiet_heavy_imports

# The identity lives below this module and main_window.py; re-exported for callers of app.py.
from mma_studio.ui.app_identity import APP_NAME as APP_NAME
from mma_studio.ui.app_identity import application_icon as application_icon
from mma_studio.ui.app_identity import configure_application_identity


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def apply_style(app: QApplication) -> None:
    """Fusion, fed with the system palette: native-looking colours, light or dark, and widgets
    that render the same on every platform (the screenshots in docs/ match what users see).

    On macOS and Windows 11 the native style already follows the system theme, so it is kept.
    """
    if sys.platform == "darwin":
        return
    if sys.platform == "win32" and app.style().name().lower() == "windows11":
        return
    app.setStyle("Fusion")


GIL_SWITCH_INTERVAL_S = 0.00025


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), identified, styled and with its icon."""
    existing = QApplication.instance()
    configure_application_identity()
    if existing is not None:
        app = existing
    else:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
        apply_style(app)
        # Workers (a scan, open_clip building a model, the checks after a run) run Python while
        # the GUI thread waits for the GIL, once per cell a table paints: a 200-row table's
        # repaint beside a busy Python worker took up to 360 ms at Python's 5 ms turn, 110 ms at
        # 1 ms, 42 ms at 0.25 ms (benchmarks/gil_switch_interval.py).
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        # The first import of torch and open_clip (in a worker, as a run starts) held the GIL
        # for up to 0.3 s at a stretch; this keeps each stretch short (core/quiet_heavy_imports).
        install_quiet_heavy_imports()
    app.setWindowIcon(application_icon())
    return app


def run_app(argv: list[str] | None = None) -> int:
    """Open the main window and run until it closes; the process exit code."""
    app = create_application(argv)
    from mma_studio.ui.main_window import MainWindow

    window = MainWindow(defer_pages=True)  # on screen with only the Data page built
    window.show()
    reopen_after_first_frame(window)
    return app.exec()


def reopen_after_first_frame(window) -> None:
    """The last project comes back at launch (Settings can turn this off), once the window is
    on screen: reading and rescanning run in workers, so the first frame never waits for them."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, window.projects.reopen_last_project)
