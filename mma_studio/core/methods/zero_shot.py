"""Zero-shot CLIP: no training, the baseline every figure stands beside."""

from __future__ import annotations

from functools import partial

from mma_studio.core.methods.base import (
    FeatureTask,
    FittedMethod,
    MethodInfo,
    zero_shot,
)


class ZeroShot:
    info = MethodInfo("zero-shot", "Zero-shot CLIP", True, "frozen CLIP with the class prompts, nothing trained")

    def fit(self, task: FeatureTask, *, seed: int, on_progress=None, token=None) -> FittedMethod:
        return FittedMethod(scorer=partial(zero_shot, logit_scale=task.logit_scale), trainable_params=0)
