"""Feature extraction with mma-tiny random weights: shapes, agreement with a one-image-at-a-time
reference, failures, cache hits and invalidation, cancellation (and SIGKILL), augmented views,
and class prompt features."""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mma_studio.core import feature_cache as feature_cache_module
from mma_studio.core.backbone import load_backbone
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.feature_cache import FeatureCache
from mma_studio.core.features import (
    AugmentedView,
    augmented_view_transform,
    encode_class_texts,
    extract_image_features,
)
from mma_studio.core.images import load_rgb_image
from tests.image_factory import make_class_dataset, make_image, write_truncated

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("mma-tiny", "random", device="cpu")


@pytest.fixture
def paths(tmp_path) -> list[Path]:
    written = make_class_dataset(tmp_path / "data", ["red", "green", "blue"], per_class=6, size=(40, 28), fmt="jpg")
    return [p for ps in written.values() for p in ps]


class CountingEncoder:
    """Wraps `backbone.encode_images` to count how many images reach the model."""

    def __init__(self, backbone, monkeypatch):
        self.images = 0
        self.calls = 0
        original = backbone.encode_images

        def counted(pixels):
            self.calls += 1
            self.images += len(pixels)
            return original(pixels)

        monkeypatch.setattr(backbone, "encode_images", counted)


def reference_features(backbone, paths, transform_for=None) -> torch.Tensor:
    """The obvious implementation: one image at a time, no batching, no workers, no cache."""
    rows = []
    for path in paths:
        transform = transform_for(path) if transform_for else backbone.preprocess
        pixels = transform(backbone.load_image(path)).unsqueeze(0)
        rows.append(backbone.encode_images(pixels)[0])
    return torch.stack(rows)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_batched_extraction_matches_one_image_at_a_time(backbone, paths, num_workers):
    result = extract_image_features(backbone, paths, batch_size=4, num_workers=num_workers)
    assert result.features.shape == (len(paths), 64) and result.features.dtype == torch.float32
    torch.testing.assert_close(result.features.norm(dim=-1), torch.ones(len(paths)))
    assert result.kept == list(range(len(paths))) and result.failed == []
    assert result.from_cache == 0 and result.encoded == len(paths)
    torch.testing.assert_close(result.features, reference_features(backbone, paths), atol=2e-3, rtol=0)


