""" "This image is a red star: add it to that class" — the Demo page's way to fix the data
where a mistake is seen. The image is filed under the chosen class in the project (a recorded,
undoable data fix; the file stays where it is), whether it is one of the project's images in
the wrong folder or a new one from elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMenu, QToolButton, QWidget


class AddToClassButton(QToolButton):
    def __init__(self, state, image_path: Callable[[], Path | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addToClassButton")
        self.setText("Add to Class…")
        self.setToolTip("File this image under one of the project's classes (recorded in the project; Ctrl+Z undoes)")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._state = state
        self._image_path = image_path
        self.menu_ = QMenu(self)
        self.menu_.aboutToShow.connect(self.fill_menu)
        self.setMenu(self.menu_)

    def fill_menu(self) -> None:
        self.menu_.clear()
        path = self._image_path()
        scan = self._state.data.scan
        if path is None or scan is None:
            reason = "Open a dataset first" if scan is None else "Only an image file can be added"
            self.menu_.addAction(reason).setEnabled(False)
            return
        for name in scan.class_names:
            action = self.menu_.addAction(self._state.display_name(name))
            action.triggered.connect(lambda _checked=False, n=name: self.add_to(n))

    def add_to(self, class_name: str) -> None:
        path = self._image_path()
        if path is not None:
            self._state.request_data_fix("move", [Path(path)], class_name)
