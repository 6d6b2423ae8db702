"""From a scanned image folder to a trained, evaluated adapter: the product's main path.

The CLI's `train`, the app's Train page and the tests all run `train_adapter`, so progress
stages, events and figures are the same everywhere. The frozen encoders run once per image
(features are cached); the training loop runs on the cached features.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mma_studio import __version__
from mma_studio.core.adapter import AdapterConfig, MultiModalAdapter, zero_shot_logits
from mma_studio.core.adapter_file import AdapterFile, save_adapter_file
from mma_studio.core.cancellation import Cancelled, CancelToken, check
from mma_studio.core.dataset import ScanResult
from mma_studio.core.evaluation import evaluate_features
from mma_studio.core.events import (
    EpochEvent,
    EventCallback,
    Progress,
    ProgressCallback,
    ZeroShotEvent,
)
from mma_studio.core.metrics import EvaluationReport
from mma_studio.core.run_defaults import DEFAULT_TEMPLATES, PRESETS
from mma_studio.core.split import (
    MIN_BASE_CLASSES,
    DatasetSplit,
    Sample,
    SplitError,
    make_split,
)
from mma_studio.core.training import TrainConfig, fit_features


@dataclass
class RunSettings:
    """Everything a training run depends on; stored in project files and adapter metadata."""

    model: str = "ViT-B-16"
    pretrained: str = "openai"
    device: str = "auto"
    shots: int = 16
    val_per_class: int = 4
    seed: int = 42
    base_ratio: float = 0.5
    base_classes: list[str] | None = None
    new_classes: list[str] | None = None
    display_names: dict[str, str] = field(default_factory=dict)
    templates: list[str] = field(default_factory=lambda: list(DEFAULT_TEMPLATES))
    augment_views: int = 0
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    training: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["adapter"] = {k: v for k, v in self.adapter.to_dict().items() if k not in ("embed_dim", "logit_scale")}
        data["adapter"]["bottleneck_dim"] = self.adapter.bottleneck_dim
        data["training"] = self.training.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> RunSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "adapter" in values:
            values["adapter"] = AdapterConfig.from_dict(values["adapter"])
        if "training" in values:
            values["training"] = TrainConfig.from_dict(values["training"])
        return cls(**values)


def apply_preset(settings: RunSettings, name: str) -> RunSettings:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    training = dataclasses.replace(settings.training, **preset.get("training", {}))
    return dataclasses.replace(
        settings, training=training, augment_views=preset.get("augment_views", settings.augment_views)
    )


@dataclass
class TrainingRun:
    """A finished (or cancelled-with-a-result) run: the adapter, its curves and its figures."""

    settings: RunSettings
    split: DatasetSplit
    adapter: MultiModalAdapter
    history: list[EpochEvent]
    zero_shot: EvaluationReport
    adapted: EvaluationReport
    cancelled: bool
    backbone_metadata: dict
    prompt_names: list[str]  # the class names used in prompts, in `split.classes` order
    class_text_features: torch.Tensor  # (N, D) frozen text embeddings of all classes
    zero_shot_event: ZeroShotEvent  # the baseline of the live curves (validation and new)
    best_epoch: int = 0
    stopped_early: bool = False
    failed_images: list[tuple[str, str]] = field(default_factory=list)
    finished_at: str = ""
    # The loaded backbone, kept so the app can evaluate, verify an export and demo without
    # loading it again (never serialised).
    backbone: object = field(default=None, repr=False, compare=False)
    # Problems that did not stop the run but a user should hear about, e.g. features that
    # could not be cached because the disk is full (the next run will encode them again).
    warnings: list[str] = field(default_factory=list)
    # `split.to_dict()` (every path absolute, as the open project keeps a run), made by the
    # worker that trained: it lists every image, ~20 ms at 20,000 on the GUI thread otherwise.
    split_dict: dict | None = field(default=None, repr=False, compare=False)

    def summary(self) -> dict:
        return {
            "zero_shot": self.zero_shot.headline(),
            "adapted": self.adapted.headline(),
            "best_epoch": self.best_epoch,
            "epochs_run": len(self.history),
            "stopped_early": self.stopped_early,
            "cancelled": self.cancelled,
            "counts": self.split.counts(),
            "base_classes": [self.prompt_names[i] for i in self.split.base],
            "new_classes": [self.prompt_names[i] for i in self.split.new],
            "backbone": self.backbone_metadata.get("description", ""),
            "skipped_images": [{"path": p, "reason": r} for p, r in self.failed_images],
            "warnings": list(self.warnings),
        }

    def to_adapter_file(self) -> AdapterFile:
        roles = ["base" if i in set(self.split.base) else "new" for i in range(len(self.split.classes))]
        training = self.settings.to_dict()
        training.update(
            {
                "folders": list(self.split.classes),
                "best_epoch": self.best_epoch,
                "epochs_run": len(self.history),
                "counts": self.split.counts(),
            }
        )
        return AdapterFile(
            adapter_config=self.adapter.config,
            state_dict={k: v.detach().cpu() for k, v in self.adapter.state_dict().items()},
            class_names=list(self.prompt_names),
            roles=roles,
            templates=list(self.settings.templates),
            backbone=dict(self.backbone_metadata),
            training=training,
            metrics={"zero_shot": self.zero_shot.headline(), "adapted": self.adapted.headline()},
            class_text_features=self.class_text_features,
            created=self.finished_at,
            app_version=__version__,
        )

    def save(self, path: Path | str) -> Path:
        return save_adapter_file(Path(path), self.to_adapter_file())


def prompt_names_for(split: DatasetSplit, overrides: dict[str, str]) -> list[str]:
    return [overrides.get(name) or display for name, display in zip(split.classes, split.display_names)]


def build_split(scan: ScanResult, settings: RunSettings, fixes=None) -> DatasetSplit:
    """The run's split; `fixes` are the project's exclusions and class moves (`DataFixes`)."""
    return make_split(
        scan,
        shots=settings.shots,
        val_per_class=settings.val_per_class,
        seed=settings.seed,
        base_ratio=settings.base_ratio,
        base_classes=settings.base_classes,
        new_classes=settings.new_classes,
        fixes=fixes,
    )


def evaluate_on_test_images(
    backbone,
    table,
    split: DatasetSplit,
    adapter,
    text_features: torch.Tensor,
    prompt_names: list[str],
    on_progress: ProgressCallback | None = None,
):
    """Zero-shot CLIP and CLIP + `adapter` on the split's test images: two `EvaluationReport`s.

    `table` is a `FeatureTable`; the test images are extracted here when they are not yet."""
    if on_progress:
        on_progress(Progress("evaluate", 0, None, message="Evaluating on the test images"))
    table.extract([s.path for s in split.test_base + split.test_new], 0, "test images")
    test_features, test_samples = table.stack(split.test_base + split.test_new)
    reports = zero_shot_and_adapted(
        backbone.logit_scale, adapter, test_features, test_samples, split, text_features, prompt_names
    )
    if on_progress:
        on_progress(Progress("evaluate", 1, 1, message="Done"))
    return reports


def zero_shot_and_adapted(
    logit_scale: float,
    adapter,
    features: torch.Tensor,
    samples: list[Sample],
    split: DatasetSplit,
    text_features: torch.Tensor,
    prompt_names: list[str],
) -> tuple[EvaluationReport, EvaluationReport]:
    """Zero-shot CLIP's and CLIP + `adapter`'s reports on `samples` (one row of `features` each)."""
    common: dict[str, Any] = {
        "labels": [s.class_index for s in samples],
        "text_features": text_features,
        "base": split.base,
        "new": split.new,
        "class_names": split.classes,
        "display_names": prompt_names,
        "paths": [str(s.path) for s in samples],
    }
    zero_shot = evaluate_features(lambda x, t: zero_shot_logits(x, t, logit_scale), features, **common)
    return zero_shot, evaluate_features(adapter, features, **common)


class FeatureTable:
    """Features of a split's images, extracted once (per view) through the on-disk cache."""

    def __init__(self, backbone, cache, on_progress, token) -> None:
        self.backbone, self.cache, self.on_progress, self.token = backbone, cache, on_progress, token
        self.failed: dict[Path, str] = {}
        self.rows: dict[tuple[int, Path], torch.Tensor] = {}
        self.warnings: list[str] = []

    def extract(self, paths: list[Path], view: int, label: str) -> None:
        from mma_studio.core.features import extract_image_features

        todo = [p for p in dict.fromkeys(paths) if (view, p) not in self.rows and p not in self.failed]
        if not todo:
            return

        def progress(event: Progress) -> None:
            if self.on_progress:
                self.on_progress(dataclasses.replace(event, stage="extract", message=label))

        result = extract_image_features(
            self.backbone, todo, cache=self.cache, view=view, on_progress=progress, token=self.token
        )
        for row, index in enumerate(result.kept):
            self.rows[(view, todo[index])] = result.features[row]
        for path, reason in result.failed:
            self.failed[Path(path)] = reason
        for problem in [
            *result.warnings,
            *([f"Features computed but not cached: {result.cache_error}"] if result.cache_error else []),
        ]:
            if problem not in self.warnings:
                self.warnings.append(problem)

    def stack(self, samples: list[Sample], view: int = 0) -> tuple[torch.Tensor, list[Sample]]:
        kept = [s for s in samples if (view, s.path) in self.rows]
        if not kept:
            return torch.zeros(0, self.backbone.embed_dim), kept
        return torch.stack([self.rows[(view, s.path)] for s in kept]), kept

    def extract_split(self, split: DatasetSplit, augment_views: int) -> None:
        """Every image of `split` (view 0), then `augment_views` augmented views of its training images."""
        self.extract([s.path for s in split.train + split.val + split.test_base + split.test_new], 0, "images")
        for view in range(1, augment_views + 1):
            self.extract([s.path for s in split.train], view, f"augmented view {view} of {augment_views}")

    def training_features(self, samples: list[Sample], augment_views: int) -> tuple[torch.Tensor, list[Sample]]:
        """(n, D), or (V, n, D) with V = 1 + `augment_views` of the samples whose every view was
        extracted; `SplitError` when none was."""
        features, kept = self.stack(samples)
        if augment_views:
            kept = [s for s in kept if all((v, s.path) in self.rows for v in range(augment_views + 1))]
            features = torch.stack([self.stack(kept, view)[0] for view in range(augment_views + 1)])
        if not kept:
            raise SplitError("none of the training images could be read")
        return features, kept


