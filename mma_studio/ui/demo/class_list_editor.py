"""The Demo page's editable class list: the adapter's classes, plus any the user adds.

MMA stores no per-class weights, so an adapter scores any class name, including ones it
never trained on. This list is what the demo classifies into: add names (several at once,
separated by commas), rename one by double-clicking it, remove some, or go back to the
adapter's own list. Each name carries its role: trained on (base), held out (new), or added
here, shown by the same coloured dot as the result bars.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.plain_text import plain_tooltip
from mma_studio.ui.widgets.topk_bars import ROLE_COLORS, ROLE_LABELS

ROLE_ROLE = Qt.ItemDataRole.UserRole + 1


def normalise_name(text: str) -> str:
    """One line, single spaces: what the prompt will read."""
    return " ".join(str(text).split())


def split_names(text: str) -> list[str]:
    """'cat, dog;  red fox' -> ['cat', 'dog', 'red fox'] (commas, semicolons or new lines)."""
    for separator in (";", "\n"):
        text = text.replace(separator, ",")
    return [name for name in (normalise_name(part) for part in text.split(",")) if name]


def _dot_icon(color: str, size: int = 10) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(0, 0, size, size)
    painter.end()
    return QIcon(pixmap)


class ClassListEditor(QWidget):
    """`classesChanged(names)` after every accepted edit; `class_names()` and `role_of()` read it."""

    classesChanged = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "classListEditor")
        self._original: dict[str, str] = {}  # the adapter's names -> role
        self._original_order: list[str] = []
        self._editing = False
        self._icons = {role: _dot_icon(color) for role, color in ROLE_COLORS.items()}

        self.list = named(QListWidget(self), "classList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.setIconSize(QSize(10, 10))
        self.list.setUniformItemSizes(True)
        self.list.setToolTip("Double-click a name to rename it; Delete removes the selected classes")
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.itemSelectionChanged.connect(self._update_buttons)

        self.name_edit = named(QLineEdit(self), "newClassEdit")
        self.name_edit.setPlaceholderText("Add classes, e.g. orange cat, tabby cat")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.returnPressed.connect(self.add_from_edit)
        self.name_edit.textChanged.connect(self._update_buttons)
        self.add_button = named(QPushButton("Add", self), "addClassButton")
        self.add_button.setToolTip("Add the names typed on the left (separate several with commas)")
        self.add_button.clicked.connect(self.add_from_edit)
        self.remove_button = named(QPushButton("Remove", self), "removeClassButton")
        self.remove_button.setToolTip("Remove the selected classes from the demo (Delete)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.reset_button = named(QPushButton("Reset", self), "resetClassesButton")
        self.reset_button.setToolTip("Go back to the adapter's own classes")
        self.reset_button.clicked.connect(self.reset)
        self.note = named(QLabel(self), "classListNote")
        self.note.setWordWrap(True)
        self.note.setProperty("role", "hint")
        legend = QLabel(
            " &nbsp; ".join(
                f'<span style="color:{ROLE_COLORS[role]}">●</span>&nbsp;{ROLE_LABELS[role].replace(" ", "&nbsp;")}'
                for role in ("base", "new", "added")
            ),
            self,
        )
        legend.setObjectName("classRoleLegend")
        legend.setProperty("role", "hint")
        legend.setWordWrap(True)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.remove_selected)

        add_row = QHBoxLayout()
        add_row.setSpacing(6)
        add_row.addWidget(self.name_edit, 1)
        add_row.addWidget(self.add_button)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(add_row)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(legend)
        layout.addWidget(self.note)
        self._update_buttons()

    # -- reading ---------------------------------------------------------------------------
    def class_names(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def role_of(self, name: str) -> str:
        return self._original.get(name, "added")

    def roles(self) -> dict[str, str]:
        return {name: self.role_of(name) for name in self.class_names()}

    def is_modified(self) -> bool:
        return self.class_names() != self._original_order

    # -- editing ---------------------------------------------------------------------------
    def set_classes(self, names: list[str], roles: list[str] | None = None) -> None:
        """The adapter's classes (this is what Reset returns to). Emits nothing."""
        roles = list(roles) if roles is not None else ["base"] * len(names)
        self._original = dict(zip(names, roles))
        self._original_order = list(names)
        self._fill(list(names))
        self.note.setText("")

    def add_names(self, names: list[str]) -> list[str]:
        """Add names not in the list yet (case-insensitively); returns those added."""
        existing = {name.casefold() for name in self.class_names()}
        added, duplicates = [], []
        for name in (normalise_name(n) for n in names):
            if not name:
                continue
            if name.casefold() in existing:
                duplicates.append(name)
                continue
            existing.add(name.casefold())
            added.append(name)
        if added:
            self._fill(self.class_names() + added)
        if duplicates:
            self.note.setText(f"Already in the list: {', '.join(duplicates)}.")
        elif added:
            self.note.setText("")
        if added:
            self.classesChanged.emit(self.class_names())
        return added

    def add_from_edit(self) -> None:
        names = split_names(self.name_edit.text())
        if names and self.add_names(names):
            self.name_edit.clear()  # all duplicates: the text stays, with the note saying why

    def remove_names(self, names: list[str]) -> bool:
        removed = set(names)
        remaining = [name for name in self.class_names() if name not in removed]
        if len(remaining) == self.list.count():
            return False
        if not remaining:
            self.note.setText("Keep at least one class: the demo needs something to classify into.")
            return False
        self._fill(remaining)
        self.note.setText(
            "" if len(remaining) > 1 else "With one class, every image gets 100%: add another to compare."
        )
        self.classesChanged.emit(self.class_names())
        return True

    def remove_selected(self) -> None:
        self.remove_names([item.text() for item in self.list.selectedItems()])

    def rename(self, old: str, new: str) -> bool:
        """Rename one class (as a double-click edit does); False when the new name is refused."""
        names = self.class_names()
        if old not in names:
            return False
        new = normalise_name(new)
        others = {name.casefold() for name in names if name != old}
        if not new:
            self.note.setText("A class needs a name.")
            return False
        if new.casefold() in others:
            self.note.setText(f"“{new}” is already in the list.")
            return False
        if new == old:
            return True
        names[names.index(old)] = new
        self._fill(names)
        self.note.setText("")
        self.classesChanged.emit(self.class_names())
        return True

    def reset(self) -> None:
        if self.is_modified():
            self._fill(list(self._original_order))
            self.note.setText("")
            self.classesChanged.emit(self.class_names())

    # -- internals ---------------------------------------------------------------------------
    def _fill(self, names: list[str]) -> None:
        self._editing = True
        self.list.clear()
        for name in names:
            role = self.role_of(name)
            item = QListWidgetItem(self._icons.get(role, QIcon()), name)
            item.setData(ROLE_ROLE, role)
            item.setData(Qt.ItemDataRole.UserRole, name)  # the name before an edit
            item.setToolTip(plain_tooltip(f"{name} — {ROLE_LABELS.get(role, role)}"))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            self.list.addItem(item)
        self._editing = False
        self._update_buttons()

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._editing:
            return
        old = item.data(Qt.ItemDataRole.UserRole)
        new = item.text()
        if old == new:
            return
        self._editing = True
        item.setText(old)  # the list is rebuilt by rename() when the name is accepted
        self._editing = False
        # After the editor has closed: rebuilding the list inside its commit would delete the
        # item the view is still using.
        QTimer.singleShot(0, lambda: self.rename(old, new))

    def _update_buttons(self) -> None:
        self.add_button.setEnabled(bool(split_names(self.name_edit.text())))
        self.remove_button.setEnabled(bool(self.list.selectedItems()) and self.list.count() > 1)
        self.reset_button.setEnabled(bool(self._original_order) and self.is_modified())
