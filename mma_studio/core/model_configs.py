"""Register the open_clip model configs shipped in `mma_studio/resources/model_configs` (e.g. `mma-tiny`).

open_clip builds models from JSON configs; adding ours to its registry lets `mma-tiny` load
through exactly the same `create_model` path as any official architecture.
"""

from __future__ import annotations

from pathlib import Path

_registered = False


def shipped_config_dir() -> Path:
    return resources_dir() / "model_configs"


def register_shipped_model_configs() -> None:
    """Idempotently add the shipped configs to open_clip's model registry."""
    global _registered
    if _registered:
        return
    import open_clip

    open_clip.add_model_config(shipped_config_dir())
    _registered = True


def resources_dir() -> Path:
    """`mma_studio/resources`, a plain package folder (as installed, and in the frozen bundle).
    Found from the package itself: importlib.resources costs ~8 ms, and the app asks at start-up
    (is the demo model there?)."""
    import mma_studio.resources

    return Path(mma_studio.resources.__file__).parent
