"""The Qt desktop application: the main window, its pages, and the workers that call the engine.

`from mma_studio.ui import MainWindow` builds the window without showing it; `run_app()`
starts the application. Both are imported on first use, so importing a small piece of the UI
(the app state, a widget) does not pull in every page.
"""

from __future__ import annotations

__all__ = ["MainWindow", "run_app"]


def __getattr__(name: str):
    if name == "MainWindow":
        from mma_studio.ui.main_window import MainWindow

        return MainWindow
    if name == "run_app":
        from mma_studio.ui.app import run_app

        return run_app
    raise AttributeError(f"module 'mma_studio.ui' has no attribute {name!r}")
