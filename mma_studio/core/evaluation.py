"""Score a classifier (zero-shot CLIP or CLIP + adapter) on a split's test sets.

Base images are classified among the base prompts only, new images among the new prompts
only (the base-to-new protocol), and every test image among all classes together for the
confusion matrix and per-class precision/recall.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from mma_studio.core.metrics import (
    ClassMetrics,
    EvaluationReport,
    accuracy,
    confusion_matrix,
    harmonic_mean,
    per_class_metrics,
)
from mma_studio.core.training import predict_in_chunks

LogitsFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _AsModule(torch.nn.Module):
    def __init__(self, function: LogitsFunction) -> None:
        super().__init__()
        self.function = function

    def forward(self, image_features, text_features):
        return self.function(image_features, text_features)


def evaluate_features(
    logits_function: LogitsFunction,
    image_features: torch.Tensor,
    labels: Sequence[int],
    text_features: torch.Tensor,
    *,
    base: Sequence[int],
    new: Sequence[int],
    class_names: Sequence[str],
    display_names: Sequence[str] | None = None,
    paths: Sequence[str] = (),
) -> EvaluationReport:
    """`labels` index `class_names`/`text_features` (all classes); base/new are index lists."""
    model = _AsModule(logits_function)
    labels_array = np.asarray(list(labels), dtype=np.int64)
    num_classes = len(class_names)
    display_names = list(display_names or class_names)
    roles = ["base" if i in set(base) else "new" for i in range(num_classes)]

    group_predictions = np.full(labels_array.shape, -1, dtype=np.int64)
    group_accuracy: dict[str, float | None] = {"base": None, "new": None}
    for role, group in (("base", list(base)), ("new", list(new))):
        if not group:
            continue
        member = np.isin(labels_array, group)
        if not member.any():
            continue
        indices = torch.as_tensor(np.flatnonzero(member))
        predictions, _ = predict_in_chunks(model, image_features[indices], text_features[list(group)])
        mapped = np.asarray(group)[predictions.cpu().numpy()]
        group_predictions[member] = mapped
        group_accuracy[role] = accuracy(mapped, labels_array[member])

    if labels_array.size:
        all_predictions = predict_in_chunks(model, image_features, text_features)[0].cpu().numpy()
        all_accuracy = accuracy(all_predictions, labels_array)
    else:
        all_predictions = np.zeros(0, dtype=np.int64)
        all_accuracy = None
    matrix = confusion_matrix(all_predictions, labels_array, num_classes)
    precision, recall = per_class_metrics(matrix)

    per_class = []
    for index in range(num_classes):
        member = labels_array == index
        count = int(member.sum())
        per_class.append(
            ClassMetrics(
                name=class_names[index],
                display_name=display_names[index],
                role=roles[index],
                count=count,
                accuracy=accuracy(group_predictions[member], labels_array[member]) if count else float("nan"),
                precision=float(precision[index]),
                recall=float(recall[index]),
            )
        )
    return EvaluationReport(
        base_acc=group_accuracy["base"],
        new_acc=group_accuracy["new"],
        hm=harmonic_mean(group_accuracy["base"], group_accuracy["new"]),
        all_acc=all_accuracy,
        class_names=list(class_names),
        display_names=display_names,
        roles=roles,
        per_class=per_class,
        confusion=matrix,
        paths=[str(p) for p in paths],
        true_labels=labels_array.tolist(),
        predicted_labels=all_predictions.tolist(),
    )
