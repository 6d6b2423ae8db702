"""`mma-studio check DATA_DIR`: what in a dataset folder is usable, and can it be trained."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_OK, EXIT_USER_ERROR
from mma_studio.cli.options import add_common_options
from mma_studio.cli.output import print_json

NAME = "check"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(NAME, help="scan a dataset folder and report usable images and problems",
                                   description="Scan DATA_DIR (one sub-folder per class) and report what is usable.")
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    parser.add_argument("--shots", type=int, default=16, help="shots you plan to train with (default: 16)")
    parser.add_argument("--val-per-class", type=int, default=4, help="validation images per base class (default: 4)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split (default: 42)")
    from mma_studio.cli.data_health import add_deep_options

    add_deep_options(parser)
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import scan
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.dataset import dataset_advice
    from mma_studio.core.pipeline import check_trainable
    from mma_studio.core.split import SplitError, make_split

    printer = ProgressPrinter(not args.quiet)
    result = scan(args.data_dir, printer, token)
    advice = dataset_advice(result, shots=args.shots, val_per_class=args.val_per_class)
    problems = []
    try:
        # The same test `train` applies, so `check` never passes a dataset `train` refuses.
        check_trainable(make_split(result, shots=args.shots, val_per_class=args.val_per_class, seed=args.seed))
    except SplitError as exc:
        problems.append(str(exc))
    if len(result.classes) < 1 or not any(c.images for c in result.classes):
        problems.append("no usable images in any class folder")
    trainable = not problems
    health = None
    if args.deep:
        from mma_studio.cli.data_health import examine

        health = examine(result, args, printer, token)
    if args.json:
        data = result.to_dict()
        data["advice"] = advice
        data["problems"] = problems
        data["trainable"] = trainable
        if health is not None:
            data["health"] = health.to_dict()
        print_json(data)
    else:
        print(f"{result.root}: {len(result.classes)} classes, {result.image_count} usable images, "
              f"{len(result.skipped)} skipped")
        width = max([len(c.name) for c in result.classes] + [5])
        for folder in result.classes:
            print(f"  {folder.name:<{width}}  {len(folder.images):6d}  \"{folder.display_name}\"")
        for skipped in result.skipped:
            print(f"skipped {skipped.path}: {skipped.reason}")
        for line in list(result.warnings) + list(advice):
            print(f"warning: {line}")
        for line in problems:
            print(f"cannot train: {line}")
        if health is not None:
            from mma_studio.cli.data_health import print_report

            print_report(health)
    return EXIT_OK if trainable else EXIT_USER_ERROR
