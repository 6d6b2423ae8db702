"""The engine's side of reopening a project and of adding chosen images (issue 14 item 1): the
rescan of a project's data and the stored roles fitted to it, without the app."""

from __future__ import annotations

import pytest

from mma_studio.core.chosen_images import scan_chosen_images
from mma_studio.core.dataset import DatasetError, scan_dataset
from mma_studio.core.project_data import fit_roles_to_scan, rescan_project_data
from mma_studio.core.scan_merge import merge_scans, without_classes
from tests.image_factory import make_class_dataset, make_image, write_truncated


def test_chosen_images_are_one_class_of_exactly_the_usable_files(tmp_path):
    files = [make_image(tmp_path / "Downloads" / f"parrot_{i}.png", noise=10, seed=i) for i in range(3)]
    broken = write_truncated(tmp_path / "Downloads" / "broken.png")
    make_image(tmp_path / "Downloads" / "holiday.png", noise=10, seed=9)  # in the folder, not chosen
    scan = scan_chosen_images("parrot", files + [files[0], broken])
    assert [c.name for c in scan.classes] == ["parrot"] and scan.classes[0].loose
    assert scan.classes[0].images == sorted(files)
    assert [s.path for s in scan.skipped] == [broken]
    with pytest.raises(DatasetError):
        scan_chosen_images("nothing", [broken])


def test_a_projects_data_comes_back_with_its_chosen_images_merged_in(tmp_path):
    make_class_dataset(tmp_path / "data", ["ant", "bee", "cat"], per_class=3)
    chosen = [make_image(tmp_path / "extra" / f"dog_{i}.png", noise=10, seed=20 + i) for i in range(2)]
    gone = tmp_path / "gone" / "x.png"
    scan = rescan_project_data(tmp_path / "data", [], {"dog": chosen, "lost": [gone]})
    assert scan.class_names == ["ant", "bee", "cat", "dog"]
    assert scan.classes[-1].images == chosen
    assert rescan_project_data(None, [], {}) is None
    by_hand = merge_scans(scan_dataset(tmp_path / "data"), scan_chosen_images("dog", chosen), extend_same_name=True)
    assert [c.images for c in by_hand.classes] == [c.images for c in scan.classes]


def test_stored_roles_fit_the_rescanned_data(tmp_path):
    make_class_dataset(tmp_path / "data", ["ant", "bee", "cat", "dog"], per_class=3)
    scan = scan_dataset(tmp_path / "data")
    # "dog" was removed by the user (not listed), "eel" is gone from the folder since.
    fitted = fit_roles_to_scan(scan, ["ant", "bee"], ["cat", "eel"], {"ant": "an ant", "eel": "an eel"})
    assert fitted.scan.class_names == ["ant", "bee", "cat"]
    assert (fitted.base, fitted.new, fitted.lost) == (["ant", "bee"], ["cat"], ["eel"])
    assert fitted.display_names == {"ant": "an ant"}
    # Nothing stored (or nothing left): every class, with the default roles.
    fresh = fit_roles_to_scan(scan, [], [])
    assert fresh.scan.class_names == scan.class_names and (fresh.base, fresh.new) == (["ant", "bee"], ["cat", "dog"])
    assert fit_roles_to_scan(scan, ["eel"], []).scan.class_names == scan.class_names


def test_removing_classes_keeps_the_rest_and_recounts_the_warning(tmp_path):
    make_class_dataset(tmp_path / "data", ["ant", "bee"], per_class=2)
    scan = without_classes(scan_dataset(tmp_path / "data"), {"bee"})
    assert scan.class_names == ["ant"]
    assert any(w.startswith("Only one class") for w in scan.warnings)
