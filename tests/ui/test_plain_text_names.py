"""Nothing a user can type is ever rendered as rich text (issue 12 §5): with classes named like
HTML tags (in folders named so), every page is walked — each label, each tooltip, each table
cell's tooltip and header — and wherever a name shows, it shows literally, `<u>` and all.

Qt renders a label or a tooltip as rich text when its format is RichText, or AutoText and the
text merely looks like HTML (`Qt.mightBeRichText`): `<u>zebu` would show an underlined "zebu".
The check renders each text the way Qt would and looks for the name's visible part without
its tag."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import Qt as QtGui_Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QLabel, QMessageBox, QWidget

from mma_studio.ui.main_window import MainWindow
from tests.image_factory import write_truncated
from tests.ui.trained_run import train_small_run

# (name as typed / as the folder is named, the part a rich-text rendering would still show)
NAMES = [("<u>zebu", "zebu"), ("<font color=red>yak", "yak"), ("<b>gnu", "gnu"), ("<i>okapi", "okapi")]
WAIT_MS = 30_000


def shown_text(text: str, fmt: Qt.TextFormat) -> str:
    """What Qt puts on screen for `text` in a label (or tooltip) of format `fmt`."""
    rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and QtGui_Qt.mightBeRichText(text))
    if not rich:
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def problems_in(text: str, fmt: Qt.TextFormat, where: str) -> list[str]:
    shown = shown_text(text, fmt)
    return [f"{where}: {text!r} shows as {shown!r}" for name, core in NAMES if core in shown and name not in shown]


def walk(root: QWidget) -> list[str]:
    """Every label, tooltip and item-view tooltip under `root` that renders a name as markup."""
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        where = f"{type(widget).__name__}#{widget.objectName()}"
        if isinstance(widget, QLabel) and widget.text():
            found += problems_in(widget.text(), widget.textFormat(), where)
        if widget.toolTip():
            found += problems_in(widget.toolTip(), Qt.TextFormat.AutoText, f"{where} tooltip")
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            try:
                columns = model.columnCount(QModelIndex())
            except TypeError:  # a list widget's own model hides it: one column
                columns = 1
            for column in range(columns):
                tip = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
                if isinstance(tip, str):
                    found += problems_in(tip, Qt.TextFormat.AutoText, f"{where} header {column} tooltip")
            for row in range(min(model.rowCount(QModelIndex()), 60)):
                for column in range(max(1, columns)):
                    index = model.index(row, column, QModelIndex())
                    tip = index.data(Qt.ItemDataRole.ToolTipRole)
                    if isinstance(tip, str):
                        found += problems_in(tip, Qt.TextFormat.AutoText, f"{where} cell {row},{column} tooltip")
    return found


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """A run on four classes whose folders (and so names) look like HTML, one unreadable file."""
    root = tmp_path_factory.mktemp("tags")
    scan, run = train_small_run(root, classes=[name for name, _ in NAMES], per_class=6, epochs=2)
    write_truncated(root / "data" / "<font color=red>yak" / "broken.jpg")
    return root, run


def test_no_page_renders_a_class_or_folder_name_as_markup(qtbot, tagged):
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.split import default_roles

    root, run = tagged
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    scan = scan_dataset(root / "data")
    base, new = default_roles(scan.class_names)
    window.state.set_scan(scan, base, new)
    window.state.rename_class(scan.class_names[0], "<s>wapiti</s>")  # a name typed in the app
    NAMES.append(("<s>wapiti</s>", "wapiti"))
    try:
        window.ensure_all_pages()
        demo = window.demo_page
        with qtbot.waitSignal(demo.modelChanged, timeout=WAIT_MS):
            window.train_page.runFinished.emit(run)
        demo.class_editor.add_names(["<h1>ibex"])
        NAMES.append(("<h1>ibex", "ibex"))
        image = sorted((root / "data" / "<u>zebu").iterdir())[0]
        with qtbot.waitSignal(demo.classified, timeout=WAIT_MS):
            demo.classify_path(image)
        evaluate = window.evaluate_page
        evaluate.show_class(0)  # the gallery names the class
        evaluate.show_cell(0, 1)
        found = []
        for row in range(window.sidebar.count()):
            window.show_page(row)
            qtbot.wait(50)
            found += walk(window)
        report = window.data_page.health_report_dialog()
        qtbot.addWidget(report)
        found += walk(report)
        assert not found, "\n".join(found)
    finally:
        del NAMES[4:]
        window.projects.stop_and_wait(5000)
        window.demo_page.stop_and_wait(5000)


def test_error_boxes_show_messages_as_plain_text(qtbot, monkeypatch):
    """The pages' error boxes carry file and class names: plain text, however they look."""
    from mma_studio.ui.app_state import AppState
    from mma_studio.ui.demo.demo_page import DemoPage

    opened: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "open", lambda self: opened.append(self))
    page = DemoPage(AppState())
    qtbot.addWidget(page)
    page.show_error("The image could not be classified", "/data/<font color=red>yak/a.png: truncated")
    box = opened[-1]
    assert box.textFormat() == Qt.TextFormat.PlainText
    labels = [label for label in box.findChildren(QLabel) if "yak" in label.text()]
    assert labels and all("<font color=red>yak" in shown_text(label.text(), label.textFormat()) for label in labels)
    assert "<font color=red>yak" in shown_text(page.error_text(), Qt.TextFormat.RichText)  # the banner escapes it


def test_banners_show_messages_as_typed_and_only_link_banners_as_markup(qtbot):
    """The Train page's banners name files ("could not be read: …/<font color=red>yak/1.png");
    a banner with links takes rich text, whose caller escapes what the user typed."""
    from mma_studio.ui.widgets.banner import Banner
    from mma_studio.ui.widgets.plain_text import escape_markup

    plain = Banner("plainBanner")
    qtbot.addWidget(plain)
    plain.show_text("1 image could not be read and was left out: /data/<font color=red>yak/1.png (truncated).")
    assert walk(plain) == []
    linked = Banner("linkBanner", links=True)
    qtbot.addWidget(linked)
    linked.show_text(f'<b>{escape_markup("<u>zebu.safetensors")}</b> <a href="use-run">Use the run</a>')
    assert walk(linked) == [] and linked.label.textFormat() == Qt.TextFormat.RichText
