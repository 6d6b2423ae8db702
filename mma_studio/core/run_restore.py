"""A past run brought back from what a project remembers (settings, split, curves, figures) and
its stored adapter file: the test images are evaluated again, from the feature cache, so the
Evaluate page shows the same per-class figures, confusion matrix and images as after training.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.events import EpochEvent, ProgressCallback, ZeroShotEvent
from mma_studio.core.split import DatasetSplit


class RunRestoreError(Exception):
    """The run cannot be shown again; the message says why (the figures and curves remain)."""


def _event(cls, data: dict):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})


def restore_training_run(
    record,
    adapter_path: Path | str,
    *,
    backbone=None,
    cache=None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
):
    """A `TrainingRun` for `record` (a `RunRecord` whose split holds absolute paths).

    Loads the backbone the adapter was trained on (unless given), checks that it encodes the
    classes as it did then, and evaluates zero-shot and adapted on the split's test images.
    Test images that are gone are left out, as in training. Raises `RunRestoreError`."""
    from mma_studio.core.adapter_file import AdapterFileError, load_adapter_file
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.features import encode_class_texts
    from mma_studio.core.pipeline import (
        FeatureTable,
        RunSettings,
        TrainingRun,
        evaluate_on_test_images,
    )
    from mma_studio.core.predict import (
        BACKBONE_AGREEMENT,
        BackboneMismatchError,
        backbone_arguments,
    )
    from mma_studio.core.split import SplitError

    if not isinstance(record.split, dict):
        raise RunRestoreError("the project does not hold this run's split")
    try:
        split = DatasetSplit.from_dict(record.split)
        adapter_file = load_adapter_file(adapter_path)
        settings = RunSettings.from_dict(record.settings)
    except (SplitError, AdapterFileError, KeyError, TypeError, ValueError) as exc:
        raise RunRestoreError(str(exc)) from exc
    if len(adapter_file.class_names) != len(split.classes):
        raise RunRestoreError("the stored adapter does not belong to this run (its classes differ)")
    check(token)
    if backbone is None:
        try:
            model, pretrained = backbone_arguments(adapter_file)
        except BackboneMismatchError as exc:
            raise RunRestoreError(str(exc)) from exc
        backbone = load_backbone(model, pretrained, device=settings.device, on_progress=on_progress, token=token)
    cache = cache if cache is not None else FeatureCache()
    prompt_names = list(adapter_file.class_names)
    # Encoded as training encoded them (through the cache), then compared with the embeddings
    # the file stored: other weights than the run's are refused, not silently evaluated.
    text_features = encode_class_texts(backbone, prompt_names, tuple(adapter_file.templates), cache=cache)
    stored = adapter_file.class_text_features
    if stored is not None:
        agreement = F.cosine_similarity(text_features.float(), stored.float(), dim=-1).min().item()
        if agreement < BACKBONE_AGREEMENT:
            raise RunRestoreError(
                f"{backbone.describe()} encodes this run's classes differently than the "
                f"backbone it was trained on (agreement {agreement:.2f})"
            )
    check(token)
    adapter = adapter_file.build_adapter()
    table = FeatureTable(backbone, cache, on_progress, token)
    zero_shot, adapted = evaluate_on_test_images(
        backbone, table, split, adapter, text_features, prompt_names, on_progress
    )
    if split.test_base + split.test_new and not adapted.paths:
        raise RunRestoreError("none of the run's test images can be read any more (moved or deleted?)")
    summary = record.summary or {}
    return TrainingRun(
        settings=settings,
        split=split,
        adapter=adapter,
        history=[_event(EpochEvent, event) for event in record.history],
        zero_shot=zero_shot,
        adapted=adapted,
        cancelled=bool(summary.get("cancelled", False)),
        backbone_metadata=backbone.to_metadata(),
        prompt_names=prompt_names,
        class_text_features=text_features,
        zero_shot_event=_event(ZeroShotEvent, record.zero_shot or {"val_acc": None}),
        best_epoch=int(summary.get("best_epoch") or 0),
        stopped_early=bool(summary.get("stopped_early", False)),
        failed_images=[
            (str(item.get("path")), str(item.get("reason")))
            for item in summary.get("skipped_images", [])
            if isinstance(item, dict)
        ],
        warnings=[str(w) for w in summary.get("warnings", [])]
        + [f"{path}: {reason}" for path, reason in table.failed.items()],
        finished_at=record.finished_at,
        backbone=backbone,
    )


def restore_task(record, adapter_path: Path, cache_dir: Path | None = None):
    """The work for a `BackgroundTask`: `fn(on_progress, token) -> TrainingRun`."""

    def run(on_progress, token):
        from mma_studio.core.feature_cache import FeatureCache

        torch.set_grad_enabled(False)
        return restore_training_run(
            record,
            adapter_path,
            cache=FeatureCache(cache_dir) if cache_dir else None,
            on_progress=on_progress,
            token=token,
        )

    return run