class SettingsError(ValueError):
    """A run setting no run can use; the message names it and the accepted range."""


def check_run_settings(settings: RunSettings) -> None:
    """Refuse settings no run can use, up front (the CLI and the app both get this): the
    training numbers are checked by `TrainConfig` itself; these are the split's and the prompts'."""
    import math
    import numbers

    def whole(name: str, value, low: int, high: int) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
            raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {value!r}")

    whole("shots", settings.shots, 0, 1_000_000)
    whole("validation images per class", settings.val_per_class, 0, 1_000_000)
    whole("augmented views", settings.augment_views, 0, 256)
    whole("seed", settings.seed, 0, 2**63 - 1)
    ratio = settings.base_ratio
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not math.isfinite(ratio) or not 0 < ratio <= 1:
        raise SettingsError(f"the base ratio must be a number above 0 and at most 1, not {ratio!r}")
    for template in settings.templates:
        if "{}" not in template:  # a prompt without the class name: every class would read the same
            raise SettingsError(f"prompt template {template!r} needs a {{}} where the class name goes")


def check_prompt_names(scan: ScanResult, split: DatasetSplit, settings: RunSettings) -> None:
    """Refuse classes whose prompt names (after the user's renames) read the same: CLIP cannot
    tell them apart, and the adapter file could not be saved after all the work."""
    from mma_studio.core.dataset import DatasetError
    from mma_studio.core.name_collisions import find_name_collisions

    folders = {c.name: c.path for c in scan.classes}
    names = prompt_names_for(split, settings.display_names)
    collisions = find_name_collisions(
        (cid, name, folders.get(cid, Path(cid))) for cid, name in zip(split.classes, names)
    )
    if collisions:
        raise DatasetError("; ".join(c.describe() for c in collisions), scan=scan)


