"""Large JPEGs are decoded at reduced scale (libjpeg DCT scaling) where the model cannot use the
full resolution: the same picture to within a couple of grey levels, never smaller than asked,
upright, and used by every engine path alike (extraction, prediction, the export check)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mma_studio.core import backbone as backbone_module
from mma_studio.core.adapter_file import load_adapter_file
from mma_studio.core.backbone import DECODE_POLICY, load_backbone, preprocess_fingerprint
from mma_studio.core.dataset import scan_dataset
from mma_studio.core.export_check import verify_exported_adapter
from mma_studio.core.feature_cache import FeatureCache
from mma_studio.core.features import extract_image_features
from mma_studio.core.images import UnusableImageError, load_rgb_image
from mma_studio.core.pipeline import RunSettings, train_adapter
from mma_studio.core.predict import Classifier
from mma_studio.core.training import TrainConfig
from tests.image_factory import make_class_dataset, make_image


def write_photo(path: Path, size=(1600, 1200), orientation: int | None = None) -> Path:
    """A smooth, photo-like JPEG (gradients and a few shapes) of `size`, optionally with EXIF."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([255 * x / width, 255 * y / height, 128 + 100 * np.sin(x / 97.0) * np.cos(y / 61.0)], -1)
    pixels[height // 4 : height // 2, width // 5 : width // 3] = (240, 30, 30)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    if orientation is None:
        image.save(path, quality=92)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(path, quality=92, exif=exif.tobytes())
    return path


@pytest.fixture(scope="module")
def backbone():
    torch.set_num_threads(1)
    return load_backbone("mma-tiny", "random", device="cpu")


def test_a_large_jpeg_is_decoded_at_the_smallest_scale_that_keeps_min_side(tmp_path):
    photo = write_photo(tmp_path / "photo.jpg")
    assert load_rgb_image(photo).size == (1600, 1200)
    assert load_rgb_image(photo, min_side=448).size == (800, 600)  # 1/2: 1/4 would be 400 < 448
    assert load_rgb_image(photo, min_side=200).size == (400, 300)  # 1/4: 1/8 would be 150 < 200
    assert load_rgb_image(photo, min_side=64).size == (200, 150)  # 1/8, the smallest libjpeg offers
    assert load_rgb_image(photo, min_side=2000).size == (1600, 1200)  # never upscaled, never below


def test_reduced_decoding_is_the_same_picture_after_the_models_resize(tmp_path):
    photo = write_photo(tmp_path / "photo.jpg", size=(2400, 1800))
    full = load_rgb_image(photo).resize((299, 224), Image.Resampling.BICUBIC)
    reduced = load_rgb_image(photo, min_side=448).resize((299, 224), Image.Resampling.BICUBIC)
    difference = np.abs(np.asarray(full, dtype=float) - np.asarray(reduced, dtype=float))
    psnr = 10 * np.log10(255**2 / np.mean(difference**2))
    assert psnr > 40 and np.percentile(difference, 99) <= 4, (psnr, difference.max())


def test_other_formats_and_small_jpegs_are_decoded_whole(tmp_path):
    png = make_image(tmp_path / "big.png", size=(1000, 800))
    assert load_rgb_image(png, min_side=64).size == (1000, 800)
    small = make_image(tmp_path / "small.jpg", size=(100, 80))
    assert load_rgb_image(small, min_side=64).size == (100, 80)


def test_exif_orientation_is_applied_after_reduced_decoding(tmp_path):
    photo = write_photo(tmp_path / "sideways.jpg", orientation=6)  # stored landscape, shown portrait
    assert load_rgb_image(photo).size == (1200, 1600)
    assert load_rgb_image(photo, min_side=300).size == (300, 400)


def test_a_damaged_large_jpeg_fails_at_any_scale(tmp_path):
    data = write_photo(tmp_path / "photo.jpg").read_bytes()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(data[: len(data) // 2])
    for min_side in (None, 1, 448):
        with pytest.raises(UnusableImageError, match="truncated"):
            load_rgb_image(broken, min_side=min_side)


def test_the_backbone_decodes_at_twice_its_input_side_and_says_so_in_its_fingerprint(backbone, tmp_path):
    side = backbone.preprocess_cfg["size"]
    side = max(side) if isinstance(side, (list, tuple)) else side
    assert backbone.decode_min_side == 2 * side
    photo = write_photo(tmp_path / "photo.jpg")
    assert min(backbone.load_image(photo).size) == 150 >= backbone.decode_min_side  # 1/8 of 1600x1200
    # The decode policy is part of the preprocessing id, so caches made by a full decode are not reused.
    assert preprocess_fingerprint(backbone.preprocess_cfg) == backbone.preprocess_id
    monkeypatched = pytest.MonkeyPatch()
    try:
        monkeypatched.setattr(backbone_module, "DECODE_POLICY", "full-decode")
        assert preprocess_fingerprint(backbone.preprocess_cfg) != backbone.preprocess_id
    finally:
        monkeypatched.undo()
    assert DECODE_POLICY.startswith("jpeg-dct-scaled")


def test_extraction_prediction_and_the_export_check_decode_a_file_the_same_way(backbone, tmp_path, monkeypatch):
    photo = write_photo(tmp_path / "photo.jpg")
    extracted = extract_image_features(backbone, [photo], cache=FeatureCache(tmp_path / "cache")).features[0]
    direct = backbone.encode_images(backbone.preprocess(backbone.load_image(photo)).unsqueeze(0))[0]
    assert torch.allclose(extracted, torch.nn.functional.normalize(direct.half().float(), dim=-1), atol=1e-6)

    make_class_dataset(tmp_path / "data", ["ant", "bee", "cat"], per_class=6)
    settings = RunSettings(
        model="mma-tiny", pretrained="random", device="cpu", shots=2, val_per_class=1, training=TrainConfig(epochs=2)
    )
    run = train_adapter(
        scan_dataset(tmp_path / "data"), settings, backbone=backbone, cache=FeatureCache(tmp_path / "cache")
    )
    adapter = run.save(tmp_path / "adapter.safetensors")
    decoded: list[Path] = []
    load_image = backbone.load_image
    monkeypatch.setattr(backbone, "load_image", lambda path: decoded.append(Path(path)) or load_image(path))

    classifier = Classifier(backbone, load_adapter_file(adapter))
    by_path = classifier.classify_paths([photo], top_k=3)[0]
    by_image = classifier.classify_images([load_image(photo)], top_k=3)[0]
    assert (by_path.labels, by_path.probabilities) == (by_image.labels, by_image.probabilities)
    assert verify_exported_adapter(adapter, run, backbone, [photo]).ok
    assert decoded == [photo, photo]  # classify_paths, then the export check
