"""Asked before new data would replace the data of a project that already holds some.

"Open as New Project" is the default, so Return never replaces anything; Cancel (or Escape)
leaves the project and its file as they were.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

OPEN_AS_NEW = "new"
REPLACE = "replace"
CANCEL = "cancel"


def ask_replace_or_new(parent: QWidget | None, what: str, project_name: str) -> str:
    """OPEN_AS_NEW, REPLACE or CANCEL. `what` names the new data ("the example dataset")."""
    box = QMessageBox(parent)
    box.setObjectName("replaceDataQuestion")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Open New Data")
    box.setTextFormat(Qt.TextFormat.PlainText)
    project = f"“{project_name}”" if project_name else "This project"
    box.setText(f"{project} already holds data.")
    box.setInformativeText(
        f"Open {what} as a new project, and keep this one as it is? Or replace this project's data with it?"
    )
    new = box.addButton("Open as New Project", QMessageBox.ButtonRole.AcceptRole)
    replace = box.addButton("Replace This Project's Data", QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(new)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked is new:
        return OPEN_AS_NEW
    if clicked is replace:
        return REPLACE
    return CANCEL
