"""Text a user typed (class, folder and file names) shown as typed, never read as markup.

Qt renders a label or a tooltip as rich text whenever the text merely looks like HTML
(`Qt.mightBeRichText`): a class named `<u>ant` would show as an underlined "ant", a folder named
`<font color=red>x` as a red "x". Labels that show such text are set to plain text; a tooltip
has no format of its own, so one that looks like HTML is escaped into rich text that shows it
literally. Rich text that includes such a name escapes it with `escape_markup`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import QLabel


def escape_markup(text: str) -> str:
    """`text` inside rich text, shown as typed (not the `html` module: it costs ~1.5 ms of
    start-up, and this module is imported before the first frame)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_tooltip(text: str) -> str:
    """`text` as a tooltip that shows it literally (line breaks kept)."""
    if not text or not QtGui.mightBeRichText(text):
        return text
    return "<p style='white-space:pre-wrap'>" + escape_markup(text) + "</p>"


def plain_label(label: QLabel) -> QLabel:
    """`label`, set to show its text as plain text (it shows names a user typed)."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label
