"""The Evaluate page with a real run of mma-tiny: figures, per-class table, confusion matrix,
gallery, theme, and its place in the main window (page 3, File > Export Adapter…)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QPushButton, QToolTip

from mma_studio.core.metrics import ClassMetrics
from mma_studio.ui.app_state import AppState
from mma_studio.ui.evaluate.eval_colors import gain_color, is_dark, loss_color
from mma_studio.ui.evaluate.evaluate_page import EvaluatePage
from mma_studio.ui.evaluate.per_class_table import COLUMN_INDEX, PerClassTable
from mma_studio.ui.widgets.figure_text import percent, points
from tests.ui.trained_run import train_small_run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_small_run(tmp_path_factory.mktemp("evaluate-run"))


@pytest.fixture
def page(qtbot, trained):
    scan, run = trained
    state = AppState()
    state.data.scan = scan
    page = EvaluatePage(state)
    qtbot.addWidget(page)
    page.gallery.open_url = lambda url: True
    page.resize(1100, 800)
    page.set_run(run)
    page.show()
    qtbot.waitExposed(page)
    return page


def expected_cell_paths(report, true, predicted):
    return [
        p for p, t, q in zip(report.paths, report.true_labels, report.predicted_labels) if t == true and q == predicted
    ]


@pytest.fixture
def dark_theme():
    """Switch the application to the dark theme the way Settings does; restore it afterwards."""
    from mma_studio.ui.theme import apply_theme, refresh_widgets

    app = QApplication.instance()
    saved = QPalette(app.palette())
    yield lambda: apply_theme("dark", app)
    app.setPalette(saved)
    refresh_widgets(app)


def test_empty_page_says_what_to_do(qtbot):
    page = EvaluatePage(AppState())
    qtbot.addWidget(page)
    assert page.body.currentWidget() is page.empty_state
    assert not page.export_button.isEnabled()
    assert page.export_adapter() is None
    with qtbot.waitSignal(page.trainRequested, timeout=1000):
        qtbot.mouseClick(page.findChild(QPushButton, "evaluateGoTrainButton"), Qt.MouseButton.LeftButton)


def test_page_shows_the_runs_zero_shot_and_adapted_figures(page, trained):
    _, run = trained
    assert page.body.currentWidget() is page.content_scroll
    assert page.export_button.isEnabled()
    texts = page.tiles.texts()
    for key, before, after in (
        ("base", run.zero_shot.base_acc, run.adapted.base_acc),
        ("new", run.zero_shot.new_acc, run.adapted.new_acc),
        ("hm", run.zero_shot.hm, run.adapted.hm),
        ("all", run.zero_shot.all_acc, run.adapted.all_acc),
    ):
        worse = " ▼" if after - before <= -0.0005 else ""  # a loss to zero-shot is marked, not only red
        assert texts[key] == (percent(before), percent(after), points(after - before) + worse), key
    assert "mma-tiny" in page.summary_label.text()
    assert not page.notice.isHidden() and "random" in page.notice_label.text()  # random weights are labelled
    assert page.table.model().rowCount() == len(run.prompt_names)
    assert page.matrix.size_n == len(run.prompt_names)
    n = len(run.prompt_names)
    assert [[page.matrix.count(t, p) for p in range(n)] for t in range(n)] == run.adapted.confusion.tolist()


def test_gain_and_loss_colours_follow_the_sign_and_the_theme(page, dark_theme):
    tile = page.tiles.tiles["base"]
    tile.show_values(0.5, 0.75)
    assert gain_color(tile.palette()).name() in tile.change.styleSheet()
    tile.show_values(0.75, 0.5)
    light_loss = loss_color(tile.palette()).name()
    assert light_loss in tile.change.styleSheet()
    assert not is_dark(tile.palette())

    dark_theme()  # a theme switch while the page is open
    assert is_dark(tile.palette())
    assert loss_color(tile.palette()).name() in tile.change.styleSheet()
    assert loss_color(tile.palette()).name() != light_loss  # a lighter red on dark backgrounds
    tile.show_values(0.5, 0.5)
    assert tile.change.styleSheet() == ""


def test_renders_readably_with_the_dark_theme(page, dark_theme):
    dark_theme()
    page.show_cell(0, 0)
    image = page.grab().toImage()
    # the matrix and the table draw on the dark base colour, not a hard-coded white
    for widget in (page.matrix, page.table.viewport()):
        corner = widget.mapTo(page, widget.rect().topLeft() + QPoint(2, 2))
        assert QColor(image.pixel(corner)).lightness() < 80, widget.objectName()
    # the confusion cells' numbers contrast with their fill
    from mma_studio.ui.evaluate.eval_colors import readable_text_on

    assert readable_text_on(QColor("#17181b")).name() == "#ffffff"
    assert readable_text_on(QColor("#dbeafe")).name() == "#111827"


def test_per_class_table_sorts_by_value_not_text_and_keeps_missing_values_last(qtbot):
    table = PerClassTable()
    qtbot.addWidget(table)
    nan = float("nan")
    metrics = [
        ClassMetrics("a", "alpha", "base", 10, 1.0, 0.5, 1.0),
        ClassMetrics("b", "bravo", "base", 9, 0.857, nan, 0.2),
        ClassMetrics("c", "charlie", "new", 30, 0.05, 0.9, 0.05),
        ClassMetrics("d", "delta", "new", 4, 0.5, 0.25, 0.5),
    ]
    baseline = [dataclasses.replace(m, accuracy=0.5) for m in metrics]
    table.set_metrics(metrics, baseline)
    table.resize(700, 300)
    table.show()
    qtbot.waitExposed(table)
    header = table.horizontalHeader()

    def click_header(key):
        column = COLUMN_INDEX[key]
        x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))

    click_header("accuracy")
    first = table.shown_column("class")
    click_header("accuracy")
    second = table.shown_column("class")
    orders = {tuple(first), tuple(second)}
    assert orders == {("charlie", "delta", "bravo", "alpha"), ("alpha", "bravo", "delta", "charlie")}  # 100% > 85.7%

    table.sortByColumn(COLUMN_INDEX["precision"], Qt.SortOrder.AscendingOrder)
    assert table.shown_column("class") == ["delta", "alpha", "charlie", "bravo"]  # undefined precision last
    table.sortByColumn(COLUMN_INDEX["precision"], Qt.SortOrder.DescendingOrder)
    assert table.shown_column("class") == ["charlie", "alpha", "delta", "bravo"]  # ...in both directions
    assert table.shown_column("precision")[-1] == "—"

    table.sortByColumn(COLUMN_INDEX["count"], Qt.SortOrder.DescendingOrder)
    assert table.shown_column("count") == ["30", "10", "9", "4"]
    table.sortByColumn(COLUMN_INDEX["change"], Qt.SortOrder.DescendingOrder)
    assert table.shown_column("change") == ["+50.0", "+35.7", "+0.0", "-45.0 ▼"]  # worse than zero-shot: marked
    table.set_filter_text("ALP")
    assert table.shown_column("class") == ["alpha"]
    table.set_filter_text("")

    # The selected class stays selected through a sort; a new run's rows come in the chosen order.
    table.select_class(2)  # charlie
    table.sortByColumn(COLUMN_INDEX["class"], Qt.SortOrder.DescendingOrder)
    assert table.shown_column("class") == ["delta", "charlie", "bravo", "alpha"]
    assert [index.row() for index in table.selectionModel().selectedRows()] == [1]
    table.set_metrics(list(reversed(metrics)), baseline)
    assert table.shown_column("class") == ["delta", "charlie", "bravo", "alpha"]
    assert table.horizontalHeader().sortIndicatorSection() == COLUMN_INDEX["class"]


def test_page_table_sorts_the_runs_classes(page, trained):
    _, run = trained
    page.table.sortByColumn(COLUMN_INDEX["count"], Qt.SortOrder.AscendingOrder)
    counts = [int(text) for text in page.table.shown_column("count")]
    assert counts == sorted(m.count for m in run.adapted.per_class)
    page.table.sortByColumn(COLUMN_INDEX["class"], Qt.SortOrder.DescendingOrder)
    assert page.table.shown_column("class") == sorted(run.adapted.display_names, key=str.casefold, reverse=True)


def test_clicking_a_confusion_cell_fills_the_gallery_with_exactly_those_images(qtbot, page, trained):
    _, run = trained
    report = run.adapted
    n = len(report.class_names)
    cells = [(t, p) for t in range(n) for p in range(n) if report.confusion[t][p]]
    true, predicted = max(cells, key=lambda cell: (cell[0] != cell[1], report.confusion[cell]))  # a mistake if any
    centre = page.matrix.cell_rect(true, predicted).center().toPoint()
    with qtbot.waitSignal(page.matrix.cellClicked, timeout=1000) as clicked:
        qtbot.mouseClick(page.matrix, Qt.MouseButton.LeftButton, pos=centre)
    assert clicked.args == [true, predicted]
    expected = expected_cell_paths(report, true, predicted)
    assert len(expected) == report.confusion[true][predicted]
    assert page.gallery.image_paths() == expected
    names = report.display_names
    assert all(
        image.true_name == names[true] and image.predicted_name == names[predicted] for image in page.gallery.images()
    )
    assert names[true] in page.gallery.title.text()
    assert f"{len(expected)} test image" in page.gallery.detail.text()
    assert page.matrix.selected_cell() == (true, predicted)
    # thumbnails arrive from the loader's threads, not the GUI thread
    qtbot.waitUntil(lambda: page.gallery.loader.cached_count >= 1, timeout=10_000)

    # every cell holds exactly its count, and an empty cell says so
    for t in range(n):
        for p in range(n):
            assert len(page.show_cell(t, p)) == report.confusion[t][p]
    empty = next(((t, p) for t in range(n) for p in range(n) if not report.confusion[t][p]), None)
    if empty is not None:
        page.show_cell(*empty)
        assert page.gallery.image_paths() == [] and "No test image" in page.gallery.placeholder.text()


def test_hover_explains_a_cell(qtbot, page, trained):
    _, run = trained
    report = run.adapted
    text = page.matrix.cell_tooltip(0, 1)
    assert report.display_names[0] in text and report.display_names[1] in text
    assert f"{report.confusion[0][1]} mistaken test image" in text
    qtbot.mouseMove(page.matrix, page.matrix.cell_rect(0, 1).center().toPoint())
    qtbot.waitUntil(lambda: QToolTip.isVisible() and report.display_names[1] in QToolTip.text(), timeout=3000)


def test_hovering_repaints_outlines_only_not_the_whole_matrix(qtbot, page, monkeypatch):
    """Cells and labels are drawn once per change; moving over cells must not redraw them all
    (a 100-class matrix has 10,000 cells, and each Python-side paint call has a cost)."""
    page.matrix.grab()
    renders = []
    original = page.matrix._render_layer
    monkeypatch.setattr(page.matrix, "_render_layer", lambda ratio: renders.append(ratio) or original(ratio))
    for true, predicted in ((0, 0), (1, 2), (2, 1), (0, 1)):
        qtbot.mouseMove(page.matrix, page.matrix.cell_rect(true, predicted).center().toPoint())
        page.matrix.grab()
    assert renders == []
    page.matrix.set_normalized(True)
    page.matrix.grab()
    assert len(renders) == 1


def test_keyboard_moves_and_opens_a_cell(qtbot, page):
    page.matrix.setFocus()
    qtbot.keyClick(page.matrix, Qt.Key.Key_Down)  # selects (0, 0)
    qtbot.keyClick(page.matrix, Qt.Key.Key_Down)
    qtbot.keyClick(page.matrix, Qt.Key.Key_Right)
    with qtbot.waitSignal(page.matrix.cellClicked, timeout=1000) as clicked:
        qtbot.keyClick(page.matrix, Qt.Key.Key_Return)
    assert clicked.args == [1, 1]


def test_counts_or_row_normalised(qtbot, page, trained):
    _, run = trained
    row = next(t for t in range(page.matrix.size_n) if run.adapted.confusion[t].sum())
    qtbot.mouseClick(page.findChild(QPushButton, "confusionNormalizedButton"), Qt.MouseButton.LeftButton)
    assert page.matrix.is_normalized()
    shares = [page.matrix.value(row, p) for p in range(page.matrix.size_n)]
    assert math.isclose(sum(shares), 1.0)
    assert page.matrix.value_text(row, row) == str(round(100 * shares[row]))
    qtbot.mouseClick(page.findChild(QPushButton, "confusionCountsButton"), Qt.MouseButton.LeftButton)
    assert page.matrix.value_text(row, row) == str(run.adapted.confusion[row][row])


def test_zero_shot_toggle_shows_the_baselines_matrix_table_and_images(qtbot, page, trained):
    _, run = trained
    n = len(run.prompt_names)
    assert not page.table.isColumnHidden(COLUMN_INDEX["change"])
    qtbot.mouseClick(page.findChild(QPushButton, "showZeroShotButton"), Qt.MouseButton.LeftButton)
    assert page.report() is run.zero_shot
    assert [[page.matrix.count(t, p) for p in range(n)] for t in range(n)] == run.zero_shot.confusion.tolist()
    assert page.table.isColumnHidden(COLUMN_INDEX["change"])
    cell = next((t, p) for t in range(n) for p in range(n) if run.zero_shot.confusion[t][p])
    assert page.show_cell(*cell) == expected_cell_paths(run.zero_shot, *cell)
    assert "Zero-shot" in page.gallery.detail.text()
    qtbot.mouseClick(page.findChild(QPushButton, "showAdaptedButton"), Qt.MouseButton.LeftButton)
    assert page.report() is run.adapted


def test_choosing_a_class_in_the_table_shows_all_its_images_mistakes_first(qtbot, page, trained):
    _, run = trained
    report = run.adapted
    page.table.sortByColumn(COLUMN_INDEX["class"], Qt.SortOrder.AscendingOrder)
    index = page.table.model().index(1, 0)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=page.table.visualRect(index).center())
    chosen = sorted(range(len(report.display_names)), key=lambda i: report.display_names[i].casefold())[1]
    shown = page.gallery.images()
    assert sorted(image.path for image in shown) == sorted(
        p for p, t in zip(report.paths, report.true_labels) if t == chosen
    )
    verdicts = [image.correct for image in shown]
    assert verdicts == sorted(verdicts)  # mistakes (False) before correct ones


def test_open_containing_folder(qtbot, page, trained):
    _, run = trained
    opened = []
    page.gallery.open_url = lambda url: opened.append(url.toLocalFile()) or True
    assert not page.gallery.open_folder_button.isEnabled()
    paths = page.show_cell(0, int(run.adapted.predicted_labels[run.adapted.true_labels.index(0)]))
    assert paths and page.gallery.open_folder_button.isEnabled()
    qtbot.mouseClick(page.gallery.open_folder_button, Qt.MouseButton.LeftButton)
    assert opened == [str(Path(paths[0]).parent)]


def test_main_window_adds_evaluate_after_train_enabled_by_a_finished_run(qtbot, trained, tmp_path, monkeypatch):
    from mma_studio.ui.main_window import MainWindow
    from mma_studio.ui.project_controller import ProjectController

    _, run = trained
    noted = []
    monkeypatch.setattr(ProjectController, "note_export", lambda self, run_, path: noted.append((run_, path)))
    window = MainWindow()
    qtbot.addWidget(window)
    titles = [window.sidebar.item(row).text() for row in range(window.sidebar.count())]
    row = window.pages.indexOf(window.evaluate_page)
    assert titles[:3] == ["1  Data", "2  Train", "3  Evaluate"] and row == 2
    assert not window.sidebar.item(row).flags() & Qt.ItemFlag.ItemIsEnabled
    assert not window.export_action.isEnabled()
    assert window.export_action.shortcut().toString() == "Ctrl+E"
    assert window.export_action in window.menuBar().actions()[0].menu().actions()

    window.train_page.runFinished.emit(run)
    assert window.evaluate_page.run is run
    assert window.sidebar.item(row).flags() & Qt.ItemFlag.ItemIsEnabled
    assert window.export_action.isEnabled() and window.page_actions[row].isEnabled()
    window.show_page(row)
    assert window.current_page() is window.evaluate_page

    window.export_action.trigger()
    dialog = window.evaluate_page.export_dialog
    assert dialog is not None and dialog.isVisible() and dialog.run is run
    # a successful export is remembered by the project
    dialog.set_adapter_path(tmp_path / "out" / "window.safetensors")
    (tmp_path / "out").mkdir()
    with qtbot.waitSignal(dialog.exportFinished, timeout=60_000):
        dialog.start_export()
    assert noted == [(run, tmp_path / "out" / "window.safetensors")]
    dialog.reject()
    QApplication.processEvents()


def test_a_hidden_page_fills_its_table_and_matrix_a_turn_later_or_when_shown(qtbot, trained):
    """At a run's end the page is usually hidden: its per-class table and matrix (~50 ms at
    200 classes) wait for a later event-loop turn, so the window paints in between; showing
    the page, or reading a cell, fills them at once."""
    scan, run = trained
    state = AppState()
    state.data.scan = scan
    page = EvaluatePage(state)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    filled, drawn, order = [], [], []
    set_metrics, set_matrix = page.table.set_metrics, page.matrix.set_matrix
    page.table.set_metrics = lambda *args: order.append("table") or filled.append(args) or set_metrics(*args)
    page.matrix.set_matrix = lambda *args: order.append("matrix") or drawn.append(args) or set_matrix(*args)
    ticks = QTimer()  # a due timer, as the window's paints are: it fires between two turns
    ticks.setInterval(0)
    ticks.timeout.connect(lambda: order.append("tick"))

    page.set_run(run)
    assert page.has_run() and not filled and page.table.proxy.rowCount() == 0  # not yet: a later turn
    ticks.start()
    qtbot.waitUntil(lambda: len(drawn) == 1, timeout=5000)
    ticks.stop()
    assert [entry for entry in order if entry != "tick"] == ["table", "matrix"]
    assert "tick" in order[order.index("table") : order.index("matrix")]  # the matrix: a turn after the table
    assert page.table.proxy.rowCount() == len(run.split.classes)

    page.set_run(dataclasses.replace(run, finished_at="later"))
    page.show()  # shown before the turn came: filled on showing
    assert len(filled) == 2 and len(drawn) == 2
    qtbot.wait(50)
    assert len(filled) == 2 and len(drawn) == 2  # and not again when the turns come

    page.hide()
    page.set_run(run)
    assert len(filled) == 2
    true, predicted = run.adapted.true_labels[0], run.adapted.predicted_labels[0]
    assert page.show_cell(true, predicted) == expected_cell_paths(run.adapted, true, predicted)
    assert len(filled) == 3 and page.matrix.selected_cell() == (true, predicted)  # filled first
    assert len(drawn) == 3
