"""The common interface of every method the comparison runs: one task, one fit, one scorer.

A `FeatureTask` is a split reduced to cached features: training and validation features of
the base classes (labels local to the base list), test features labelled among all classes,
and the frozen class text embeddings. Every method is `fit(task, seed, ...)` and returns a
`FittedMethod` whose scorer gives logits for *any* set of class embeddings, so base, new and
all-class accuracy are measured the same way for every method (`core/evaluation.py`).

Methods whose parameters belong to the training classes (a linear probe's weight rows,
Tip-Adapter's cache values) recognise those classes by their text embedding and score every
other class zero-shot: `can_score_unseen_classes = False` marks them, and every table says so.
Where the trained classes' scores then sit on another scale than the zero-shot ones (Tip-Adapter's
cache adds a score only the cached classes can get), ranking base and new classes together
measures that imbalance, not the method: `all_classes_comparable = False`, and "all" is not
reported for it (see `core/methods/tip_adapter.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from mma_studio.core.cancellation import CancelToken
from mma_studio.core.events import ProgressCallback

SAME_CLASS_COSINE = 1.0 - 1e-4  # text embeddings this close are the same prompt (float16 cache)


@dataclass
class FeatureTask:
    """One split of one dataset as cached features: what every method trains and is scored on.

    `train_features` is (n, D), or (V, n, D) with V cached augmented views per image; labels
    of training and validation images index `base` (0..len(base)-1); `test_labels` index
    `class_names` / `class_text` (all classes), as `evaluate_features` expects.
    """

    train_features: torch.Tensor
    train_labels: torch.Tensor
    val_features: torch.Tensor
    val_labels: torch.Tensor
    test_features: torch.Tensor
    test_labels: torch.Tensor
    class_text: torch.Tensor  # (N, D) frozen, L2-normalised class text embeddings
    base: list[int]
    new: list[int]
    class_names: list[str]
    logit_scale: float = 100.0

    @property
    def base_text(self) -> torch.Tensor:
        return self.class_text[self.base]

    @property
    def embed_dim(self) -> int:
        return self.class_text.shape[-1]

    def to(self, device) -> FeatureTask:
        """The same task with every tensor on `device` (the backbone's, where the methods train)."""
        moved: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                moved[f.name] = value.to(device)
        return replace(self, **moved)


class Scorer(Protocol):
    """Logits (B, C) for images (B, D) against any class embeddings (C, D)."""

    def __call__(self, image_features: torch.Tensor, class_text: torch.Tensor) -> torch.Tensor: ...


@dataclass
class FittedMethod:
    """A trained method: its scorer and what it cost."""

    scorer: Scorer
    trainable_params: int
    chosen: dict = field(default_factory=dict)  # the setting picked on base validation (epoch, alpha, ...)
    val_acc: float | None = None  # base validation accuracy of the chosen setting
    cancelled: bool = False


@dataclass(frozen=True)
class MethodInfo:
    """What a table needs to know about a method before it runs."""

    name: str  # command-line name, e.g. "tip-adapter-f"
    label: str  # table label, e.g. "Tip-Adapter-F"
    can_score_unseen_classes: bool
    summary: str  # one line for --help and tooltips
    # Whether its scores for trained and untrained classes share one scale, so that classifying
    # among all classes at once ("all") is a fair figure; False: "all" is reported as not applicable.
    all_classes_comparable: bool = True


class Method(Protocol):
    info: MethodInfo

    def fit(
        self,
        task: FeatureTask,
        *,
        seed: int,
        on_progress: ProgressCallback | None = None,
        token: CancelToken | None = None,
    ) -> FittedMethod: ...


def zero_shot(image_features: torch.Tensor, class_text: torch.Tensor, logit_scale: float) -> torch.Tensor:
    return logit_scale * F.normalize(image_features.float(), dim=-1) @ F.normalize(class_text.float(), dim=-1).t()


def seen_class_index(class_text: torch.Tensor, trained_text: torch.Tensor) -> torch.Tensor:
    """For each row of `class_text`, the index of the same class in `trained_text`, or -1.

    A class is "seen" when its text embedding is (up to float16 rounding) one the method was
    trained with; that is how a class-bound method knows which columns it can score itself.
    """
    if class_text.shape[0] == 0 or trained_text.shape[0] == 0:
        return torch.full((class_text.shape[0],), -1, dtype=torch.long)
    similarity = F.normalize(class_text.float(), dim=-1) @ F.normalize(trained_text.float(), dim=-1).t()
    best, index = similarity.max(dim=1)
    return torch.where(best >= SAME_CLASS_COSINE, index, torch.full_like(index, -1)).cpu()
