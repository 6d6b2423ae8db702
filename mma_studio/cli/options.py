"""Option groups shared by several sub-commands. Light: no torch, open_clip or numpy here."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.core.run_defaults import (
    ADAPT_CHOICES,
    ADAPTER_DEFAULTS,
    DEFAULT_MODEL,
    DEFAULT_PRETRAINED,
    MASK_CHOICES,
    PRESETS,
    PROJECTION_CHOICES,
    TRAINING_DEFAULTS,
)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars on stderr")
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")


def add_backbone_options(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    group = parser.add_argument_group("backbone")
    group.add_argument("--model", default=DEFAULT_MODEL if defaults else None,
                       help="open_clip architecture, e.g. ViT-B-16, or mma-tiny (the shipped toy model)"
                       + (f" (default: {DEFAULT_MODEL})" if defaults else " (default: the one the adapter was trained with)"))
    group.add_argument("--pretrained", default=DEFAULT_PRETRAINED if defaults else None,
                       help="weights: an open_clip tag (openai, laion2b_s34b_b88k, ...), 'shapes' (mma-tiny demo), "
                       "'random' (tests only), a local .safetensors/.pt file, or local-dir:FOLDER"
                       + (f" (default: {DEFAULT_PRETRAINED})" if defaults else " (default: the adapter's weights)"))
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    group.add_argument("--cache-dir", type=Path, default=None, help="feature cache folder (default: the user cache)")


def add_training_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data and split")
    data.add_argument("--shots", type=int, default=16, help="training images per base class (default: 16)")
    data.add_argument("--val-per-class", type=int, default=4, help="validation images per base class (default: 4)")
    data.add_argument("--seed", type=int, default=42, help="seed for sampling and training (default: 42)")
    data.add_argument("--base-ratio", type=float, default=0.5,
                      help="share of classes (by sorted name) that are base, at least 2 (default: 0.5)")
    data.add_argument("--base-classes", default=None, help="comma-separated folder names to use as base classes")
    data.add_argument("--template", action="append", dest="templates", default=None,
                      help="prompt template with {} for the class name (repeatable; default: 'a photo of a {}.')")
    data.add_argument("--augment-views", type=int, default=None, help="cached augmented views per training image")

    train = parser.add_argument_group("training")
    train.add_argument("--preset", choices=list(PRESETS), default=None, help="Fast, Balanced or Best")
    train.add_argument("--epochs", type=int, default=None, help=f"maximum epochs (default: {TRAINING_DEFAULTS['epochs']})")
    train.add_argument("--lr", type=float, default=None, help=f"learning rate (default: {TRAINING_DEFAULTS['lr']:g})")
    train.add_argument("--weight-decay", type=float, default=None,
                       help=f"weight decay (default: {TRAINING_DEFAULTS['weight_decay']:g})")
    train.add_argument("--batch-size", type=int, default=None, help=f"batch size (default: {TRAINING_DEFAULTS['batch_size']})")
    train.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs; 0 disables")

    adapter = parser.add_argument_group("adapter")
    adapter.add_argument("--blend", "--lambda", dest="blend", type=float, default=ADAPTER_DEFAULTS["blend"],
                         help=f"blend factor λ (default: {ADAPTER_DEFAULTS['blend']})")
    adapter.add_argument("--bottleneck-dim", type=int, default=None, help="attention width d (default: D/4)")
    adapter.add_argument("--heads", type=int, default=ADAPTER_DEFAULTS["heads"],
                         help=f"attention heads (default: {ADAPTER_DEFAULTS['heads']})")
    adapter.add_argument("--adapt", choices=list(ADAPT_CHOICES), default=ADAPTER_DEFAULTS["adapt"], help="which side to adapt")
    adapter.add_argument("--mask", choices=list(MASK_CHOICES), default=ADAPTER_DEFAULTS["mask"], help="attention mask")
    adapter.add_argument("--projection", choices=list(PROJECTION_CHOICES), default=ADAPTER_DEFAULTS["projection"],
                         help="projection shape")