def test_decode_workers_get_their_own_cores(backbone, paths, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    torch.set_num_threads(2)
    seen = []
    original = backbone.encode_images
    monkeypatch.setattr(
        backbone, "encode_images", lambda pixels: seen.append(torch.get_num_threads()) or original(pixels)
    )
    try:
        extract_image_features(backbone, paths, batch_size=6, num_workers=1)
        assert seen == [1, 1, 1]  # 2 cores - 1 decode worker
        assert torch.get_num_threads() == 2  # restored afterwards
        extract_image_features(backbone, paths, batch_size=6, num_workers=0)
        assert seen[3:] == [2, 2, 2]
    finally:
        torch.set_num_threads(1)


def test_unusable_images_are_reported_not_raised(backbone, paths, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    truncated = write_truncated(tmp_path / "cut.png")
    missing = tmp_path / "gone.png"
    mixed = [paths[0], text, paths[1], truncated, missing, paths[2]]
    result = extract_image_features(backbone, mixed, batch_size=2, num_workers=0)
    assert result.kept == [0, 2, 5]
    assert [p for p, _ in result.failed] == [text, truncated, missing]
    reasons = [r for _, r in result.failed]
    assert "not an image" in reasons[0] and "truncated" in reasons[1] and "cannot read" in reasons[2]
    torch.testing.assert_close(
        result.features, reference_features(backbone, [paths[0], paths[1], paths[2]]), atol=2e-3, rtol=0
    )
    # a batch made only of broken files is fine too
    assert extract_image_features(backbone, [text, missing], num_workers=0).features.shape == (0, 64)
    assert extract_image_features(backbone, []).features.shape == (0, 64)


def test_second_run_is_served_from_cache_without_the_model(backbone, paths, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    counter = CountingEncoder(backbone, monkeypatch)
    cold = extract_image_features(backbone, paths, cache=cache, batch_size=5, num_workers=0)
    assert counter.images == len(paths) and cold.from_cache == 0
    warm = extract_image_features(backbone, paths, cache=cache, batch_size=5, num_workers=0)
    assert counter.images == len(paths), "cached images went through the model again"
    assert warm.from_cache == len(paths) and warm.encoded == 0
    assert torch.equal(warm.features, cold.features)  # bit-identical, so training is reproducible
    # only the new images of a grown dataset are encoded
    extra = [make_image(tmp_path / "more" / f"{i}.png", color=(i, 200, 30), noise=5, seed=i) for i in range(3)]
    grown = extract_image_features(backbone, paths + extra, cache=cache, num_workers=0)
    assert counter.images == len(paths) + 3 and grown.from_cache == len(paths) and grown.encoded == 3


def test_changed_files_are_encoded_again(backbone, paths, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    before = extract_image_features(backbone, paths, cache=cache, num_workers=0)
    counter = CountingEncoder(backbone, monkeypatch)
    make_image(paths[4], size=(40, 28), color=(250, 250, 0))  # rewritten in place
    stat = paths[7].stat()
    os.utime(paths[7], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000))  # only touched
    after = extract_image_features(backbone, paths, cache=cache, num_workers=0)
    assert counter.images == 2 and after.from_cache == len(paths) - 2
    assert not torch.allclose(after.features[4], before.features[4], atol=1e-2)
    torch.testing.assert_close(after.features[4], reference_features(backbone, [paths[4]])[0], atol=2e-3, rtol=0)


def test_other_weights_preprocessing_or_view_never_reuse_entries(backbone, paths, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    extract_image_features(backbone, paths, cache=cache, num_workers=0)
    other_weights = load_backbone("mma-tiny", "random:1")
    assert extract_image_features(other_weights, paths, cache=cache, num_workers=0).from_cache == 0
    other_preprocess = dataclasses.replace(backbone, preprocess_id=backbone.preprocess_id + "-squash")
    assert extract_image_features(other_preprocess, paths, cache=cache, num_workers=0).from_cache == 0
    assert extract_image_features(backbone, paths, cache=cache, view=1, num_workers=0).from_cache == 0
    assert extract_image_features(backbone, paths, cache=cache, num_workers=0).from_cache == len(paths)


def test_a_corrupted_shard_is_recomputed_not_trusted(backbone, paths, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    cold = extract_image_features(backbone, paths, cache=cache, num_workers=0)
    (shard,) = cache.root.rglob("shard-*.safetensors")
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0x7F  # one flipped bit pattern inside the float16 rows
    shard.write_bytes(bytes(data))
    counter = CountingEncoder(backbone, monkeypatch)
    with pytest.warns(RuntimeWarning, match="checksum mismatch"):
        again = extract_image_features(backbone, paths, cache=cache, num_workers=0)
    assert again.from_cache == 0 and counter.images == len(paths)
    assert torch.equal(again.features, cold.features)


def test_a_full_disk_does_not_lose_the_features(backbone, paths, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feature_cache_module.os, "fsync", disk_full)
    with pytest.warns(RuntimeWarning, match="not cached"):
        result = extract_image_features(backbone, paths, cache=cache, num_workers=0)
    assert result.features.shape == (len(paths), 64) and "No space left" in result.cache_error
    monkeypatch.undo()
    assert extract_image_features(backbone, paths, cache=cache, num_workers=0).from_cache == 0


def test_progress_reports_every_batch_with_rate_and_eta(backbone, paths, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    extract_image_features(backbone, paths[:5], cache=cache, num_workers=0)
    events = []
    extract_image_features(backbone, paths, cache=cache, batch_size=4, num_workers=0, on_progress=events.append)
    assert all(e.stage == "extract" and e.total == len(paths) for e in events)
    assert events[0].done == 5 and "cached" in events[0].message
    batches = events[1:]
    assert len(batches) == -(-(len(paths) - 5) // 4)
    assert [e.done for e in batches] == sorted(e.done for e in batches) and batches[-1].done == len(paths)
    assert all(e.rate > 0 and e.eta_s is not None and "images/s" in e.message for e in batches)
    assert batches[-1].eta_s == 0


def test_cancel_between_batches_keeps_what_was_encoded(backbone, paths, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    token = CancelToken()
    counter = CountingEncoder(backbone, monkeypatch)

    def cancel_after_two_batches(event):
        if event.done >= 8:
            token.cancel()

    with pytest.raises(Cancelled):
        extract_image_features(
            backbone, paths, cache=cache, batch_size=4, num_workers=1, on_progress=cancel_after_two_batches, token=token
        )
    assert counter.calls == 2
    resumed = extract_image_features(backbone, paths, cache=cache, num_workers=0)
    assert resumed.from_cache == 8 and resumed.encoded == len(paths) - 8
    with pytest.raises(Cancelled):
        extract_image_features(backbone, paths[:1], token=token)  # already cancelled: no work at all


def test_sigkill_during_extraction_leaves_only_verified_entries(backbone, tmp_path):
    data = make_class_dataset(tmp_path / "data", ["a", "b"], per_class=60, size=(24, 24), fmt="png")
    paths = [p for ps in data.values() for p in ps]
    list_file = tmp_path / "paths.txt"
    list_file.write_text("\n".join(map(str, paths)))
    child = textwrap.dedent(
        f"""
        import sys, time, torch
        torch.set_num_threads(1)
        from mma_studio.core import feature_cache, features
        feature_cache.SHARD_ROWS = features.SHARD_ROWS = 8  # flush often, so a kill lands mid-run
        from mma_studio.core.backbone import load_backbone
        paths = open({str(list_file)!r}).read().split("\\n")
        def report(event):
            print(event.done, flush=True)
            if event.done >= 40:
                time.sleep(60)  # wait, mid-run, for the SIGKILL (no race with a fast finish)
        features.extract_image_features(load_backbone("mma-tiny", "random"), paths, batch_size=4, num_workers=0,
                                        cache=feature_cache.FeatureCache({str(tmp_path / "cache")!r}),
                                        on_progress=report)
        print("finished", flush=True)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if line.strip() == "finished" or int(line) >= 40:
                break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    result = extract_image_features(backbone, paths, cache=FeatureCache(tmp_path / "cache"), num_workers=0)
    assert 0 < result.from_cache < len(paths)
    fresh = extract_image_features(backbone, paths, num_workers=0)
    assert torch.equal(result.features, fresh.features)


# --------------------------------------------------------------------------- augmented views


def test_augmented_views_are_reproducible_per_file_and_view(backbone, paths):
    image = load_rgb_image(paths[0])
    assert augmented_view_transform(backbone, 0, "any") is backbone.preprocess
    view1 = augmented_view_transform(backbone, 1, ("file-a", 10, 1))
    assert isinstance(view1, AugmentedView)
    same = augmented_view_transform(backbone, 1, ("file-a", 10, 1))(image)
    assert torch.equal(view1(image), same) and same.shape == (3, 32, 32)
    others = [
        augmented_view_transform(backbone, 2, ("file-a", 10, 1))(image),
        augmented_view_transform(backbone, 1, ("file-b", 10, 1))(image),
    ]
    assert all(not torch.equal(same, other) for other in others)
    assert not torch.equal(same, backbone.preprocess(image))
    with pytest.raises(ValueError):
        augmented_view_transform(backbone, -1, "x")


def test_augmented_view_extraction_is_cached_and_reproducible(backbone, paths, tmp_path):
    first = extract_image_features(
        backbone, paths, view=2, cache=FeatureCache(tmp_path / "c1"), num_workers=1, batch_size=4
    )
    # Same settings, fresh cache: the random crops are seeded per file, so the result is bit-identical.
    # (Other batch sizes or thread counts may round one float16 value differently; the reference
    # comparison below covers them with a tolerance.)
    second = extract_image_features(
        backbone, paths, view=2, cache=FeatureCache(tmp_path / "c2"), num_workers=1, batch_size=4
    )
    assert torch.equal(first.features, second.features)
    plain = extract_image_features(backbone, paths, num_workers=0)
    assert not torch.allclose(first.features, plain.features, atol=1e-4, rtol=0)
    from mma_studio.core.feature_cache import image_key

    reference = reference_features(backbone, paths, lambda p: augmented_view_transform(backbone, 2, image_key(p)))
    torch.testing.assert_close(first.features, reference, atol=2e-3, rtol=0)


# --------------------------------------------------------------------------- class prompts


def test_class_text_features_average_templates(backbone):
    names = ["red circle", "blue square", "green triangle"]
    templates = ["a photo of a {}.", "a drawing of a {}.", "{}"]
    got = encode_class_texts(backbone, names, templates)
    assert got.shape == (3, 64)
    per_prompt = backbone.encode_texts([t.replace("{}", n) for n in names for t in templates]).view(3, 3, 64)
    expected = F.normalize(F.normalize(per_prompt, dim=-1).mean(dim=1), dim=-1)
    torch.testing.assert_close(got, expected, atol=2e-3, rtol=0)
    single = encode_class_texts(backbone, names)
    torch.testing.assert_close(single, backbone.encode_texts([f"a photo of a {n}." for n in names]), atol=2e-3, rtol=0)
    with pytest.raises(ValueError, match="no '\\{\\}'"):
        encode_class_texts(backbone, names, ["a photo."])
    assert encode_class_texts(backbone, []).shape == (0, 64)


def test_class_text_features_are_cached(backbone, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    calls = []
    original = backbone.encode_texts
    monkeypatch.setattr(backbone, "encode_texts", lambda texts: calls.append(list(texts)) or original(texts))
    first = encode_class_texts(backbone, ["cat", "dog"], ["a photo of a {}.", "a {}."], cache=cache)
    assert len(calls) == 1 and len(calls[0]) == 4
    second = encode_class_texts(backbone, ["dog", "cat"], ["a photo of a {}.", "a {}."], cache=cache)
    assert len(calls) == 1
    assert torch.equal(second, first.flip(0))
    encode_class_texts(backbone, ["cat", "cow"], ["a photo of a {}."], cache=cache)
    assert calls[-1] == ["a photo of a cow."]
