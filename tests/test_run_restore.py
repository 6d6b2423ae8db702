"""A past run shown again: its adapter kept in the run store under an id, and the run rebuilt
from the project's record (split, settings, curves) by evaluating the test images again."""

from __future__ import annotations

import os
import time

import pytest
import torch

from mma_studio.core.backbone import load_backbone
from mma_studio.core.dataset import scan_dataset
from mma_studio.core.feature_cache import FeatureCache
from mma_studio.core.pipeline import RunSettings, train_adapter
from mma_studio.core.project import RunRecord, record_run
from mma_studio.core.run_restore import RunRestoreError, restore_training_run
from mma_studio.core.run_store import RunStore, is_run_id, new_run_id
from mma_studio.core.training import TrainConfig
from tests.image_factory import make_class_dataset


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("restore")
    make_class_dataset(root / "data", ["ant", "bee", "cat", "dog", "eel"], per_class=8)
    backbone = load_backbone("mma-tiny", "random", device="cpu")
    settings = RunSettings(
        model="mma-tiny",
        pretrained="random",
        device="cpu",
        shots=3,
        val_per_class=2,
        training=TrainConfig(epochs=3, patience=0),
    )
    cache = FeatureCache(root / "cache")
    run = train_adapter(scan_dataset(root / "data"), settings, backbone=backbone, cache=cache)
    return root, backbone, cache, run


def test_run_ids_are_never_paths():
    assert is_run_id(new_run_id()) and new_run_id() != new_run_id()
    for bad in ("../../etc/passwd", "A" * 32, "abc", None, 5, "0" * 31 + "/"):
        assert not is_run_id(bad)
    with pytest.raises(ValueError):
        RunStore("/tmp").path("../x")
    record = RunRecord.from_dict(
        {"finished_at": "t", "summary": {}, "zero_shot": {}, "history": [], "settings": {}, "run_id": "../../secret"}
    )
    assert record.run_id is None  # a hand-edited project cannot point the store elsewhere


def test_the_store_keeps_the_newest_runs(trained, tmp_path):
    _, _, _, run = trained
    store = RunStore(tmp_path / "runs", keep=3)
    ids = [new_run_id() for _ in range(5)]
    for age, run_id in enumerate(ids):
        path = store.save(run, run_id)
        os.utime(path, (time.time() - 100 + age, time.time() - 100 + age))  # saved one after another
    kept = sorted(p.stem for p in (tmp_path / "runs").iterdir())
    assert kept == sorted(ids[2:]) and store.has(ids[-1]) and not store.has(ids[0])
    assert not list((tmp_path / "runs").glob(".tmp*"))  # written atomically, nothing left over


def kept(trained, folder):
    """The trained run as the app keeps it: its adapter in a store, its record with an absolute split."""
    root, _, _, run = trained
    store = RunStore(folder)
    run_id = new_run_id()
    store.save(run, run_id)
    record = record_run(run, root / "p.mmaproj", run_id=run_id)
    record.split = run.split.to_dict(None)  # absolute, as the app holds it in memory
    return store, run_id, record


def test_a_restored_run_shows_the_same_figures_matrix_and_images(trained, tmp_path):
    _, backbone, cache, run = trained
    store, run_id, record = kept(trained, tmp_path / "runs")

    restored = restore_training_run(record, store.path(run_id), backbone=backbone, cache=cache)

    for report, original in ((restored.adapted, run.adapted), (restored.zero_shot, run.zero_shot)):
        assert report.headline() == original.headline()
        assert torch.equal(torch.as_tensor(report.confusion), torch.as_tensor(original.confusion))
        assert report.paths == original.paths and report.predicted_labels == original.predicted_labels
    assert restored.split.to_dict(None) == run.split.to_dict(None)
    assert [e.to_dict() for e in restored.history] == [e.to_dict() for e in run.history]
    assert restored.zero_shot_event == run.zero_shot_event and restored.best_epoch == run.best_epoch
    assert restored.finished_at == run.finished_at and restored.prompt_names == run.prompt_names
    assert restored.summary()["adapted"] == run.summary()["adapted"]
    for name, tensor in run.adapter.state_dict().items():
        assert torch.equal(restored.adapter.state_dict()[name], tensor)


def test_missing_test_images_are_left_out_and_other_weights_are_refused(trained, tmp_path):
    _, backbone, cache, run = trained
    store, run_id, record = kept(trained, tmp_path / "runs")
    split = record.split
    gone = split["test_base"][0][0]
    split["test_base"][0][0] = str(tmp_path / "gone.png")
    record.split = split
    restored = restore_training_run(record, store.path(run_id), backbone=backbone, cache=cache)
    assert len(restored.adapted.paths) == len(run.adapted.paths) - 1 and gone not in restored.adapted.paths
    assert any("gone.png" in warning for warning in restored.warnings)

    record.split = dict(
        split,
        test_base=[[str(tmp_path / f"gone{i}.png"), c] for i, (_, c) in enumerate(split["test_base"])],
        test_new=[[str(tmp_path / f"lost{i}.png"), c] for i, (_, c) in enumerate(split["test_new"])],
    )
    with pytest.raises(RunRestoreError, match="none of the run's test images"):
        restore_training_run(record, store.path(run_id), backbone=backbone, cache=cache)
    record.split = split

    other = load_backbone("mma-tiny", "random:7", device="cpu")
    with pytest.raises(RunRestoreError, match="encodes this run's classes differently"):
        restore_training_run(record, store.path(run_id), backbone=other, cache=cache)
    record.split = None
    with pytest.raises(RunRestoreError, match="split"):
        restore_training_run(record, store.path(run_id), backbone=backbone, cache=cache)


def test_a_finished_run_brings_its_split_made_by_the_worker_and_the_record_uses_it(trained):
    """The split of a run lists every image: the training worker encodes it once (`split_dict`),
    so recording the run on the GUI thread does no per-image work; written, it is relative."""
    from mma_studio.core.project_store import record_finished_run

    root, _, _, run = trained
    assert run.split_dict == run.split.to_dict(None)
    assert record_finished_run(run, new_run_id()).split is run.split_dict
    relative = record_run(run, root / "p.mmaproj")
    assert relative.split == run.split.to_dict(root) and relative.split != run.split_dict
