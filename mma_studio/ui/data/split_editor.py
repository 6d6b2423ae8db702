"""The base/new split editor: which classes the adapter trains on and which it must generalise to.

The protocol's default (sorted names, first half base) is one click away, a reshuffle with a
visible seed gives another reproducible split, and any class can be moved by hand. The editor
owns no state: it reads and writes `AppState` roles, like the class table.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.app_state import AppState
from mma_studio.ui.data.class_table import move_class
from mma_studio.ui.widgets.plain_text import plain_tooltip


class SplitEditor(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("splitEditor")
        self._state = state

        self.base_list = self._make_list("baseClassList", "Base classes")
        self.new_list = self._make_list("newClassList", "New classes")
        self.base_title = QLabel(self)
        self.new_title = QLabel(self)
        self.base_title.setToolTip("Trained on, with a few images per class, and used to pick the best epoch")
        self.new_title.setToolTip("Never trained on: their accuracy shows whether the adapter generalises")

        self.to_new_button = QToolButton(self)
        self.to_new_button.setObjectName("moveToNewButton")
        # Text arrows in the palette's button text: the style's arrow icons are dark pixmaps,
        # nearly invisible in the dark theme.
        self.to_new_button.setText("→")
        self.to_new_button.setToolTip("Move the selected base classes to New")
        self.to_new_button.setAccessibleName("Move to new")
        self.to_base_button = QToolButton(self)
        self.to_base_button.setObjectName("moveToBaseButton")
        self.to_base_button.setText("←")
        self.to_base_button.setToolTip("Move the selected new classes to Base")
        self.to_base_button.setAccessibleName("Move to base")
        for button in (self.to_new_button, self.to_base_button):
            font = button.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            font.setBold(True)
            button.setFont(font)
            button.setMinimumSize(28, 26)
        self.to_new_button.clicked.connect(lambda: self._move_selected(self.base_list, "new"))
        self.to_base_button.clicked.connect(lambda: self._move_selected(self.new_list, "base"))
        self.base_list.itemDoubleClicked.connect(lambda item: self._move(item, "new"))
        self.new_list.itemDoubleClicked.connect(lambda item: self._move(item, "base"))
        self.base_list.itemSelectionChanged.connect(self._update_buttons)
        self.new_list.itemSelectionChanged.connect(self._update_buttons)

        self.default_button = QPushButton("Default Split", self)
        self.default_button.setObjectName("defaultSplitButton")
        self.default_button.setToolTip("Classes sorted by name: the first part is base, the rest new")
        self.default_button.clicked.connect(self.apply_default)
        self.shuffle_button = QPushButton("Shuffle", self)
        self.shuffle_button.setObjectName("shuffleSplitButton")
        self.shuffle_button.setToolTip("A random split, reproducible with the seed")
        self.shuffle_button.clicked.connect(self.apply_shuffle)
        self.seed_spin = QSpinBox(self)
        self.seed_spin.setObjectName("splitSeedSpin")
        self.seed_spin.setAccessibleName("Split seed")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setValue(0)
        self.seed_spin.setPrefix("seed ")
        self.ratio_spin = QSpinBox(self)
        self.ratio_spin.setObjectName("baseRatioSpin")
        self.ratio_spin.setAccessibleName("Share of base classes")
        self.ratio_spin.setRange(10, 90)
        self.ratio_spin.setSingleStep(5)
        self.ratio_spin.setValue(50)
        self.ratio_spin.setSuffix(" % base")
        self.ratio_spin.setToolTip("Share of classes that are base in the default or shuffled split")

        self.hint = QLabel(self)
        self.hint.setObjectName("splitHint")
        self.hint.setWordWrap(True)

        arrows = QVBoxLayout()
        arrows.addStretch(1)
        arrows.addWidget(self.to_new_button)
        arrows.addWidget(self.to_base_button)
        arrows.addStretch(1)
        lists = QGridLayout()
        lists.setHorizontalSpacing(6)
        lists.addWidget(self.base_title, 0, 0)
        lists.addWidget(self.new_title, 0, 2)
        lists.addWidget(self.base_list, 1, 0)
        lists.addLayout(arrows, 1, 1)
        lists.addWidget(self.new_list, 1, 2)
        lists.setColumnStretch(0, 1)
        lists.setColumnStretch(2, 1)
        controls = QGridLayout()
        controls.setHorizontalSpacing(6)
        controls.setVerticalSpacing(6)
        controls.addWidget(self.default_button, 0, 0)
        controls.addWidget(self.ratio_spin, 0, 1)
        controls.addWidget(self.shuffle_button, 1, 0)
        controls.addWidget(self.seed_spin, 1, 1)
        controls.setColumnStretch(0, 1)
        controls.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(lists, 1)
        layout.addWidget(self.hint)
        layout.addLayout(controls)

        state.datasetChanged.connect(self.refresh)
        state.rolesChanged.connect(self.refresh)
        state.busyChanged.connect(lambda busy: self.setEnabled(not busy))
        self.refresh()

    def _make_list(self, name: str, accessible: str) -> QListWidget:
        widget = QListWidget(self)
        widget.setObjectName(name)
        widget.setAccessibleName(accessible)
        widget.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        widget.setAlternatingRowColors(True)
        widget.setMinimumHeight(110)
        widget.setMinimumWidth(100)
        return widget

    # --- actions ---------------------------------------------------------------------------

    def _class_names(self) -> list[str]:
        scan = self._state.data.scan
        return list(scan.class_names) if scan is not None else []

    def apply_default(self) -> None:
        from mma_studio.core.split import default_roles

        names = self._class_names()
        if names:
            base, new = default_roles(names, base_ratio=self.ratio_spin.value() / 100)
            self._state.set_roles(list(base), list(new))

    def apply_shuffle(self) -> None:
        from mma_studio.core.split import shuffled_roles

        names = self._class_names()
        if names:
            base, new = shuffled_roles(names, self.seed_spin.value(), base_ratio=self.ratio_spin.value() / 100)
            self._state.set_roles(list(base), list(new))

    def move_to(self, folder_name: str, role: str) -> None:
        move_class(self._state, folder_name, role)

    def _move(self, item: QListWidgetItem, role: str) -> None:
        self.move_to(item.data(Qt.ItemDataRole.UserRole), role)

    def _move_selected(self, source: QListWidget, role: str) -> None:
        names = [item.data(Qt.ItemDataRole.UserRole) for item in source.selectedItems()]
        for name in names:
            move_class(self._state, name, role)

    # --- view ------------------------------------------------------------------------------

    def refresh(self) -> None:
        data = self._state.data
        has_data = data.scan is not None
        for widget in (self.default_button, self.shuffle_button, self.seed_spin, self.ratio_spin):
            widget.setEnabled(has_data)
        self._fill(self.base_list, data.base_classes)
        self._fill(self.new_list, data.new_classes)
        self.base_title.setText(f"<b>Base</b> · trained on · {len(data.base_classes)}")
        self.new_title.setText(f"<b>New</b> · held out · {len(data.new_classes)}")
        if not has_data:
            self.hint.setText("Add a dataset to choose which classes to train on.")
        elif not data.base_classes:
            self.hint.setText("⚠ Training needs at least one base class.")
        elif not data.new_classes:
            self.hint.setText(
                "No new classes: the adapter will train on every class, and nothing will measure "
                "how it generalises to classes it has not seen."
            )
        else:
            self.hint.setText("Double-click a class or use the arrows to move it.")
        self._update_buttons()

    def _fill(self, widget: QListWidget, names: list[str]) -> None:
        selected = {item.data(Qt.ItemDataRole.UserRole) for item in widget.selectedItems()}
        widget.blockSignals(True)
        widget.clear()
        for name in names:
            display = self._state.display_name(name)
            item = QListWidgetItem(display)
            item.setData(Qt.ItemDataRole.UserRole, name)
            if display != name:
                item.setToolTip(plain_tooltip(f"Folder: {name}"))
            widget.addItem(item)
            item.setSelected(name in selected)
        widget.blockSignals(False)

    def _update_buttons(self) -> None:
        self.to_new_button.setEnabled(bool(self.base_list.selectedItems()))
        self.to_base_button.setEnabled(bool(self.new_list.selectedItems()))
