"""Layout at the small window size a laptop gives (issue 12 §5): at 1024x640 the Train page's
two charts sit side by side in view, the per-class table shows several rows, the Demo's side
panel is never cut; a 30-class confusion matrix keeps its class names (the card scrolls) and
hovering a cell names its true and predicted class and the count."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QScrollArea

from mma_studio.ui.evaluate.confusion_view import ConfusionMatrixView
from mma_studio.ui.main_window import MainWindow
from tests.ui.trained_run import train_small_run

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_small_run(tmp_path_factory.mktemp("layout"))


@pytest.fixture
def small_window(qtbot, trained):
    from mma_studio.core.split import default_roles

    scan, run = trained
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1024, 640)
    window.show()
    qtbot.waitExposed(window)
    base, new = default_roles(scan.class_names)
    window.state.set_scan(scan, base, new)
    with qtbot.waitSignal(window.ensure_demo_page().modelChanged, timeout=WAIT_MS):
        window.train_page.runFinished.emit(run)
    yield window
    window.demo_page.stop_and_wait(5000)
    window.projects.stop_and_wait(5000)


def visible_in(widget, viewport) -> bool:
    """Whether `widget` lies wholly inside `viewport`'s visible rectangle."""
    top_left = widget.mapTo(viewport.window(), QPoint(0, 0))
    corner = viewport.mapTo(viewport.window(), QPoint(0, 0))
    return (
        corner.x() <= top_left.x()
        and top_left.x() + widget.width() <= corner.x() + viewport.width() + 1
        and corner.y() <= top_left.y()
        and top_left.y() + widget.height() <= corner.y() + viewport.height() + 1
    )


def test_at_1024x640_both_training_charts_are_in_view(qtbot, small_window):
    window = small_window
    window.show_page(1)
    qtbot.wait(50)
    page = window.train_page
    scroll = page.findChild(QScrollArea, "trainRunScroll")
    assert visible_in(page.loss_plot, scroll.viewport()) and visible_in(page.accuracy_plot, scroll.viewport())


def test_at_1024x640_the_per_class_table_shows_several_rows(qtbot, small_window):
    window = small_window
    window.show_page(2)
    qtbot.wait(50)
    table = window.evaluate_page.table
    rows = table.model().rowCount()
    shown = sum(
        1
        for row in range(rows)
        if table.rowViewportPosition(row) >= 0
        and table.rowViewportPosition(row) + table.rowHeight(row) <= table.viewport().height()
    )
    assert shown >= min(rows, 6)


def test_at_1024x640_the_demo_side_panel_is_not_cut(qtbot, small_window):
    window = small_window
    window.show_page(3)
    qtbot.wait(50)
    panel = window.demo_page._side_panel
    assert panel.widget().minimumSizeHint().width() <= panel.viewport().width()
    assert panel.widget().width() <= panel.viewport().width()


def test_a_30_class_matrix_keeps_its_names_and_hover_names_the_cell(qtbot):
    names = [
        f"{colour} {shape}"
        for colour in ("blue", "green", "orange", "purple", "red", "yellow")
        for shape in ("circle", "cross", "ring", "square", "star")
    ]
    matrix = [[(7 if i == j else (i * 3 + j) % 3) for j in range(30)] for i in range(30)]
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.set_matrix(matrix, names, ["base"] * 15 + ["new"] * 15)
    size = view.readable_size()
    view.resize(size)
    view.show()
    assert view.labels_shown()
    smaller = ConfusionMatrixView()
    qtbot.addWidget(smaller)
    smaller.set_matrix(matrix, names)
    smaller.resize(size.width() // 3, size.height() // 3)
    smaller.show()
    assert not smaller.labels_shown()  # why the page scrolls the matrix instead of shrinking it
    tip = view.cell_tooltip(2, 5)
    assert "blue ring" in tip and "green circle" in tip and f"{matrix[2][5]} " in tip


def test_the_evaluate_page_never_shrinks_the_matrix_below_its_names(qtbot, small_window):
    window = small_window
    window.show_page(2)
    page = window.evaluate_page
    assert page.matrix.minimumSize() == page.matrix.readable_size()
    assert page.matrix_scroll.widget() is page.matrix
