"""Runs that used to be thrown away after the work, or to save nonsense (issue 11, items 6-10):
each is now refused up front, or reported with the files, before training.

mma-tiny with random weights keeps every run to seconds.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import unicodedata
import warnings

import pytest
import torch

from mma_studio.core.backbone import load_backbone
from mma_studio.core.dataset import DatasetError, scan_dataset
from mma_studio.core.feature_cache import FeatureCache, image_key
from mma_studio.core.pipeline import RunSettings, SettingsError, train_adapter
from mma_studio.core.split import SplitError
from mma_studio.core.training import TrainConfig, TrainingDivergedError
from tests.image_factory import make_class_dataset

CLASSES = ["ant", "bee", "cat", "dog"]


@pytest.fixture(scope="module")
def backbone():
    torch.set_num_threads(1)
    return load_backbone("mma-tiny", "random", device="cpu")


@pytest.fixture
def data(tmp_path):
    make_class_dataset(tmp_path / "data", CLASSES, per_class=8)
    return tmp_path / "data"


def settings(**changes) -> RunSettings:
    base = RunSettings(
        model="mma-tiny",
        pretrained="random",
        device="cpu",
        shots=3,
        val_per_class=1,
        training=TrainConfig(epochs=2, patience=0),
    )
    return dataclasses.replace(base, **changes)


# --------------------------------------------------------------------------- 6: cache shards


def test_a_cached_shard_of_another_models_width_is_discarded_and_the_run_succeeds(data, backbone, tmp_path):
    scan = scan_dataset(data)
    cache = FeatureCache(tmp_path / "cache")
    paths = [p for c in scan.classes for p in c.images]
    wide = torch.nn.functional.normalize(torch.randn(len(paths), backbone.embed_dim * 2), dim=-1)
    cache.store(cache.image_namespace(backbone), [image_key(p) for p in paths], wide)  # a valid checksum
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = train_adapter(scan, settings(), backbone=backbone, cache=cache)
    assert any("width" in str(w.message) for w in caught)
    assert run.history and not run.failed_images
    again = cache.get_many(backbone, paths)  # re-extracted at the right width
    assert len(again) == len(paths) and next(iter(again.values())).shape == (backbone.embed_dim,)


# --------------------------------------------------------------------------- 7: non-finite


@pytest.mark.parametrize(
    "field, value",
    [("lr", math.nan), ("lr", math.inf), ("lr", -1.0), ("weight_decay", math.nan), ("epochs", 2.5), ("seed", 10**20)],
)
def test_non_finite_or_out_of_range_training_settings_are_refused_up_front(field, value):
    with pytest.raises(ValueError) as caught:
        TrainConfig(**{field: value})
    assert str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "changes", [{"base_ratio": math.nan}, {"base_ratio": 0.0}, {"shots": -1}, {"augment_views": 10_000}, {"seed": -5}]
)
def test_run_settings_out_of_range_are_refused_before_any_work(data, changes):
    with pytest.raises(SettingsError):
        train_adapter(scan_dataset(data), settings(**changes), backbone=object(), cache=object())


def test_a_diverging_run_stops_with_a_clear_message_and_leaves_nothing(data, backbone, tmp_path):
    output = tmp_path / "out.safetensors"
    config = TrainConfig(epochs=5, patience=0, lr=1e30)
    with pytest.raises(TrainingDivergedError, match="diverged at epoch .*learning rate"):
        run = train_adapter(
            scan_dataset(data), settings(training=config), backbone=backbone, cache=FeatureCache(tmp_path / "cache")
        )
        run.save(output)
    assert not output.exists()


# --------------------------------------------------------------------------- 8: colliding names


def test_class_names_that_read_the_same_are_an_error_of_the_scan_and_train_refuses_before_any_work(tmp_path):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    names = ["golden_retriever", "golden-retriever", "Cat", "cat", nfc, nfd, "dog"]
    made = make_class_dataset(tmp_path / "data", names, per_class=6)
    if len({p.parent.name for paths in made.values() for p in paths}) < len(names):
        pytest.skip("this file system folds case or normalises Unicode in names")
    scan = scan_dataset(tmp_path / "data")
    groups = sorted(sorted(c.classes) for c in scan.name_collisions)
    assert groups == sorted([sorted(["golden_retriever", "golden-retriever"]), ["Cat", "cat"], sorted([nfc, nfd])])
    assert len(scan.errors) == 3 and all(str(tmp_path / "data") in line for line in scan.errors)
    assert scan.to_dict()["errors"] == scan.errors

    with pytest.raises(DatasetError) as caught:  # no backbone is loaded, no image encoded
        train_adapter(scan, settings(base_ratio=1.0), backbone=object(), cache=object())
    message = str(caught.value)
    assert (
        str(tmp_path / "data" / "golden_retriever") in message
        and str(tmp_path / "data" / "golden-retriever") in message
    )

    # A rename (the app's display names) resolves it.
    renames = {"golden-retriever": "golden retriever puppy", "cat": "kitten", nfd: "coffee shop"}
    scan.classes[[c.name for c in scan.classes].index("cat")].display_name = "kitten"
    assert len(scan.name_collisions) == 2
    from mma_studio.core.pipeline import build_split, check_prompt_names

    s = settings(display_names=renames, base_ratio=1.0)
    check_prompt_names(scan, build_split(scan, s), s)


# --------------------------------------------------------------------------- 9: output names


def test_a_long_output_name_is_written_and_a_too_long_one_is_refused_before_the_run(tmp_path):
    from mma_studio.core.atomic_write import ensure_writable, write_bytes_atomically

    name = "猫" * 78 + ".safetensors"  # 246 bytes: the temp name used to add ~20 more
    assert len(os.fsencode(name)) == 246
    try:
        ensure_writable(tmp_path / name)
    except OSError as exc:
        pytest.skip(f"this file system does not take 246-byte names ({exc})")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind
    write_bytes_atomically(tmp_path / name, b"adapter")
    assert (tmp_path / name).read_bytes() == b"adapter"

    too_long = tmp_path / ("猫" * 90 + ".safetensors")
    with pytest.raises(OSError, match="too long") as caught:
        ensure_writable(too_long)
    assert caught.value.filename == str(too_long)
    with pytest.raises(OSError):
        ensure_writable(tmp_path / "no-such-folder" / ("x" * 300) / "a.safetensors")
    ensure_writable(tmp_path / "new" / "folder" / "a.safetensors")  # missing folders are fine...
    assert not (tmp_path / "new").exists()  # ...and are not created by the check
    existing = tmp_path / "kept.safetensors"
    existing.write_bytes(b"old")
    ensure_writable(existing)
    assert existing.read_bytes() == b"old"
    with pytest.raises(IsADirectoryError):
        ensure_writable(tmp_path)


# --------------------------------------------------------------------------- 10: vanished files


def test_a_base_class_whose_files_vanish_after_the_scan_is_refused_before_training(data, backbone, tmp_path):
    scan = scan_dataset(data)
    shutil.rmtree(data / "ant")
    with pytest.raises(SplitError) as caught:
        train_adapter(scan, settings(), backbone=backbone, cache=FeatureCache(tmp_path / "cache"))
    message = str(caught.value)
    assert "'ant'" in message and str(data / "ant") in message and "Scan the data again" in message


def test_files_that_vanish_are_reported_with_their_paths_and_the_counts_say_what_was_used(data, backbone, tmp_path):
    scan = scan_dataset(data)
    full = train_adapter(scan, settings(), backbone=backbone, cache=FeatureCache(tmp_path / "c1"))
    gone = full.split.train[0].path
    gone.unlink()
    run = train_adapter(scan, settings(), backbone=backbone, cache=FeatureCache(tmp_path / "c2"))
    assert run.split.counts()["train"] == full.split.counts()["train"] - 1
    assert any(str(gone) in w for w in run.warnings)
    assert [p for p, _ in run.failed_images] == [str(gone)]


def test_a_project_with_a_long_name_saves_and_reopens(tmp_path):
    """Project saving hit the same temp-name limit (issue 11.9)."""
    from mma_studio.core.project import Project, load_project, save_project

    path = tmp_path / ("猫" * 78 + ".mmaproj")
    try:
        save_project(Project(name="long"), path)
    except OSError as exc:
        if "too long" not in str(exc).lower():
            raise
        pytest.skip(f"this file system does not take {len(os.fsencode(path.name))}-byte names")
    assert load_project(path).name == "long"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
