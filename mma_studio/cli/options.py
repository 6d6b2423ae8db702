"""Option groups shared by several sub-commands. Light: no torch, open_clip or numpy here.

Every option's help states its default, and every number its accepted range; the ranges are
checked while parsing (`arg_types`), so a mistake costs no model load and no allocation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.arg_types import (
    class_list,
    device_name,
    finite_number,
    whole_number,
)
from mma_studio.core.run_defaults import (
    ADAPT_CHOICES,
    ADAPTER_DEFAULTS,
    DEFAULT_MODEL,
    DEFAULT_PRETRAINED,
    MASK_CHOICES,
    MAX_BOTTLENECK_DIM,
    PRESETS,
    PROJECTION_CHOICES,
    TRAINING_DEFAULTS,
)

MAX_SHOTS = 10_000
MAX_SEED = 2**32 - 1  # what every random generator involved accepts
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_HEADS = 64
MAX_AUGMENT_VIEWS = 32


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout (default: text)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars on stderr (default: bars on a terminal)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback on unexpected errors (default: one line)"
    )


def add_seed_option(parser, default: int, what: str) -> None:
    parser.add_argument(
        "--seed", type=whole_number(0, MAX_SEED), default=default, help=f"{what}, 0 to {MAX_SEED} (default: {default})"
    )


def add_split_options(parser) -> None:
    """How many images of each base class go to training and to validation."""
    parser.add_argument(
        "--shots",
        type=whole_number(0, MAX_SHOTS),
        default=16,
        help=f"training images per base class, 0 to {MAX_SHOTS} (default: 16)",
    )
    parser.add_argument(
        "--val-per-class",
        type=whole_number(0, MAX_SHOTS),
        default=4,
        help=f"validation images per base class, 0 to {MAX_SHOTS} (default: 4)",
    )


def add_backbone_options(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    group = parser.add_argument_group("backbone")
    group.add_argument(
        "--model",
        default=DEFAULT_MODEL if defaults else None,
        help="open_clip architecture, e.g. ViT-B-16, or mma-tiny (the shipped toy model)"
        + (f" (default: {DEFAULT_MODEL})" if defaults else " (default: the one the adapter was trained with)"),
    )
    group.add_argument(
        "--pretrained",
        default=DEFAULT_PRETRAINED if defaults else None,
        help="weights: an open_clip tag (openai, laion2b_s34b_b88k, ...), 'shapes' (mma-tiny demo), "
        "'random' (tests only), a local .safetensors/.pt file, or local-dir:FOLDER"
        + (
            f" (default: {DEFAULT_PRETRAINED})"
            if defaults
            else " (default: the adapter's weights; with another --model, that model's usual weights)"
        ),
    )
    group.add_argument(
        "--device", type=device_name, default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)"
    )
    group.add_argument("--cache-dir", type=Path, default=None, help="feature cache folder (default: the user cache)")


def add_training_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data and split")
    add_split_options(data)
    add_seed_option(data, 42, "seed for sampling and training")
    data.add_argument(
        "--base-ratio",
        type=finite_number(0, 1, above_low=True),
        default=0.5,
        help="share of the classes, in sorted name order, that are base classes (trained on); "
        "the rest are new classes (only evaluated); never fewer than 2 base classes (default: 0.5)",
    )
    data.add_argument(
        "--base-classes",
        type=class_list,
        default=None,
        help="comma-separated folder names to use as base classes (default: chosen by --base-ratio)",
    )
    data.add_argument(
        "--template",
        action="append",
        dest="templates",
        default=None,
        help="prompt template with {} for the class name (repeatable; default: 'a photo of a {}.')",
    )
    data.add_argument(
        "--augment-views",
        type=whole_number(0, MAX_AUGMENT_VIEWS),
        default=None,
        help=f"cached augmented views per training image, 0 to {MAX_AUGMENT_VIEWS} (default: 0, or the preset's)",
    )

    train = parser.add_argument_group("training")
    train.add_argument(
        "--preset",
        choices=list(PRESETS),
        default=None,
        help="Fast, Balanced or Best (default: none; the options below)",
    )
    train.add_argument(
        "--epochs",
        type=whole_number(1, MAX_EPOCHS),
        default=None,
        help=f"maximum epochs, 1 to {MAX_EPOCHS} (default: {TRAINING_DEFAULTS['epochs']}, or the preset's)",
    )
    train.add_argument(
        "--lr",
        type=finite_number(0, 10, above_low=True),
        default=None,
        help=f"learning rate, above 0 and at most 10 (default: {TRAINING_DEFAULTS['lr']:g})",
    )
    train.add_argument(
        "--weight-decay",
        type=finite_number(0, 10),
        default=None,
        help=f"weight decay, 0 to 10 (default: {TRAINING_DEFAULTS['weight_decay']:g})",
    )
    train.add_argument(
        "--batch-size",
        type=whole_number(1, MAX_BATCH_SIZE),
        default=None,
        help=f"batch size, 1 to {MAX_BATCH_SIZE} (default: {TRAINING_DEFAULTS['batch_size']})",
    )
    train.add_argument(
        "--patience",
        type=whole_number(0, MAX_EPOCHS),
        default=None,
        help=f"early-stopping patience in epochs; 0 disables (default: {TRAINING_DEFAULTS['patience']}, "
        "or the preset's)",
    )

    adapter = parser.add_argument_group("adapter")
    adapter.add_argument(
        "--blend",
        "--lambda",
        dest="blend",
        type=finite_number(0, 1),
        default=ADAPTER_DEFAULTS["blend"],
        help=f"blend factor λ, 0 to 1 (default: {ADAPTER_DEFAULTS['blend']})",
    )
    adapter.add_argument(
        "--bottleneck-dim",
        type=whole_number(1, MAX_BOTTLENECK_DIM),
        default=None,
        help=f"attention width d, 1 to {MAX_BOTTLENECK_DIM} (default: D/4, D the embedding width)",
    )
    adapter.add_argument(
        "--heads",
        type=whole_number(1, MAX_HEADS),
        default=ADAPTER_DEFAULTS["heads"],
        help=f"attention heads, 1 to {MAX_HEADS}, dividing d (default: {ADAPTER_DEFAULTS['heads']})",
    )
    adapter.add_argument(
        "--adapt",
        choices=list(ADAPT_CHOICES),
        default=ADAPTER_DEFAULTS["adapt"],
        help=f"which side to adapt (default: {ADAPTER_DEFAULTS['adapt']})",
    )
    adapter.add_argument(
        "--mask",
        choices=list(MASK_CHOICES),
        default=ADAPTER_DEFAULTS["mask"],
        help=f"attention mask (default: {ADAPTER_DEFAULTS['mask']})",
    )
    adapter.add_argument(
        "--projection",
        choices=list(PROJECTION_CHOICES),
        default=ADAPTER_DEFAULTS["projection"],
        help=f"projection shape (default: {ADAPTER_DEFAULTS['projection']})",
    )
