"""Register the open_clip model configs shipped in `mma_studio/resources/model_configs` (e.g. `mma-tiny`).

open_clip builds models from JSON configs; adding ours to its registry lets `mma-tiny` load
through exactly the same `create_model` path as any official architecture.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_registered = False


def shipped_config_dir() -> Path:
    return Path(str(importlib.resources.files("mma_studio.resources") / "model_configs"))


def register_shipped_model_configs() -> None:
    """Idempotently add the shipped configs to open_clip's model registry."""
    global _registered
    if _registered:
        return
    import open_clip

    open_clip.add_model_config(shipped_config_dir())
    _registered = True


def resources_dir() -> Path:
    return Path(str(importlib.resources.files("mma_studio.resources")))
