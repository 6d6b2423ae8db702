"""Issue 7, item 1 at engine level: every bad input is used correctly or skipped with a reason.

The corpus and its expected outcomes come from `tests.image_factory.write_bad_input_corpus`,
the same oracle the CLI and app tests use.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mma_studio.core.dataset import scan_dataset
from mma_studio.core.images import load_rgb_image
from mma_studio.core.split import make_split
from tests.image_factory import make_class_dataset, make_image, write_bad_input_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_bad_input_corpus(tmp_path_factory.mktemp("bad") / "dataset")


@pytest.fixture(scope="module")
def scan(corpus):
    return scan_dataset(corpus.root)


def _near(actual, expected, tolerance=12):
    return all(abs(int(a) - int(e)) <= tolerance for a, e in zip(actual, expected))


def test_corpus_scans_to_the_expected_classes_and_counts(corpus, scan):
    assert {c.name: len(c.images) for c in scan.classes} == corpus.expected_counts()
    assert "broken files" in scan.class_names and len(scan.class_by_name("broken files").images) == 1
    assert scan.empty_folders == [corpus.empty_class]
    assert any("'empty class'" in w and "left out" in w for w in scan.warnings)
    assert corpus.hidden_class.name not in scan.class_names and "__MACOSX" not in scan.class_names


def test_every_used_file_is_listed_in_its_class(corpus, scan):
    used = {p for c in scan.classes for p in c.images}
    for entry in corpus.by_expectation("used"):
        assert entry.path in used, entry.what
    assert len(used) == len(corpus.by_expectation("used"))


def test_every_unusable_file_is_skipped_with_its_reason(corpus, scan):
    reasons = {s.path: s.reason for s in scan.skipped}
    for entry in corpus.by_expectation("skipped"):
        assert entry.path in reasons, f"{entry.what} was not reported"
        assert reasons[entry.path].strip(), entry.what
        if entry.reason_hint:
            assert entry.reason_hint in reasons[entry.path].lower(), (entry.what, reasons[entry.path])
    assert set(reasons) == {e.path for e in corpus.by_expectation("skipped")}  # nothing else


def test_junk_and_hidden_files_are_ignored_silently(corpus, scan):
    mentioned = {p for c in scan.classes for p in c.images} | {s.path for s in scan.skipped}
    for entry in corpus.by_expectation("ignored"):
        assert entry.path not in mentioned, entry.what
    assert not any("Thumbs" in w or "DS_Store" in w for w in scan.warnings)


def test_symlink_cases_were_exercised(corpus):
    if not corpus.symlinks:
        pytest.skip("this file system does not allow symlinks")
    whats = {e.what for e in corpus.entries}
    assert {"symlink loop to a parent folder", "symlink pointing to itself", "dangling symlink"} <= whats


def test_every_used_image_decodes_to_rgb(scan):
    for folder in scan.classes:
        for path in folder.images:
            image = load_rgb_image(path)
            assert image.mode == "RGB" and image.width >= 1 and image.height >= 1, path


def test_exif_rotated_jpeg_comes_out_upright(corpus):
    image = load_rgb_image(corpus.exif_path)
    assert image.size == corpus.exif.size  # portrait, although stored landscape
    with Image.open(corpus.exif_path) as raw:
        assert raw.size == corpus.exif.size[::-1]
    pixels = np.asarray(image, dtype=np.float64)
    height = pixels.shape[0]
    top = pixels[: height // 2 - 2].reshape(-1, 3).mean(axis=0)
    bottom = pixels[height // 2 + 2 :].reshape(-1, 3).mean(axis=0)
    assert _near(top, corpus.exif.top, 20) and _near(bottom, corpus.exif.bottom, 20)


@pytest.mark.parametrize(
    ("name", "left", "right"),
    [
        ("cmyk.jpg", (200, 40, 40), (200, 40, 40)),
        ("sixteen_bit.png", (90, 90, 90), (90, 90, 90)),  # scaled from 16 bits, not clipped white
        ("palette_transparency.png", (40, 90, 200), (255, 255, 255)),  # transparent -> white
        ("grey_alpha.png", (177, 177, 177), (177, 177, 177)),  # grey 100 at alpha 128 over white
        ("rgba.png", (255, 255, 255), (255, 255, 255)),  # fully transparent -> white
        ("animated.gif", (200, 0, 0), (200, 0, 0)),  # first frame
        ("multipage.tif", (0, 150, 150), (0, 150, 150)),  # first page
        ("image.webp", (200, 40, 40), (200, 40, 40)),
    ],
)
def test_odd_formats_decode_to_the_right_colours(corpus, name, left, right):
    image = load_rgb_image(corpus.root / "usable formats" / name)
    assert _near(image.getpixel((2, 16)), left), image.getpixel((2, 16))
    assert _near(image.getpixel((29, 16)), right), image.getpixel((29, 16))


def test_lowered_bomb_limit_skips_oversized_images_on_every_thread(tmp_path, monkeypatch):
    """Between the limit and twice it Pillow only warns; both ranges must be refused, also
    when validation runs on several threads at once."""
    make_class_dataset(tmp_path, {"big": 12, "small": 12}, size=(64, 64))
    for i in range(12):
        make_image(tmp_path / "small" / f"img_{i:03d}.png", size=(16, 16))
    for limit in (3000, 1000):  # 64*64 = 4096: warning range, then error range
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        scan = scan_dataset(tmp_path)
        assert scan.class_names == ["small"]
        assert len(scan.skipped) == 12
        assert all("too large" in s.reason for s in scan.skipped)


def test_corpus_can_be_split_and_listed_without_decoding(corpus):
    listed = scan_dataset(corpus.root, validate=False)
    assert not listed.validated
    # Listing cannot know that files are broken: extension-valid files count until decoded.
    assert listed.image_count > scan_dataset(corpus.root).image_count
    split = make_split(scan_dataset(corpus.root), shots=1, val_per_class=0, base_classes=["broken files", "looping"])
    assert len(split.train) == 2 and len(split.test_new) == 19


def test_a_single_class_dataset_scans_and_splits(tmp_path):
    make_class_dataset(tmp_path, {"only one": 5})
    scan = scan_dataset(tmp_path)
    assert any("Only one class" in w for w in scan.warnings)
    split = make_split(scan, shots=2, val_per_class=1)
    assert split.base_names == ["only one"] and split.new == [] and len(split.test_base) == 2
