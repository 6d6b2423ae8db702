"""The data doctor's one engine call: `examine_dataset(scan, settings)` -> `DataHealthReport`.

It reuses what training uses: the cached image features (`extract_image_features` through the
feature cache, so after extraction it costs no encoding), the class prompts, the split of
`build_split` (for leaks) and `fit_features` (for out-of-fold predictions). The fixes already
recorded in the project are applied first, so a finding the user fixed does not come back.
Progress is reported as stage "doctor"; the token cancels between steps and blocks.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.data_fixes import DataFixes, apply_data_fixes
from mma_studio.core.doctor import duplicates, outliers
from mma_studio.core.doctor.confident_learning import find_label_issues
from mma_studio.core.doctor.findings import KIND_ORDER, LABEL, DataHealthReport, Finding
from mma_studio.core.doctor.label_evidence import (
    EVIDENCE_Z,
    WITHIN_Z,
    confirms,
    label_evidence,
)
from mma_studio.core.doctor.out_of_fold import (
    FOLDS,
    can_fold,
    out_of_fold_probabilities,
)
from mma_studio.core.events import Progress, ProgressCallback

ADAPTER_SOURCE = "adapter (out-of-fold)"
ZERO_SHOT_SOURCE = "zero-shot"
STEPS = ("comparing images", "checking labels", "looking for outliers")


def examine_dataset(
    scan,
    settings,
    *,
    fixes: DataFixes | None = None,
    exact_groups: Sequence[Sequence[Path]] | None = None,
    backbone=None,
    cache=None,
    label_source: str = "auto",
    folds: int = FOLDS,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> DataHealthReport:
    """Duplicates, conflicts, leaks, likely label errors and outliers of `scan`.

    `settings` is the run's `RunSettings` (backbone, split, prompts). `label_source`: "auto"
    (the adapter's out-of-fold predictions when every class has `folds` images, else
    zero-shot), "adapter" or "zero-shot". `exact_groups`: groups of paths known to be the same
    file or the same bytes; by default the scan's own (`ScanResult.duplicates`: device and
    inode, then sha256 of the contents), which these findings build on and mark `exact`.
    """
    started = time.perf_counter()
    if exact_groups is None:
        exact_groups = [group.paths for group in getattr(scan, "duplicates", None) or []]
    scan = apply_data_fixes(scan, fixes)
    kept = fixes.kept if fixes is not None else frozenset()

    def report(done: int, message: str) -> None:
        if on_progress is not None:
            on_progress(Progress("doctor", done, len(STEPS), message=message))

    if backbone is None:
        from mma_studio.core.backbone import load_backbone

        backbone = load_backbone(
            settings.model, settings.pretrained, device=settings.device, on_progress=on_progress, token=token
        )
    if cache is None:
        from mma_studio.core.feature_cache import FeatureCache

        cache = FeatureCache()

    from mma_studio.core.features import encode_class_texts, extract_image_features
    from mma_studio.core.pipeline import build_split

    paths = [path for folder in scan.classes for path in folder.images]
    owners = [folder.name for folder in scan.classes for _ in folder.images]

    def extraction_progress(event: Progress) -> None:
        if on_progress is not None:
            on_progress(dataclasses.replace(event, stage="extract", message="images"))

    extracted = extract_image_features(backbone, paths, cache=cache, on_progress=extraction_progress, token=token)
    check(token)
    paths = [paths[i] for i in extracted.kept]
    owners = [owners[i] for i in extracted.kept]
    features = extracted.features.float().cpu()
    class_names = scan.class_names
    class_index = {name: i for i, name in enumerate(class_names)}
    labels = torch.tensor([class_index[o] for o in owners], dtype=torch.long)
    display = {c.name: settings.display_names.get(c.name) or c.display_name for c in scan.classes}
    notes: list[str] = [f"{path}: not examined ({reason})" for path, reason in extracted.failed]

    sets, split_note = _split_sets(scan, settings, paths, build_split)
    if split_note:
        notes.append(split_note)

    report(0, STEPS[0])
    position = {str(p): i for i, p in enumerate(paths)}
    exact_index = [[position[str(p)] for p in group if str(p) in position] for group in (exact_groups or ())]
    findings: list[Finding] = duplicates.duplicate_findings(
        features,
        paths,
        owners,
        sets=sets,
        exact_groups=[g for g in exact_index if len(g) > 1],
        display_names=display,
        token=token,
    )
    check(token)

    report(1, STEPS[1])
    text_features = (
        encode_class_texts(backbone, [display[n] for n in class_names], tuple(settings.templates), cache=cache)
        .float()
        .cpu()
    )
    source = label_source
    if source == "auto":
        source = "adapter" if can_fold(labels, folds) else "zero-shot"
    if source == "adapter":
        if not can_fold(labels, folds):
            raise ValueError(f"out-of-fold predictions need at least {folds} images in every class and two classes")
        probabilities = out_of_fold_probabilities(
            features,
            labels,
            text_features,
            backbone.logit_scale,
            folds=folds,
            seed=settings.seed,
            adapter_config=settings.adapter,
            token=token,
        )
        source_name = ADAPTER_SOURCE
    else:
        logits = backbone.logit_scale * features @ text_features.T
        probabilities = torch.softmax(logits, dim=1)
        source_name = ZERO_SHOT_SOURCE
    evidence = label_evidence(features, labels, len(class_names))
    for issue in find_label_issues(probabilities, labels):
        if not confirms(evidence(issue.index, issue.suggested)):
            continue  # the classifier is unsure of these classes, the embedding does not confirm
        given, suggested = class_names[issue.given], class_names[issue.suggested]
        findings.append(
            Finding(
                LABEL,
                (paths[issue.index],),
                (given,),
                issue.margin,
                f"Filed under {display[given]!r} but looks like {display[suggested]!r} "
                f"({100 * float(probabilities[issue.index, issue.suggested]):.0f}% vs "
                f"{100 * float(probabilities[issue.index, issue.given]):.0f}%, {source_name})",
                suggested_class=suggested,
            )
        )
    check(token)

    report(2, STEPS[2])
    findings.extend(outliers.outlier_findings(features, labels, paths, class_names, display))
    report(3, "done")

    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    findings.sort(key=lambda f: (order[f.kind], -f.score, str(f.paths[0])))
    health = DataHealthReport(
        findings=findings,
        image_count=len(paths),
        class_count=len(class_names),
        seconds=time.perf_counter() - started,
        label_source=source_name,
        thresholds={
            "embedding": duplicates.EMBEDDING_THRESHOLD,
            "signature": duplicates.SIGNATURE_THRESHOLD,
            "crop_signature": duplicates.CROP_THRESHOLD,
            "label_evidence_robust_z": EVIDENCE_Z,
            "label_evidence_within_class_z": WITHIN_Z,
            "outlier_robust_z": outliers.OUTLIER_Z,
            "spread_robust_z": outliers.SPREAD_Z,
        },
        notes=notes,
    )
    return health.without(kept) if kept else health


def _split_sets(scan, settings, paths, build_split) -> tuple[list[str | None] | None, str]:
    """The split set of each path ("train", "val", "test"), or None and why not."""
    from mma_studio.core.split import SplitError

    try:
        split = build_split(scan, settings)
    except (SplitError, ValueError) as exc:
        return None, f"Leaks across training and test were not checked: the data cannot be split ({exc})"
    where: dict[str, str] = {}
    for name, samples in (
        ("train", split.train),
        ("val", split.val),
        ("test", split.test_base),
        ("test", split.test_new),
    ):
        for sample in samples:
            where[str(sample.path)] = name
    return [where.get(str(p)) for p in paths], ""
