"""The feature cache on its own: keys, sharding, compaction, verification and failed writes.

A stand-in backbone (just the three fingerprints the cache keys on) keeps these tests free of
any model; tests/test_features.py covers the cache together with real extraction.
"""

from __future__ import annotations

import errno
import os
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save as save_safetensors

from mma_studio.core import feature_cache as feature_cache_module
from mma_studio.core.feature_cache import (
    MAX_SMALL_SHARDS,
    SHARD_ROWS,
    FeatureCache,
    FeatureCacheError,
    image_key,
)
from tests.image_factory import make_image

DIM = 8


def fake_backbone(weights_id="w1", model_name="mma-tiny", preprocess_id="pp1"):
    return SimpleNamespace(weights_id=weights_id, model_name=model_name, preprocess_id=preprocess_id)


def unit_rows(n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, DIM, generator=generator), dim=-1)


@pytest.fixture
def images(tmp_path) -> list[Path]:
    return [make_image(tmp_path / "img" / f"{i}.png", color=(10 * i, 50, 90)) for i in range(6)]


def shard_files(cache: FeatureCache) -> list[Path]:
    return sorted(cache.root.rglob("shard-*.safetensors"))


def test_round_trip_returns_float16_rounded_rows(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    backbone = fake_backbone()
    rows = unit_rows(len(images))
    assert cache.get_many(backbone, images) == {}
    cache.put_many(backbone, images, rows)
    found = cache.get_many(backbone, images)
    assert sorted(found) == list(range(len(images)))
    for index, row in found.items():
        assert row.dtype == torch.float32
        assert torch.equal(row, rows[index].half().float())
    # order and duplicates in the query do not matter
    again = cache.get_many(backbone, [images[3], images[0], images[3]])
    assert torch.equal(again[0], again[2]) and torch.equal(again[0], found[3]) and torch.equal(again[1], found[0])


def test_keys_include_model_weights_preprocess_and_view(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    cache.put_many(fake_backbone(), images, unit_rows(len(images)))
    assert len(cache.get_many(fake_backbone(), images)) == len(images)
    assert cache.get_many(fake_backbone(weights_id="w2"), images) == {}
    assert cache.get_many(fake_backbone(model_name="ViT-B-16"), images) == {}
    assert cache.get_many(fake_backbone(preprocess_id="pp2"), images) == {}
    assert cache.get_many(fake_backbone(), images, view=1) == {}


def test_a_changed_file_never_hits(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    backbone = fake_backbone()
    cache.put_many(backbone, images, unit_rows(len(images)))
    stat = images[1].stat()
    os.utime(images[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched
    make_image(images[2], color=(1, 2, 3), size=(33, 32))  # rewritten with a new size
    found = cache.get_many(backbone, images)
    assert sorted(found) == [0, 3, 4, 5]
    assert cache.get_many(backbone, [tmp_path / "missing.png"]) == {}


def test_rows_are_sharded_not_one_file_per_image(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    namespace = cache.image_namespace(fake_backbone())
    n = 2 * SHARD_ROWS + 500
    keys = [(f"/data/img_{i}.jpg", 1000 + i, 7) for i in range(n)]
    rows = unit_rows(n)
    cache.store(namespace, keys, rows)
    assert len(shard_files(cache)) == 3
    found = cache.lookup(namespace, keys)
    assert len(found) == n
    assert torch.equal(torch.stack([found[i] for i in range(n)]), rows.half().float())


def test_many_small_writes_are_merged_without_losing_rows(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    namespace = cache.image_namespace(fake_backbone())
    all_keys, all_rows = [], []
    for batch in range(MAX_SMALL_SHARDS + 4):
        keys = [(f"/data/{batch}_{i}.jpg", 10, 1) for i in range(10)]
        rows = unit_rows(10, seed=batch)
        cache.store(namespace, keys, rows)
        all_keys += keys
        all_rows.append(rows)
        assert len(shard_files(cache)) <= MAX_SMALL_SHARDS + 1
    found = cache.lookup(namespace, all_keys)
    assert torch.equal(torch.stack([found[i] for i in range(len(all_keys))]), torch.cat(all_rows).half().float())


def test_merging_drops_rows_of_files_that_changed_since(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    namespace = cache.image_namespace(fake_backbone())
    old_key, new_key = ("/data/a.jpg", 10, 1), ("/data/a.jpg", 12, 2)
    cache.store(namespace, [old_key], unit_rows(1, seed=1))
    cache.store(namespace, [new_key], unit_rows(1, seed=2))
    for i in range(MAX_SMALL_SHARDS - 1):  # the (MAX_SMALL_SHARDS + 1)-th small shard triggers a merge
        cache.store(namespace, [(f"/data/other{i}.jpg", 1, 1)], unit_rows(1, seed=10 + i))
    assert len(shard_files(cache)) == 1
    assert cache.lookup(namespace, [old_key]) == {}
    assert torch.equal(cache.lookup(namespace, [new_key])[0], unit_rows(1, seed=2)[0].half().float())


def _corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip a feature byte":
        data[-3] ^= 0x40
    elif how == "truncate":
        data = data[: len(data) - 37]
    elif how == "garbage header":
        data[8:40] = b"#" * 32
    elif how == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip a feature byte", "truncate", "garbage header", "empty"])
def test_a_damaged_shard_is_never_read_and_is_removed(tmp_path, images, how):
    cache = FeatureCache(tmp_path / "cache")
    backbone = fake_backbone()
    cache.put_many(backbone, images, unit_rows(len(images)))
    (shard,) = shard_files(cache)
    _corrupt(shard, how)
    with pytest.warns(RuntimeWarning, match="damaged feature-cache shard"):
        assert cache.get_many(backbone, images) == {}
    assert not shard.exists()
    # and the cache keeps working afterwards
    cache.put_many(backbone, images, unit_rows(len(images), seed=5))
    assert len(cache.get_many(backbone, images)) == len(images)


def test_a_shard_whose_rows_do_not_match_its_keys_is_rejected(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    namespace = cache.image_namespace(fake_backbone())
    namespace.mkdir(parents=True)
    rows = unit_rows(2).half()
    forged = save_safetensors(
        {"features": rows},
        metadata={
            "format": "1",
            "keys": '[["/a.jpg", 1, 1], ["/b.jpg", 1, 1], ["/c.jpg", 1, 1]]',
            "sha256": feature_cache_module._tensor_sha256(rows),
        },
    )
    (namespace / "shard-1-abcdef12.safetensors").write_bytes(forged)
    with pytest.warns(RuntimeWarning, match="unexpected tensor"):
        assert cache.lookup(namespace, [("/a.jpg", 1, 1)]) == {}


def test_a_failed_write_raises_and_keeps_earlier_entries(tmp_path, images, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    backbone = fake_backbone()
    cache.put_many(backbone, images[:3], unit_rows(3))
    before = shard_files(cache)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feature_cache_module.os, "fsync", disk_full)
    with pytest.raises(FeatureCacheError, match="No space left on device"):
        cache.put_many(backbone, images[3:], unit_rows(3, seed=1))
    monkeypatch.undo()
    assert shard_files(cache) == before
    assert not [p for p in cache.root.rglob("*") if p.name.startswith(".tmp-")]  # no half file left
    assert sorted(cache.get_many(backbone, images)) == [0, 1, 2]


def test_leftover_temporary_files_are_ignored_and_eventually_removed(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    backbone = fake_backbone()
    cache.put_many(backbone, images[:2], unit_rows(2))
    namespace = cache.image_namespace(backbone)
    leftover = namespace / ".tmp-killed-writer"
    leftover.write_bytes(b"half a shard")
    assert len(cache.get_many(backbone, images)) == 2
    old = time.time() - 2 * feature_cache_module.STALE_TMP_S
    os.utime(leftover, (old, old))
    cache.put_many(backbone, images[2:], unit_rows(4))
    assert not leftover.exists()


def test_two_cache_objects_on_one_folder_see_each_other(tmp_path, images):
    writer, reader = FeatureCache(tmp_path / "cache"), FeatureCache(tmp_path / "cache")
    backbone = fake_backbone()
    assert reader.get_many(backbone, images) == {}
    writer.put_many(backbone, images[:2], unit_rows(2))
    assert sorted(reader.get_many(backbone, images)) == [0, 1]
    writer.put_many(backbone, images[2:], unit_rows(4))
    assert len(reader.get_many(backbone, images)) == len(images)


def test_prompt_features_have_their_own_namespace(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    backbone = fake_backbone()
    rows = unit_rows(2)
    cache.put_texts(backbone, ["a photo of a cat.", "a photo of a dog."], rows)
    found = cache.get_texts(backbone, ["a photo of a dog.", "a photo of a cow."])
    assert list(found) == [0] and torch.equal(found[0], rows[1].half().float())
    assert cache.get_texts(fake_backbone(weights_id="w2"), ["a photo of a dog."]) == {}


def test_size_and_clear(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    assert cache.size_bytes() == 0
    cache.put_many(fake_backbone(), images, unit_rows(len(images)))
    cache.put_texts(fake_backbone(), ["x"], unit_rows(1))
    assert cache.size_bytes() > len(images) * DIM * 2
    keep = tmp_path / "cache" / "not-ours.txt"
    keep.write_text("a user's file")
    cache.clear()
    assert cache.get_many(fake_backbone(), images) == {}
    assert keep.exists() and cache.size_bytes() == 0  # a user's file is neither counted nor deleted


def test_default_root_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = FeatureCache().root
    assert root.name == "features" and "mma-studio" in root.parts


def test_image_key_is_resolved_path_size_and_mtime(tmp_path, images):
    link = tmp_path / "link.png"
    try:
        link.symlink_to(images[0])
    except OSError:
        pytest.skip("no symlinks here")
    stat = images[0].stat()
    assert image_key(link) == image_key(images[0]) == (str(images[0].resolve()), stat.st_size, stat.st_mtime_ns)
    assert image_key(tmp_path / "missing.png") is None


def test_no_warnings_on_the_happy_path(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.put_many(fake_backbone(), images, unit_rows(len(images)))
        assert len(cache.get_many(fake_backbone(), images)) == len(images)


# --------------------------------------------------------------------------- ownership (issue 11.1)


def fill_users_folder(folder: Path) -> dict[Path, bytes]:
    """A user's own folders whose names start like cache namespaces, and a loose file."""
    files = {
        folder / "img-holiday-2024" / "beach.jpg": b"photo bytes",
        folder / "txt-notes" / "todo.txt": b"buy milk",
        folder / "img-mma-tiny-v0-0123456789abcdef" / "mine.txt": b"inside a cache-like name",
        folder / "notes.txt": b"a loose file",
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def test_a_non_empty_folder_gets_a_cache_folder_of_its_own_and_clear_spares_the_users_files(tmp_path, images):
    from mma_studio.core.feature_cache import (
        MARKER_NAME,
        OWN_FOLDER_NAME,
        cache_root_for,
        is_cache_root,
    )

    users = tmp_path / "big-disk"
    files = fill_users_folder(users)
    assert cache_root_for(users) == users / OWN_FOLDER_NAME
    cache = FeatureCache(users)
    assert cache.root == users / OWN_FOLDER_NAME
    cache.put_many(fake_backbone(), images, unit_rows(len(images)))
    cache.put_texts(fake_backbone(), ["x"], unit_rows(1))
    assert is_cache_root(cache.root) and (cache.root / MARKER_NAME).read_text().startswith(
        "Signature: 8a477f597d28d172789f06886806bc55"
    )
    assert cache_root_for(users) == cache.root  # chosen again: the same cache
    own = sum(p.stat().st_size for p in shard_files(cache))
    assert cache.size_bytes() == own  # the user's bytes are not counted
    cache.clear()
    assert cache.get_many(fake_backbone(), images) == {} and cache.size_bytes() == 0
    for path, data in files.items():
        assert path.read_bytes() == data, f"{path} was touched"


def test_clear_in_a_folder_without_the_marker_deletes_nothing(tmp_path, images):
    """Even pointed straight at a user's folder (no marker), the cache counts and deletes nothing there."""
    users = tmp_path / "photos"
    files = fill_users_folder(users)
    cache = FeatureCache(tmp_path / "cache")
    cache.put_many(fake_backbone(), images, unit_rows(len(images)))
    cache._root = users  # as if an older version had been given this folder
    assert cache.size_bytes() == 0
    cache.clear()
    for path, data in files.items():
        assert path.read_bytes() == data


def test_only_exactly_named_namespaces_and_shard_files_are_ours(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    cache.put_many(fake_backbone(), images, unit_rows(len(images)))
    namespace = cache.image_namespace(fake_backbone())
    stray = namespace / "my-notes.txt"
    stray.write_text("kept")
    lookalike = cache.root / "img-holiday-2024"
    lookalike.mkdir()
    (lookalike / "shard-0.safetensors").write_bytes(b"not ours")
    cache.clear()
    assert stray.read_text() == "kept" and namespace.is_dir()  # left with what we did not write
    assert (lookalike / "shard-0.safetensors").read_bytes() == b"not ours"
    assert shard_files(cache) == [lookalike / "shard-0.safetensors"]


def test_a_shard_of_another_width_is_discarded_and_its_rows_count_as_missing(tmp_path, images):
    """A shard with a valid checksum but another model's embedding width (issue 11.6)."""
    cache = FeatureCache(tmp_path / "cache")
    backbone = SimpleNamespace(weights_id="w1", model_name="mma-tiny", preprocess_id="pp1", embed_dim=DIM)
    wide = torch.nn.functional.normalize(torch.randn(len(images), DIM * 2), dim=-1)
    cache.store(cache.image_namespace(backbone), [image_key(p) for p in images], wide)  # checksum valid
    with pytest.warns(RuntimeWarning, match="width 16"):
        assert cache.get_many(backbone, images) == {}
    assert shard_files(cache) == []  # deleted, so the next run encodes and stores them again
    cache.put_many(backbone, images, unit_rows(len(images)))
    assert len(cache.get_many(backbone, images)) == len(images)


def test_a_shard_copied_from_another_namespace_is_discarded(tmp_path, images):
    cache = FeatureCache(tmp_path / "cache")
    cache.put_many(fake_backbone(weights_id="w1"), images, unit_rows(len(images)))
    (shard,) = shard_files(cache)
    other = cache.image_namespace(fake_backbone(weights_id="w2"))
    other.mkdir(parents=True)
    os.replace(shard, other / shard.name)
    with pytest.warns(RuntimeWarning, match="another namespace"):
        assert cache.get_many(fake_backbone(weights_id="w2"), images) == {}
