"""Memory bounds of every image decode (issue 11, items 2 and 3).

A strip like 300000 x 1 (957 bytes on disk) used to pass the scan and then cost 1.6 GiB in
the "resize the shortest side" preprocessing; a 16-bit PNG cost three full-size float64
copies. Both are bounded in `core.images.load_rgb_image`, which every decode path uses:
these tests check the refusal on each path, and the bounds themselves, without allocating
anything large.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from PIL import Image

from mma_studio.core.dataset import scan_dataset
from mma_studio.core.images import (
    MAX_ASPECT_RATIO,
    UnusableImageError,
    load_rgb_image,
    resized_pixels,
)
from tests.image_factory import make_class_dataset


def thin_png(path, width=300_000, height=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (200, 30, 30)).save(path)
    return path


@pytest.fixture(scope="module")
def backbone():
    from mma_studio.core.backbone import load_backbone

    torch.set_num_threads(1)
    return load_backbone("mma-tiny", "random", device="cpu")


def test_a_thin_strip_is_refused_from_its_header_with_the_reason_and_the_file(tmp_path, monkeypatch):
    path = thin_png(tmp_path / "strip.png")
    assert path.stat().st_size < 2000
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self, *a: decoded.append(self) or None)
    with pytest.raises(UnusableImageError) as caught:
        load_rgb_image(path)
    assert not decoded  # refused before any pixel was decoded
    assert "300000x1" in caught.value.reason and "too thin" in caught.value.reason
    assert str(path) in str(caught.value)


def test_a_thin_strip_is_skipped_by_the_scan_and_by_extraction_and_prediction(tmp_path, backbone):
    from mma_studio.core.features import extract_image_features

    root = tmp_path / "data"
    make_class_dataset(root, ["ant", "bee"], per_class=2)
    strip = thin_png(root / "ant" / "strip.png")
    tall = thin_png(root / "bee" / "tall.png", width=1, height=5000)
    scan = scan_dataset(root)
    reasons = {s.path.name: s.reason for s in scan.skipped}
    assert "too thin" in reasons["strip.png"] and "too thin" in reasons["tall.png"]
    assert strip not in scan.classes[0].images

    result = extract_image_features(backbone, [strip, scan.classes[0].images[0]], num_workers=0)
    assert result.kept == [1] and "too thin" in result.failed[0][1]
    with pytest.raises(UnusableImageError, match="too thin"):
        backbone.load_image(tall)  # what prediction, the export check and the Demo call


def test_accepted_shapes_stay_within_the_documented_bound_after_the_models_resize(tmp_path, backbone):
    side = backbone.preprocess_cfg.get("size", 224)
    side = side if isinstance(side, int) else max(side)
    limit = MAX_ASPECT_RATIO * side * side
    widest = thin_png(tmp_path / "panorama.png", width=MAX_ASPECT_RATIO * 3, height=3)
    image = backbone.load_image(widest)  # at the limit: accepted
    resize = backbone.preprocess.transforms[0]
    resized = resize(image)
    assert resized.width * resized.height <= limit
    assert resized_pixels(*image.size, side) == resized.width * resized.height
    assert resized_pixels(300_000, 1, side) > 1000 * limit  # what the refusal spares
    with pytest.raises(UnusableImageError):
        load_rgb_image(thin_png(tmp_path / "just-over.png", width=MAX_ASPECT_RATIO * 3 + 1, height=3))


def test_sixteen_bit_images_convert_without_full_size_float_copies(tmp_path):
    size = 2000
    values = (np.arange(size * size, dtype=np.uint32) * 37 % 65536).astype(np.uint16).reshape(size, size)
    values[0, :4] = (0, 257, 65535, 257 * 100)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as raw:
        assert raw.mode.startswith("I;16")
    tracemalloc.start()
    try:
        image = load_rgb_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    pixels = size * size
    assert peak < 3 * pixels, (
        f"numpy peak {peak / 2**20:.1f} MiB for a {size}x{size} 16-bit image"
    )  # was 3 x 8 bytes/pixel
    assert image.mode == "RGB" and image.size == (size, size)
    first = np.asarray(image)[0, :4, 0].tolist()
    assert first == [0, 1, 255, 100]  # scaled to 8 bits (v // 257), not clipped to white
    assert np.array_equal(np.asarray(image)[..., 0], (values // 257).astype(np.uint8))


def test_eight_bit_values_in_a_sixteen_bit_file_are_kept_as_they_are(tmp_path):
    values = np.array([[0, 17, 255]], dtype=np.uint16)
    path = tmp_path / "shallow.png"
    Image.fromarray(values).save(path)
    assert np.asarray(load_rgb_image(path))[0, :, 1].tolist() == [0, 17, 255]
