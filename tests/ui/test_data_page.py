"""The Data page driven like a user: real drop events, table edits, the split editor, the
health report, cancel, and "Try an example" — with real scans in the worker thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit, QListWidget, QPushButton, QTableView, QToolButton

from mma_studio.toy.example_dataset import example_is_complete
from mma_studio.ui.app_state import AppState, BackboneSelection
from mma_studio.ui.data.class_table import FOLDER, IMAGES, NAME, ROLE, sample_paths, short_folder
from mma_studio.ui.data.data_page import DataPage
from mma_studio.ui.data.drop_request import CLASS_FOLDERS, ROOT, DropRefused, classify_drop
from mma_studio.ui.data.drop_request import IMAGES as IMAGES_KIND
from mma_studio.ui.widgets.thumbnails import ThumbnailLoader, read_square_thumbnail
from tests.image_factory import make_class_dataset, make_image, write_truncated
from tests.ui.drag_and_drop import drop

SCAN_TIMEOUT_MS = 20_000


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def page(qtbot):
    state = AppState()
    page = DataPage(state)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    yield page
    assert page.stop_and_wait(5000)


def wait_for_scan(qtbot, page: DataPage) -> None:
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=SCAN_TIMEOUT_MS)


def table_names(page: DataPage) -> list[str]:
    model = page.table.class_model()
    return [model.index(row, NAME).data() for row in range(model.rowCount())]


def row_of(page: DataPage, folder_name: str) -> int:
    return page.table.class_model().row_of(folder_name)


# --------------------------------------------------------------------------- drops


def test_dropping_a_dataset_folder_fills_the_class_table(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "Pets", ["cat", "dog", "golden_retriever"], per_class=4)
    zone = page.findChild(object, "dataDropZone")
    table = page.findChild(QTableView, "classTable")
    assert zone is page.drop_zone and table is page.table
    assert not zone.is_compact()

    drop(zone, [tmp_path / "Pets"])
    wait_for_scan(qtbot, page)

    assert table.model().rowCount() == 3
    assert table_names(page) == ["cat", "dog", "golden retriever"]  # readable display names
    model = page.table.class_model()
    assert [model.index(r, IMAGES).data() for r in range(3)] == ["4", "4", "4"]
    assert [model.index(r, ROLE).data() for r in range(3)] == ["Base", "Base", "New"]
    assert model.index(0, FOLDER).data() == str(Path("Pets") / "cat")
    state = page._state
    assert state.data.scan.root == tmp_path / "Pets"
    assert state.data.base_classes == ["cat", "dog"] and state.data.new_classes == ["golden_retriever"]
    assert zone.is_compact() and table.isVisibleTo(page)
    assert "3 classes" in page.summary.text() and "12 usable images" in page.summary.text()
    assert page.dataset_title() == "Pets"


def test_deferred_dataset_views_are_built_when_the_first_dataset_arrives(qtbot, tmp_path):
    """At start-up the empty page leaves out what only a dataset shows; a drop builds it."""
    page = DataPage(AppState(), defer_dataset_views=True)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    assert page.table is None and page.findChild(QTableView, "classTable") is None
    assert page.findChild(QPushButton, "continueButton") is None
    make_class_dataset(tmp_path / "Pets", ["cat", "dog", "owl"], per_class=3)

    drop(page.drop_zone, [tmp_path / "Pets"])
    wait_for_scan(qtbot, page)

    assert page.findChild(QTableView, "classTable") is page.table and page.table.isVisible()
    assert table_names(page) == ["cat", "dog", "owl"]
    assert page.split_card.isVisible() and page.continue_button.isVisible() and page.warnings.isVisible()
    assert page.continue_button.isEnabled()
    page.ensure_dataset_views()  # a second call builds nothing more
    assert len(page.findChildren(QTableView, "classTable")) == 1
    page._state.clear_scan()
    assert not page.table.isVisible() and not page.split_card.isVisible() and not page.drop_zone.is_compact()
    assert page.stop_and_wait(5000)


def test_deferred_dataset_views_built_early_start_hidden(qtbot):
    page = DataPage(AppState(), defer_dataset_views=True)
    qtbot.addWidget(page)
    page.show()
    assert page.stop_and_wait(5000)  # no thumbnail loader yet: nothing to wait for
    page.ensure_dataset_views()
    assert page.table is not None and not page.table.isVisible() and not page.split_card.isVisible()
    assert not page.continue_button.isVisible() and page.drop_zone.isVisible()


def test_dropping_class_folders_adds_classes_to_the_dataset(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "a", ["cat", "dog"], per_class=3)
    make_class_dataset(tmp_path / "b", ["cat", "bird"], per_class=2)
    drop(page.drop_zone, [tmp_path / "a" / "cat", tmp_path / "a" / "dog"])
    wait_for_scan(qtbot, page)
    assert page._state.data.scan.class_names == ["cat", "dog"]

    drop(page.drop_zone, [tmp_path / "b" / "cat", tmp_path / "b" / "bird"])
    wait_for_scan(qtbot, page)
    scan = page._state.data.scan
    # A second folder named "cat" stays a class of its own (and says so), it does not merge.
    assert scan.class_names == ["bird", "cat", "cat (2)", "dog"]
    assert any("cat (2)" in w for w in page.warnings.messages())
    assert page.table.class_model().rowCount() == 4
    assert sorted(page._state.data.base_classes + page._state.data.new_classes) == scan.class_names


def test_loose_images_become_a_named_class_and_extend_it_by_name(qtbot, page, tmp_path, monkeypatch):
    make_class_dataset(tmp_path / "Pets", ["cat", "dog"], per_class=3)
    drop(page.drop_zone, [tmp_path / "Pets"])
    wait_for_scan(qtbot, page)
    page._state.rename_class("cat", "kitty")

    loose = [make_image(tmp_path / "downloads" / f"parrot_{i}.png", noise=10, seed=i) for i in range(3)]
    (tmp_path / "downloads" / "notes.txt").write_text("not an image")
    asked = []
    monkeypatch.setattr(page, "ask_class_name", lambda files: asked.append(files) or "parrot")
    drop(page.drop_zone, loose + [tmp_path / "downloads" / "notes.txt"])
    wait_for_scan(qtbot, page)
    assert [p.name for p in asked[0]] == [p.name for p in loose]  # the text file is not offered
    scan = page._state.data.scan
    assert scan.class_names == ["cat", "dog", "parrot"]
    parrot = scan.class_by_name("parrot")
    assert sorted(parrot.images) == sorted(loose)  # referenced where they are, not copied
    assert page._state.display_name("cat") == "kitty"  # renames survive additions

    more = [make_image(tmp_path / "more" / "parrot_9.png"), write_truncated(tmp_path / "more" / "bad.png")]
    drop(page.drop_zone, more)
    wait_for_scan(qtbot, page)
    scan = page._state.data.scan
    assert len(scan.class_by_name("parrot").images) == 4
    assert [s.path.name for s in scan.skipped] == ["bad.png"]


def test_refused_drops_say_why(qtbot, page, tmp_path):
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    drop(page.drop_zone, [note])
    assert "image" in page.error_text().lower()
    assert page._state.data.scan is None

    empty = tmp_path / "empty"
    (empty / "nothing").mkdir(parents=True)
    drop(page.drop_zone, [empty])
    wait_for_scan(qtbot, page)
    assert "no usable images" in page.error_text().lower() or "no class" in page.error_text().lower()
    assert page._state.data.scan is None


def test_classify_drop_rules(tmp_path):
    make_class_dataset(tmp_path / "root", ["a", "b"], per_class=1)
    image = make_image(tmp_path / "x.png")
    assert classify_drop([tmp_path / "root"]).kind == ROOT
    assert classify_drop([tmp_path / "root" / "a"]).kind == CLASS_FOLDERS
    assert classify_drop([tmp_path / "root" / "a", tmp_path / "root" / "b"]).kind == CLASS_FOLDERS
    assert classify_drop([image]).kind == IMAGES_KIND
    with pytest.raises(DropRefused):
        classify_drop([image, tmp_path / "root"])
    with pytest.raises(DropRefused):
        classify_drop([])


# --------------------------------------------------------------------------- editing


def test_renaming_a_class_in_the_table_updates_the_state(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "Codes", ["n01440764", "n02102040"], per_class=2)
    page.open_folder(tmp_path / "Codes")
    wait_for_scan(qtbot, page)
    state = page._state
    # The unreadable names are flagged, with a button that opens the first for renaming.
    assert page.warnings.rename_button.isVisibleTo(page)
    assert any("cannot read" in m for m in page.warnings.messages())

    page.show()
    qtbot.waitExposed(page)
    qtbot.mouseClick(page.warnings.rename_button, Qt.MouseButton.LeftButton)
    editor = page.table.findChild(QLineEdit)
    assert editor is not None and editor.text() == "n01440764"
    editor.selectAll()
    qtbot.keyClicks(editor, "tench")
    qtbot.keyClick(editor, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: state.display_name("n01440764") == "tench")  # the delegate commits queued
    assert state.data.scan.class_by_name("n01440764").path.name == "n01440764"  # the folder stays
    assert page.table.class_model().index(row_of(page, "n01440764"), NAME).data() == "tench"
    assert page.split_editor.base_list.item(0).text() == "tench"
    # Only one unreadable name is left.
    assert "n02102040" in page.warnings.rename_button.text()

    model = page.table.class_model()
    assert not model.setData(model.index(0, NAME), "   ")  # an empty prompt name is refused
    assert state.display_name("n01440764") == "tench"


def test_role_column_moves_a_class(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "d", ["a", "b", "c", "d"], per_class=2)
    page.open_folder(tmp_path / "d")
    wait_for_scan(qtbot, page)
    model = page.table.class_model()
    assert model.setData(model.index(row_of(page, "d"), ROLE), "Base")
    assert page._state.data.base_classes == ["a", "b", "d"]
    assert page._state.data.new_classes == ["c"]


def test_split_editor_moves_classes_and_resets(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "d", ["apple", "banana", "cherry", "date"], per_class=2)
    page.open_folder(tmp_path / "d")
    wait_for_scan(qtbot, page)
    state = page._state
    editor = page.split_editor
    base_list = page.findChild(QListWidget, "baseClassList")
    to_new = page.findChild(QToolButton, "moveToNewButton")
    assert [base_list.item(i).text() for i in range(base_list.count())] == ["apple", "banana"]
    assert not to_new.isEnabled()

    base_list.item(0).setSelected(True)
    assert to_new.isEnabled()
    qtbot.mouseClick(to_new, Qt.MouseButton.LeftButton)
    assert state.data.base_classes == ["banana"]
    assert state.data.new_classes == ["apple", "cherry", "date"]
    assert page.table.class_model().index(row_of(page, "apple"), ROLE).data() == "New"

    new_list = editor.new_list
    date_item = [new_list.item(i) for i in range(new_list.count()) if new_list.item(i).text() == "date"][0]
    new_list.itemDoubleClicked.emit(date_item)
    assert state.data.base_classes == ["banana", "date"]

    qtbot.mouseClick(page.findChild(QPushButton, "defaultSplitButton"), Qt.MouseButton.LeftButton)
    assert (state.data.base_classes, state.data.new_classes) == (["apple", "banana"], ["cherry", "date"])

    editor.seed_spin.setValue(7)
    qtbot.mouseClick(editor.shuffle_button, Qt.MouseButton.LeftButton)
    first = (list(state.data.base_classes), list(state.data.new_classes))
    qtbot.mouseClick(editor.default_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(editor.shuffle_button, Qt.MouseButton.LeftButton)
    assert (state.data.base_classes, state.data.new_classes) == first  # the seed reproduces it
    assert len(first[0]) == 2 and sorted(first[0] + first[1]) == ["apple", "banana", "cherry", "date"]


def test_too_few_images_warning_follows_the_shots(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "d", {"a": 3, "b": 30, "c": 30, "d": 30}, per_class=0)
    page.open_folder(tmp_path / "d")
    wait_for_scan(qtbot, page)
    assert any("need 20 images" in m for m in page.warnings.messages())
    model = page.table.class_model()
    assert model.index(row_of(page, "a"), IMAGES).data(Qt.ItemDataRole.ForegroundRole) is not None  # base, 3 < 20
    assert model.index(row_of(page, "c"), IMAGES).data(Qt.ItemDataRole.ForegroundRole) is None  # 30 is enough
    page._state.set_roles(["b", "c"], ["a", "d"])
    assert model.index(row_of(page, "a"), IMAGES).data(Qt.ItemDataRole.ForegroundRole) is None  # new: only tested
    assert not any("need 20 images" in m for m in page.warnings.messages())
    page._state.set_sample_needs(2, 1)
    assert not any("need" in m and "images each" in m for m in page.warnings.messages())
    assert any("imbalanced" in m for m in page.warnings.messages())


def test_removing_a_class(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "d", ["a", "b", "c"], per_class=2)
    page.open_folder(tmp_path / "d")
    wait_for_scan(qtbot, page)
    page.show()
    qtbot.waitExposed(page)
    page.table.selectRow(row_of(page, "b"))
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert page._state.data.scan.class_names == ["a", "c"]
    assert "b" not in page._state.data.base_classes + page._state.data.new_classes
    assert table_names(page) == ["a", "c"]


# --------------------------------------------------------------------------- health report


def test_health_report_lists_every_skipped_file_with_its_reason(qtbot, page, tmp_path):
    root = tmp_path / "d"
    make_class_dataset(root, ["cat", "dog"], per_class=3)
    broken = write_truncated(root / "cat" / "broken.jpg")
    (root / "dog" / "empty.png").write_bytes(b"")
    page.open_folder(root)
    wait_for_scan(qtbot, page)
    assert page.report_button.text() == "Health Report (2)"
    assert page.warnings.report_button.isVisibleTo(page)

    dialog = page.health_report_dialog()
    qtbot.addWidget(dialog)
    table = dialog.table
    assert table.rowCount() == 2
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(2)}
    assert "truncated" in rows["broken.jpg"]
    assert "empty" in rows["empty.png"]
    dialog.copy_all()
    copied = QGuiApplication.clipboard().text()
    assert f"{broken}\t" in copied and copied.count("\n") == 2


def test_a_dataset_without_usable_images_offers_its_report(qtbot, page, tmp_path):
    root = tmp_path / "bad"
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "a.jpg").write_text("not an image")
    page.open_folder(root)
    wait_for_scan(qtbot, page)
    assert "no usable images" in page.error_text()
    assert page.error_report_button.isVisibleTo(page)
    assert page._failure_scan is not None and len(page._failure_scan.skipped) == 1


# --------------------------------------------------------------------------- worker behaviour


def test_cancel_stops_the_scan_and_leaves_the_dataset_unchanged(qtbot, page):
    started = threading.Event()

    def endless(on_progress, token):
        started.set()
        while True:
            token.check()
            threading.Event().wait(0.005)

    with qtbot.waitSignal(page.scanFinished, timeout=5000) as finished:
        page._start_scan(endless, "Scanning", replace=True, extend=False)
        assert page._state.busy and page.cancel_button.isVisibleTo(page)
        assert started.wait(5)
        qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert finished.args == [False]
    wait_for_scan(qtbot, page)
    assert page._state.data.scan is None and not page._state.busy
    assert not page._progress_row.isVisibleTo(page)


def test_thumbnails_load_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    path = make_image(tmp_path / "wide.png", size=(120, 60), color=(10, 200, 30))
    image = read_square_thumbnail(str(path), 40)
    assert (image.width(), image.height()) == (40, 40)
    assert image.pixelColor(20, 20).green() > 150
    loader = ThumbnailLoader()
    assert loader.thumbnail(path, 40) is None  # queued, not decoded here
    with qtbot.waitSignal(loader.thumbnailReady, timeout=5000):
        pass
    pixmap = loader.thumbnail(path, 40)
    assert pixmap is not None and pixmap.width() == 40
    (tmp_path / "bad.png").write_text("x")
    loader.thumbnail(tmp_path / "bad.png", 40)
    qtbot.waitUntil(lambda: loader.thumbnail(tmp_path / "bad.png", 40) is not None)
    assert loader.thumbnail(tmp_path / "bad.png", 40).isNull()
    assert sample_paths(list(range(10)), 4) == ["0", "2", "5", "7"]
    assert short_folder(tmp_path / "d" / "cat", tmp_path / "d") == str(Path("d") / "cat")
    outside = tmp_path / "elsewhere" / "cat"
    assert short_folder(outside, tmp_path / "d") == str(outside)
    monkeypatch.setenv("HOME", str(tmp_path))  # asked again with another home: not a stale answer
    assert short_folder(outside, tmp_path / "d") == str(Path("~") / "elsewhere" / "cat")


def test_table_rows_request_thumbnails(qtbot, page, tmp_path):
    make_class_dataset(tmp_path / "d", ["a", "b"], per_class=6)
    page.open_folder(tmp_path / "d")
    wait_for_scan(qtbot, page)
    page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: page.thumbnails.cached_count >= 8, timeout=5000)  # 4 per row, 2 rows


# --------------------------------------------------------------------------- the example


def test_try_an_example_fills_the_table_and_selects_the_demo_model(qtbot, page, tmp_path):
    page._state.set_backbone(BackboneSelection("mma-tiny", "random", "mma-tiny · random", is_random=True))
    page.example_dir = tmp_path / "example"
    page.example_per_class = 2
    with qtbot.waitSignal(page.exampleFinished, timeout=30_000) as done:
        qtbot.mouseClick(page.findChild(QPushButton, "dropZoneExampleButton"), Qt.MouseButton.LeftButton)
    assert done.args == [True]
    scan = page._state.data.scan
    assert scan.root == tmp_path / "example"
    assert len(scan.classes) >= 20 and all(len(c.images) == 2 for c in scan.classes)
    assert page.table.class_model().rowCount() == len(scan.classes)
    assert (page._state.backbone.model, page._state.backbone.pretrained) == ("mma-tiny", "shapes")
    assert page._state.backbone.is_demo
    assert "shapes" in page.backbone_chooser.combo.currentText()
    assert example_is_complete(tmp_path / "example", 2)
    assert not example_is_complete(tmp_path / "example", 3)
