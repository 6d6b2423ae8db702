"""The application's identity: its name (window titles, QSettings' folder), organisation,
desktop file and icon.

Its own module, below both `app.py` (which creates the QApplication and opens the main window)
and `main_window.py` (which shows the name and icon), so that neither imports the other to get
them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication, QIcon

from mma_studio import __version__

APP_NAME = "MMA Studio"
ORGANIZATION = "MMA Studio"
ORGANIZATION_DOMAIN = "mma-studio.org"
DESKTOP_FILE = "mma-studio"  # mma_studio/resources/mma-studio.desktop: Wayland matches windows to it
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def application_icon() -> QIcon:
    """The app icon from `mma_studio/resources/icons`: the PNG sizes, and the SVG for anything larger."""
    import mma_studio.resources  # a plain package folder (importlib.resources costs ~25 ms at start-up)

    icon = QIcon()
    folder = Path(mma_studio.resources.__file__).parent / "icons"
    for size in ICON_SIZES:
        png = folder / f"mma-studio-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    svg = folder / "mma-studio.svg"
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon


def configure_application_identity() -> None:
    """Names QSettings and the platform use; safe to call before or after the QApplication."""
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setOrganizationDomain(ORGANIZATION_DOMAIN)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setApplicationDisplayName(APP_NAME)
    QGuiApplication.setDesktopFileName(DESKTOP_FILE)
