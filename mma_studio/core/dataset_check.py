"""Can this scanned dataset train an adapter, and what should the user know first: the verdict
of `mma-studio check`, made with the very tests `train_adapter` applies, so `check` never passes
a dataset that training then refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mma_studio.core.dataset import ScanResult, dataset_advice
from mma_studio.core.pipeline import RunSettings, build_split, check_trainable, leak_warnings
from mma_studio.core.split import SplitError


@dataclass
class DatasetCheck:
    advice: list[str] = field(default_factory=list)  # what would make the data better
    problems: list[str] = field(default_factory=list)  # what stops training until fixed
    leaks: list[str] = field(default_factory=list)  # pictures among both the training and the test images

    @property
    def trainable(self) -> bool:
        return not self.problems


def check_dataset(scan: ScanResult, *, shots: int, val_per_class: int, seed: int) -> DatasetCheck:
    """The advice, the problems that stop training and the leaks of `scan` split as a run splits it."""
    advice = dataset_advice(scan, shots=shots, val_per_class=val_per_class)
    problems = list(scan.errors)  # class folders whose names collide: training refuses them too
    leaks: list[str] = []
    try:
        split = build_split(scan, RunSettings(shots=shots, val_per_class=val_per_class, seed=seed))  # as a run splits
        check_trainable(split)
        leaks = leak_warnings(scan, split)  # one picture among the training and the test images
    except SplitError as exc:
        problems.append(str(exc))
        # The split's refusal names the classes that are short and what fits: the advice that
        # says the same in other words (and lists other classes) would read as a contradiction.
        shortage = f"Base classes need {shots + val_per_class} images each"
        advice = [line for line in advice if not line.startswith(shortage)]
    if len(scan.classes) < 1 or not any(c.images for c in scan.classes):
        problems.append("no usable images in any class folder")
    return DatasetCheck(advice, problems, leaks)
