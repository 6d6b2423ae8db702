"""An adapter file dragged over the Data page's drop zone goes on to the main window, which opens
it in the Demo; folders and images stay with the drop zone. Done with drag handlers, not a
Python event filter on the window (entered for every event the window gets, each entry waiting
for the GIL while a worker runs: issue 12 §6)."""

from __future__ import annotations

import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from mma_studio.ui.widgets.adapter_drop import dropped_adapter_path


def _mime(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _enter(mime: QMimeData) -> QDragEnterEvent:
    """The event does not own `mime`: the caller keeps it alive."""
    with warnings.catch_warnings():  # PySide6 marks the QPoint constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        return QDragEnterEvent(
            QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )


def test_only_a_single_adapter_file_counts_as_an_adapter_drop(tmp_path):
    adapter = tmp_path / "a.safetensors"
    adapter.write_bytes(b"x")
    folder = tmp_path / "cats"
    folder.mkdir()
    assert dropped_adapter_path(_mime([adapter])) == adapter
    assert dropped_adapter_path(_mime([adapter, adapter])) is None
    assert dropped_adapter_path(_mime([folder])) is None
    assert dropped_adapter_path(QMimeData()) is None


def test_the_drop_zone_passes_an_adapter_on_and_keeps_folders(qtbot, tmp_path):
    from mma_studio.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    zone = window.data_page.drop_zone
    adapter = tmp_path / "a.safetensors"
    adapter.write_bytes(b"x")
    folder = tmp_path / "cats"
    folder.mkdir()

    adapter_mime, folder_mime = _mime([adapter]), _mime([folder])
    event = _enter(adapter_mime)
    event.accept()
    zone.dragEnterEvent(event)
    assert not event.isAccepted()  # left for the window
    event = _enter(adapter_mime)
    window.dragEnterEvent(event)
    assert event.isAccepted()

    event = _enter(folder_mime)
    zone.dragEnterEvent(event)
    assert event.isAccepted()
    event = _enter(folder_mime)
    event.accept()
    window.dragEnterEvent(event)
    assert not event.isAccepted()  # the window itself takes only adapter files

    opened: list[Path] = []
    window.open_adapter_in_demo = opened.append
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        adapter_mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    zone.dropEvent(drop)
    assert not drop.isAccepted() and opened == []
    window.dropEvent(drop)
    assert drop.isAccepted() and opened == [adapter]
    assert window.close()
