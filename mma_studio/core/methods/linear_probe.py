"""A linear probe initialised from the class text embeddings (as in LP++ and CLAP).

The probe starts *as* zero-shot CLIP (weight rows = the base classes' text embeddings, zero
bias, logits τ <x, w_c> + b_c) and trains on the base shots; the epoch is chosen on base
validation. Its rows belong to the base classes, so a class it never trained on is scored
with its text embedding as a row, i.e. zero-shot: new-class accuracy is CLIP's.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from mma_studio.core.methods.base import (
    FeatureTask,
    FittedMethod,
    MethodInfo,
    seen_class_index,
)
from mma_studio.core.methods.epoch_loop import train_on_base
from mma_studio.core.training import TrainConfig

DEFAULT_CONFIG = TrainConfig(epochs=100, lr=1e-3, weight_decay=0.0, batch_size=256, patience=10)


class TextInitialisedProbe(torch.nn.Module):
    base_text: torch.Tensor

    def __init__(self, base_text: torch.Tensor, logit_scale: float) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(F.normalize(base_text.float(), dim=-1).clone())
        self.bias = torch.nn.Parameter(torch.zeros(base_text.shape[0], device=base_text.device))
        self.register_buffer("base_text", F.normalize(base_text.float(), dim=-1).clone())  # to recognise seen classes
        self.logit_scale = logit_scale

    def forward(self, image_features: torch.Tensor) -> torch.Tensor:
        """Logits over the base classes it was trained on."""
        return self.logit_scale * F.normalize(image_features.float(), dim=-1) @ self.weight.t() + self.bias

    @torch.no_grad()
    def score(self, image_features: torch.Tensor, class_text: torch.Tensor) -> torch.Tensor:
        """Logits over any classes: trained rows for seen classes, text rows (zero-shot) for the rest."""
        weights = F.normalize(class_text.float(), dim=-1).clone()
        bias = torch.zeros(class_text.shape[0], device=class_text.device)
        seen = seen_class_index(class_text, self.base_text).to(class_text.device)
        known = seen >= 0
        weights[known] = self.weight.detach()[seen[known]]
        bias[known] = self.bias.detach()[seen[known]]
        return self.logit_scale * F.normalize(image_features.float(), dim=-1) @ weights.t() + bias


class LinearProbe:
    info = MethodInfo(
        "linear-probe",
        "Linear probe",
        False,
        "a linear classifier on the image feature, initialised from the class text embeddings",
    )

    def __init__(self, config: TrainConfig = DEFAULT_CONFIG) -> None:
        self.config = config

    def fit(self, task: FeatureTask, *, seed: int, on_progress=None, token=None) -> FittedMethod:
        probe = TextInitialisedProbe(task.base_text, task.logit_scale)
        config = dataclasses.replace(self.config, seed=seed)
        epoch, val_acc, cancelled = train_on_base(
            probe,
            probe,
            task,
            config,
            label=self.info.label,
            on_progress=on_progress,
            token=token,
        )
        probe.requires_grad_(False)
        return FittedMethod(
            scorer=probe.score,
            trainable_params=probe.weight.numel() + probe.bias.numel(),
            chosen={"epoch": epoch},
            val_acc=val_acc,
            cancelled=cancelled,
        )
