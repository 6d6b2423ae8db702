"""Project files, model cards, metric files, export verification and folder classification."""

import csv
import dataclasses
import json

import pytest

from mma_studio.core.adapter_file import load_adapter_file
from mma_studio.core.backbone import load_backbone
from mma_studio.core.batch_classify import classify_folder_to_csv
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.dataset import scan_dataset
from mma_studio.core.export_check import verify_exported_adapter
from mma_studio.core.feature_cache import FeatureCache
from mma_studio.core.metrics_export import confusion_csv, metrics_json
from mma_studio.core.model_card import model_card_markdown
from mma_studio.core.pipeline import RunSettings, train_adapter
from mma_studio.core.predict import Classifier
from mma_studio.core.project import (
    Project,
    ProjectError,
    load_project,
    record_run,
    relative_to_project,
    resolve_from_project,
    save_project,
)
from mma_studio.core.training import TrainConfig
from tests.image_factory import make_class_dataset, write_truncated

CLASSES = ["ant", "bee", "cat", "dog"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    make_class_dataset(root / "data", CLASSES, per_class=10)
    backbone = load_backbone("mma-tiny", "random", device="cpu")
    settings = RunSettings(
        model="mma-tiny", pretrained="random", device="cpu", shots=4, val_per_class=2, training=TrainConfig(epochs=2)
    )
    run = train_adapter(scan_dataset(root / "data"), settings, backbone=backbone, cache=FeatureCache(root / "cache"))
    path = run.save(root / "adapter.safetensors")
    return root, backbone, run, path


def test_project_round_trip_with_relative_paths(trained, tmp_path):
    root, _, run, adapter_path = trained
    project_file = root / "projects" / "demo.mmaproj"
    project = Project(
        name="demo",
        data_root=relative_to_project(root / "data", project_file),
        display_names={"eel": "moray eel"},
        base_classes=["ant", "bee"],
        new_classes=["cat", "dog"],
        backbone={"model": "mma-tiny", "pretrained": "random"},
        settings=run.settings.to_dict(),
    )
    project.runs.append(record_run(run, project_file, adapter_path))
    save_project(project, project_file)
    assert project.data_root == "../data"
    loaded = load_project(project_file)
    assert loaded == project
    assert resolve_from_project(loaded.data_root, project_file) == (root / "data").resolve()
    assert resolve_from_project(loaded.runs[0].adapter_file, project_file) == adapter_path.resolve()
    assert [e["epoch"] for e in loaded.runs[0].history] == [1, 2]
    assert loaded.runs[0].zero_shot["event"] == "zero_shot"
    assert RunSettings.from_dict(loaded.settings) == run.settings
    assert not [p for p in project_file.parent.iterdir() if p.suffix == ".tmp"]


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "invalid JSON"),
        (b"{not json", "invalid JSON"),
        (b'{"format": "other"}', "not an MMA Studio project"),
        (b'{"format": "mma-studio-project", "version": 99}', "newer"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_bad_project_files_are_refused(tmp_path, content, reason):
    path = tmp_path / "bad.mmaproj"
    path.write_bytes(content)
    with pytest.raises(ProjectError, match=reason):
        load_project(path)


def test_failed_project_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_project(Project(name="first"), tmp_path / "p.mmaproj")

    def no_space(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        save_project(Project(name="second"), path)
    assert load_project(path).name == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["p.mmaproj"]


def test_model_card_and_metrics_files(trained):
    _, _, run, path = trained
    card = model_card_markdown(load_adapter_file(path), title="Insects and pets")
    assert card.startswith("# Insects and pets")
    for text in (
        "mma-tiny",
        "Random weights",
        "| 1 | ant | base |",
        "| 4 | dog | new |",
        "a photo of a {}.",
        "zero-shot CLIP",
        "λ = 0.2",
    ):
        assert text in card, text
    report = json.loads(metrics_json(run.zero_shot, run.adapted))
    assert report["adapted"]["base"] == pytest.approx(run.adapted.base_acc)
    assert len(report["per_class"]["adapted"]) == 4
    rows = list(csv.reader(confusion_csv(run.adapted).splitlines()))
    assert rows[0] == ["true \\ predicted", *CLASSES]
    assert sum(int(v) for row in rows[1:] for v in row[1:]) == len(run.adapted.true_labels)


def test_export_verification_passes_and_catches_a_different_file(trained, tmp_path):
    root, backbone, run, path = trained
    images = [s.path for s in run.split.test_base[:4]]
    check = verify_exported_adapter(path, run, backbone, images)
    assert check.ok and check.checked == 4 and check.max_probability_gap < 1e-4
    # A run whose in-memory adapter differs from the file is reported, not passed.
    other = dataclasses.replace(run, adapter=run.adapter.__class__.from_config(run.adapter.config))
    mismatch = verify_exported_adapter(path, other, backbone, images)
    assert not mismatch.ok and mismatch.mismatches


def test_classify_folder_to_csv(trained, tmp_path):
    root, backbone, _, path = trained
    folder = tmp_path / "inbox"
    make_class_dataset(folder, ["x"], per_class=3)
    write_truncated(folder / "x" / "broken.png")
    classifier = Classifier(backbone, load_adapter_file(path), ["ant", "zebra", "lion"])
    progress = []
    count = classify_folder_to_csv(classifier, folder, tmp_path / "out.csv", top_k=2, on_progress=progress.append)
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert count == 4 and len(rows) == 4 and progress and progress[-1].done == 4
    broken = next(r for r in rows if r["path"] == "x/broken.png")
    assert broken["error"] and not broken["label_1"]
    good = [r for r in rows if not r["error"]]
    assert all(
        r["label_1"] in {"ant", "zebra", "lion"} and float(r["probability_1"]) >= float(r["probability_2"])
        for r in good
    )

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        classify_folder_to_csv(classifier, folder, tmp_path / "cancelled.csv", token=token)
    assert not (tmp_path / "cancelled.csv").exists()


def test_project_class_files_round_trip_and_are_type_checked(tmp_path):
    project = Project(name="p", class_files={"my parrot": ["../Downloads/parrot_1.png", "../Downloads/parrot_2.png"]})
    save_project(project, tmp_path / "p.mmaproj")
    assert load_project(tmp_path / "p.mmaproj").class_files == project.class_files
    data = project.to_dict()
    for bad in ({"my parrot": "a.png"}, {"my parrot": [3]}, ["a.png"]):
        (tmp_path / "bad.mmaproj").write_text(json.dumps(dict(data, class_files=bad)))
        with pytest.raises(ProjectError, match="class_files"):
            load_project(tmp_path / "bad.mmaproj")
    legacy = {k: v for k, v in data.items() if k != "class_files"}  # a project from before
    (tmp_path / "old.mmaproj").write_text(json.dumps(legacy))
    assert load_project(tmp_path / "old.mmaproj").class_files == {}