def untested_role_warnings(split: DatasetSplit) -> list[str]:
    """Say why a figure will read "—": every image of a role went to training and validation,
    so none is left to test on (the shots and validation images take a small class whole)."""
    warnings = []
    if split.base_names and not split.test_base:
        warnings.append(
            "No base-class image is left for testing: the training shots and validation images use every one, "
            "so base accuracy cannot be measured. Add images, or lower the shots or validation images per class."
        )
    if split.new_names and not split.test_new:
        warnings.append("No new-class image was found for testing, so new-class accuracy cannot be measured.")
    return warnings


def leak_warnings(scan: ScanResult, split: DatasetSplit) -> list[str]:
    """A line per picture that the split puts both among the images trained on and the test
    images (through a link or an identical copy): its test figures measure memory."""
    from mma_studio.core.file_identity import leaking_groups

    groups = leaking_groups(
        getattr(scan, "duplicates", []),
        [s.path for s in split.train + split.val],
        [s.path for s in split.test_base + split.test_new],
    )
    return [f"Leak: the same image is used for training and for testing ({g.describe()})." for g in groups]


def without_unreadable(split: DatasetSplit, failed: dict[Path, str]) -> tuple[DatasetSplit, list[str]]:
    """The split without the files extraction could not read (removed or changed since the
    scan), and a warning naming them; refuses (SplitError) when a base class is left without
    a training image. So the run's counts say what was really used, and a class whose folder
    vanished is not trained on as a name without pictures."""
    from mma_studio.core.dataset import brief_listing

    if not failed:
        return split, []
    failed = {Path(p): r for p, r in failed.items()}

    def keep(samples):
        return [s for s in samples if Path(s.path) not in failed]

    lost = [s for s in split.train + split.val + split.test_base + split.test_new if Path(s.path) in failed]
    if not lost:
        return split, []
    kept = dataclasses.replace(
        split,
        train=keep(split.train),
        val=keep(split.val),
        test_base=keep(split.test_base),
        test_new=keep(split.test_new),
    )
    trained = {s.class_index for s in kept.train}
    empty = [i for i in split.base if i not in trained]
    files = brief_listing([f"{s.path} ({failed[Path(s.path)]})" for s in lost])
    if empty:
        names = brief_listing([repr(split.classes[i]) for i in empty])
        raise SplitError(
            f"base class {names} has no readable training image left: {len(lost)} chosen image(s) could not be "
            f"read since the scan: {files}. Scan the data again."
        )
    warning = (
        f"{len(lost)} chosen image(s) could not be read since the scan and are left out "
        f"(the counts say what was used): {files}. Scan the data again to choose others."
    )
    return kept, [warning]


