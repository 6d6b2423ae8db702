"""Small square previews of image files, decoded off the GUI thread and cached.

A class table with thousands of images must scroll smoothly, so a view asks `thumbnail()`
while painting: a cached pixmap comes back at once, otherwise `None` and the file is queued
for a worker of a `QThreadPool`. `QImageReader` decodes straight to the small size (JPEG
decoders scale while decoding), and `thumbnailReady(path)` tells the view to repaint.
Files Qt cannot read but the engine uses (a PNG with a bad IDAT checksum, a name that is
not valid UTF-8) are decoded the engine's way instead, so every usable image has a preview.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap


def read_square_thumbnail(path: str, size: int) -> QImage:
    """Decode `path` scaled and centre-cropped to `size` x `size`; a null image if unreadable.

    Qt decodes first (it scales while decoding); when it cannot, the engine's decoder
    (`load_rgb_image`) is asked, so the preview exists exactly when the engine uses the file.
    Safe in any thread (QImage, unlike QPixmap, is not tied to the GUI thread).
    """
    path = str(path)
    if not os.path.isfile(path):  # a FIFO or a device would block a pool thread forever
        return QImage()
    if not _qt_can_name(path):
        return _engine_thumbnail(path, size)  # Qt would open a truncated (other) name
    image = _qt_thumbnail(path, size)
    return image if not image.isNull() else _engine_thumbnail(path, size)


def _qt_can_name(path: str) -> bool:
    """PySide passes a str to Qt as UTF-8; a name holding undecodable bytes (surrogate escapes)
    does not survive that, and Qt would be given a shorter, different path."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _qt_thumbnail(path: str, size: int) -> QImage:
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
    image = image.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatioByExpanding, Qt.TransformationMode.SmoothTransformation
    )
    x = (image.width() - size) // 2
    y = (image.height() - size) // 2
    return image.copy(QRect(x, y, size, size))


def _engine_thumbnail(path: str, size: int) -> QImage:
    """The engine's decoding (RGB, EXIF-upright, transparency on white), scaled and cropped."""
    from mma_studio.core.images import load_rgb_image

    try:
        picture = load_rgb_image(path)
    except Exception:  # noqa: BLE001 - UnusableImageError, or anything: never take the pool thread down
        return QImage()
    from PIL import Image

    scale = size / max(1, min(picture.width, picture.height))
    width, height = max(size, round(picture.width * scale)), max(size, round(picture.height * scale))
    picture = picture.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
    left, top = (width - size) // 2, (height - size) // 2
    picture = picture.crop((left, top, left + size, top + size))
    data = picture.tobytes("raw", "RGB")
    # QImage does not copy the buffer it is given: copy() before `data` goes away.
    return QImage(data, size, size, 3 * size, QImage.Format.Format_RGB888).copy()


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
        self._signals.loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)

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
