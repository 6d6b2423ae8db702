"""CLIP-Adapter (Gao et al. 2021): a residual bottleneck MLP on the image feature.

x' = normalize(ratio · MLP(x) + (1 - ratio) · x) with MLP = Linear(D, D/reduction) → ReLU →
Linear(D/reduction, D) → ReLU (no biases), ratio 0.2 and reduction 4 as in the authors'
code; logits τ <x', t_c>. Only the image side changes, so any class name can be scored: new
classes use their prompts exactly as zero-shot does, with the adapted image feature.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from mma_studio.core.methods.base import FeatureTask, FittedMethod, MethodInfo
from mma_studio.core.methods.epoch_loop import train_on_base
from mma_studio.core.seeded_init import seeded
from mma_studio.core.training import TrainConfig

RATIO = 0.2
REDUCTION = 4
DEFAULT_CONFIG = TrainConfig(epochs=100, lr=1e-3, weight_decay=1e-4, batch_size=256, patience=10)


class ResidualImageAdapter(nn.Module):
    def __init__(self, embed_dim: int, logit_scale: float, ratio: float = RATIO, reduction: int = REDUCTION) -> None:
        super().__init__()
        hidden = max(1, embed_dim // reduction)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, hidden, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, embed_dim, bias=False),
            nn.ReLU(inplace=True),
        )
        self.ratio = ratio
        self.logit_scale = logit_scale
        self.class_text: torch.Tensor | None = None  # the base prompts while training

    def adapt(self, image_features: torch.Tensor) -> torch.Tensor:
        image = F.normalize(image_features.float(), dim=-1)
        return F.normalize(self.ratio * self.mlp(image) + (1 - self.ratio) * image, dim=-1)

    def forward(self, image_features: torch.Tensor, class_text: torch.Tensor | None = None) -> torch.Tensor:
        text = self.class_text if class_text is None else class_text
        if text is None:
            raise ValueError("no class embeddings to score against")
        return self.logit_scale * self.adapt(image_features) @ F.normalize(text.float(), dim=-1).t()


class ClipAdapter:
    info = MethodInfo(
        "clip-adapter", "CLIP-Adapter", True, "residual bottleneck MLP on the image feature (ratio 0.2, reduction 4)"
    )

    def __init__(self, config: TrainConfig = DEFAULT_CONFIG, ratio: float = RATIO, reduction: int = REDUCTION) -> None:
        self.config, self.ratio, self.reduction = config, ratio, reduction

    def fit(self, task: FeatureTask, *, seed: int, on_progress=None, token=None) -> FittedMethod:
        with seeded(seed):
            adapter = ResidualImageAdapter(task.embed_dim, task.logit_scale, self.ratio, self.reduction)
        adapter.to(task.class_text.device)
        adapter.class_text = task.base_text
        config = dataclasses.replace(self.config, seed=seed)
        epoch, val_acc, cancelled = train_on_base(
            adapter,
            adapter,
            task,
            config,
            label=self.info.label,
            on_progress=on_progress,
            token=token,
        )
        adapter.requires_grad_(False)
        adapter.class_text = None
        return FittedMethod(
            scorer=adapter,
            trainable_params=sum(p.numel() for p in adapter.parameters()),
            chosen={"epoch": epoch},
            val_acc=val_acc,
            cancelled=cancelled,
        )
