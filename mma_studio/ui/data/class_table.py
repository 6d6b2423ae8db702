"""The table of classes: what CLIP will read, where the images are, how many, and which role.

The model reads everything from `AppState`, and edits go back through it (a rename sets a
display name and leaves the folder alone; a role change moves the class between base and
new), so the split editor and the Train page see the same thing at once.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QDesktopServices, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHeaderView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from mma_studio.ui.app_state import AppState
from mma_studio.ui.widgets.plain_text import plain_tooltip
from mma_studio.ui.widgets.thumbnails import ThumbnailLoader

NAME, ROLE, IMAGES, SAMPLES, FOLDER = range(5)
HEADERS = ("Class name", "Role", "Usable images", "Examples", "Folder")
THUMBNAIL_SIZE = 44
THUMBNAILS_PER_ROW = 4
ROLE_LABELS = {"base": "Base", "new": "New"}

# Custom roles for the delegates and the tests.
FolderNameRole = Qt.ItemDataRole.UserRole + 1
SamplePathsRole = Qt.ItemDataRole.UserRole + 2
ClassRoleRole = Qt.ItemDataRole.UserRole + 3

# A role or count change touching more separate runs of rows than this is sent as one span.
MAX_CHANGED_RANGES = 8


def sample_paths(images: list, count: int = THUMBNAILS_PER_ROW) -> list[str]:
    """A few images spread over the class, so the row shows its variety, not four near-copies."""
    if not images:
        return []
    if len(images) <= count:
        return [str(p) for p in images]
    return [str(images[i * len(images) // count]) for i in range(count)]


NAME_COLUMN_MIN = 140
NAME_COLUMN_MAX = 260


def short_folder(path: Path, root: Path | None) -> str:
    """`Pets/cat` for a class folder inside the dataset root, `~/...` or the full path otherwise."""
    # Asked for every visible row at each paint: the path arithmetic is done once per folder.
    return _short_folder(str(path), str(root) if root is not None else None, os.path.expanduser("~"))


@lru_cache(maxsize=4096)
def _short_folder(path_text: str, root_text: str | None, home: str) -> str:
    path = Path(path_text)
    if root_text is not None:
        root = Path(root_text)
        try:
            return str(Path(root.name) / path.relative_to(root))
        except ValueError:
            pass
    try:
        return str(Path("~") / path.relative_to(home))
    except ValueError:
        return str(path)


@lru_cache(maxsize=4096)
def _looks_unreadable(name: str) -> bool:
    from mma_studio.core.dataset import looks_unreadable_name  # Qt-free, light (no torch)

    return looks_unreadable_name(name)


class ClassTableModel(QAbstractTableModel):
    """Rows are the classes of `state.data.scan`, in scan order.

    The rows are taken from the scan when it changes (`datasetChanged`), not copied per call:
    a view asks `data()` tens of times per row, and a 1000-class scan must land in well under
    a tenth of a second. Role and rename changes repaint only the rows they touch.
    """

    def __init__(self, state: AppState, thumbnails: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._state = state
        self._thumbnails = thumbnails
        self._minimum_images = 0  # shots + validation images a base class needs; 0 = unknown
        self._rows: list = []  # the scan's ClassFolders, as of the last reset
        self._row_of_name: dict[str, int] = {}
        self._samples: dict[int, list[str]] = {}  # thumbnail paths of the rows asked for so far
        self._row_of_sample: dict[str, int] = {}  # and back, for repainting a loaded thumbnail
        self._shown: list[tuple[str, str]] = []  # (display name, role) per row, as last announced
        state.datasetChanged.connect(self._reset)
        state.rolesChanged.connect(self._roles_changed)
        state.fixesChanged.connect(self._reset)  # excluded or moved images change the counts
        thumbnails.thumbnailReady.connect(self._thumbnail_ready)
        self._take_rows()

    # --- structure -----------------------------------------------------------------------

    def _classes(self) -> list:
        """The rows (the list itself: callers never modify it)."""
        return self._rows

    def _take_rows(self) -> None:
        scan = self._state.fixed_scan()  # as training will see it: the project's data fixes applied
        self._rows = list(scan.classes) if scan is not None else []
        self._row_of_name = {}
        for row, folder in enumerate(self._rows):
            self._row_of_name.setdefault(folder.name, row)
        self._samples = {}
        self._row_of_sample = {}
        self._shown = [self._shown_values(folder) for folder in self._rows]

    def _sample_paths(self, row: int) -> list[str]:
        """The row's thumbnail paths, chosen when a view first paints the row (most never are)."""
        samples = self._samples.get(row)
        if samples is None:
            samples = self._samples[row] = sample_paths(self._rows[row].images)
            for path in samples:
                self._row_of_sample.setdefault(path, row)
        return samples

    def _shown_values(self, folder) -> tuple[str, str]:
        return self._state.display_name(folder.name), self.class_role(folder.name)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return (
                "The name CLIP reads in the prompt (double-click to rename; the folder stays as it is)",
                "Base classes are trained on; new classes are held out to test generalisation",
                "Images that decode correctly (unusable files are listed in the health report)",
                "A few images of the class",
                "Where the images are",
            )[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlags:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in (NAME, ROLE):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def class_role(self, folder_name: str) -> str:
        return "new" if self._state.is_new_class(folder_name) else "base"

    def _too_few(self, folder, minimum: int) -> bool:
        """Only base classes need shots + validation images; new classes are only tested."""
        return bool(minimum) and len(folder.images) < minimum and self.class_role(folder.name) == "base"

    def set_minimum_images(self, count: int) -> None:
        """Warn about base classes with fewer images; repaints only the counts whose warning changes."""
        old, self._minimum_images = self._minimum_images, count
        if count == old:
            return
        # A row warned before or after shows a different colour or tooltip; the others are unchanged.
        rows = [
            row for row, folder in enumerate(self._rows) if self._too_few(folder, old) or self._too_few(folder, count)
        ]
        self._emit_rows(rows, IMAGES, IMAGES, [Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole])

    def _emit_rows(self, rows: list[int], first_column: int, last_column: int, roles: list | None = None) -> None:
        """`dataChanged` for each run of consecutive rows (one span when the runs are many)."""
        if not rows:
            return
        runs: list[list[int]] = []
        for row in rows:
            if runs and row == runs[-1][1] + 1:
                runs[-1][1] = row
            else:
                runs.append([row, row])
        if len(runs) > MAX_CHANGED_RANGES:
            runs = [[runs[0][0], runs[-1][1]]]
        for start, end in runs:
            self.dataChanged.emit(self.index(start, first_column), self.index(end, last_column), roles or [])

    # --- data ----------------------------------------------------------------------------

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = index.row()
        if not index.isValid() or row >= len(self._rows):
            return None
        folder = self._rows[row]
        column = index.column()
        if role == FolderNameRole:
            return folder.name
        if role == ClassRoleRole:
            return self.class_role(folder.name)
        if role == SamplePathsRole:
            return list(self._sample_paths(row))
        if column == NAME:
            if role not in (
                Qt.ItemDataRole.DisplayRole,
                Qt.ItemDataRole.EditRole,
                Qt.ItemDataRole.ToolTipRole,
                Qt.ItemDataRole.DecorationRole,
            ):
                return None
            display_name = self._state.display_name(folder.name)
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                return display_name
            if role == Qt.ItemDataRole.ToolTipRole:
                tip = f"Prompt name: “{display_name}”. Folder: {folder.name}."
                if _looks_unreadable(display_name):
                    tip += "\nThis looks like a code, not words CLIP can read. Double-click to rename it."
                return plain_tooltip(tip)
            if role == Qt.ItemDataRole.DecorationRole and _looks_unreadable(display_name):
                return _style_icon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        elif column == ROLE:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                return ROLE_LABELS[self.class_role(folder.name)]
            if role == Qt.ItemDataRole.ToolTipRole:
                return (
                    "Base: trained on (k images per class) and validated"
                    if self.class_role(folder.name) == "base"
                    else "New: never trained on; measures how well the adapter generalises"
                )
        elif column == IMAGES:
            count = len(folder.images)
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{count:,}"
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if role not in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole):
                return None
            too_few = self._too_few(folder, self._minimum_images)
            if role == Qt.ItemDataRole.ForegroundRole and too_few:
                return warning_brush()
            if role == Qt.ItemDataRole.ToolTipRole:
                if too_few:
                    return f"{count} usable images; training wants at least {self._minimum_images} per base class."
                return f"{count} usable images"
        elif column == FOLDER:
            if role == Qt.ItemDataRole.DisplayRole:
                scan = self._state.data.scan
                return short_folder(folder.path, scan.root if scan is not None else None)
            if role == Qt.ItemDataRole.ToolTipRole:
                return plain_tooltip(f"{folder.path}\n(right-click to open it)")
        elif column == SAMPLES and role == Qt.ItemDataRole.ToolTipRole:
            return f"{min(len(folder.images), THUMBNAILS_PER_ROW)} of {len(folder.images)} images"
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        folder_name = self.data(index, FolderNameRole)
        if index.column() == NAME:
            text = " ".join(str(value).split())
            if not text:
                return False  # an empty name would give CLIP an empty prompt; keep the old one
            if text != self._state.display_name(folder_name):
                self._state.rename_class(folder_name, text)
            return True
        if index.column() == ROLE:
            wanted = "new" if str(value).lower().startswith("new") else "base"
            move_class(self._state, folder_name, wanted)
            return True
        return False

    # --- reactions -----------------------------------------------------------------------

    def _reset(self) -> None:
        self.beginResetModel()
        self._take_rows()
        self.endResetModel()

    def _roles_changed(self) -> None:
        """Repaint the rows whose name or role changed (`set_scan` announces roles it just reset)."""
        shown = [self._shown_values(folder) for folder in self._rows]
        changed = [row for row, (old, new) in enumerate(zip(self._shown, shown)) if old != new]
        self._shown = shown
        self._emit_rows(changed, NAME, IMAGES)  # the count's warning depends on the role

    def _thumbnail_ready(self, path: str) -> None:
        row = self._row_of_sample.get(path)
        if row is not None and row < self.rowCount():
            index = self.index(row, SAMPLES)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def image_count(self, row: int) -> int:
        return len(self._rows[row].images)

    def display_names(self, limit: int) -> list[str]:
        """The first `limit` rows' prompt names, as the name column shows them (read directly:
        a view asking `data()` per row costs a Python round trip through Qt for each)."""
        return [self._state.display_name(folder.name) for folder in self._rows[:limit]]

    def folder_path(self, row: int) -> Path:
        return self._rows[row].path

    def row_of(self, folder_name: str) -> int:
        return self._row_of_name.get(folder_name, -1)


