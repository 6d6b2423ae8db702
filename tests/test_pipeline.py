"""The folder-to-adapter pipeline and the predictor, end to end with mma-tiny random weights."""

import dataclasses

import pytest
import torch

from mma_studio.core.adapter_file import load_adapter_file
from mma_studio.core.backbone import load_backbone
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.dataset import scan_dataset
from mma_studio.core.events import EpochEvent, FinishedEvent, ZeroShotEvent
from mma_studio.core.feature_cache import FeatureCache
from mma_studio.core.images import load_rgb_image
from mma_studio.core.pipeline import RunSettings, apply_preset, train_adapter
from mma_studio.core.predict import BackboneMismatchError, Classifier
from mma_studio.core.split import SplitError
from mma_studio.core.training import TrainConfig
from tests.image_factory import make_class_dataset

CLASSES = ["ant", "bee", "cat", "dog", "eel", "fox"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    make_class_dataset(root / "data", CLASSES, per_class=12)
    return root


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("mma-tiny", "random", device="cpu")


def settings(**changes) -> RunSettings:
    base = RunSettings(
        model="mma-tiny", pretrained="random", device="cpu", shots=4, val_per_class=2, training=TrainConfig(epochs=3)
    )
    return dataclasses.replace(base, **changes)


def test_train_events_figures_and_file(dataset, backbone, tmp_path):
    scan = scan_dataset(dataset / "data")
    events, stages = [], []
    run = train_adapter(
        scan,
        settings(display_names={"eel": "moray eel"}),
        backbone=backbone,
        cache=FeatureCache(tmp_path / "cache"),
        on_event=events.append,
        on_progress=lambda p: stages.append(p.stage),
    )
    assert isinstance(events[0], ZeroShotEvent) and isinstance(events[-1], FinishedEvent)
    assert [e.epoch for e in events if isinstance(e, EpochEvent)] == [1, 2, 3]
    assert {"extract", "train", "evaluate"} <= set(stages)
    assert run.split.counts() == {"train": 12, "val": 6, "test_base": 18, "test_new": 36}
    assert run.prompt_names == ["ant", "bee", "cat", "dog", "moray eel", "fox"]
    for report in (run.zero_shot, run.adapted):
        assert 0 <= report.base_acc <= 1 and 0 <= report.new_acc <= 1 and report.confusion.sum() == 54
    # zero-shot figures are those of plain CLIP on the same test images
    assert run.summary()["zero_shot"]["base"] == pytest.approx(run.zero_shot.base_acc)

    path = run.save(tmp_path / "out.safetensors")
    loaded = load_adapter_file(path)
    assert loaded.class_names == run.prompt_names
    assert loaded.roles == ["base"] * 3 + ["new"] * 3
    assert loaded.backbone["weights_id"] == backbone.weights_id
    assert loaded.training["shots"] == 4 and loaded.training["folders"] == CLASSES
    assert loaded.metrics["adapted"]["base"] == pytest.approx(run.adapted.base_acc)

    # The file, reloaded through the predict path, gives the in-app model's predictions.
    classifier = Classifier(backbone, loaded)
    images = [load_rgb_image(s.path) for s in run.split.test_base[:5]]
    pixels = torch.stack([backbone.preprocess(image) for image in images])
    features = backbone.encode_images(pixels)
    with torch.no_grad():
        expected = run.adapter(features, run.class_text_features).softmax(-1)
    predictions = classifier.classify_images(images, top_k=1)
    assert [p.labels[0] for p in predictions] == [run.prompt_names[i] for i in expected.argmax(-1).tolist()]


def test_second_run_reads_features_from_the_cache(dataset, backbone, tmp_path, monkeypatch):
    scan = scan_dataset(dataset / "data")
    cache = FeatureCache(tmp_path / "cache")
    first = train_adapter(scan, settings(), backbone=backbone, cache=cache)
    calls = []
    original = type(backbone).encode_images
    monkeypatch.setattr(
        type(backbone), "encode_images", lambda self, pixels: calls.append(len(pixels)) or original(self, pixels)
    )
    second = train_adapter(scan, settings(), backbone=backbone, cache=cache)
    assert calls == []
    assert second.adapted.headline() == first.adapted.headline()


def test_cancel_before_training_raises(dataset, backbone, tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        train_adapter(
            scan_dataset(dataset / "data"),
            settings(),
            backbone=backbone,
            cache=FeatureCache(tmp_path / "c"),
            token=token,
        )


def test_split_problems_are_reported_before_any_work(dataset, backbone, tmp_path):
    with pytest.raises(SplitError, match="Not enough images"):
        train_adapter(
            scan_dataset(dataset / "data"), settings(shots=20), backbone=backbone, cache=FeatureCache(tmp_path / "c")
        )
    with pytest.raises(SplitError, match="at least 1 shot"):
        train_adapter(
            scan_dataset(dataset / "data"), settings(shots=0), backbone=backbone, cache=FeatureCache(tmp_path / "c")
        )
    with pytest.raises(SplitError, match="at least 2 base classes"):
        train_adapter(
            scan_dataset(dataset / "data"),
            settings(base_classes=["ant"]),
            backbone=backbone,
            cache=FeatureCache(tmp_path / "c"),
        )


def test_presets_change_training_settings():
    fast, best = apply_preset(settings(), "Fast"), apply_preset(settings(), "Best")
    assert fast.training.epochs < TrainConfig().epochs < best.training.epochs and best.augment_views > 0
    assert best.training.patience > fast.training.patience
    with pytest.raises(ValueError, match="unknown preset"):
        apply_preset(settings(), "Turbo")
    assert RunSettings.from_dict(best.to_dict()) == best


def test_augmented_views_train(dataset, backbone, tmp_path):
    run = train_adapter(
        scan_dataset(dataset / "data"), settings(augment_views=2), backbone=backbone, cache=FeatureCache(tmp_path / "c")
    )
    assert len(run.history) == 3


def test_predictor_refuses_a_different_backbone(dataset, backbone, tmp_path):
    run = train_adapter(
        scan_dataset(dataset / "data"), settings(), backbone=backbone, cache=FeatureCache(tmp_path / "c")
    )
    path = run.save(tmp_path / "a.safetensors")
    other = load_backbone("mma-tiny", "random:7", device="cpu")
    with pytest.raises(BackboneMismatchError, match="trained on"):
        Classifier(other, load_adapter_file(path))
    classifier = Classifier(backbone, load_adapter_file(path), ["zebra", "lion"])
    assert classifier.class_names == ["zebra", "lion"]
    with pytest.raises(ValueError, match="unique"):
        classifier.set_classes(["a", "a"])


def test_a_role_with_no_image_left_for_testing_is_said_in_the_warnings(dataset, backbone, tmp_path):
    """12 images a class, 8 shots + 4 validation images: base accuracy reads "—", and the run says why."""
    scan = scan_dataset(dataset / "data")
    run = train_adapter(
        scan,
        settings(shots=8, val_per_class=4),
        backbone=backbone,
        cache=FeatureCache(tmp_path / "cache"),
    )
    assert run.split.counts()["test_base"] == 0 and run.summary()["adapted"]["base"] is None
    assert any("No base-class image is left for testing" in warning for warning in run.warnings)
    complete = train_adapter(scan, settings(), backbone=backbone, cache=FeatureCache(tmp_path / "cache"))
    assert not any("left for testing" in warning for warning in complete.warnings)
