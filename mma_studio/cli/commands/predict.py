"""`mma-studio predict FILE IMAGE_OR_DIR...`: classify images with an adapter file."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.arg_types import class_list, whole_number
from mma_studio.cli.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from mma_studio.cli.options import add_backbone_options, add_common_options

MAX_TOP_K = 1000

NAME = "predict"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="classify images with an adapter file",
        description="Classify images (files or folders) into the adapter's classes, "
        "or into any classes given with --classes.",
    )
    parser.add_argument("adapter_file", type=Path, metavar="FILE")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE_OR_DIR")
    parser.add_argument(
        "--classes", type=class_list, default=None, help="comma-separated class names (default: the adapter's classes)"
    )
    parser.add_argument(
        "--top-k",
        type=whole_number(1, MAX_TOP_K),
        default=5,
        help=f"labels shown per image, 1 to {MAX_TOP_K} (default: 5)",
    )
    add_backbone_options(parser, defaults=False)
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import check_device, list_images, load_classifier_backbone
    from mma_studio.cli.output import eprint, out, print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.adapter_file import load_adapter_file
    from mma_studio.core.predict import Classifier

    check_device(args)
    paths = list_images(args.images, NAME)
    if not paths:
        raise UserError("no images to classify in " + ", ".join(str(item) for item in args.images))
    adapter_file = load_adapter_file(args.adapter_file)
    printer = ProgressPrinter(not args.quiet)
    backbone = load_classifier_backbone(adapter_file, args, printer, token)
    try:
        classifier = Classifier(backbone, adapter_file, args.classes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    predictions = classifier.classify_paths(paths, args.top_k, on_progress=printer, token=token)
    printer.close()
    for prediction in predictions:
        if args.json:
            print_json(prediction.to_dict())
        elif prediction.error:
            out(f"{prediction.path}: skipped ({prediction.error})")
        else:
            tops = ", ".join(f"{label} {100 * p:.1f}%" for label, p in zip(prediction.labels, prediction.probabilities))
            out(f"{prediction.path}: {tops}")
    if all(prediction.error for prediction in predictions):
        eprint(
            f"mma-studio {NAME}: error: none of the {len(predictions)} images could be classified "
            "(each is listed with its reason)"
        )
        return EXIT_USER_ERROR
    return EXIT_OK
