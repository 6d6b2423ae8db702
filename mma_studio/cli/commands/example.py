"""`mma-studio example FOLDER`: write the offline example dataset of shape classes."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.arg_types import whole_number
from mma_studio.cli.errors import EXIT_OK, UserError
from mma_studio.cli.options import add_common_options, add_seed_option

NAME = "example"
MAX_PER_CLASS = 10_000


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="write the example dataset of shape classes",
        description="Write the example dataset (generated shapes in a shifted domain) "
        "that works offline with --model mma-tiny --pretrained shapes. FOLDER must be "
        "new, empty, or an example dataset written before.",
    )
    parser.add_argument("destination", type=Path, metavar="FOLDER")
    parser.add_argument(
        "--per-class",
        type=whole_number(1, MAX_PER_CLASS),
        default=40,
        help=f"images per class (30 classes), 1 to {MAX_PER_CLASS} (default: 40)",
    )
    add_seed_option(parser, 0, "seed of the generated images")
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.output import out, print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.toy.example_dataset import write_example_dataset

    printer = ProgressPrinter(not args.quiet)
    try:
        path = write_example_dataset(
            args.destination, per_class=args.per_class, seed=args.seed, on_progress=printer, token=token
        )
    except FileExistsError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        where = exc.filename or args.destination
        raise UserError(f"cannot write the example dataset to {where} ({exc.strerror or exc})") from None
    printer.close()
    if args.json:
        print_json({"event": "example", "path": str(path)})
    else:
        out(f"example dataset written to {path}")
        out(f"train on it: mma-studio train {path} --model mma-tiny --pretrained shapes -o shapes-adapter.safetensors")
    return EXIT_OK
