"""Tip-Adapter and Tip-Adapter-F (Zhang et al., ECCV 2022): a key-value cache of the shots.

Keys are the training images' features (n, D), values their one-hot labels L (n, C). For an
image x: affinity A = exp(-β (1 - x Kᵀ)), logits = τ <x, t_c> + α · A L. Training-free
Tip-Adapter only searches α and β; Tip-Adapter-F also fine-tunes the keys (AdamW, lr 1e-3,
eps 1e-4, cosine schedule, 20 epochs, as the authors' code). Both search α, β over the
authors' grid (β in [0.1, 7), α in [0.1, 3)) on *base validation*, never on test images.

The cache values are base classes only: for a class it never cached (a new class) the
cache adds nothing and the score is zero-shot CLIP's. So base accuracy (among base classes),
new accuracy (among new classes: zero-shot's) and their HM are the published method's own.

"All classes" (every test image among base and new classes at once) is *not* reported for
either (`all_classes_comparable = False`): the cache term α · A L is a sum of positive
affinities over the shots (up to α · k for a class with k shots) that only cached classes
receive, and a new-class image still has a nearest base class whose cache score it gets. That
is a closed-set bias the authors' method has no rule for, not a property of the adapter's
features: on the example dataset it put "all" at 33% against zero-shot's 52%. Normalising the
cache does not fix it without changing the method: centring A L over the cached classes (which
leaves base-only logits and the α, β search exactly as published) still gave 37%, and scaling
each image's cache votes to sum to one changes the base figure itself (71% -> 54%).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from mma_studio.core.cancellation import check
from mma_studio.core.events import Progress
from mma_studio.core.methods.base import (
    FeatureTask,
    FittedMethod,
    MethodInfo,
    seen_class_index,
    zero_shot,
)
from mma_studio.core.methods.epoch_loop import train_on_base
from mma_studio.core.training import TrainConfig

FINE_TUNE_CONFIG = TrainConfig(epochs=20, lr=1e-3, weight_decay=0.01, batch_size=256, patience=0)


@dataclass(frozen=True)
class SearchGrid:
    """The authors' search: `beta_steps` values of β in [0.1, beta_scale), `alpha_steps` of α in [0.1, alpha_scale)."""

    beta_scale: float = 7.0
    alpha_scale: float = 3.0
    beta_steps: int = 200
    alpha_steps: int = 20
    default_alpha: float = 1.0  # used when there is no validation set to search on
    default_beta: float = 1.0

    def betas(self) -> list[float]:
        return [i * (self.beta_scale - 0.1) / self.beta_steps + 0.1 for i in range(self.beta_steps)]

    def alphas(self) -> list[float]:
        return [i * (self.alpha_scale - 0.1) / self.alpha_steps + 0.1 for i in range(self.alpha_steps)]


def cache_logits(image_features: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, beta: float) -> torch.Tensor:
    """A L with A = exp(-β (1 - x Kᵀ)): (B, C) for values (n, C)."""
    affinity = F.normalize(image_features.float(), dim=-1) @ keys.t()
    return torch.exp(-beta * (1 - affinity)) @ values


def search_alpha_beta(
    zero_shot_logits: torch.Tensor,
    affinity: torch.Tensor,
    values: torch.Tensor,
    labels: torch.Tensor,
    grid: SearchGrid,
    token=None,
) -> tuple[float, float, float | None]:
    """(α, β, validation accuracy) of the best grid point; the first best wins ties, as in the authors' code."""
    if labels.numel() == 0:
        return grid.default_alpha, grid.default_beta, None
    best = (grid.default_alpha, grid.default_beta, -1.0)
    for beta in grid.betas():
        check(token)
        cached = torch.exp(-beta * (1 - affinity)) @ values
        for alpha in grid.alphas():
            accuracy = ((zero_shot_logits + alpha * cached).argmax(dim=-1) == labels).float().mean().item()
            if accuracy > best[2]:
                best = (alpha, beta, accuracy)
    return best


