"""The same image counted twice (issue 11, item 11): by file identity (folder symlinks, file
symlinks, hard links) and by content (identical copies), reported by the scan with paths and
classes, and named as a leak when a split puts one picture on both sides."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from mma_studio.core.dataset import scan_dataset
from mma_studio.core.file_identity import (
    IDENTICAL_CONTENT,
    SAME_FILE,
    DuplicateGroup,
    find_duplicate_files,
    leaking_groups,
)
from tests.image_factory import make_class_dataset, try_symlink


@pytest.fixture
def linked(tmp_path):
    """ant/more -> ../bee (8 files in two classes), a file symlink and a hard link in cat,
    and a byte-identical copy of a dog image in eel."""
    root = tmp_path / "data"
    made = make_class_dataset(root, ["ant", "bee", "cat", "dog", "eel"], per_class=4)
    if not try_symlink(root / "ant" / "more", "../bee", directory=True):
        pytest.skip("no symlinks here")
    try_symlink(root / "cat" / "alias.png", made["cat"][0].name)
    os.link(made["cat"][1], root / "cat" / "hard.png")
    shutil.copyfile(made["dog"][0], root / "eel" / "copy.png")
    return root, made


def groups_by_kind(scan):
    return {kind: [g for g in scan.duplicates if g.kind == kind] for kind in (SAME_FILE, IDENTICAL_CONTENT)}


def test_links_and_copies_are_reported_with_their_paths_and_classes(linked):
    root, made = linked
    scan = scan_dataset(root)
    kinds = groups_by_kind(scan)
    across = [g for g in kinds[SAME_FILE] if g.across_classes]
    assert len(across) == 4  # each bee file, also reached through ant/more
    for group, original in zip(sorted(across, key=lambda g: str(g.paths[-1])), made["bee"]):
        assert set(group.paths) == {original, root / "ant" / "more" / original.name}
        assert sorted(group.classes) == ["ant", "bee"]
    within = {frozenset(g.paths) for g in kinds[SAME_FILE] if not g.across_classes}
    assert frozenset({made["cat"][1], root / "cat" / "hard.png"}) in within  # hard link
    copies = kinds[IDENTICAL_CONTENT]
    assert len(copies) == 1 and set(copies[0].paths) == {made["dog"][0], root / "eel" / "copy.png"}
    assert copies[0].classes == ("dog", "eel") and len(copies[0].digest) == 64
    assert any("counted more than once" in w for w in scan.warnings)

    report = json.loads(json.dumps(scan.to_dict()))  # what `check --json` prints
    assert {d["kind"] for d in report["duplicates"]} == {SAME_FILE, IDENTICAL_CONTENT}
    assert all(len(d["paths"]) == len(d["classes"]) >= 2 for d in report["duplicates"])
    line = across[0].describe()
    assert "the same file" in line and "'ant'" in line and "'bee'" in line and str(across[0].paths[0]) in line


def test_a_listing_scan_finds_links_without_opening_any_file(linked, monkeypatch):
    root, _ = linked
    import mma_studio.core.file_identity as module

    monkeypatch.setattr(module, "_sha256", lambda *a: pytest.fail("a listing scan must not read files"))
    scan = scan_dataset(root, validate=False)
    assert groups_by_kind(scan)[IDENTICAL_CONTENT] == []
    assert len([g for g in scan.duplicates if g.across_classes]) == 4


def test_only_files_whose_sizes_collide_are_hashed(tmp_path, monkeypatch):
    import mma_studio.core.file_identity as module

    files = []
    for i, size in enumerate((10, 20, 20, 30)):
        path = tmp_path / f"{i}.png"
        path.write_bytes(bytes([i % 2]) * size)
        files.append((path, "c"))
    hashed = []
    original = module._sha256
    monkeypatch.setattr(module, "_sha256", lambda path, token: hashed.append(path) or original(path, token))
    assert find_duplicate_files(files) == []  # the two 20-byte files differ
    assert sorted(hashed) == [files[1][0], files[2][0]]


def test_a_picture_on_both_sides_of_a_split_is_named_as_a_leak(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.png", "b.png", "c.png"))
    group = DuplicateGroup(IDENTICAL_CONTENT, (a, b), ("x", "x"), "0" * 64)
    other = DuplicateGroup(SAME_FILE, (c, tmp_path / "d.png"), ("y", "y"))
    assert leaking_groups([group, other], trained_on=[a], tested_on=[b, c]) == [group]
    assert leaking_groups([group], trained_on=[a, b], tested_on=[c]) == []


def test_a_leak_is_found_whatever_way_the_split_spells_its_paths(tmp_path):
    """The split's paths are sifted by file name and compared as `Path` spells them: text
    with doubled or `.` separators, or a `Path`, names the same file."""
    a, b = tmp_path / "x" / "a.png", tmp_path / "y" / "a.png"  # same file name, other folder
    group = DuplicateGroup(IDENTICAL_CONTENT, (a, b), ("x", "y"), "0" * 64)
    spelled = str(tmp_path) + "//y/./a.png"
    assert leaking_groups([group], trained_on=[str(a)], tested_on=[spelled]) == [group]
    assert leaking_groups([group], trained_on=[a], tested_on=[tmp_path / "z" / "a.png"]) == []
    assert leaking_groups([group], trained_on=[a, b], tested_on=[]) == []


def test_train_names_the_leak_in_its_warnings(tmp_path):
    import dataclasses

    import torch

    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.pipeline import RunSettings, train_adapter
    from mma_studio.core.training import TrainConfig

    root = tmp_path / "data"
    made = make_class_dataset(root, ["ant", "bee", "cat"], per_class=8)
    for path in made["ant"][1:]:  # every ant image is the first one: some land in training, some in test
        shutil.copyfile(made["ant"][0], path)
    torch.set_num_threads(1)
    settings = dataclasses.replace(
        RunSettings(model="mma-tiny", pretrained="random", device="cpu", shots=3, val_per_class=1, base_ratio=1.0),
        training=TrainConfig(epochs=1, patience=0),
    )
    run = train_adapter(
        scan_dataset(root),
        settings,
        backbone=load_backbone("mma-tiny", "random", device="cpu"),
        cache=FeatureCache(tmp_path / "cache"),
    )
    leaks = [w for w in run.warnings if w.startswith("Leak:")]
    assert len(leaks) == 1 and str(made["ant"][0]) in leaks[0]
