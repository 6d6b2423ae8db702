"""The data doctor: `check --deep --json`, the example dataset without false alarms, the
blockwise pairs, and a run after the fixes trained on the fixed labels."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mma_studio.core.data_fixes import DataFixes, apply_data_fixes


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    from mma_studio.toy.example_dataset import write_example_dataset

    return write_example_dataset(tmp_path_factory.mktemp("doctor") / "example", per_class=12, seed=0)


def check_deep_json(data: Path, tmp_path: Path) -> dict:
    """`mma-studio check DATA --deep --json` with the shapes backbone, as a user runs it."""
    options = ["--model", "mma-tiny", "--pretrained", "shapes", "--device", "cpu"]
    options += ["--cache-dir", str(tmp_path / "cache"), "--shots", "4", "--val-per-class", "2"]
    result = subprocess.run(
        [sys.executable, "-m", "mma_studio", "check", str(data), "--deep", "--json", "-q", *options],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_similar_pairs_blockwise_equal_the_full_matrix():
    from mma_studio.core.doctor.similar_pairs import similar_pairs

    features = torch.nn.functional.normalize(torch.randn(300, 8), dim=1)
    first, second, _ = similar_pairs(features, 0.8, block=64, max_neighbours=300)
    full = features @ features.T
    expected = {(i, j) for i in range(300) for j in range(i + 1, 300) if full[i, j] >= 0.8}
    assert set(zip(first.tolist(), second.tolist())) == expected


def test_confident_learning_flags_the_confidently_misfiled_image():
    from mma_studio.core.doctor.confident_learning import find_label_issues

    probabilities = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.05, 0.95], [0.3, 0.7], [0.9, 0.1]])
    labels = torch.tensor([0, 0, 1, 1, 1])  # the last is labelled 1 but confidently 0
    issues = find_label_issues(probabilities, labels)
    assert [(i.index, i.suggested) for i in issues] == [(4, 0)]


def test_check_deep_json_on_the_example_lists_no_false_alarms(example, tmp_path):
    report = check_deep_json(example, tmp_path)
    health = report["health"]
    assert health["image_count"] == 360
    counts = health["counts"]
    assert counts["conflict"] == counts["label"] == counts["outlier"] == 0, health["findings"]
    for finding in health["findings"]:  # near-identical renders of one class only
        assert len(set(finding["classes"])) == 1 and 0 < finding["score"] <= 1
        assert all(Path(p).is_file() for p in finding["paths"])


def test_check_deep_json_lists_a_planted_conflict_with_paths_and_score(example, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(example, data)
    copy = data / "yellow_ring" / "copied.png"
    shutil.copy(data / "orange_cross" / "orange_cross_004.png", copy)
    report = check_deep_json(data, tmp_path)
    conflicts = [f for f in report["health"]["findings"] if f["kind"] == "conflict"]
    assert len(conflicts) == 1
    assert set(conflicts[0]["paths"]) == {str(copy), str(data / "orange_cross" / "orange_cross_004.png")}
    assert set(conflicts[0]["classes"]) == {"orange_cross", "yellow_ring"} and conflicts[0]["score"] > 0.9


def test_a_run_after_the_fixes_trains_on_the_fixed_labels(example):
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.pipeline import RunSettings, train_adapter
    from mma_studio.core.training import TrainConfig

    scan = scan_dataset(example)
    moved = scan.class_by_name("blue_circle").images[0]
    excluded = scan.class_by_name("blue_cross").images[:3]
    fixes = DataFixes().move([moved], "blue_star").exclude(excluded)
    settings = RunSettings(
        model="mma-tiny",
        pretrained="random",
        device="cpu",
        shots=4,
        val_per_class=2,
        base_classes=["blue_circle", "blue_cross", "blue_star"],
        training=TrainConfig(epochs=1),
    )
    run = train_adapter(scan, settings, fixes=fixes)
    split = run.split
    labelled = {
        s.path: split.classes[s.class_index] for s in split.train + split.val + split.test_base + split.test_new
    }
    assert labelled[moved] == "blue_star"
    assert not set(excluded) & set(labelled)
    assert moved.is_file() and all(p.is_file() for p in excluded)
    fixed = apply_data_fixes(scan, fixes)
    assert len(fixed.class_by_name("blue_star").images) == 13 and len(fixed.class_by_name("blue_cross").images) == 9


def test_fixes_survive_the_project_file(tmp_path):
    from mma_studio.core.project import (
        Project,
        load_project,
        relative_to_project,
        save_project,
    )

    project_file = tmp_path / "p.mmaproj"
    fixes = DataFixes().exclude([tmp_path / "data" / "a" / "1.png"]).move([tmp_path / "data" / "a" / "2.png"], "b")
    fixes = fixes.keep("duplicate:x|y")
    save_project(Project(data_fixes=fixes.to_dict(lambda p: relative_to_project(p, project_file))), project_file)
    stored = load_project(project_file).data_fixes
    assert stored["excluded"] == ["data/a/1.png"]
    again = DataFixes.from_dict(stored, lambda p: str(tmp_path / p))
    assert again == fixes


def test_examine_reports_progress_and_stops_when_cancelled(example, tmp_path):
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.cancellation import Cancelled, CancelToken
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.doctor import examine_dataset
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.pipeline import RunSettings

    backbone = load_backbone("mma-tiny", "random", device="cpu")
    token = CancelToken()
    stages = []

    def on_progress(event) -> None:
        stages.append(event.stage)
        if event.stage == "doctor":
            token.cancel()  # as the Cancel button does, from the first step of the check

    with pytest.raises(Cancelled):
        examine_dataset(
            scan_dataset(example),
            RunSettings(model="mma-tiny", pretrained="random", shots=4, val_per_class=2),
            backbone=backbone,
            cache=FeatureCache(tmp_path / "cache"),
            on_progress=on_progress,
            token=token,
        )
    assert stages[0] == "extract" and "doctor" in stages


def test_an_off_centre_crop_is_confirmed_as_a_copy_and_another_class_is_not(example, tmp_path):
    from PIL import Image

    from mma_studio.core.doctor import DUPLICATE
    from mma_studio.core.doctor.duplicates import duplicate_findings

    original = example / "red_star" / "red_star_003.png"
    picture = Image.open(original).convert("RGB")
    width, height = picture.size
    cut = round(0.1 * width)
    crop = tmp_path / "crop.png"
    picture.crop((cut, cut, width, height)).save(crop)  # 10 % off the top-left corner
    other = example / "orange_cross" / "orange_cross_004.png"
    paths = [original, crop, other, example / "blue_circle" / "blue_circle_001.png"]
    features = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), dim=1)
    findings = duplicate_findings(features, paths, ["red_star", "red_star", "orange_cross", "blue_circle"])
    assert [(f.kind, set(f.paths)) for f in findings] == [(DUPLICATE, {original, crop})]
    assert 0.97 <= findings[0].score <= 1


def test_the_same_shape_on_another_background_is_not_a_copy(tmp_path):
    from PIL import Image, ImageDraw

    from mma_studio.core.doctor.duplicates import duplicate_findings

    paths = []
    # grey and teal backgrounds whose contrast with the circle is nearly proportional: once
    # each picture's mean colour is removed, their cells agree (cosine ~0.99)
    for name, background in (("grey", (110, 110, 110)), ("teal", (90, 140, 120)), ("grey_copy", (110, 110, 110))):
        picture = Image.new("RGB", (96, 96), background)
        ImageDraw.Draw(picture).ellipse((24, 24, 72, 72), fill=(220, 40, 40))
        path = tmp_path / f"{name}.jpg"
        picture.save(path, quality=80 if name == "grey_copy" else 95)
        paths.append(path)
    features = torch.nn.functional.normalize(torch.ones(3, 4), dim=1)  # the embedding cannot tell them apart
    findings = duplicate_findings(features, paths, ["red_circle"] * 3)
    assert [set(f.paths) for f in findings] == [{paths[0], paths[2]}]


def test_the_pair_confirmation_loop_stops_when_cancelled(monkeypatch, tmp_path):
    """A weak model finds many candidate pairs; confirming them must stay cancellable (the app
    cancels the check after a run when other data is opened: issue 12 §6)."""
    import numpy as np

    from mma_studio.core.cancellation import Cancelled, CancelToken
    from mma_studio.core.doctor import duplicates

    n = 3000
    first = np.arange(n - 1)
    second = first + 1
    monkeypatch.setattr(duplicates, "similar_pairs", lambda *a, **k: (first, second, np.full(n - 1, 0.99)))
    monkeypatch.setattr(duplicates, "image_signatures", lambda paths, token=None: [None] * len(paths))
    token = CancelToken()
    seen = []
    real = duplicates.signature_similarity

    def cancel_midway(a, b):
        seen.append(1)
        if len(seen) == 600:
            token.cancel()
        return real(a, b)

    monkeypatch.setattr(duplicates, "signature_similarity", cancel_midway)
    paths = [tmp_path / f"{i}.png" for i in range(n)]
    with pytest.raises(Cancelled):
        duplicates.duplicate_findings(torch.zeros(n, 4), paths, ["a"] * n, token=token)
    assert len(seen) < 1100  # stopped within one check interval, not after all 2,999 pairs
