"""Scanning class folders: class discovery, skip report, names, progress, cancellation, advice."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mma_studio.core import dataset
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.dataset import (
    ClassFolder,
    DatasetError,
    ScanResult,
    dataset_advice,
    looks_unreadable_name,
    readable_class_name,
    scan_class_folders,
    scan_dataset,
)
from tests.image_factory import make_class_dataset, make_image, try_symlink

# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("folder", "readable"),
    [
        ("golden_retriever", "golden retriever"),
        ("golden-retriever", "golden retriever"),
        ("golden__retriever--dog", "golden retriever dog"),
        ("GoldenRetriever", "golden retriever"),
        ("goldenRetriever", "golden retriever"),
        ("TVRemote", "tv remote"),
        ("001.Black_footed_Albatross", "black footed albatross"),
        ("12_dog", "dog"),
        ("3.5_inch_floppy", "3.5 inch floppy"),
        ("001.ak47", "ak47"),
        ("  Mixed   Case  ", "mixed case"),
        ("Café au lait", "café au lait"),
        ("iPhone", "iphone"),
        ("tench", "tench"),
        ("12", "12"),
    ],
)
def test_readable_class_name(folder, readable):
    assert readable_class_name(folder) == readable


@pytest.mark.parametrize(
    "name",
    [
        "n01440764",
        "class_03",
        "Class 3",
        "cls3",
        "12",
        "0007",
        "a3f9c2e1d4b7",
        "123e4567-e89b-12d3-a456-426614174000",
        "x12",
        "___",
        "label-5",
    ],
)
def test_unreadable_names(name):
    assert looks_unreadable_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "tench",
        "golden_retriever",
        "001.Black_footed_Albatross",
        "ak47",
        "r2d2",
        "cat_1",
        "GoldenRetriever",
        "café",
        "3d printer",
        "facade",
    ],
)
def test_readable_names_are_not_flagged(name):
    assert not looks_unreadable_name(name)


# --------------------------------------------------------------------------- scan_dataset


def test_scan_finds_sorted_classes_with_sorted_nested_images(tmp_path):
    written = make_class_dataset(tmp_path, {"zebra": 3, "golden_retriever": 4, "Ant": 2}, nested=True)
    scan = scan_dataset(tmp_path)
    assert scan.class_names == ["Ant", "golden_retriever", "zebra"]  # sorted by name (code points)
    assert scan.display_names == ["ant", "golden retriever", "zebra"]
    assert scan.image_count == 9
    for folder in scan.classes:
        assert folder.images == sorted(written[folder.name])
        assert folder.path == tmp_path / folder.name
    assert any("more" in p.parts for p in scan.class_by_name("zebra").images)  # nested found
    assert scan.skipped == [] and scan.warnings == [] and scan.validated
    assert scan.root == tmp_path
    with pytest.raises(KeyError):
        scan.class_by_name("nope")


def test_scan_is_deterministic_and_restores_warning_filters(tmp_path):
    make_class_dataset(tmp_path, {"a": 12, "b": 12})
    (tmp_path / "a" / "bad.jpg").write_bytes(b"nope")
    before = list(warnings.filters)
    first = scan_dataset(tmp_path)
    assert list(warnings.filters) == before
    second = scan_dataset(tmp_path)
    assert first.to_dict() == second.to_dict()
    assert [s.path.name for s in first.skipped] == ["bad.jpg"]


def test_to_dict_is_json_ready_with_counts_skips_and_warnings(tmp_path):
    make_class_dataset(tmp_path, {"cat": 3, "dog": 2})
    (tmp_path / "dog" / "broken.png").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    report = json.loads(json.dumps(scan_dataset(tmp_path).to_dict()))
    assert {c["name"]: c["image_count"] for c in report["classes"]} == {"cat": 3, "dog": 2}
    assert report["image_count"] == 5 and report["class_count"] == 2
    assert report["skipped"] == [{"path": str(tmp_path / "dog" / "broken.png"), "reason": "empty file (0 bytes)"}]
    assert report["empty_folders"] == [str(tmp_path / "empty")]
    assert any("'empty'" in w for w in report["warnings"])


def test_missing_root_is_a_dataset_error_naming_the_path(tmp_path):
    with pytest.raises(DatasetError, match="not found") as info:
        scan_dataset(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)


def test_file_as_root_is_a_dataset_error(tmp_path):
    image = make_image(tmp_path / "one.png")
    with pytest.raises(DatasetError, match="not a folder"):
        scan_dataset(image)


def test_folder_of_loose_images_explains_the_layout(tmp_path):
    for i in range(3):
        make_image(tmp_path / f"{i}.png")
    with pytest.raises(DatasetError, match=r"3 image\(s\) directly.*own sub-folder"):
        scan_dataset(tmp_path)


def test_empty_root_is_a_dataset_error(tmp_path):
    (tmp_path / ".git").mkdir()  # hidden folders are not classes
    with pytest.raises(DatasetError, match="no class folders"):
        scan_dataset(tmp_path)


def test_no_usable_image_anywhere_is_a_dataset_error_that_keeps_the_report(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_text("text")
    (tmp_path / "b").mkdir()
    with pytest.raises(DatasetError, match="no usable images") as info:
        scan_dataset(tmp_path)
    report = info.value.scan
    assert report is not None and [s.path.name for s in report.skipped] == ["x.jpg"]
    assert len(report.empty_folders) == 2


def test_single_class_dataset_scans_with_a_warning(tmp_path):
    make_class_dataset(tmp_path, {"only": 3})
    scan = scan_dataset(tmp_path)
    assert scan.class_names == ["only"]
    assert any("Only one class" in w for w in scan.warnings)


def test_loose_images_next_to_class_folders_are_reported(tmp_path):
    make_class_dataset(tmp_path, ["a", "b"], per_class=2)
    make_image(tmp_path / "stray.jpg")
    (tmp_path / "notes.md").write_text("hello")
    scan = scan_dataset(tmp_path)
    assert [(s.path.name, s.reason) for s in scan.skipped] == [("stray.jpg", "not inside a class folder")]
    assert any("directly in" in w for w in scan.warnings)
    assert scan.ignored_files == 1
    assert scan.image_count == 4


def test_unsupported_image_formats_are_reported_not_ignored(tmp_path):
    make_class_dataset(tmp_path, ["a", "b"], per_class=1)
    (tmp_path / "a" / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    (tmp_path / "a" / "readme.txt").write_text("x")
    scan = scan_dataset(tmp_path)
    assert [s.path.name for s in scan.skipped] == ["IMG_0001.HEIC"]
    assert "not supported" in scan.skipped[0].reason
    assert scan.ignored_files == 1


def test_symlinked_class_folder_and_file_are_followed(tmp_path):
    store = make_class_dataset(tmp_path / "store", {"cats": 2})
    data = tmp_path / "data"
    make_class_dataset(data, {"dogs": 2})
    if not try_symlink(data / "cats", tmp_path / "store" / "cats", directory=True):
        pytest.skip("symlinks not available")
    try_symlink(data / "dogs" / "extra.png", store["cats"][0])
    scan = scan_dataset(data)
    assert scan.class_names == ["cats", "dogs"]
    assert len(scan.class_by_name("cats").images) == 2
    assert len(scan.class_by_name("dogs").images) == 3


def test_class_folder_linking_to_the_root_is_not_followed(tmp_path):
    make_class_dataset(tmp_path, ["a", "b"], per_class=2)
    if not try_symlink(tmp_path / "everything", tmp_path, directory=True):
        pytest.skip("symlinks not available")
    scan = scan_dataset(tmp_path)
    assert scan.class_names == ["a", "b"]
    assert [s.path.name for s in scan.skipped] == ["everything"]
    assert "loop" in scan.skipped[0].reason


def test_unreadable_subfolder_is_reported_and_the_rest_scanned(tmp_path, monkeypatch):
    make_class_dataset(tmp_path, ["a", "b"], per_class=2)
    locked = tmp_path / "a" / "locked"
    make_image(locked / "x.png")
    real_scandir = os.scandir

    def scandir(path):  # as if chmod 000 (tests may run as root, where chmod does not bite)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    scan = scan_dataset(tmp_path)
    assert [s.path for s in scan.skipped] == [locked]
    assert scan.skipped[0].reason == "cannot open folder (Permission denied)"
    assert scan.image_count == 4


# --------------------------------------------------------------------------- scan_class_folders


def test_dropped_folders_with_the_same_name_are_deduplicated(tmp_path):
    make_class_dataset(tmp_path / "one", {"cat": 2, "dog": 1})
    make_class_dataset(tmp_path / "two", {"cat": 3})
    scan = scan_class_folders([tmp_path / "two" / "cat", tmp_path / "one" / "cat", tmp_path / "one" / "dog"])
    assert scan.class_names == ["cat", "cat (2)", "dog"]
    # Path order decides which one keeps the plain name: .../one/cat < .../two/cat.
    assert scan.class_by_name("cat").path == tmp_path / "one" / "cat"
    assert len(scan.class_by_name("cat (2)").images) == 3
    assert scan.class_by_name("cat (2)").display_name == "cat (2)"
    assert scan.root is None  # no common parent
    assert any("Two folders are named 'cat'" in w for w in scan.warnings)


def test_dropped_folders_share_their_parent_as_root(tmp_path):
    make_class_dataset(tmp_path, {"a": 1, "b": 2})
    scan = scan_class_folders([tmp_path / "b", tmp_path / "a", tmp_path / "a"])  # a twice = once
    assert scan.root == tmp_path
    assert scan.class_names == ["a", "b"] and scan.image_count == 3


def test_dropped_file_or_missing_folder_is_a_dataset_error(tmp_path):
    image = make_image(tmp_path / "x.png")
    with pytest.raises(DatasetError, match="not a folder"):
        scan_class_folders([image])
    with pytest.raises(DatasetError, match="not found"):
        scan_class_folders([tmp_path / "gone"])
    with pytest.raises(DatasetError):
        scan_class_folders([])


# --------------------------------------------------------------------------- progress, cancel, listing only


def test_progress_reports_scan_stage_and_ends_complete(tmp_path):
    make_class_dataset(tmp_path, {"a": 10, "b": 10})
    events = []
    scan_dataset(tmp_path, on_progress=events.append)
    assert events and all(e.stage == "scan" for e in events)
    assert events[-1].done == events[-1].total == 20


def test_cancel_stops_validation(tmp_path):
    make_class_dataset(tmp_path, {"a": 30, "b": 30})
    token = CancelToken()
    seen = []

    def cancel_when_checking(progress):
        seen.append(progress)
        if progress.message == "checking images":
            token.cancel()

    with pytest.raises(Cancelled):
        scan_dataset(tmp_path, on_progress=cancel_when_checking, token=token)
    checked = [p.done for p in seen if p.message == "checking images"]
    assert checked and max(checked) < 60  # stopped long before the end
    already = CancelToken()
    already.cancel()
    with pytest.raises(Cancelled):
        scan_dataset(tmp_path, token=already)


def test_listing_only_scan_of_thousands_of_files_opens_no_image(tmp_path, monkeypatch):
    classes, per_class = 40, 75  # 3,000 files
    for c in range(classes):
        folder = tmp_path / f"class_{c:02d}"
        folder.mkdir()
        for i in range(per_class):
            (folder / f"{i}.jpg").touch()  # zero bytes: opening any of them would fail

    def forbidden(*args, **kwargs):
        raise AssertionError("validate=False must not open images")

    monkeypatch.setattr(dataset, "load_rgb_image", forbidden)
    monkeypatch.setattr(Image, "open", forbidden)
    scan = scan_dataset(tmp_path, validate=False)  # fast because it opens nothing (asserted above), not timed
    assert len(scan.classes) == classes
    assert scan.image_count == classes * per_class
    assert not scan.validated and scan.skipped == []


# --------------------------------------------------------------------------- advice


def _scan_of(counts: dict[str, int]) -> ScanResult:
    classes = [
        ClassFolder(
            name, readable_class_name(name), Path("/data") / name, [Path("/data") / name / f"{i}.png" for i in range(n)]
        )
        for name, n in sorted(counts.items())
    ]
    return ScanResult(root=Path("/data"), classes=classes, skipped=[], warnings=[])


def test_advice_is_empty_for_a_healthy_dataset():
    assert dataset_advice(_scan_of({"cat": 30, "dog": 25, "fox": 28}), shots=16, val_per_class=4) == []


def test_advice_names_short_base_classes_with_counts():
    scan = _scan_of({"ant": 7, "bee": 1, "cat": 30, "dog": 2})  # base: ant, bee; dog is new
    advice = dataset_advice(scan, shots=16, val_per_class=4)
    short = [a for a in advice if "need 20 images" in a]
    assert len(short) == 1
    assert "'ant' has 7" in short[0] and "'bee' has 1" in short[0] and "dog" not in short[0]
    explicit = dataset_advice(scan, shots=16, val_per_class=4, base_classes=["cat", "dog"])
    assert any("'dog' has 2" in a for a in explicit)


def test_advice_warns_about_imbalance_unreadable_and_clashing_names():
    scan = _scan_of({"n01440764": 60, "golden_retriever": 20, "golden-retriever": 20, "x": 10})
    advice = " | ".join(dataset_advice(scan, shots=2, val_per_class=1))
    assert "imbalanced" in advice and "'n01440764' has 60" in advice
    assert "cannot read" in advice and "'n01440764'" in advice
    assert "golden retriever" not in advice  # not advice: an error of the scan (tests/test_run_guards.py)
    assert [c.classes for c in scan.name_collisions] == [("golden-retriever", "golden_retriever")]


def test_advice_respects_user_renames_and_a_single_base_class():
    scan = _scan_of({"n01440764": 20, "n01443537": 20})
    for c in scan.classes:
        assert looks_unreadable_name(c.display_name)
    scan.classes[0].display_name = "tench"
    scan.classes[1].display_name = "goldfish"
    advice = dataset_advice(scan, shots=4, val_per_class=2)
    assert not any("cannot read" in a for a in advice)
    assert not any("base class" in a for a in advice)  # 2 classes -> both base by default
    advice = dataset_advice(scan, shots=4, val_per_class=2, base_classes=["n01440764"])
    assert any("Only one base class" in a for a in advice)


def test_advice_flags_base_classes_left_without_test_images():
    advice = dataset_advice(_scan_of({"a": 20, "b": 30}), shots=16, val_per_class=4, base_classes=["a", "b"])
    assert any("'a' would keep no image for testing" in a for a in advice)


# --------------------------------------------------------------------------- the image factory others rely on


def test_generated_classes_are_told_apart_by_colour(tmp_path):
    from tests.image_factory import class_color

    written = make_class_dataset(tmp_path, [f"class {i}" for i in range(12)], per_class=3, size=(8, 8))
    palette = [class_color(i) for i in range(12)]
    for index, paths in enumerate(written.values()):
        for path in paths:
            with Image.open(path) as image:
                mean = np.asarray(image.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)
            nearest = min(range(12), key=lambda j: sum((m - p) ** 2 for m, p in zip(mean, palette[j])))
            assert nearest == index, path
    first, second = written["class 0"][:2]
    assert first.read_bytes() != second.read_bytes()  # noise makes every image distinct


def test_advice_for_many_classes_names_the_smallest_few_and_counts_the_rest():
    counts = {f"class{i:03d}": 5 + (i % 7) for i in range(100)}
    advice = dataset_advice(_scan_of(counts), shots=16, val_per_class=4, base_classes=list(counts))
    short = next(a for a in advice if a.startswith("Base classes need 20 images"))
    assert short.count(" has ") == 6 and "and 94 more" in short
    assert "'class000' has 5" in short and " has 11" not in short  # the smallest are named
    assert "(3 shots + 1 validation images per class fit)" in short
    assert len(short) < 400
