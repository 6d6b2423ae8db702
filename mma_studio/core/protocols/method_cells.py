"""One (dataset, seed, method) cell: fit a method of `core/methods` on a split's cached
features and score it under the base-to-new protocol.

This is the only place the reproduction touches the methods, so the comparison runner can
take it over without the protocol code changing.
"""

from __future__ import annotations

import time

import torch

from mma_studio.core.cancellation import CancelToken
from mma_studio.core.evaluation import evaluate_features
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
    return (f"{', '.join(bound)} cannot score classes never seen in training: their new-class "
            "figures are zero-shot CLIP's.")


def feature_task(split: DatasetSplit, table, class_text: torch.Tensor, logit_scale: float) -> tuple[FeatureTask, int]:
    """The split as a `FeatureTask` (images whose features are missing are left out: returned count)."""
    train, train_samples = table.stack(split.train)
    val, val_samples = table.stack(split.val)
    test, test_samples = table.stack(split.test_base + split.test_new)
    wanted = len(split.train) + len(split.val) + len(split.test_base) + len(split.test_new)
    left_out = wanted - len(train_samples) - len(val_samples) - len(test_samples)
    task = FeatureTask(
        train_features=train,
        train_labels=torch.tensor(split.local_labels(train_samples, "base"), dtype=torch.long),
        val_features=val,
        val_labels=torch.tensor(split.local_labels(val_samples, "base"), dtype=torch.long),
        test_features=test,
        test_labels=torch.tensor([s.class_index for s in test_samples], dtype=torch.long),
        class_text=class_text,
        base=list(split.base),
        new=list(split.new),
        class_names=list(split.display_names),
        logit_scale=float(logit_scale),
    )
    return task, left_out


def run_cell(name: str, task: FeatureTask, seed: int, *, training: TrainConfig | None = None,
             on_progress: ProgressCallback | None = None, token: CancelToken | None = None) -> dict:
    """Fit `name` on the task and return its figures (fractions) as a JSON-ready dict."""
    method = build_method(name, training=training)
    started = time.perf_counter()
    fitted = method.fit(task, seed=seed, on_progress=on_progress, token=token)
    seconds = time.perf_counter() - started
    report = evaluate_features(fitted.scorer, task.test_features, task.test_labels.tolist(), task.class_text,
                               base=task.base, new=task.new, class_names=task.class_names)
    return {
        "base": report.base_acc, "new": report.new_acc, "hm": report.hm, "all": report.all_acc,
        "trainable_params": int(fitted.trainable_params), "train_seconds": round(seconds, 3),
        "chosen": dict(fitted.chosen), "val_acc": fitted.val_acc, "cancelled": bool(fitted.cancelled),
    }
