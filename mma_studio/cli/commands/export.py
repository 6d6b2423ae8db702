"""`mma-studio export FILE OUT_DIR`: the export set of an adapter file, and the export options
`train` shares (`--model-card`, `--metrics`, `--onnx`, `--float16`, `--classes`, `--check-images`).

The work is the engine's `write_export_set`, the same call the app's Export dialog makes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_FAILURE, EXIT_OK, UserError
from mma_studio.cli.options import add_backbone_options, add_common_options

NAME = "export"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="export an adapter file: model card, metrics, a standalone ONNX model",
        description="Write the adapter file to OUT_DIR with, on request, a model card, metrics on a dataset "
        "folder's held-out images, and a standalone ONNX classifier (with its JSON and a predict.py that needs "
        "only onnxruntime, numpy and Pillow). Every file is checked after writing; nothing is left half-written.",
    )
    parser.add_argument("adapter_file", type=Path, metavar="ADAPTER.safetensors")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    add_export_options(parser, metrics_from_folder=True)
    add_backbone_options(parser, defaults=False)
    add_common_options(parser)
    return parser


def add_export_options(parser: argparse.ArgumentParser, *, metrics_from_folder: bool) -> None:
    group = parser.add_argument_group("export")
    group.add_argument("--model-card", action="store_true", help="a Markdown model card beside the adapter file")
    if metrics_from_folder:
        group.add_argument(
            "--metrics",
            type=Path,
            default=None,
            metavar="DATA_DIR",
            help="evaluate on DATA_DIR's held-out images and write the figures (JSON) and the "
            "confusion matrix (CSV); its test images also check the exported files (default: off: no metrics files)",
        )
    else:
        group.add_argument(
            "--metrics", action="store_true", help="write the run's held-out figures (JSON) and confusion matrix (CSV)"
        )
    group.add_argument(
        "--onnx",
        action="store_true",
        help='a standalone ONNX classifier, its JSON and predict.py (needs: pip install "mma-studio[onnx]")',
    )
    group.add_argument(
        "--float16", action="store_true", help="store the ONNX model's weights as float16 (half the size)"
    )
    group.add_argument(
        "--classes",
        dest="onnx_classes",
        default=None,
        metavar='"a,b,c"',
        help="the ONNX model's classes, scored as predict --classes does (default: the adapter's)",
    )
    group.add_argument(
        "--check-images",
        action="append",
        type=Path,
        default=None,
        metavar="IMAGE_OR_DIR",
        help="images to check the exported files with (repeatable; default: held-out test images)",
    )


def wants_export(args) -> bool:
    return bool(args.model_card or args.metrics or args.onnx)


def export_options(args) -> dict:
    """The keyword arguments of the export that the options ask for, checked."""
    if (args.float16 or args.onnx_classes) and not args.onnx:
        raise UserError("--float16 and --classes describe the ONNX model: add --onnx")
    classes = [c.strip() for c in args.onnx_classes.split(",") if c.strip()] if args.onnx_classes else None
    if args.onnx_classes is not None and not classes:
        raise UserError("--classes needs at least one class name")
    from mma_studio.cli.engine_steps import list_images

    images = list_images(args.check_images or [], args.command, "--check-images: ")
    if args.check_images and not images:
        raise UserError("--check-images: no images found")
    return {
        "model_card": args.model_card,
        "onnx": args.onnx,
        "onnx_float16": args.float16,
        "onnx_classes": classes,
        "check_images": images,
    }


def print_export_result(result, args) -> int:
    from mma_studio.cli.output import out, print_json
    from mma_studio.core.export import file_size_text

    if args.json:
        print_json({"event": "export", **result.to_dict()})
    else:
        for path in result.written:
            out(f"wrote {path} ({file_size_text(path)})")
        for line in result.describe().splitlines():
            out(line)
    adapter_failed = bool(result.check_error or (result.check is not None and result.check.mismatches))
    onnx_failed = result.onnx_requested and bool(
        result.onnx_check_error or (result.onnx_check is not None and result.onnx_check.mismatches)
    )
    failed = adapter_failed or onnx_failed  # no image to check with is said, but is not a failure
    return EXIT_FAILURE if failed else EXIT_OK


def export_after_training(run, path: Path, options: dict, metrics: bool, printer, token):
    """`train ... --onnx` and friends: the trained run's export set, as the app writes it."""
    from mma_studio.core.export import ExportRequest, write_export_set

    request = ExportRequest(
        run,
        path,
        model_card=options["model_card"],
        metrics=metrics,
        onnx=options["onnx"],
        onnx_float16=options["onnx_float16"],
        onnx_classes=tuple(options["onnx_classes"]) if options["onnx_classes"] else None,
        check_images=tuple(options["check_images"]),
    )
    try:
        return write_export_set(request, printer, token)
    except export_errors() as exc:
        raise UserError(str(exc)) from None


def export_errors() -> tuple[type[BaseException], ...]:
    from mma_studio.core.export import ExportError, OnnxUnavailableError

    return (ExportError, OnnxUnavailableError)


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import make_cache
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.export.adapter_file_run import export_adapter_file

    options = export_options(args)
    if not args.adapter_file.is_file():
        raise UserError(f"{args.adapter_file}: no such adapter file")
    printer = ProgressPrinter(not args.quiet)
    try:
        result = export_adapter_file(
            args.adapter_file,
            args.out_dir,
            metrics_data_dir=args.metrics,
            model=args.model,
            pretrained=args.pretrained,
            device=args.device,
            cache=make_cache(args) if args.metrics else None,
            on_progress=printer,
            token=token,
            **options,
        )
    except export_errors() as exc:
        raise UserError(str(exc)) from None
    finally:
        printer.close()
    return print_export_result(result, args)
