"""Thumbnails of files Qt cannot read but the engine uses: a PNG with a bad pixel-data
checksum, and names that are not valid UTF-8 (PySide drops such characters, so Qt would open
a different file). They are decoded the engine's way; files nobody can use stay blank."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage, QImageReader

from mma_studio.core.images import load_rgb_image
from mma_studio.ui.widgets.thumbnails import ThumbnailLoader, _engine_thumbnail, _qt_thumbnail, read_square_thumbnail
from tests.image_factory import (
    make_image,
    write_exif_rotated_jpeg,
    write_palette_png_with_transparency,
    write_png_with_bad_crc,
    write_truncated,
)

GREEN = (30, 160, 90)  # the colour write_png_with_bad_crc paints


def mean_rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = [np.frombuffer(bytes(image.constScanLine(y))[: 3 * image.width()], np.uint8) for y in range(image.height())]
    return np.stack(rows).reshape(image.height(), image.width(), 3).mean(axis=(0, 1))


def odd_name(folder: Path, raw: bytes) -> Path:
    """A path whose file name holds bytes that are not UTF-8 (a surrogate-escaped str)."""
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + raw))


def test_a_png_with_a_bad_idat_checksum_has_the_engines_pixels(tmp_path):
    path = write_png_with_bad_crc(tmp_path / "bad_idat.png", b"IDAT")
    assert QImageReader(str(path)).read().isNull()  # Qt (libpng) refuses it ...
    assert load_rgb_image(path).size == (16, 16)  # ... the engine trains on it
    thumbnail = read_square_thumbnail(str(path), 12)
    assert (thumbnail.width(), thumbnail.height()) == (12, 12)
    assert np.abs(mean_rgb(thumbnail) - GREEN).max() < 2


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that stores arbitrary bytes")
def test_a_name_that_is_not_utf8_shows_that_file_not_the_one_qt_would_open(tmp_path):
    real = make_image(odd_name(tmp_path, b"img\xff.png"), (40, 30), (20, 200, 40))
    decoy = make_image(tmp_path / "img.png", (40, 30), (220, 30, 30))  # the name PySide hands Qt
    assert QImageReader(str(real)).fileName() == str(decoy)
    thumbnail = read_square_thumbnail(str(real), 16)
    assert np.abs(mean_rgb(thumbnail) - (20, 200, 40)).max() < 3

    folder = odd_name(tmp_path, b"caf\xe9")  # an odd folder name, the file's own name plain
    inside = make_image(folder / "a.jpg", (24, 24), (40, 60, 220), quality=95)
    assert np.abs(mean_rgb(read_square_thumbnail(str(inside), 16)) - (40, 60, 220)).max() < 8


def test_the_engine_route_crops_scales_and_turns_like_the_qt_route(tmp_path):
    wide = make_image(tmp_path / "wide.png", (90, 30), (10, 20, 30))
    wide_image = load_rgb_image(wide)
    wide_image.paste((250, 250, 250), (0, 0, 30, 30))  # a white left third: cropped away by both
    wide_image.save(wide)
    by_qt, by_engine = _qt_thumbnail(str(wide), 20), _engine_thumbnail(str(wide), 20)
    assert (by_engine.width(), by_engine.height()) == (20, 20)
    assert np.abs(mean_rgb(by_engine) - mean_rgb(by_qt)).max() < 2

    expectation = write_exif_rotated_jpeg(tmp_path / "rotated.jpg")
    upright = _engine_thumbnail(str(tmp_path / "rotated.jpg"), 24)
    top, bottom = upright.pixelColor(12, 2), upright.pixelColor(12, 21)
    assert abs(top.red() - expectation.top[0]) < 40 and abs(bottom.blue() - expectation.bottom[2]) < 40

    transparent = write_palette_png_with_transparency(tmp_path / "palette.png")
    right = _engine_thumbnail(str(transparent), 32).pixelColor(28, 16)
    assert (right.red(), right.green(), right.blue()) == (255, 255, 255)  # on white, as the engine sees it

    tiny = make_image(tmp_path / "tiny.png", (1, 1), (90, 10, 10))
    assert np.abs(mean_rgb(_engine_thumbnail(str(tiny), 8)) - (90, 10, 10)).max() < 1


def test_files_nobody_can_use_stay_blank_without_an_error(tmp_path):
    text = tmp_path / "page.png"
    text.write_text("<html>not an image</html>")
    unusable = [
        str(text),
        str(write_truncated(tmp_path / "cut.jpg", keep=0.05)),
        str(write_png_with_bad_crc(tmp_path / "bad_header.png", b"IHDR")),
        str(tmp_path / "missing.jpg"),
        str(tmp_path),  # a folder
    ]
    if sys.platform == "linux":
        os.mkfifo(tmp_path / "pipe.png")  # opening it would wait for a writer forever
        unusable.append(str(tmp_path / "pipe.png"))
    for path in unusable:
        assert read_square_thumbnail(path, 16).isNull(), path


def test_the_loader_caches_an_engine_decoded_thumbnail(qtbot, tmp_path):
    path = str(write_png_with_bad_crc(tmp_path / "bad_idat.png", b"IDAT"))
    loader = ThumbnailLoader(threads=1)
    with qtbot.waitSignal(loader.thumbnailReady, timeout=10_000):
        assert loader.thumbnail(path, 16) is None
    pixmap = loader.thumbnail(path, 16)
    assert pixmap is not None and not pixmap.isNull() and pixmap.width() == 16
    assert loader.wait_for_idle(5000)
