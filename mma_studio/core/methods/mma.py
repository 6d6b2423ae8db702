"""MMA as the product trains it: `core/training.fit_features` with the run's adapter and training settings.

The study variants (adapt text only / image only) are the same method with another
`AdapterConfig.adapt`; nothing here re-implements the adapter or its loop.
"""

from __future__ import annotations

import dataclasses

from mma_studio.core.adapter import AdapterConfig
from mma_studio.core.events import EpochEvent, Progress
from mma_studio.core.methods.base import FeatureTask, FittedMethod, MethodInfo
from mma_studio.core.training import TrainConfig, fit_features

ADAPT_LABELS = {"both": "MMA", "text": "MMA (text only)", "image": "MMA (image only)"}
ADAPT_NAMES = {"both": "mma", "text": "mma-text", "image": "mma-image"}


class MultiModalAdapterMethod:
    def __init__(self, adapter: AdapterConfig | None = None, training: TrainConfig | None = None) -> None:
        self.adapter = adapter or AdapterConfig()
        self.training = training or TrainConfig()
        adapt = self.adapter.adapt
        self.info = MethodInfo(
            ADAPT_NAMES[adapt],
            ADAPT_LABELS[adapt],
            True,
            "the Multi-Modal Adapter, trained exactly as `mma-studio train` trains it"
            + ("" if adapt == "both" else f" (adapting the {adapt} side only)"),
        )

    def fit(self, task: FeatureTask, *, seed: int, on_progress=None, token=None) -> FittedMethod:
        adapter_config = dataclasses.replace(self.adapter, embed_dim=task.embed_dim, logit_scale=task.logit_scale)
        training = dataclasses.replace(self.training, seed=seed)

        def relay(event) -> None:
            if on_progress is not None and isinstance(event, EpochEvent):
                on_progress(
                    Progress("train", event.epoch, event.epochs, message=f"{self.info.label} · epoch {event.epoch}")
                )

        result = fit_features(
            task.train_features,
            task.train_labels,
            task.base_text,
            val_image_features=task.val_features if task.val_labels.numel() else None,
            val_labels=task.val_labels if task.val_labels.numel() else None,
            config=training,
            adapter_config=adapter_config,
            on_event=relay,
            token=token,
        )
        return FittedMethod(
            scorer=result.adapter,
            trainable_params=sum(p.numel() for p in result.adapter.parameters()),
            chosen={"epoch": result.best_epoch},
            val_acc=result.finished.best_val_acc,
            cancelled=result.cancelled,
        )
