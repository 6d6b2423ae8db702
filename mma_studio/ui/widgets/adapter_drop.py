"""Dropping an adapter file anywhere on the window opens it in the Demo page.

Its own module (not the Demo page's) so the main window can take drops before the Demo page
is built: that page is built just after the first frame, to keep start-up short.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal

ADAPTER_SUFFIX = ".safetensors"


def is_adapter_path(path: Path) -> bool:
    return path.suffix.lower() == ADAPTER_SUFFIX and not path.is_dir()


def local_paths(mime) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class AdapterDropFilter(QObject):
    """An event filter that takes drops of one adapter file away from whatever widget is under
    the cursor (the Data page's drop zone would otherwise refuse it) and reports the path."""

    adapterDropped = Signal(object)  # Path

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            paths = local_paths(event.mimeData())
            if len(paths) == 1 and is_adapter_path(paths[0]):
                event.acceptProposedAction()
                if kind == QEvent.Type.Drop:
                    self.adapterDropped.emit(paths[0])
                return True
        return False
