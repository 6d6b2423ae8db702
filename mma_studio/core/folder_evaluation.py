"""Evaluate a saved adapter file on a folder of class folders (`mma-studio eval`).

When the folder holds the classes the adapter was trained on, the split is rebuilt with the
run's own seed, shots and validation size, so the images it trained and selected on stay out
of the test set. Folders the adapter never saw are "new" classes, scored among themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from mma_studio.core.adapter_file import AdapterFile
from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.dataset import ScanResult
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.metrics import EvaluationReport
from mma_studio.core.split import DatasetSplit, make_split


@dataclass
class FolderEvaluation:
    zero_shot: EvaluationReport
    adapted: EvaluationReport
    split: DatasetSplit
    prompt_names: list[str]
    held_out_training_images: bool
    failed: list[tuple[str, str]]

    def summary(self) -> dict:
        return {
            "zero_shot": self.zero_shot.headline(),
            "adapted": self.adapted.headline(),
            "test_images": {"base": len(self.split.test_base), "new": len(self.split.test_new)},
            "base_classes": [self.prompt_names[i] for i in self.split.base],
            "new_classes": [self.prompt_names[i] for i in self.split.new],
            "training_images_held_out": self.held_out_training_images,
            "skipped_images": [{"path": p, "reason": r} for p, r in self.failed],
        }


def evaluation_split(adapter_file: AdapterFile, scan: ScanResult) -> tuple[DatasetSplit, list[str], bool]:
    """The test split for `scan`, and the prompt name of each of its classes."""
    training = adapter_file.training
    folders = list(training.get("folders") or [])
    prompt_by_folder = (
        dict(zip(folders, adapter_file.class_names)) if len(folders) == len(adapter_file.class_names) else {}
    )
    role_by_folder = dict(zip(folders, adapter_file.roles)) if prompt_by_folder else {}
    names = scan.class_names
    base = [n for n in names if role_by_folder.get(n) == "base"]
    new = [n for n in names if n not in base]
    if not base:
        # No trained class here: every class is new, every image a test image.
        base, new = [], list(names)
    held_out = bool(base)
    split = (
        make_split(
            scan,
            shots=int(training.get("shots", 0)) if held_out else 0,
            val_per_class=int(training.get("val_per_class", 0)) if held_out else 0,
            seed=int(training.get("seed", 42)),
            base_classes=base or None,
            new_classes=new or None,
        )
        if base
        else _all_new_split(scan)
    )
    overrides = training.get("display_names") or {}
    prompt_names = [
        prompt_by_folder.get(name) or overrides.get(name) or display
        for name, display in zip(split.classes, split.display_names)
    ]
    return split, prompt_names, held_out


def _all_new_split(scan: ScanResult) -> DatasetSplit:
    from mma_studio.core.split import Sample

    classes = scan.class_names
    test_new = [Sample(path, index) for index, folder in enumerate(scan.classes) for path in folder.images]
    return DatasetSplit(
        classes=classes,
        display_names=scan.display_names,
        base=[],
        new=list(range(len(classes))),
        train=[],
        val=[],
        test_base=[],
        test_new=test_new,
        seed=0,
        shots=0,
        val_per_class=0,
    )


def evaluate_adapter_on_folder(
    adapter_file: AdapterFile,
    scan: ScanResult,
    backbone,
    *,
    cache=None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> FolderEvaluation:
    from mma_studio.core.features import encode_class_texts, extract_image_features
    from mma_studio.core.pipeline import zero_shot_and_adapted

    split, prompt_names, held_out = evaluation_split(adapter_file, scan)
    samples = split.test_base + split.test_new
    text_features = encode_class_texts(backbone, prompt_names, tuple(adapter_file.templates), cache=cache)
    result = extract_image_features(
        backbone, [s.path for s in samples], cache=cache, on_progress=on_progress, token=token
    )
    check(token)
    kept = [samples[i] for i in result.kept]
    if on_progress:
        on_progress(Progress("evaluate", 0, None, message="Scoring test images"))
    zero, adapted = zero_shot_and_adapted(
        backbone.logit_scale, adapter_file.build_adapter(), result.features, kept, split, text_features, prompt_names
    )
    return FolderEvaluation(zero, adapted, split, prompt_names, held_out, [(str(p), r) for p, r in result.failed])