class TipScorer(nn.Module):
    """Zero-shot logits plus α · cache logits on the columns of cached (seen) classes."""

    values: torch.Tensor
    base_text: torch.Tensor

    def __init__(
        self,
        keys: torch.Tensor,
        values: torch.Tensor,
        base_text: torch.Tensor,
        logit_scale: float,
        alpha: float,
        beta: float,
        trainable_keys: bool = False,
    ) -> None:
        super().__init__()
        self.keys = nn.Parameter(keys.clone(), requires_grad=trainable_keys)
        self.register_buffer("values", values)
        self.register_buffer("base_text", base_text)
        self.logit_scale, self.alpha, self.beta = logit_scale, alpha, beta

    def base_logits(self, image_features: torch.Tensor) -> torch.Tensor:
        """Tip logits over the cached classes (training and validation)."""
        return zero_shot(image_features, self.base_text, self.logit_scale) + self.alpha * cache_logits(
            image_features, self.keys, self.values, self.beta
        )

    @torch.no_grad()
    def forward(self, image_features: torch.Tensor, class_text: torch.Tensor) -> torch.Tensor:
        logits = zero_shot(image_features, class_text, self.logit_scale)
        seen = seen_class_index(class_text, self.base_text).to(logits.device)
        known = torch.nonzero(seen >= 0).flatten()
        if known.numel():
            cached = cache_logits(image_features, self.keys, self.values, self.beta)
            logits[:, known] += self.alpha * cached[:, seen[known]]
        return logits


def _cache_of(task: FeatureTask, grid: SearchGrid, trainable_keys: bool = False) -> TipScorer:
    """The cache of `task`'s shots at the grid's default α, β: keys the mean of each image's cached
    views (as the authors average augmented epochs), values their one-hot labels."""
    features = F.normalize(task.train_features.float(), dim=-1)
    keys = F.normalize(features.mean(dim=0), dim=-1) if features.dim() == 3 else features
    values = F.one_hot(task.train_labels.long().to(keys.device), len(task.base)).float()
    base_text = F.normalize(task.base_text.float(), dim=-1)
    return TipScorer(
        keys, values, base_text, task.logit_scale, grid.default_alpha, grid.default_beta, trainable_keys=trainable_keys
    )


def _search(scorer: TipScorer, task: FeatureTask, grid: SearchGrid, token) -> float | None:
    val = F.normalize(task.val_features.float(), dim=-1)
    labels = task.val_labels.long().to(val.device)
    with torch.no_grad():
        affinity = val @ scorer.keys.detach().t() if labels.numel() else val.new_zeros(0, scorer.keys.shape[0])
        zs = zero_shot(val, scorer.base_text, scorer.logit_scale)
    scorer.alpha, scorer.beta, accuracy = search_alpha_beta(zs, affinity, scorer.values, labels, grid, token)
    return accuracy


class TipAdapter:
    info = MethodInfo(
        "tip-adapter",
        "Tip-Adapter",
        False,
        "training-free cache of the shots' features; α, β searched on base validation",
        all_classes_comparable=False,
    )

    def __init__(self, grid: SearchGrid = SearchGrid()) -> None:
        self.grid = grid

    def fit(self, task: FeatureTask, *, seed: int, on_progress=None, token=None) -> FittedMethod:
        scorer = _cache_of(task, self.grid)
        accuracy = _search(scorer, task, self.grid, token)
        if on_progress is not None:
            on_progress(Progress("train", 1, 1, message=f"{self.info.label} · α, β searched"))
        return FittedMethod(
            scorer=scorer,
            trainable_params=0,
            val_acc=accuracy,
            chosen={"alpha": round(scorer.alpha, 4), "beta": round(scorer.beta, 4)},
        )


class TipAdapterF:
    info = MethodInfo(
        "tip-adapter-f",
        "Tip-Adapter-F",
        False,
        "Tip-Adapter with the cache keys fine-tuned; α, β and the epoch chosen on base validation",
        all_classes_comparable=False,
    )

    def __init__(self, config: TrainConfig = FINE_TUNE_CONFIG, grid: SearchGrid = SearchGrid()) -> None:
        self.config, self.grid = config, grid

    def fit(self, task: FeatureTask, *, seed: int, on_progress=None, token=None) -> FittedMethod:
        scorer = _cache_of(task, self.grid, trainable_keys=True)
        _search(scorer, task, self.grid, token)  # start from the training-free optimum
        config = replace(self.config, seed=seed)
        optimizer = torch.optim.AdamW([scorer.keys], lr=config.lr, eps=1e-4, weight_decay=config.weight_decay)
        epoch, _, cancelled = train_on_base(
            scorer,
            scorer.base_logits,
            task,
            config,
            label=self.info.label,
            optimizer=optimizer,
            scheduler_per_epoch=True,
            on_progress=on_progress,
            token=token,
        )
        scorer.keys.requires_grad_(False)
        accuracy = _search(scorer, task, self.grid, token) if not cancelled else None
        return FittedMethod(
            scorer=scorer,
            trainable_params=scorer.keys.numel(),
            val_acc=accuracy,
            chosen={"epoch": epoch, "alpha": round(scorer.alpha, 4), "beta": round(scorer.beta, 4)},
            cancelled=cancelled,
        )
