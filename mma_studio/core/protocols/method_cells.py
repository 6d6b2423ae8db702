"""One (dataset, seed, method) cell: the comparison runner (`core/comparison.run_methods`) on
one seed's split of one dataset, so a reproduced cell is computed exactly as `compare`
computes it on a user's folder.

This is the only place the reproduction touches the methods.
"""

from __future__ import annotations

import torch

from mma_studio.core.cancellation import CancelToken
from mma_studio.core.comparison import run_methods, task_from_split
from mma_studio.core.events import ProgressCallback
from mma_studio.core.methods import ALL_METHODS, FeatureTask, build_method, method_info
from mma_studio.core.split import DatasetSplit
from mma_studio.core.training import TrainConfig

PAPER_METHODS = ("zero-shot", "mma")  # the rows of the paper's Table 1 this project can run


def check_methods(names) -> list[str]:
    unknown = [n for n in names if n not in ALL_METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(ALL_METHODS)}")
    return list(dict.fromkeys(names))


def method_labels(names) -> dict[str, str]:
    return {name: method_info(name).label for name in names}


def fallback_note(names) -> str | None:
    """The sentence every table carries when a method scores new classes zero-shot."""
    bound = [method_info(n).label for n in names if not method_info(n).can_score_unseen_classes]
    if not bound:
        return None
    return (
        f"{', '.join(bound)} cannot score classes never seen in training: their new-class figures are zero-shot CLIP's."
    )


def feature_task(split: DatasetSplit, table, class_text: torch.Tensor, logit_scale: float) -> tuple[FeatureTask, int]:
    """The split as a `FeatureTask`, and how many of its images had no features (unreadable)."""
    task = task_from_split(split, table, class_text, float(logit_scale))
    wanted = len(split.train) + len(split.val) + len(split.test_base) + len(split.test_new)
    have = task.train_labels.numel() + task.val_labels.numel() + task.test_labels.numel()
    return task, wanted - have


def run_cell(
    name: str,
    task: FeatureTask,
    seed: int,
    *,
    dataset: str = "",
    training: TrainConfig | None = None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> dict:
    """Fit `name` on the task and return its figures (fractions) as a JSON-ready dict.
    Raises `Cancelled` when cancelled (a half-trained method is no result)."""
    run = run_methods(
        task, [build_method(name, training=training)], seed, dataset=dataset, on_progress=on_progress, token=token
    )[0]
    return {
        "base": run.base,
        "new": run.new,
        "hm": run.hm,
        "all": run.all,
        "trainable_params": int(run.trainable_params),
        "train_seconds": round(run.train_s, 3),
        "chosen": dict(run.chosen),
        "val_acc": run.val_acc,
        "new_is_zero_shot": run.new_is_zero_shot,
    }
