"""`mma-studio predict FILE IMAGE_OR_DIR...`: classify images with an adapter file."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_OK, UserError
from mma_studio.cli.options import add_backbone_options, add_common_options

NAME = "predict"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(NAME, help="classify images with an adapter file",
                                   description="Classify images (files or folders) into the adapter's classes, "
                                   "or into any classes given with --classes.")
    parser.add_argument("adapter_file", type=Path, metavar="FILE")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE_OR_DIR")
    parser.add_argument("--classes", default=None, help="comma-separated class names (default: the adapter's)")
    parser.add_argument("--top-k", type=int, default=5)
    add_backbone_options(parser, defaults=False)
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import load_classifier_backbone
    from mma_studio.cli.output import print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.adapter_file import load_adapter_file
    from mma_studio.core.images import has_image_extension
    from mma_studio.core.predict import Classifier

    paths: list[Path] = []
    for item in args.images:
        if item.is_dir():
            paths.extend(sorted(p for p in item.rglob("*") if p.is_file() and has_image_extension(p)
                                and not any(part.startswith(".") for part in p.relative_to(item).parts)))
        elif item.exists():
            paths.append(item)
        else:
            raise UserError(f"{item}: no such file or folder")
    if not paths:
        raise UserError("no images to classify")
    if args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    adapter_file = load_adapter_file(args.adapter_file)
    printer = ProgressPrinter(not args.quiet)
    backbone = load_classifier_backbone(adapter_file, args, printer, token)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    try:
        classifier = Classifier(backbone, adapter_file, classes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    predictions = classifier.classify_paths(paths, args.top_k, on_progress=printer, token=token)
    printer.close()
    for prediction in predictions:
        if args.json:
            print_json(prediction.to_dict())
        elif prediction.error:
            print(f"{prediction.path}: skipped ({prediction.error})")
        else:
            tops = ", ".join(f"{label} {100 * p:.1f}%" for label, p in zip(prediction.labels, prediction.probabilities))
            print(f"{prediction.path}: {tops}")
    return EXIT_OK
