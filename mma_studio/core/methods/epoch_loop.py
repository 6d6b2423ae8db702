"""The training loop the trained baselines share (linear probe, CLIP-Adapter, Tip-Adapter-F).

Same rules as the product's own loop (`core/training.py`), so no method gets a better deal:
mini-batches of cached features, one augmented view drawn per image per epoch when views
are cached, the epoch chosen on base validation accuracy only (a tie moves to the later
epoch), early stopping with the same patience, and the best weights restored at the end.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.methods.base import FeatureTask
from mma_studio.core.training import TrainConfig

Logits = Callable[[torch.Tensor], torch.Tensor]  # (B, D) image features -> (B, C) base-class logits


def validation_accuracy(logits: Logits, features: torch.Tensor, labels: torch.Tensor) -> float | None:
    if features is None or labels is None or labels.numel() == 0:
        return None
    with torch.no_grad():
        return (logits(features).argmax(dim=-1) == labels).float().mean().item()


def train_on_base(
    module: torch.nn.Module,
    logits: Logits,
    task: FeatureTask,
    config: TrainConfig,
    *,
    label: str,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler_per_epoch: bool = False,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> tuple[int, float | None, bool]:
    """Train `module`'s parameters through `logits` on `task`'s base training images, choosing the
    epoch on its base validation images; returns (best epoch, its val accuracy, cancelled).

    `optimizer` defaults to Adam(lr, weight_decay) of `config`; with `scheduler_per_epoch` a
    cosine schedule over `config.epochs` is stepped after each epoch (Tip-Adapter-F's recipe).
    """
    train_features, val_features, val_labels = task.train_features, task.val_features, task.val_labels
    views = train_features if train_features.dim() == 3 else train_features.unsqueeze(0)
    views = F.normalize(views.float(), dim=-1)
    num_views, num_train, _ = views.shape
    if num_train == 0:
        raise ValueError("no training images: at least one shot per base class is needed to train")
    labels = task.train_labels.long().to(views.device)
    has_val = val_labels is not None and val_labels.numel() > 0
    val = F.normalize(val_features.float(), dim=-1) if has_val else val_features
    val_targets = val_labels.long().to(views.device) if has_val else val_labels
    optimizer = optimizer or torch.optim.Adam(
        [p for p in module.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs) if scheduler_per_epoch else None
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    steps_per_epoch = math.ceil(num_train / config.batch_size)

    best_state = copy.deepcopy(module.state_dict())
    best_epoch, stale, cancelled = 0, 0, False
    best_acc: float | None = None
    try:
        for epoch in range(1, config.epochs + 1):
            module.train()
            order = torch.randperm(num_train, generator=generator).to(views.device)
            view_choice = torch.randint(num_views, (num_train,), generator=generator).to(views.device)
            for start in range(0, num_train, config.batch_size):
                if token is not None:
                    token.check()
                index = order[start : start + config.batch_size]
                loss = F.cross_entropy(logits(views[view_choice[index], index]), labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
            module.eval()
            accuracy = validation_accuracy(logits, val, val_targets) if has_val else None
            if accuracy is None or best_acc is None or accuracy >= best_acc:
                best_epoch, best_acc, stale = epoch, accuracy, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                stale += 1
            if on_progress is not None:
                on_progress(Progress("train", epoch, config.epochs, message=f"{label} · epoch {epoch}"))
            if (
                has_val
                and config.patience
                and stale >= config.patience
                and stale * steps_per_epoch >= config.min_patience_steps
            ):
                break
    except Cancelled:
        cancelled = True
    module.load_state_dict(best_state)
    module.eval()
    return best_epoch, best_acc, cancelled
