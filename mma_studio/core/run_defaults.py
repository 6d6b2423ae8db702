"""Default settings and named choices of a training run, importable without torch.

The command line builds its `--help` from these (it must start in a few times a bare
interpreter), and the engine's dataclasses use the same values; a test keeps them equal.
"""

from __future__ import annotations

DEFAULT_MODEL = "ViT-B-16"
DEFAULT_PRETRAINED = "openai"
DEFAULT_TEMPLATES = ("a photo of a {}.",)

# The offline route: the shipped toy backbone with its bundled weights (no download).
OFFLINE_MODEL = "mma-tiny"
OFFLINE_PRETRAINED = "shapes"

ADAPT_CHOICES = ("both", "text", "image")
MASK_CHOICES = ("cross-modal", "full")
PROJECTION_CHOICES = ("linear", "mlp")

# `TrainConfig`'s defaults (the authors' released code), for help texts.
TRAINING_DEFAULTS = {"epochs": 100, "lr": 5e-3, "weight_decay": 1e-4, "batch_size": 256, "patience": 10}
# Images per forward pass when extracting features (`features.default_batch_size`): on a GPU
# (cuda, mps) and on the CPU.
EXTRACTION_BATCH_SIZE = {"gpu": 128, "cpu": 64}
# `AdapterConfig`'s defaults, for help texts.
ADAPTER_DEFAULTS = {"heads": 4, "blend": 0.2, "adapt": "both", "mask": "cross-modal", "projection": "linear"}

PRESETS: dict[str, dict] = {
    # Quick look: fewer epochs, stop sooner.
    "Fast": {"training": {"epochs": 30, "patience": 5, "min_patience_steps": 20}, "augment_views": 0},
    # The authors' defaults.
    "Balanced": {"training": {"epochs": 100, "patience": 10, "min_patience_steps": 50}, "augment_views": 0},
    # More patience and cached augmented views of each training image (extraction costs more).
    "Best": {"training": {"epochs": 200, "patience": 20, "min_patience_steps": 100}, "augment_views": 4},
}

# The widest adapter attention accepted (ViT-bigG's embedding is 1280 wide; d defaults to D/4).
# Checked before the adapter is built: a mistyped 100000 would ask for ~120 GB.
MAX_BOTTLENECK_DIM = 4096
