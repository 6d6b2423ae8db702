"""After export, prove the file works: reload it through the predict path and compare.

The saved adapter is loaded from disk exactly as `mma-studio predict` would, and must give
the in-app model's predictions on a few test images; a mismatch means the file is not what
the user saw, and is reported instead of shipped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mma_studio.core.adapter_file import load_adapter_file
from mma_studio.core.images import UnusableImageError
from mma_studio.core.predict import Classifier


@dataclass
class ExportCheck:
    checked: int
    mismatches: list[str] = field(default_factory=list)  # image paths whose prediction differs
    max_probability_gap: float = 0.0

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.mismatches


def verify_exported_adapter(
    path: Path | str, run, backbone, image_paths: Sequence[Path | str], *, tolerance: float = 1e-3
) -> ExportCheck:
    """Compare the reloaded file's top-1 and probabilities with the run's in-memory adapter."""
    classifier = Classifier(backbone, load_adapter_file(path), list(run.prompt_names))
    images, names = [], []
    for image_path in image_paths:
        try:
            images.append(backbone.load_image(image_path))
            names.append(str(image_path))
        except UnusableImageError:
            continue
    if not images:
        return ExportCheck(checked=0)
    pixels = torch.stack([backbone.preprocess(image) for image in images])
    features = backbone.encode_images(pixels)
    with torch.inference_mode():
        expected = run.adapter.to(features.device)(features, run.class_text_features.to(features.device)).softmax(-1)
        reloaded = classifier.adapter(features.to(backbone.device), classifier.text_features).softmax(-1).cpu()
    expected = expected.cpu()
    gap = (expected - reloaded).abs().max().item()
    mismatches = [
        name for name, a, b in zip(names, expected.argmax(-1).tolist(), reloaded.argmax(-1).tolist()) if a != b
    ]
    if gap > tolerance and not mismatches:
        mismatches = [f"probabilities differ by {gap:.4f}"]
    return ExportCheck(checked=len(images), mismatches=mismatches, max_probability_gap=gap)
