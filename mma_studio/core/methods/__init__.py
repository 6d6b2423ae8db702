"""Methods the comparison runs on the same cached features: zero-shot CLIP, a text-initialised
linear probe, CLIP-Adapter, Tip-Adapter(-F) and MMA itself.

Every method follows `base.Method`: `fit(task, seed=...)` → `FittedMethod` with a scorer for
any class embeddings. `build_method(name)` makes one by its command-line name; MMA takes the
run's adapter and training settings so that it is trained exactly as the product trains it.
"""

from __future__ import annotations

import dataclasses

from mma_studio.core.adapter import AdapterConfig
from mma_studio.core.comparison_names import ALL_METHODS, DEFAULT_METHODS
from mma_studio.core.methods.base import (
    FeatureTask,
    FittedMethod,
    Method,
    MethodInfo,
    Scorer,
)
from mma_studio.core.methods.clip_adapter import ClipAdapter
from mma_studio.core.methods.linear_probe import LinearProbe
from mma_studio.core.methods.mma import MultiModalAdapterMethod
from mma_studio.core.methods.tip_adapter import TipAdapter, TipAdapterF
from mma_studio.core.methods.zero_shot import ZeroShot
from mma_studio.core.training import TrainConfig

__all__ = [
    "ALL_METHODS",
    "DEFAULT_METHODS",
    "FeatureTask",
    "FittedMethod",
    "Method",
    "MethodInfo",
    "Scorer",
    "build_method",
    "method_info",
]


def build_method(name: str, *, adapter: AdapterConfig | None = None, training: TrainConfig | None = None) -> Method:
    """The method called `name` (see ALL_METHODS); `adapter`/`training` configure the MMA variants."""
    if name == "zero-shot":
        return ZeroShot()
    if name == "linear-probe":
        return LinearProbe()
    if name == "clip-adapter":
        return ClipAdapter()
    if name == "tip-adapter":
        return TipAdapter()
    if name == "tip-adapter-f":
        return TipAdapterF()
    adapt = {"mma": "both", "mma-text": "text", "mma-image": "image"}.get(name)
    if adapt is None:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(ALL_METHODS)}")
    return MultiModalAdapterMethod(dataclasses.replace(adapter or AdapterConfig(), adapt=adapt), training)


def method_info(name: str) -> MethodInfo:
    return build_method(name).info
