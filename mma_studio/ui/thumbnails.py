"""Small square previews of image files, decoded off the GUI thread and cached.

A class table with thousands of images must scroll smoothly, so a view asks `thumbnail()`
while painting: a cached pixmap comes back at once, otherwise `None` and the file is queued
for a worker of a `QThreadPool`. `QImageReader` decodes straight to the small size (JPEG
decoders scale while decoding), and `thumbnailReady(path)` tells the view to repaint.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap


def read_square_thumbnail(path: str, size: int) -> QImage:
    """Decode `path` scaled and centre-cropped to `size` x `size`; a null image if unreadable.

    Safe in any thread (QImage, unlike QPixmap, is not tied to the GUI thread).
    """
    reader = QImageReader(path)
    reader.setAutoTransform(True)  # honour EXIF orientation like the engine does
    original = reader.size()
    if original.isValid() and original.width() > 0 and original.height() > 0:
        scale = size / min(original.width(), original.height())
        if scale < 1.0:
            reader.setScaledSize(
                QSize(max(1, round(original.width() * scale)), max(1, round(original.height() * scale)))
            )
    image = reader.read()
    if image.isNull():
        return QImage()
    image = image.scaled(size, size, Qt.KeepAspectRatioByExpanding, Qt.SmoothTransformation)
    x = (image.width() - size) // 2
    y = (image.height() - size) // 2
    return image.copy(QRect(x, y, size, size))


class _Signals(QObject):
    loaded = Signal(str, int, QImage)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)


class _ThumbnailJob(QRunnable):
    def __init__(self, path: str, size: int, signals: _Signals) -> None:
        super().__init__()
        self._path = path
        self._size = size
        self._signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        self._signals.loaded.emit(self._path, self._size, read_square_thumbnail(self._path, self._size))


class ThumbnailLoader(QObject):
    """Lazily loaded, least-recently-used cache of square thumbnails."""

    thumbnailReady = Signal(str)  # the path whose thumbnail is now cached (or known unreadable)

    def __init__(self, max_items: int = 800, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._cache: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._pending: set[tuple[str, int]] = set()
        self._max_items = max_items
        self._signals = _Signals(self)  # a child made after the pool: the pool's wait runs first
        self._signals.loaded.connect(self._on_loaded, Qt.QueuedConnection)

    def thumbnail(self, path: Path | str, size: int) -> QPixmap | None:
        """The cached thumbnail (a null pixmap if the file is unreadable), or None while loading."""
        key = (str(path), int(size))
        pixmap = self._cache.get(key)
        if pixmap is not None:
            self._cache.move_to_end(key)
            return pixmap
        if key not in self._pending:
            self._pending.add(key)
            self._pool.start(_ThumbnailJob(key[0], key[1], self._signals))
        return None

    def clear(self) -> None:
        self._pool.clear()  # drop queued jobs; running ones finish and land in the fresh cache
        self._cache.clear()
        self._pending.clear()

    def wait_for_idle(self, timeout_ms: int = 5000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    @property
    def cached_count(self) -> int:
        return len(self._cache)

    @Slot(str, int, QImage)
    def _on_loaded(self, path: str, size: int, image: QImage) -> None:
        key = (path, size)
        self._pending.discard(key)
        self._cache[key] = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        while len(self._cache) > self._max_items:
            self._cache.popitem(last=False)
        self.thumbnailReady.emit(path)
