"""A modal dialog that nobody answers fails the test at once instead of blocking it forever.

In a test nobody clicks: `QMessageBox.question(...)` or `dialog.exec()` would wait for ever (a
failed test's teardown once sat 14 minutes on `MainWindow.closeEvent`'s "Stop training?"). For
the whole run (tests/conftest.py) every blocking entry point of Qt's dialogs is replaced by one
that records the dialog and raises `UnansweredDialog`: directly into the test, or, from a slot
or event handler, through pytest-qt's exception capture; the record fails the test even where
that capture is off.

A test that expects a dialog answers it explicitly: monkeypatch the app's own `confirm_*` /
`ask_*` method, or the Qt function (`monkeypatch.setattr(QMessageBox, "question", ...)`).
Non-blocking `dialog.open()` is not guarded: it returns at once.
"""

from __future__ import annotations

import pytest


class UnansweredDialog(AssertionError):
    """A test opened a modal dialog and did not answer it (see tests/dialog_guard.py)."""


# What was opened in the current test: (entry point, title or first argument).
opened: list[str] = []

STATIC_ENTRY_POINTS = {
    "QMessageBox": ("question", "warning", "critical", "information", "about", "aboutQt"),
    "QFileDialog": (
        "getOpenFileName",
        "getOpenFileNames",
        "getSaveFileName",
        "getExistingDirectory",
        "getOpenFileUrl",
        "getOpenFileUrls",
        "getSaveFileUrl",
        "getExistingDirectoryUrl",
    ),
    "QInputDialog": ("getText", "getMultiLineText", "getInt", "getDouble", "getItem"),
    "QColorDialog": ("getColor",),
    "QFontDialog": ("getFont",),
}
# `exec()` runs a nested event loop until the user closes the dialog. (Not QMenu: its `exec` is
# static and per instance at once, and PySide6 resolves the instance one past any class attribute,
# so a test must not open a context menu with `menu.exec()`; call the action instead.)
EXEC_CLASSES = (
    "QDialog",
    "QMessageBox",
    "QFileDialog",
    "QInputDialog",
    "QColorDialog",
    "QFontDialog",
    "QProgressDialog",
    "QErrorMessage",
)


def _describe(args: tuple) -> str:
    texts = [a for a in args if isinstance(a, str)]
    if texts:
        return repr(texts[0])
    for a in args:  # an instance: its title, if it has one
        title = getattr(a, "windowTitle", None)
        if callable(title):
            return repr(title())
    return ""


def _refuse(entry_point: str):
    def unanswered(*args, **kwargs):
        what = f"{entry_point}({_describe(args)})"
        opened.append(what)
        raise UnansweredDialog(
            f"{what} opened a modal dialog that nobody answers in a test. Answer it in the test: "
            "monkeypatch the app's confirm_*/ask_* method or the Qt call (see tests/dialog_guard.py)."
        )

    unanswered.__name__ = f"unanswered_{entry_point.replace('.', '_')}"
    return unanswered


def install(patcher: pytest.MonkeyPatch) -> None:
    """Replace every blocking dialog entry point for as long as `patcher` is not undone."""
    from PySide6 import QtWidgets

    for class_name, names in STATIC_ENTRY_POINTS.items():
        cls = getattr(QtWidgets, class_name)
        for name in names:
            patcher.setattr(cls, name, staticmethod(_refuse(f"{class_name}.{name}")))
    for class_name in EXEC_CLASSES:
        cls = getattr(QtWidgets, class_name)
        for name in ("exec", "exec_"):
            if hasattr(cls, name):
                patcher.setattr(cls, name, _refuse(f"{class_name}.{name}"))


def take_opened() -> list[str]:
    """What the current test opened, and start a fresh record."""
    found = list(opened)
    opened.clear()
    return found
