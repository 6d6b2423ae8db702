"""`mma-studio check DATA_DIR`: what in a dataset folder is usable, and can it be trained."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_OK, EXIT_USER_ERROR
from mma_studio.cli.options import (
    add_common_options,
    add_seed_option,
    add_split_options,
)

NAME = "check"
IGNORED_LISTED = 20  # non-image files named in the text report; --json names up to 1000


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="scan a dataset folder and report usable images and problems",
        description="Scan DATA_DIR (one sub-folder per class) and report what is usable.",
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    add_split_options(parser)
    add_seed_option(parser, 42, "seed of the split")
    from mma_studio.cli.data_health import add_deep_options

    add_deep_options(parser)
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import scan
    from mma_studio.cli.output import out, print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.dataset_check import check_dataset
    from mma_studio.core.image_formats import missing_common_formats

    printer = ProgressPrinter(not args.quiet)
    result = scan(args.data_dir, printer, token)
    verdict = check_dataset(result, shots=args.shots, val_per_class=args.val_per_class, seed=args.seed)
    advice, problems, leaks, trainable = verdict.advice, verdict.problems, verdict.leaks, verdict.trainable
    missing = missing_common_formats()
    ignored = result.ignored_paths
    health = None
    if args.deep:
        from mma_studio.cli.data_health import examine

        health = examine(result, args, printer, token)
    if args.json:
        data = result.to_dict()
        data["unreadable_formats"] = missing
        data["advice"] = advice
        data["problems"] = problems
        data["leaks"] = leaks
        data["trainable"] = trainable
        if health is not None:
            data["health"] = health.to_dict()
        print_json(data)
    else:
        out(
            f"{result.root}: {len(result.classes)} classes, {result.image_count} usable images, "
            f"{len(result.skipped)} skipped, {result.ignored_files} other files ignored"
        )
        width = max([len(c.name) for c in result.classes] + [5])
        for folder in result.classes:
            out(f'  {folder.name:<{width}}  {len(folder.images):6d}  "{folder.display_name}"')
        for skipped in result.skipped:
            out(f"skipped {skipped.path}: {skipped.reason}")
        for path in ignored[:IGNORED_LISTED]:
            out(f"ignored {path}: not an image file")
        if result.ignored_files > min(len(ignored), IGNORED_LISTED):
            out(
                f"ignored {result.ignored_files - min(len(ignored), IGNORED_LISTED)} more files that are not images "
                "(--json lists more)"
            )
        if missing:
            out(f"note: this installation cannot open {', '.join(missing)} images; such files are skipped")
        for group in result.duplicates:
            out(f"duplicate: {group.describe()}")
        for line in list(result.warnings) + list(advice) + leaks:
            out(f"warning: {line}")
        for line in problems:
            out(f"cannot train: {line}")
        if health is not None:
            from mma_studio.cli.data_health import print_report

            print_report(health)
    return EXIT_OK if trainable else EXIT_USER_ERROR