def backbone_and_cache(
    settings: RunSettings,
    backbone=None,
    cache=None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
):
    """The backbone and feature cache an operation on `settings` uses: the ones given, else the
    settings' model loaded (`load_backbone` reports the "load_model" stage) and the default cache."""
    if backbone is None:
        from mma_studio.core.backbone import load_backbone

        backbone = load_backbone(
            settings.model, settings.pretrained, device=settings.device, on_progress=on_progress, token=token
        )
    if cache is None:
        from mma_studio.core.feature_cache import FeatureCache

        cache = FeatureCache()
    return backbone, cache


def check_trainable(split: DatasetSplit) -> None:
    """Raise `SplitError` when this split cannot train an adapter (what `check` reports, too)."""
    if not split.train:
        raise SplitError("no training images: choose at least 1 shot per base class")
    if len(split.base) < MIN_BASE_CLASSES:
        # With one class the softmax is constant: the loss is zero and nothing is learned.
        raise SplitError(
            f"training needs at least 2 base classes, but only {len(split.base)} is base; "
            "make more classes base (the split editor, or --base-classes / --base-ratio)"
        )


def train_adapter(
    scan: ScanResult,
    settings: RunSettings,
    *,
    backbone=None,
    cache=None,
    on_progress: ProgressCallback | None = None,
    on_event: EventCallback | None = None,
    token: CancelToken | None = None,
    fixes=None,
) -> TrainingRun:
    """Split, load the backbone, extract (cached), train, evaluate zero-shot and adapted.

    `fixes` (`DataFixes`): the project's exclusions and class moves, applied by the split.

    Raises `Cancelled` if cancelled before any epoch finished; a cancel during training
    returns the best adapter so far with `cancelled=True`.
    """
    check_run_settings(settings)
    split = build_split(scan, settings, fixes)
    check_trainable(split)
    check_prompt_names(scan, split, settings)  # before any model is loaded or image encoded
    run_warnings = leak_warnings(scan, split)
    backbone, cache = backbone_and_cache(settings, backbone, cache, on_progress, token)
    check(token)

    from mma_studio.core.features import encode_class_texts

    prompt_names = prompt_names_for(split, settings.display_names)
    text_features = encode_class_texts(backbone, prompt_names, tuple(settings.templates), cache=cache)

    table = FeatureTable(backbone, cache, on_progress, token)
    table.extract_split(split, settings.augment_views)
    check(token)
    split, lost = without_unreadable(split, table.failed)
    run_warnings += lost
    run_warnings += untested_role_warnings(split)

    train_features, train_samples = table.training_features(split.train, settings.augment_views)
    val_features, val_samples = table.stack(split.val)
    new_features, new_samples = table.stack(split.test_new)
    base_text = text_features[split.base]
    new_text = text_features[split.new] if split.new else None

    adapter_config = dataclasses.replace(
        settings.adapter, embed_dim=backbone.embed_dim, logit_scale=backbone.logit_scale
    )
    device = backbone.device
    if on_progress:
        on_progress(Progress("train", 0, settings.training.epochs, message="Training the adapter"))

    def relay(event) -> None:
        if on_event:
            on_event(event)
        if on_progress and isinstance(event, EpochEvent):
            on_progress(
                Progress(
                    "train",
                    event.epoch,
                    event.epochs,
                    rate=event.samples_per_s,
                    eta_s=event.eta_s,
                    message=f"epoch {event.epoch}",
                )
            )

    result = fit_features(
        train_features.to(device),
        torch.tensor(split.local_labels(train_samples, "base")),
        base_text.to(device),
        val_image_features=val_features.to(device) if val_samples else None,
        val_labels=torch.tensor(split.local_labels(val_samples, "base")) if val_samples else None,
        new_image_features=new_features.to(device) if new_samples and new_text is not None else None,
        new_labels=torch.tensor(split.local_labels(new_samples, "new"))
        if new_samples and new_text is not None
        else None,
        new_text_features=new_text.to(device) if new_text is not None else None,
        config=settings.training,
        adapter_config=adapter_config,
        on_event=relay,
        token=token,
    )
    if result.cancelled and result.best_epoch == 0:
        raise Cancelled()

    adapter = result.adapter.cpu()
    zero_shot, adapted = evaluate_on_test_images(
        backbone, table, split, adapter, text_features, prompt_names, on_progress
    )
    return TrainingRun(
        settings=settings,
        split=split,
        adapter=adapter,
        history=result.history,
        zero_shot=zero_shot,
        adapted=adapted,
        cancelled=result.cancelled,
        backbone_metadata=backbone.to_metadata(),
        prompt_names=prompt_names,
        class_text_features=text_features.cpu(),
        zero_shot_event=result.zero_shot,
        best_epoch=result.best_epoch,
        stopped_early=result.finished.stopped_early,
        failed_images=[(str(p), r) for p, r in table.failed.items()],
        warnings=run_warnings + list(table.warnings),
        finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        backbone=backbone,
        split_dict=split.to_dict(),
    )
