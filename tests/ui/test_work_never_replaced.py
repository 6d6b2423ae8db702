"""Issue 12 §1: new data never replaces a project's data behind the user's back. Try an
Example, a drop of another dataset and Open Folder ask first; Cancel leaves the project and its
file byte for byte; "Open as New Project" keeps the old project's file as it was; an edited
split is kept when a class is added, and the status bar says where the class went."""

from __future__ import annotations

from pathlib import Path

import pytest

from mma_studio.ui.dialogs.replace_data_question import CANCEL, OPEN_AS_NEW, REPLACE
from mma_studio.ui.main_window import MainWindow
from tests.image_factory import make_class_dataset
from tests.ui.drag_and_drop import drop

WAIT_MS = 30_000


@pytest.fixture
def window(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1180, 780)
    window.data_page.example_dir = tmp_path / "example"
    window.data_page.example_per_class = 3
    yield window
    window.projects.stop_and_wait(5000)
    window.data_page.stop_and_wait(5000)


def open_and_scan(qtbot, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.data_page.scanFinished, timeout=WAIT_MS):
        window.data_page.open_folder(folder)
    # scanFinished comes with the result, before the scan's thread has ended: until then the
    # page is busy and refuses the next folder, drop or example ("Please wait").
    qtbot.waitUntil(lambda: not window.data_page.is_busy(), timeout=WAIT_MS)


@pytest.fixture
def saved_project(qtbot, window, tmp_path):
    first = tmp_path / "first"
    make_class_dataset(first, ["apple", "leaf", "sky", "sun"], per_class=3)
    open_and_scan(qtbot, window, first)
    path = tmp_path / "projects" / "mine.mmaproj"
    assert window.projects.save_as(path)
    other = tmp_path / "other"
    make_class_dataset(other, ["cat", "dog", "owl"], per_class=3)
    return path, path.read_bytes(), other


def answer(window, monkeypatch, reply: str) -> list[str]:
    asked: list[str] = []

    def ask(what, project_name):
        asked.append(f"{what} | {project_name}")
        return reply

    monkeypatch.setattr(window.data_page, "ask_replace_or_new", ask)
    return asked


def test_cancel_leaves_the_project_and_its_file_untouched(qtbot, window, saved_project, monkeypatch):
    path, before, other = saved_project
    scan = window.state.data.scan
    asked = answer(window, monkeypatch, CANCEL)
    window.data_page.open_folder(other)  # Open Folder (and Open Recent Folder)
    drop(window.data_page.drop_zone, [other])  # a drop of another dataset
    window.data_page.try_example()  # Try an Example
    assert len(asked) == 3 and all("mine" in question for question in asked)
    assert not window.state.busy and window.state.data.scan is scan
    window.projects.flush()
    qtbot.wait(50)
    assert window.projects.path == path.absolute() and path.read_bytes() == before


def test_open_as_new_project_keeps_the_old_project_file_as_it_was(qtbot, window, saved_project, monkeypatch):
    path, before, other = saved_project
    answer(window, monkeypatch, OPEN_AS_NEW)
    open_and_scan(qtbot, window, other)
    assert window.state.data.scan.root == other
    assert window.projects.path is None or window.projects.is_autosaved_copy
    window.projects.flush()
    assert path.read_bytes() == before


def test_replace_is_what_the_user_chose(qtbot, window, saved_project, monkeypatch):
    path, before, other = saved_project
    answer(window, monkeypatch, REPLACE)
    open_and_scan(qtbot, window, other)
    assert window.state.data.scan.root == other and window.projects.path == path.absolute()


def test_no_question_for_an_empty_project(qtbot, window, tmp_path, monkeypatch):
    asked = answer(window, monkeypatch, CANCEL)
    folder = tmp_path / "data"
    make_class_dataset(folder, ["a", "b", "c"], per_class=3)
    open_and_scan(qtbot, window, folder)
    assert not asked and window.state.data.scan is not None


def test_adding_a_class_keeps_an_edited_split_and_says_where_it_went(qtbot, window, saved_project, tmp_path):
    window.state.set_roles(["apple", "leaf", "sky"], ["sun"])  # the user's own split
    extra = tmp_path / "more"
    make_class_dataset(extra, ["zebra"], per_class=3)
    with qtbot.waitSignal(window.data_page.scanFinished, timeout=WAIT_MS):
        drop(window.data_page.drop_zone, [extra / "zebra"])
    data = window.state.data
    assert data.new_classes == ["sun"] and set(data.base_classes) == {"apple", "leaf", "sky", "zebra"}
    message = window.statusBar().currentMessage()
    assert "zebra" in message and "kept" in message


def test_adding_a_class_to_the_suggested_split_says_which_classes_changed_role(qtbot, window, saved_project, tmp_path):
    before = (list(window.state.data.base_classes), list(window.state.data.new_classes))
    extra = tmp_path / "more"
    make_class_dataset(extra, ["aardvark", "ant"], per_class=3)  # sort first: the suggestion moves "leaf"
    with qtbot.waitSignal(window.data_page.scanFinished, timeout=WAIT_MS):
        drop(window.data_page.drop_zone, [extra / "aardvark", extra / "ant"])
    after = (window.state.data.base_classes, window.state.data.new_classes)
    moved = [name for name in before[0] + before[1] if (name in before[0]) != (name in after[0])]
    assert moved  # the suggestion for six classes differs for an old class …
    message = window.statusBar().currentMessage()
    assert "changed role" in message and all(name in message for name in moved)  # … and says so
