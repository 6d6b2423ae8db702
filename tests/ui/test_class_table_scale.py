"""A 1000-class scan landing on the Data page: the class table fills without the per-cell
copies and searches, full-table signals and per-row re-measuring that froze the window for
seconds. Structural checks only (no timing assertions); run with -s to see the measured times.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView

from mma_studio.core.dataset import ClassFolder, ScanResult
from mma_studio.core.split import default_roles
from mma_studio.ui.app_state import AppState
from mma_studio.ui.data.class_table import (
    IMAGES,
    NAME,
    ROLE,
    SAMPLES,
    ClassRoleRole,
    FolderNameRole,
    SamplePathsRole,
)
from mma_studio.ui.data.data_page import DataPage

CLASSES = 1000
ROLES = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.EditRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.SizeHintRole,
    FolderNameRole,
    ClassRoleRole,
    SamplePathsRole,
)


class CountingList(list):
    """A list that counts how often it is walked or searched (a copy walks it too)."""

    def __init__(self, items=()) -> None:
        super().__init__(items)
        self.walks = 0
        self.searches = 0

    def __iter__(self):
        self.walks += 1
        return super().__iter__()

    def __contains__(self, item) -> bool:
        self.searches += 1
        return super().__contains__(item)


def fake_scan(classes: int) -> ScanResult:
    """Classes with made-up image paths (nothing is decoded here); every 10th has too few images."""
    root = Path("/nonexistent/mma-scale-test")
    folders = []
    for i in range(classes):
        name = f"species {i:04d}"
        count = 5 if i % 10 == 3 else 40 + i % 7
        folders.append(ClassFolder(name, name, root / name, [root / name / f"{j:05d}.jpg" for j in range(count)]))
    return ScanResult(root=root, classes=CountingList(folders), skipped=[], warnings=[])


@pytest.fixture
def page(qtbot):
    state = AppState()
    page = DataPage(state)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    qtbot.waitExposed(page)
    yield page
    assert page.stop_and_wait(5000)


def land(qtbot, page: DataPage, scan: ScanResult) -> float:
    """Set the scan as a finished scan does, let the window lay out and paint; GUI-thread seconds."""
    started = time.thread_time()
    page._state.set_scan(scan, *default_roles(scan.class_names))
    qtbot.wait(1)  # the layout and paint events the landing posted
    page.table.viewport().repaint()
    return time.thread_time() - started


def test_a_1000_class_scan_fills_the_table_without_copying_or_searching_per_cell(qtbot, page):
    scan = fake_scan(CLASSES)
    landed_s = land(qtbot, page, scan)
    state = page._state
    model = page.table.class_model()
    assert model.rowCount() == CLASSES
    assert model.index(CLASSES - 1, NAME).data() == "species 0999"
    assert model.index(0, ROLE).data() == "Base" and model.index(CLASSES - 1, ROLE).data() == "New"
    assert model.index(3, IMAGES).data() == "5"
    assert model.index(3, IMAGES).data(Qt.ItemDataRole.ForegroundRole) is not None  # a base class with 5 < 20
    assert len(model.index(0, SAMPLES).data(SamplePathsRole)) == 4

    # Watch the role list too (an attribute swap: the state rebuilds its set once).
    state.data.new_classes = CountingList(state.data.new_classes)
    classes, new = scan.classes, state.data.new_classes
    classes.walks = classes.searches = 0
    started = time.thread_time()
    values = [
        model.index(row, column).data(role)
        for row in range(CLASSES)
        for column in range(model.columnCount())
        for role in ROLES
    ]
    all_cells_s = time.thread_time() - started
    assert values.count(None) < len(values)
    assert classes.walks == 0 and classes.searches == 0, "data() copied or searched the scan's classes"
    assert new.searches == 0 and new.walks <= 1, "data() searched the list of new classes"
    assert state.display_name("species 0500") == "species 0500"
    print(
        f"\n{CLASSES} classes: landing {landed_s * 1000:.1f} ms of GUI-thread CPU; "
        f"data() for all {len(values):,} cell-roles {all_cells_s * 1000:.1f} ms"
    )


def test_one_scan_emits_a_bounded_number_of_data_changed_signals(qtbot, page):
    model = page.table.class_model()
    emitted: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda a, b, roles=None: emitted.append((a.row(), b.row(), a.column(), b.column())))
    land(qtbot, page, fake_scan(CLASSES))
    # The reset repaints everything; on top of it, only the too-few warnings of the new
    # minimum (one span: they are scattered), not a full-table signal per listener.
    assert len(emitted) <= 1, emitted
    assert all(first == last == IMAGES for _top, _bottom, first, last in emitted)

    emitted.clear()
    land(qtbot, page, fake_scan(CLASSES))  # a second scan: the minimum is unchanged
    assert emitted == []
    page.table.set_minimum_images(page._state.shots + page._state.val_per_class)  # the same again
    assert emitted == []


def test_role_and_rename_changes_repaint_only_their_rows(qtbot, page):
    land(qtbot, page, fake_scan(50))
    model = page.table.class_model()
    state = page._state
    emitted: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, roles=None: emitted.append((a.row(), b.row())))

    state.rename_class("species 0007", "sparrow")
    assert emitted == [(7, 7)]
    assert model.index(7, NAME).data() == "sparrow"

    emitted.clear()
    base = [n for n in state.data.base_classes if n not in ("species 0010", "species 0011")]
    state.set_roles(base, sorted(state.data.new_classes + ["species 0010", "species 0011"]))
    assert emitted == [(10, 11)]
    assert model.index(10, ROLE).data() == "New"
    assert model.index(10, IMAGES).data(Qt.ItemDataRole.ForegroundRole) is None  # new classes need no shots

    emitted.clear()
    page.table.set_minimum_images(6)  # rows 3, 13, 23, 33 (5 images) stay below; the tooltips change
    assert emitted == [(3, 3), (13, 13), (23, 23)]  # row 33 is new: no warning before or after
    assert model.index(3, IMAGES).data(Qt.ItemDataRole.ToolTipRole).endswith("at least 6 per base class.")


def test_a_full_table_change_does_not_measure_every_row_again(qtbot, page):
    land(qtbot, page, fake_scan(CLASSES))
    header = page.table.horizontalHeader()
    assert QHeaderView.ResizeMode.ResizeToContents not in {header.sectionResizeMode(c) for c in range(5)}
    metrics = page.table.fontMetrics()
    assert header.sectionSize(IMAGES) > metrics.horizontalAdvance("46")
    assert header.sectionSize(ROLE) > max(metrics.horizontalAdvance("Base"), metrics.horizontalAdvance("New"))

    model = page.table.class_model()
    calls = [0]
    original = model.data

    def counting_data(index, role=Qt.ItemDataRole.DisplayRole):
        calls[0] += 1
        return original(index, role)

    model.data = counting_data  # Qt's calls go through the Python attribute
    started = time.thread_time()
    model.dataChanged.emit(model.index(0, 0), model.index(CLASSES - 1, model.columnCount() - 1), [])
    qtbot.wait(1)
    elapsed = time.thread_time() - started
    assert calls[0] < CLASSES, f"{calls[0]} data() calls: the view measured every row again"
    print(f"\nfull-table dataChanged: {calls[0]} data() calls, {elapsed * 1000:.1f} ms of GUI-thread CPU")
