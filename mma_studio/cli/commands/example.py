"""`mma-studio example FOLDER`: write the offline example dataset of shape classes."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_OK
from mma_studio.cli.options import add_common_options

NAME = "example"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(NAME, help="write the example dataset of shape classes",
                                   description="Write the example dataset (generated shapes in a shifted domain) "
                                   "that works offline with --model mma-tiny --pretrained shapes.")
    parser.add_argument("destination", type=Path, metavar="FOLDER")
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.output import print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.toy.example_dataset import write_example_dataset

    printer = ProgressPrinter(not args.quiet)
    path = write_example_dataset(args.destination, per_class=args.per_class, seed=args.seed,
                                 on_progress=printer, token=token)
    printer.close()
    if args.json:
        print_json({"event": "example", "path": str(path)})
    else:
        print(f"example dataset written to {path}")
        print(f"train on it: mma-studio train {path} --model mma-tiny --pretrained shapes -o shapes-adapter.safetensors")
    return EXIT_OK