def move_class(state: AppState, folder_name: str, role: str) -> None:
    """Put one class in the base or the new group, keeping both lists in scan order."""
    scan = state.data.scan
    order = [c.name for c in scan.classes] if scan is not None else []
    base = [n for n in state.data.base_classes if n != folder_name]
    new = [n for n in state.data.new_classes if n != folder_name]
    (base if role == "base" else new).append(folder_name)
    rank = {name: i for i, name in enumerate(order)}
    base.sort(key=lambda n: rank.get(n, len(rank)))
    new.sort(key=lambda n: rank.get(n, len(rank)))
    if base != state.data.base_classes or new != state.data.new_classes:
        state.set_roles(base, new)


def _style_icon(kind: QStyle.StandardPixmap) -> QIcon:
    return QApplication.style().standardIcon(kind)


def warning_brush() -> QBrush:
    """An amber that reads on light and on dark palettes."""
    dark = QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return QBrush(QColor("#f0b429") if dark else QColor("#b25e00"))


class ThumbnailStripDelegate(QStyledItemDelegate):
    """Paints a row of square thumbnails, asking the loader for each and showing a frame while it loads."""

    def __init__(self, thumbnails: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        gap = 4
        return QSize(THUMBNAILS_PER_ROW * (THUMBNAIL_SIZE + gap) + gap, THUMBNAIL_SIZE + 2 * gap)

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        paths = index.data(SamplePathsRole) or []
        gap = 4
        size = min(THUMBNAIL_SIZE, option.rect.height() - 2 * gap)
        x = option.rect.x() + gap
        y = option.rect.y() + (option.rect.height() - size) // 2
        placeholder = option.palette.color(QPalette.ColorRole.AlternateBase)
        border = option.palette.color(QPalette.ColorRole.Mid)
        painter.save()
        for path in paths:
            if x + size > option.rect.right():
                break
            target = QRect(x, y, size, size)
            pixmap = self._thumbnails.thumbnail(path, THUMBNAIL_SIZE)
            if pixmap is not None and not pixmap.isNull():
                painter.drawPixmap(target, pixmap)
            else:
                painter.fillRect(target, placeholder)
            painter.setPen(border)
            painter.drawRect(target.adjusted(0, 0, -1, -1))
            x += size + gap
        painter.restore()


class RoleDelegate(QStyledItemDelegate):
    """Edits the role column with a two-item combo box that commits at once."""

    def createEditor(self, parent: QWidget, option, index) -> QWidget:
        editor = QComboBox(parent)
        editor.setObjectName("classRoleEditor")
        editor.addItems(list(ROLE_LABELS.values()))
        editor.activated.connect(lambda _i, e=editor: self.commitData.emit(e))
        return editor

    def setEditorData(self, editor: QComboBox, index) -> None:
        editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole)))

    def setModelData(self, editor: QComboBox, model, index) -> None:
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class ClassTable(QTableView):
    """The class table widget (object name `classTable`)."""

    removeRequested = Signal(list)  # folder names the user wants out of the dataset

    def __init__(self, state: AppState, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classTable")
        self.setAccessibleName("classTable")
        self.setAccessibleDescription(
            "Classes: one row per class with its name, role, usable image count, examples and folder"
        )
        self._state = state
        self._model = ClassTableModel(state, thumbnails, self)
        self.setModel(self._model)
        self.setItemDelegateForColumn(SAMPLES, ThumbnailStripDelegate(thumbnails, self))
        self.setItemDelegateForColumn(ROLE, RoleDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(THUMBNAIL_SIZE + 10)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        # Role and count are sized once per dataset from their widest values (see
        # `_size_short_columns`): ResizeToContents measured every row again on each change.
        header.setSectionResizeMode(ROLE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(IMAGES, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SAMPLES, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(FOLDER, QHeaderView.ResizeMode.Stretch)
        self.setColumnWidth(NAME, 200)
        self.setColumnWidth(SAMPLES, THUMBNAILS_PER_ROW * (THUMBNAIL_SIZE + 4) + 8)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self._model.modelReset.connect(self._size_short_columns)
        self._size_short_columns()

    def _size_short_columns(self) -> None:
        """Fit the role and count columns to their header and widest text, measuring one row each.

        The cell's margins come from one measured row (delegate and style), the text widths from
        the font (the two role words, each distinct count). ResizeToContents asked every row
        again on each change, which froze a 1000-class scan for seconds; the user can still
        drag these columns wider. Sized again when the dataset, the font or the style changes.
        """
        header = self.horizontalHeader()
        metrics = self.fontMetrics()
        rows = self._model.rowCount()
        counts = {f"{self._model.image_count(row):,}" for row in range(rows)}
        for column, texts in ((ROLE, set(ROLE_LABELS.values())), (IMAGES, counts)):
            width = header.sectionSizeFromContents(column).width()
            if rows:
                index = self._model.index(0, column)
                margins = self.sizeHintForIndex(index).width() - metrics.horizontalAdvance(str(index.data()))
                width = max(width, margins + max(metrics.horizontalAdvance(text) for text in texts))
            self.setColumnWidth(column, width)
        # The names' column as wide as the longest name (within bounds), so the Folder column
        # gets the rest instead of "example/…e_circle" beside a half-empty names column.
        names = self._model.display_names(limit=2000)
        widest = max((metrics.horizontalAdvance(name) for name in names), default=0) + 36  # icon, margins
        self.setColumnWidth(NAME, max(NAME_COLUMN_MIN, min(NAME_COLUMN_MAX, widest)))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._size_short_columns()

    def keyPressEvent(self, event) -> None:
        """Delete (or Backspace) removes the selected classes from the dataset (not from disk)."""
        if event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace:
            names = self.selected_folder_names()
            if names and self.state() != QAbstractItemView.State.EditingState:
                self.removeRequested.emit(names)
                return
        super().keyPressEvent(event)

    def class_model(self) -> ClassTableModel:
        return self._model

    def set_minimum_images(self, count: int) -> None:
        self._model.set_minimum_images(count)

    def selected_folder_names(self) -> list[str]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self._model.index(row, NAME).data(FolderNameRole) for row in rows]

    def start_rename(self, folder_name: str) -> None:
        """Select the class and open its name for editing (used by the rename warnings)."""
        row = self._model.row_of(folder_name)
        if row < 0:
            return
        index = self._model.index(row, NAME)
        self.setCurrentIndex(index)
        self.scrollTo(index)
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.edit(index)

    def _show_menu(self, position) -> None:
        index = self.indexAt(position)
        if not index.isValid():
            return
        folder_name = index.data(FolderNameRole)
        folder_path = str(self._model.folder_path(index.row()))
        names = self.selected_folder_names() or [folder_name]
        menu = QMenu(self)
        rename = QAction("Rename…", menu)
        rename.triggered.connect(lambda: self.start_rename(folder_name))
        menu.addAction(rename)
        to_base = QAction("Move to Base", menu)
        to_base.triggered.connect(lambda: [move_class(self._state, n, "base") for n in names])
        to_new = QAction("Move to New", menu)
        to_new.triggered.connect(lambda: [move_class(self._state, n, "new") for n in names])
        menu.addAction(to_base)
        menu.addAction(to_new)
        menu.addSeparator()
        remove = QAction("Remove from Dataset" + (f" ({len(names)} classes)" if len(names) > 1 else ""), menu)
        remove.triggered.connect(lambda: self.removeRequested.emit(list(names)))
        menu.addAction(remove)
        open_folder = QAction("Open Folder", menu)
        open_folder.triggered.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(folder_path)))
        menu.addAction(open_folder)
        menu.exec(self.viewport().mapToGlobal(position))
