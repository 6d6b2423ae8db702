"""Per-class figures of one model as a sortable table: class, role, test images, accuracy,
precision, recall, and the accuracy change against zero-shot CLIP.

A `QAbstractTableModel` holds the rows and sorts them numerically (on raw values, not the
shown text); a `QSortFilterProxyModel` filters by class name. Missing figures (a class no test
image was predicted as has no precision) always sort last, whichever the direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from mma_studio.ui.evaluate.eval_colors import blend, change_color, role_color
from mma_studio.ui.widgets.plain_text import plain_tooltip
from mma_studio.ui.widgets.worse_than_zero_shot import is_worse

DASH = "—"
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the raw value a column sorts by
CLASS_INDEX_ROLE = Qt.ItemDataRole.UserRole + 2  # the class's index in the report


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    tooltip: str


# One definition per column, and the header says which classes a figure is measured among:
# "accuracy in its group" is the protocol's figure (base images among the base classes, new
# among new); "accuracy among all" is the same question asked among every class at once
# (the confusion matrix's row), which is what recall means there.
COLUMNS = (
    Column("class", "Class", "The class name used in the prompts"),
    Column("role", "Role", "Base classes were trained on; new classes were never seen in training"),
    Column("count", "Images", "Held-out test images of this class"),
    Column(
        "accuracy",
        "Accuracy\nin its group",
        "Share of this class's test images classified correctly when the model chooses among the classes "
        "of the same role only (base images among base classes, new images among new classes): the "
        "figure of the base/new protocol and of the tiles above",
    ),
    Column(
        "recall",
        "Accuracy\namong all",
        "Share of this class's test images classified correctly when the model chooses among all classes "
        "at once (the confusion matrix's row; also called recall)",
    ),
    Column(
        "precision",
        "Precision\namong all",
        "Of the test images predicted as this class among all classes at once, the share that really are "
        "this class (the confusion matrix's column)",
    ),
    Column(
        "change",
        "vs\nzero-shot",
        "Accuracy in its group minus zero-shot CLIP's, in percentage points: negative (red, ▼) where the "
        "adapter does worse than zero-shot CLIP on this class",
    ),
)
COLUMN_INDEX = {column.key: i for i, column in enumerate(COLUMNS)}
PERCENT_COLUMNS = ("accuracy", "precision", "recall")


@dataclass(frozen=True)
class PerClassRow:
    index: int  # the class's position in the report (confusion row)
    name: str
    role: str
    count: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    change: float | None  # accuracy minus the baseline's accuracy (None: no baseline shown)


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def rows_from_metrics(per_class: Sequence, baseline: Sequence | None = None) -> list[PerClassRow]:
    """Rows from `ClassMetrics` (and, for the change column, the zero-shot `ClassMetrics`)."""
    before = {m.name: _number(m.accuracy) for m in baseline} if baseline is not None else {}
    rows = []
    for index, metrics in enumerate(per_class):
        accuracy = _number(metrics.accuracy)
        reference = before.get(metrics.name)
        change = accuracy - reference if accuracy is not None and reference is not None else None
        rows.append(
            PerClassRow(
                index,
                metrics.display_name or metrics.name,
                metrics.role,
                int(metrics.count),
                accuracy,
                _number(metrics.precision),
                _number(metrics.recall),
                change,
            )
        )
    return rows


class PerClassTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._report_rows: list[PerClassRow] = []  # in the report's class order
        self._rows: list[PerClassRow] = []  # as shown: sorted by `_sort_by`
        self._sort_by: tuple[int, Qt.SortOrder] | None = None
        self._palette = QPalette()

    def set_rows(self, rows: Sequence[PerClassRow]) -> None:
        self.beginResetModel()
        self._report_rows = list(rows)
        self._rows = self._sorted(self._report_rows)
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """By value, not text; missing values last in either direction; ties keep the report's
        class order. Sorted here in one Python `sorted` call: a proxy comparing rows called
        back into Python twice per comparison (~2,000 calls for 200 classes, at a run's end)."""
        self._sort_by = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self._rows
        self._rows = self._sorted(self._report_rows)
        moved_to = {id(row): position for position, row in enumerate(self._rows)}
        old_indexes = self.persistentIndexList()
        new_indexes = [self.index(moved_to[id(before[index.row()])], index.column()) for index in old_indexes]
        self.changePersistentIndexList(old_indexes, new_indexes)
        self.layoutChanged.emit()

    def _sorted(self, rows: list[PerClassRow]) -> list[PerClassRow]:
        if self._sort_by is None or not 0 <= self._sort_by[0] < len(COLUMNS):
            return list(rows)
        column, order = self._sort_by
        key = COLUMNS[column].key

        def value(row: PerClassRow):
            if key == "class":
                return row.name.casefold()
            return row.role if key == "role" else getattr(row, key)

        present = [row for row in rows if value(row) is not None]
        missing = [row for row in rows if value(row) is None]
        present.sort(key=value, reverse=order == Qt.SortOrder.DescendingOrder)  # stable either way
        return present + missing

    def set_palette(self, palette: QPalette) -> None:
        self._palette = QPalette(palette)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    def row_at(self, row: int) -> PerClassRow:
        return self._rows[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return (
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                if section < 2
                else int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            )
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        key = COLUMNS[index.column()].key
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, key)
        if role == SORT_ROLE:
            if key == "class":
                return row.name.casefold()
            if key == "role":
                return row.role
            return getattr(row, key)
        if role == CLASS_INDEX_ROLE:
            return row.index
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return (
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                if key in ("class", "role")
                else int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            )
        if role == Qt.ItemDataRole.ForegroundRole:
            if key == "change":
                color = change_color(row.change, self._palette)
                return color if color is not None else None
            if key == "role":
                return role_color(row.role, self._palette)
            if self._text(row, key) == DASH:
                return self._palette.color(QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "class":
                return plain_tooltip(f"{row.name} ({row.role}): {row.count} test images. Select to see them below.")
            if key == "precision" and row.precision is None:
                return "No test image was predicted as this class, so precision is undefined"
            if key == "change" and row.change is not None:
                if is_worse(row.change):
                    return f"Worse than zero-shot CLIP on this class, by {100 * -row.change:.1f} points"
                return f"{100 * row.change:+.1f} points against zero-shot CLIP"
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{COLUMNS[index.column()].title}: {self._text(row, key)}"
        return None

    @staticmethod
    def _text(row: PerClassRow, key: str) -> str:
        if key == "class":
            return row.name
        if key == "role":
            return "Base" if row.role == "base" else "New"
        if key == "count":
            return str(row.count)
        if key == "change":
            if row.change is None:
                return DASH
            return f"{100 * row.change:+.1f}" + (" ▼" if is_worse(row.change) else "")
        value = getattr(row, key)
        return DASH if value is None else f"{100 * value:.1f}%"


class PerClassSortProxy(QSortFilterProxyModel):
    """Filters by class name; sorting is the source model's (`PerClassTableModel.sort`), so
    the proxy keeps the source's order (its own sort column stays -1)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFilterKeyColumn(COLUMN_INDEX["class"])
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if isinstance(source, PerClassTableModel):
            source.sort(column, order)


class PercentBarDelegate(QStyledItemDelegate):
    """Draws a faint bar behind a percentage, so a column can be scanned at a glance."""

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        value = index.data(SORT_ROLE)
        if isinstance(value, float):
            palette = option.palette
            bar = blend(palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Highlight), 0.22)
            rect = QRect(option.rect.adjusted(3, 5, -3, -5))
            rect.setWidth(max(0, round(rect.width() * min(1.0, max(0.0, value)))))
            painter.save()
            painter.fillRect(rect, bar)
            painter.restore()
        super().paint(painter, option, index)


class PerClassTable(QTableView):
    """The table widget. `classChosen(index)`: the user picked a class row (index in the report)."""

    classChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("perClassTable")
        self.setAccessibleName("perClassTable")
        self.source = PerClassTableModel(self)
        self.proxy = PerClassSortProxy(self)
        self.proxy.setSourceModel(self.source)
        self.setModel(self.proxy)
        self.source.set_palette(self.palette())
        self.setSortingEnabled(True)
        self.sortByColumn(COLUMN_INDEX["class"], Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 12)
        header = self.horizontalHeader()
        header.setSectionResizeMode(COLUMN_INDEX["class"], QHeaderView.ResizeMode.Stretch)
        # The figures' columns are as wide as their header's longest line or their widest value,
        # not ResizeToContents (which reserved the sort arrow's room and more): the class names
        # get the rest, instead of "blue …" at 1280 px.
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.setHighlightSections(False)
        header.setMinimumSectionSize(40)
        self._size_figure_columns()
        self._bars = PercentBarDelegate(self)
        for key in PERCENT_COLUMNS:
            self.setItemDelegateForColumn(COLUMN_INDEX[key], self._bars)
        self.clicked.connect(self._on_clicked)
        self.activated.connect(self._on_clicked)

    def _size_figure_columns(self) -> None:
        header_metrics = self.horizontalHeader().fontMetrics()
        cell_metrics = self.fontMetrics()
        widest_value = {"role": "Base", "count": "9,999", "change": "+100.0 ▼"}
        for column, spec in enumerate(COLUMNS):
            if spec.key == "class":
                continue
            lines = spec.title.split("\n")
            width = max(
                max(header_metrics.horizontalAdvance(line) for line in lines),
                cell_metrics.horizontalAdvance(widest_value.get(spec.key, "100.0%")),
            )
            self.setColumnWidth(column, width + 16)

    def set_metrics(self, per_class: Sequence, baseline: Sequence | None = None) -> None:
        """Show `ClassMetrics` rows; with `baseline` the last column gives the accuracy change."""
        self.source.set_rows(rows_from_metrics(per_class, baseline))
        self.setColumnHidden(COLUMN_INDEX["change"], baseline is None)

    def set_filter_text(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    def shown_column(self, key: str) -> list[str]:
        """The texts of one column, top to bottom as shown (sorted and filtered)."""
        column = COLUMN_INDEX[key]
        return [self.proxy.index(row, column).data() for row in range(self.proxy.rowCount())]

    def select_class(self, class_index: int) -> None:
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(CLASS_INDEX_ROLE) == class_index:
                self.selectRow(row)
                self.scrollTo(self.proxy.index(row, 0))
                return
        self.clearSelection()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self.source.set_palette(self.palette())

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.classChosen.emit(index.data(CLASS_INDEX_ROLE))
